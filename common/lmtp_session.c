/* lmtp_session.c - one LMTP session as a state machine (RFC 2033). */
#include "common/lmtp_session.h"

#include <string.h>

#include "common/error.h"
#include "common/lmtp_command.h"
#include "common/log.h"
#include "common/metrics.h"

/* Bytes of message data a transaction starts with room for: a bounce with
 * the headers of the returned message is a few kilobytes. */
#define LMTP_DATA_RESERVE 16384
/* What a transaction adds to the sessions' buffered count at a time. */
#define LMTP_BUFFERED_STEP 65536

/* Where the DATA scanner is within the current line (RFC 5321 §4.5.2). Only
 * <CRLF>.<CRLF> ends the message: a bare LF or CR never does, so a message
 * cannot smuggle a second one past us or past the MTA in front. */
typedef enum {
    DATA_LINE_START,   /* after CRLF (or at the start of DATA) */
    DATA_IN_LINE,
    DATA_SAW_CR,       /* inside a line, just after CR */
    DATA_DOT,          /* the line began with '.', held back */
    DATA_DOT_CR,       /* the line is ".\r" so far, held back */
} DataScan;

struct LmtpSession {
    char                     *sid;
    const LmtpLimits         *limits;
    const LmtpSessionHandler *handler;
    gpointer                  ctx;

    LmtpState                 state;
    GString                  *out;
    GString                  *line;          /* partial command line */
    gboolean                  line_too_long; /* discard until the next LF */
    guint                     errors;
    char                     *client_name;   /* LHLO argument */

    LmtpTransaction          *tx;
    DataScan                  scan;
};

static const char *const lmtp_state_names[] = {
    [LMTP_STATE_INIT] = "init",
    [LMTP_STATE_READY] = "ready",
    [LMTP_STATE_MAIL] = "mail",
    [LMTP_STATE_RCPT] = "rcpt",
    [LMTP_STATE_DATA] = "data",
    [LMTP_STATE_CLOSED] = "closed",
};

const char *
lmtp_state_name(LmtpState state)
{
    return lmtp_state_names[state];
}

/* lmtp_session_set_state - every state change goes through here. */
static void
lmtp_session_set_state(LmtpSession *session, LmtpState state)
{
    if (session->state != state)
        log_debug("sid=%s state=%s->%s", session->sid, lmtp_state_names[session->state],
                  lmtp_state_names[state]);
    session->state = state;
}

/* lmtp_session_reply - append one reply line. */
static void G_GNUC_PRINTF(2, 3)
lmtp_session_reply(LmtpSession *session, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_string_append_vprintf(session->out, fmt, ap);
    va_end(ap);
    g_string_append(session->out, "\r\n");
}

/* lmtp_reply_text - an error message made safe for one reply line: a CR
 * or LF from a handler's text must never start a reply of its own. */
static char *
lmtp_reply_text(const char *message)
{
    char *text = g_strndup(message, 400);

    for (char *p = text; *p != '\0'; p++) {
        if ((guchar)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
    return text;
}

/* lmtp_reply_for_error - the one switch from failure to reply. */
char *
lmtp_reply_for_error(const GError *error)
{
    g_autofree char *text = NULL;

    if (error == NULL)
        return g_strdup("250 2.0.0 Ok");
    if (error->domain != BOUNCER_ERROR)
        return g_strdup("451 4.3.0 Temporary failure, try again later");
    text = lmtp_reply_text(error->message);
    switch ((BouncerErrorCode)error->code) {
    case BOUNCER_ERROR_NO_SUCH_USER:
        return g_strdup_printf("550 5.1.1 %s", text);
    case BOUNCER_ERROR_SYNTAX:
        return g_strdup_printf("501 5.5.4 %s", text);
    case BOUNCER_ERROR_BAD_SENDER:        /* RFC 3463: bad sender's address syntax */
        return g_strdup_printf("501 5.1.7 %s", text);
    case BOUNCER_ERROR_BAD_RECIPIENT:     /* bad destination mailbox address syntax */
        return g_strdup_printf("501 5.1.3 %s", text);
    case BOUNCER_ERROR_UNKNOWN_COMMAND:
        return g_strdup_printf("500 5.5.2 %s", text);
    case BOUNCER_ERROR_BAD_SEQUENCE:
        return g_strdup_printf("503 5.5.1 %s", text);
    case BOUNCER_ERROR_PARAMETER:
        return g_strdup_printf("555 5.5.4 %s", text);
    case BOUNCER_ERROR_TOO_BIG:
        return g_strdup_printf("552 5.3.4 %s", text);
    case BOUNCER_ERROR_TOO_MANY_RCPTS:
        return g_strdup_printf("452 4.5.3 %s", text);
    case BOUNCER_ERROR_NO_ROOM:
        return g_strdup_printf("452 4.3.1 %s", text);
    case BOUNCER_ERROR_TEMPORARY:
    case BOUNCER_ERROR_CONFIG:
        break;
    }
    /* The cause goes to the log, not to the client. */
    return g_strdup("451 4.3.0 Temporary failure, try again later");
}

static void
lmtp_transaction_free(LmtpTransaction *tx)
{
    if (tx == NULL)
        return;
    g_free(tx->mail_from);
    g_ptr_array_unref(tx->recipients);
    g_byte_array_unref(tx->data);
    g_free(tx);
}

/* lmtp_session_uncount - tx's share of the sessions' buffered count
 * given back. */
static void
lmtp_session_uncount(LmtpSession *session, LmtpTransaction *tx)
{
    if (tx->counted > 0 && session->limits->buffered != NULL)
        __atomic_sub_fetch(session->limits->buffered, (gint64)tx->counted, __ATOMIC_RELAXED);
    tx->counted = 0;
}

/* lmtp_session_drop_data - give up the bytes tx holds, the memory too (an
 * emptied array keeps it). */
static void
lmtp_session_drop_data(LmtpSession *session, LmtpTransaction *tx)
{
    lmtp_session_uncount(session, tx);
    g_byte_array_unref(tx->data);
    tx->data = g_byte_array_new();
}

/* lmtp_session_drop_tx - the transaction gone, its bytes given back. */
static void
lmtp_session_drop_tx(LmtpSession *session)
{
    if (session->tx == NULL)
        return;
    lmtp_session_uncount(session, session->tx);
    g_clear_pointer(&session->tx, lmtp_transaction_free);
}

static void
lmtp_recipient_free(gpointer data)
{
    LmtpRecipient *rcpt = data;

    g_free(rcpt->address);
    g_free(rcpt->route_data);
    g_free(rcpt);
}

/* lmtp_session_reset - drop the transaction (RSET, LHLO, end of DATA). */
static void
lmtp_session_reset(LmtpSession *session)
{
    lmtp_session_drop_tx(session);
    if (session->state != LMTP_STATE_INIT && session->state != LMTP_STATE_CLOSED)
        lmtp_session_set_state(session, LMTP_STATE_READY);
}

/* lmtp_session_error - reply to a client error and count it; past the
 * limit the client is told why and disconnected (Postfix's
 * smtpd_hard_error_limit). */
static void
lmtp_session_error(LmtpSession *session, const GError *error)
{
    g_autofree char *reply = lmtp_reply_for_error(error);

    lmtp_session_reply(session, "%s", reply);
    if (++session->errors >= session->limits->max_errors) {
        log_info("sid=%s result=disconnect reason=too-many-errors errors=%u", session->sid,
                 session->errors);
        lmtp_session_close(session, "421 4.7.0 Too many errors, closing connection");
    }
}

static void G_GNUC_PRINTF(3, 4)
lmtp_session_fail(LmtpSession *session, BouncerErrorCode code, const char *fmt, ...)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *message = NULL;
    va_list ap;

    va_start(ap, fmt);
    message = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error = g_error_new_literal(BOUNCER_ERROR, code, message);
    lmtp_session_error(session, error);
}

/* --- commands --------------------------------------------------------- */

static void
lmtp_cmd_lhlo(LmtpSession *session, const LmtpCommand *command)
{
    /* RFC 2033 §4.1 / RFC 5321 §4.1.4: LHLO again resets the transaction. */
    lmtp_session_drop_tx(session);
    g_free(session->client_name);
    session->client_name = g_strdup(command->argument);
    lmtp_session_set_state(session, LMTP_STATE_READY);
    lmtp_session_reply(session, "250-%s", session->limits->hostname);
    lmtp_session_reply(session, "250-PIPELINING");
    lmtp_session_reply(session, "250-ENHANCEDSTATUSCODES");
    lmtp_session_reply(session, "250-8BITMIME");
    lmtp_session_reply(session, "250-SMTPUTF8");
    lmtp_session_reply(session, "250 SIZE %" G_GUINT64_FORMAT, session->limits->max_message_size);
}

static void
lmtp_cmd_mail(LmtpSession *session, const LmtpCommand *command)
{
    LmtpTransaction *tx;

    for (guint i = 0; command->params[i] != NULL; i++) {
        const char *param = command->params[i];

        if (g_ascii_strncasecmp(param, "SIZE=", 5) == 0) {
            const char *value = param + 5;
            guint64 size;

            /* RFC 1870 §3: size-value = 1*20DIGIT. Twenty digits can
             * overflow 64 bits; g_ascii_strtoull() then saturates at
             * G_MAXUINT64, which is over the limit, as the value is. */
            if (strspn(value, "0123456789") != strlen(value) || strlen(value) > 20) {
                lmtp_session_fail(session, BOUNCER_ERROR_SYNTAX, "Syntax error: bad SIZE value");
                return;
            }
            size = g_ascii_strtoull(value, NULL, 10);
            if (size > session->limits->max_message_size) {
                lmtp_session_reply(session, "552 5.3.4 Message size exceeds fixed limit");
                return;
            }
        } else if (g_ascii_strcasecmp(param, "SMTPUTF8") == 0) {
            /* RFC 6531 §3.4: a keyword without a value. Addresses with
             * 8-bit bytes are taken with or without it (see docs/lmtp.md). */
        } else if (g_ascii_strncasecmp(param, "BODY=", 5) == 0) {
            if (g_ascii_strcasecmp(param + 5, "7BIT") != 0 &&
                g_ascii_strcasecmp(param + 5, "8BITMIME") != 0) {
                lmtp_session_fail(session, BOUNCER_ERROR_PARAMETER,
                                  "Unsupported BODY type, use 7BIT or 8BITMIME");
                return;
            }
        } else {
            lmtp_session_fail(session, BOUNCER_ERROR_PARAMETER, "Unsupported parameter");
            return;
        }
    }
    tx = g_new0(LmtpTransaction, 1);
    tx->mail_from = g_strdup(command->address);
    tx->recipients = g_ptr_array_new_with_free_func(lmtp_recipient_free);
    /* Room for a usual report up front: grown from nothing, the array was
     * copied at every doubling, 4% of bouncerd's CPU at 16 sessions. */
    tx->data = g_byte_array_sized_new(LMTP_DATA_RESERVE);
    tx->started_us = g_get_monotonic_time();
    session->tx = tx;
    lmtp_session_set_state(session, LMTP_STATE_MAIL);
    lmtp_session_reply(session, "250 2.1.0 Ok");
}

static void
lmtp_cmd_rcpt(LmtpSession *session, const LmtpCommand *command)
{
    g_autoptr(GError) error = NULL;
    LmtpRecipient *rcpt;
    int route = 0;
    gpointer route_data = NULL;

    if (command->params[0] != NULL) {
        lmtp_session_fail(session, BOUNCER_ERROR_PARAMETER, "Unsupported parameter");
        return;
    }
    if (session->tx->recipients->len >= session->limits->max_recipients) {
        /* 452 is not a client error: the MTA sends the rest in another
         * transaction (RFC 5321 §4.5.3.1.10). */
        lmtp_session_reply(session, "452 4.5.3 Error: too many recipients");
        return;
    }
    if (!session->handler->check_recipient(session->ctx, session->sid, command->address, &route,
                                           &route_data, &error)) {
        g_free(route_data);
        if (error == NULL)
            error = g_error_new_literal(BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                                        "recipient check failed without saying why");
        g_autofree char *reply = lmtp_reply_for_error(error);

        log_info("sid=%s rcpt=<%s> result=%.3s reason=\"%s\"", session->sid, command->address,
                 reply, error->message);
        lmtp_session_reply(session, "%s", reply);
        return;
    }
    rcpt = g_new0(LmtpRecipient, 1);
    rcpt->address = g_strdup(command->address);
    rcpt->route = route;
    rcpt->route_data = route_data;
    g_ptr_array_add(session->tx->recipients, rcpt);
    lmtp_session_set_state(session, LMTP_STATE_RCPT);
    lmtp_session_reply(session, "250 2.1.5 Ok");
}

static void
lmtp_cmd_data(LmtpSession *session, const LmtpCommand *command)
{
    if (session->state == LMTP_STATE_MAIL) {
        /* Every recipient was refused, and the client sent DATA before it
         * read those replies, as Postfix pipelines: the answer RFC 2920
         * §3.1 expects, not a client error counted towards max_errors (a
         * run of mail to stale addresses on one cached connection would
         * otherwise end it). */
        lmtp_session_reply(session, "503 5.5.1 Error: no valid recipients");
        return;
    }
    session->scan = DATA_LINE_START;
    lmtp_session_set_state(session, LMTP_STATE_DATA);
    lmtp_session_reply(session, "354 End data with <CR><LF>.<CR><LF>");
}

static void
lmtp_cmd_rset(LmtpSession *session, const LmtpCommand *command)
{
    lmtp_session_reset(session);
    lmtp_session_reply(session, "250 2.0.0 Ok");
}

static void
lmtp_cmd_noop(LmtpSession *session, const LmtpCommand *command)
{
    lmtp_session_reply(session, "250 2.0.0 Ok");
}

static void
lmtp_cmd_vrfy(LmtpSession *session, const LmtpCommand *command)
{
    lmtp_session_reply(session, "252 2.5.2 Cannot VRFY user, but will accept message");
}

static void
lmtp_cmd_quit(LmtpSession *session, const LmtpCommand *command)
{
    lmtp_session_close(session, "221 2.0.0 Bye");
}

static void
lmtp_cmd_helo(LmtpSession *session, const LmtpCommand *command)
{
    /* RFC 2033 §4.1: an LMTP server must not accept HELO or EHLO. */
    lmtp_session_fail(session, BOUNCER_ERROR_UNKNOWN_COMMAND, "Error: this is LMTP, use LHLO");
}

#define IN(s) (1u << (s))
#define ANY_OPEN (IN(LMTP_STATE_INIT) | IN(LMTP_STATE_READY) | IN(LMTP_STATE_MAIL) | IN(LMTP_STATE_RCPT))

typedef struct {
    LmtpVerb    verb;
    guint       allowed;          /* states the command is valid in; else 503 */
    void      (*handler)(LmtpSession *session, const LmtpCommand *command);
} LmtpCommandEntry;

static const LmtpCommandEntry lmtp_commands[] = {
    { LMTP_VERB_LHLO, ANY_OPEN, lmtp_cmd_lhlo },
    { LMTP_VERB_MAIL, IN(LMTP_STATE_READY), lmtp_cmd_mail },
    { LMTP_VERB_RCPT, IN(LMTP_STATE_MAIL) | IN(LMTP_STATE_RCPT), lmtp_cmd_rcpt },
    { LMTP_VERB_DATA, IN(LMTP_STATE_MAIL) | IN(LMTP_STATE_RCPT), lmtp_cmd_data },
    { LMTP_VERB_RSET, ANY_OPEN, lmtp_cmd_rset },
    { LMTP_VERB_NOOP, ANY_OPEN, lmtp_cmd_noop },
    { LMTP_VERB_QUIT, ANY_OPEN, lmtp_cmd_quit },
    { LMTP_VERB_VRFY, ANY_OPEN, lmtp_cmd_vrfy },
    { LMTP_VERB_HELO, ANY_OPEN, lmtp_cmd_helo },
    { LMTP_VERB_EHLO, ANY_OPEN, lmtp_cmd_helo },
};

/* lmtp_out_of_order - the 503 text for a command in the wrong state. */
static const char *
lmtp_out_of_order(const LmtpSession *session, LmtpVerb verb)
{
    if (session->state == LMTP_STATE_INIT)
        return "Error: send LHLO first";
    switch (verb) {
    case LMTP_VERB_MAIL:
        return "Error: nested MAIL command";
    case LMTP_VERB_RCPT:
        return "Error: need MAIL command";
    case LMTP_VERB_DATA:
        return session->state == LMTP_STATE_READY ? "Error: need MAIL command"
                                                  : "Error: need RCPT command";
    default:
        return "Error: bad sequence of commands";
    }
}

/* lmtp_session_command - parse one complete line and run it: the checks
 * common to all commands first, then the command's handler. */
static void
lmtp_session_command(LmtpSession *session, const char *line, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(LmtpCommand) command = lmtp_command_parse(line, len, &error);

    if (command == NULL) {
        lmtp_session_error(session, error);
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(lmtp_commands); i++) {
        const LmtpCommandEntry *entry = &lmtp_commands[i];

        if (entry->verb != command->verb)
            continue;
        if ((entry->allowed & IN(session->state)) == 0) {
            lmtp_session_fail(session, BOUNCER_ERROR_BAD_SEQUENCE, "%s",
                              lmtp_out_of_order(session, command->verb));
            return;
        }
        entry->handler(session, command);
        return;
    }
    g_assert_not_reached();
}

/* lmtp_session_feed_command - collect one command line. Returns the number
 * of bytes consumed. A line over the limit is answered once, when its end
 * arrives, and never buffered past the limit. */
static gsize
lmtp_session_feed_command(LmtpSession *session, const char *data, gsize len)
{
    const char *lf = memchr(data, '\n', len);
    gsize take = lf != NULL ? (gsize)(lf - data) + 1 : len;

    if (!session->line_too_long) {
        if (session->line->len + take > LMTP_COMMAND_LINE_MAX)
            session->line_too_long = TRUE;
        else
            g_string_append_len(session->line, data, take);
    }
    if (lf == NULL)
        return take;

    if (session->line_too_long) {
        session->line_too_long = FALSE;
        g_string_truncate(session->line, 0);
        lmtp_session_fail(session, BOUNCER_ERROR_UNKNOWN_COMMAND, "Error: command line too long");
        return take;
    }
    /* Accept a bare LF as the end of a command like Postfix does; the
     * strict rule matters for DATA, where it is enforced. */
    g_string_truncate(session->line, session->line->len - 1);
    if (session->line->len > 0 && session->line->str[session->line->len - 1] == '\r')
        g_string_truncate(session->line, session->line->len - 1);
    {
        g_autofree char *line = g_strndup(session->line->str, session->line->len);
        gsize line_len = session->line->len;

        g_string_truncate(session->line, 0);
        lmtp_session_command(session, line, line_len);
    }
    return take;
}

/* lmtp_session_append - message bytes, up to the size limit; past it the
 * rest is counted as too big and dropped. Past what all sessions may hold
 * at once, the message is dropped too, to be answered 452 4.3.1. */
static void
lmtp_session_append(LmtpSession *session, const char *data, gsize len)
{
    LmtpTransaction *tx = session->tx;
    gint64 *buffered = session->limits->buffered;

    tx->received += len;
    if (tx->too_big || tx->no_room || len == 0)
        return;
    if (tx->data->len + len > session->limits->max_message_size) {
        tx->too_big = TRUE;
        lmtp_session_drop_data(session, tx);
        return;
    }
    /* Counted in steps of LMTP_BUFFERED_STEP: one atomic add for most
     * messages rather than one per line, for at most a step too many per
     * session. */
    if (buffered != NULL && tx->data->len + len > tx->counted) {
        gsize step = MAX(LMTP_BUFFERED_STEP, tx->data->len + len - tx->counted);
        gint64 now = __atomic_add_fetch(buffered, (gint64)step, __ATOMIC_RELAXED);

        tx->counted += step;
        if ((guint64)now > session->limits->max_buffered) {
            log_warning("sid=%s result=no-room buffered=%" G_GINT64_FORMAT " max_buffered=%"
                        G_GUINT64_FORMAT, session->sid, now, session->limits->max_buffered);
            tx->no_room = TRUE;
            lmtp_session_drop_data(session, tx);
            return;
        }
    }
    g_byte_array_append(tx->data, (const guint8 *)data, len);
}

/* lmtp_session_end_data - the final dot: one reply per accepted recipient,
 * in RCPT order, duplicates included (RFC 2033 §4.2). */
static void
lmtp_session_end_data(LmtpSession *session)
{
    LmtpTransaction *tx = session->tx;
    guint n = tx->recipients->len;
    GError **results = g_new0(GError *, n);

    if (tx->too_big) {
        for (guint i = 0; i < n; i++)
            results[i] = g_error_new_literal(BOUNCER_ERROR, BOUNCER_ERROR_TOO_BIG,
                                             "Message size exceeds fixed limit");
    } else if (tx->no_room) {
        for (guint i = 0; i < n; i++)
            results[i] = g_error_new_literal(BOUNCER_ERROR, BOUNCER_ERROR_NO_ROOM,
                                             "Insufficient system storage, try again later");
    } else {
        /* Not stored until the handler says so. */
        for (guint i = 0; i < n; i++)
            results[i] = g_error_new_literal(BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                                             "not stored: the handler gave no answer");
        session->handler->deliver(session->ctx, session->sid, tx, results);
    }
    for (guint i = 0; i < n; i++) {
        const LmtpRecipient *rcpt = g_ptr_array_index(tx->recipients, i);
        g_autofree char *reply = lmtp_reply_for_error(results[i]);

        /* The session knows routes only as numbers: the mailbox label is
         * delivery's, so oversized messages have a counter of their own. */
        if (tx->too_big)
            metrics_counter_inc("bouncer_lmtp_too_big_total", NULL);
        /* The size received, not what was kept: a message over the limit
         * was dropped, and its size is why. */
        log_info("sid=%s from=<%s> rcpt=<%s> size=%" G_GUINT64_FORMAT " result=%.3s ms=%"
                 G_GINT64_FORMAT "%s%s%s",
                 session->sid, tx->mail_from, rcpt->address, tx->received, reply,
                 (g_get_monotonic_time() - tx->started_us) / 1000,
                 results[i] != NULL ? " error=\"" : "",
                 results[i] != NULL ? results[i]->message : "", results[i] != NULL ? "\"" : "");
        lmtp_session_reply(session, "%s", reply);
        g_clear_error(&results[i]);
    }
    g_free(results);
    lmtp_session_reset(session);
}

/* lmtp_session_feed_data - scan message bytes for the end of DATA, removing
 * one leading dot per line. Returns the number of bytes consumed; after the
 * final dot the rest of the input is commands again (pipelining). */
static gsize
lmtp_session_feed_data(LmtpSession *session, const char *data, gsize len)
{
    gsize i = 0;

    while (i < len) {
        char c = data[i];

        switch (session->scan) {
        case DATA_LINE_START:
            if (c == '.') {
                session->scan = DATA_DOT;
                i++;
                continue;
            }
            session->scan = DATA_IN_LINE;
            continue;
        case DATA_IN_LINE: {
            /* Copy up to the next CR in one go: the common case. */
            const char *cr = memchr(data + i, '\r', len - i);
            gsize span = cr != NULL ? (gsize)(cr - (data + i)) + 1 : len - i;

            lmtp_session_append(session, data + i, span);
            i += span;
            if (cr != NULL)
                session->scan = DATA_SAW_CR;
            continue;
        }
        case DATA_SAW_CR:
            lmtp_session_append(session, &c, 1);
            i++;
            if (c == '\n')
                session->scan = DATA_LINE_START;
            else if (c != '\r')
                session->scan = DATA_IN_LINE;
            continue;
        case DATA_DOT:
            if (c == '\r') {
                session->scan = DATA_DOT_CR;
                i++;
                continue;
            }
            /* A stuffed dot: drop it, the rest of the line is content. */
            session->scan = DATA_IN_LINE;
            continue;
        case DATA_DOT_CR:
            if (c == '\n') {
                i++;
                lmtp_session_end_data(session);
                return i;
            }
            /* ".\r" then something else: the dot was stuffing, the CR is
             * content, and this byte is looked at again. */
            lmtp_session_append(session, "\r", 1);
            session->scan = DATA_SAW_CR;
            continue;
        }
    }
    return i;
}

/* --- public ----------------------------------------------------------- */

LmtpSession *
lmtp_session_new(const char *sid, const LmtpLimits *limits, const LmtpSessionHandler *handler,
                 gpointer ctx)
{
    LmtpSession *session = g_new0(LmtpSession, 1);

    session->sid = g_strdup(sid);
    session->limits = limits;
    session->handler = handler;
    session->ctx = ctx;
    session->state = LMTP_STATE_INIT;
    session->out = g_string_sized_new(256);
    session->line = g_string_sized_new(LMTP_COMMAND_LINE_MAX);
    lmtp_session_reply(session, "220 %s LMTP bouncer ready", limits->hostname);
    return session;
}

void
lmtp_session_free(LmtpSession *session)
{
    if (session == NULL)
        return;
    lmtp_session_drop_tx(session);
    g_string_free(session->out, TRUE);
    g_string_free(session->line, TRUE);
    g_free(session->client_name);
    g_free(session->sid);
    g_free(session);
}

void
lmtp_session_feed(LmtpSession *session, const char *data, gsize len)
{
    gsize pos = 0;

    while (pos < len && session->state != LMTP_STATE_CLOSED) {
        if (session->state == LMTP_STATE_DATA)
            pos += lmtp_session_feed_data(session, data + pos, len - pos);
        else
            pos += lmtp_session_feed_command(session, data + pos, len - pos);
    }
}

void
lmtp_session_close(LmtpSession *session, const char *reply)
{
    if (session->state == LMTP_STATE_CLOSED)
        return;
    lmtp_session_reply(session, "%s", reply);
    lmtp_session_drop_tx(session);
    lmtp_session_set_state(session, LMTP_STATE_CLOSED);
}

GString *
lmtp_session_output(LmtpSession *session)
{
    return session->out;
}

LmtpState
lmtp_session_state(const LmtpSession *session)
{
    return session->state;
}

const char *
lmtp_session_id(const LmtpSession *session)
{
    return session->sid;
}
