/* lmtp_session.h - one LMTP session as a state machine (RFC 2033).
 *
 * Fed bytes as they arrive, it writes replies into an output buffer; it
 * owns no socket and no thread, so tests and fuzzers drive it directly.
 * What a recipient means and how a message is stored are the handler's
 * business (two callbacks), called synchronously from lmtp_session_feed(). */
#ifndef BOUNCER_LMTP_SESSION_H
#define BOUNCER_LMTP_SESSION_H

#include <glib.h>

typedef enum {
    LMTP_STATE_INIT,   /* greeted, waiting for LHLO */
    LMTP_STATE_READY,  /* LHLO done, no transaction */
    LMTP_STATE_MAIL,   /* MAIL accepted, no recipient yet */
    LMTP_STATE_RCPT,   /* at least one recipient accepted */
    LMTP_STATE_DATA,   /* receiving the message */
    LMTP_STATE_CLOSED, /* QUIT, 421 or fatal: the caller closes the connection */
} LmtpState;

typedef struct {
    char    *address;     /* as the client wrote it, without brackets */
    int      route;       /* what check_recipient decided (a mailbox kind) */
    gpointer route_data;  /* what else it found out (g_free), or NULL */
} LmtpRecipient;

/* The transaction: created at MAIL, freed at RSET, LHLO or end of DATA. */
typedef struct {
    char       *mail_from;     /* "" for the null sender */
    GPtrArray  *recipients;    /* LmtpRecipient*, in RCPT order, duplicates kept */
    GByteArray *data;          /* the message, dot-stuffing removed */
    gboolean    too_big;       /* over max_message_size: data stopped growing */
    gboolean    no_room;       /* over the sessions' max_buffered: data dropped */
    gsize       counted;       /* bytes counted in LmtpLimits.buffered for it */
    guint64     received;      /* message bytes received, kept or dropped (the log's size) */
    gint64      started_us;    /* monotonic time of MAIL */
} LmtpTransaction;

typedef struct {
    /* check_recipient - at RCPT time: TRUE and *route_out, or FALSE with a
     * BOUNCER_ERROR that becomes the reply (550 5.1.1, 451 4.3.0 ...).
     * *route_data_out (NULL on entry) may take a g_malloc'd block that
     * deliver() finds in the recipient, so that what the check learnt (a
     * verified token) is not worked out again; the session frees it. */
    gboolean (*check_recipient)(gpointer ctx, const char *sid, const char *address,
                                int *route_out, gpointer *route_data_out, GError **error);
    /* deliver - after the final dot: store the message for every recipient
     * and, in RCPT order, clear results[i] (stored, 250) or put its own
     * error there. Each entry starts as a temporary error, so a recipient
     * the handler does not answer for is told 451, never 250. It must not
     * return before what it answers 250 for is durable. */
    void (*deliver)(gpointer ctx, const char *sid, const LmtpTransaction *tx,
                    GError **results);
} LmtpSessionHandler;

typedef struct {
    const char *hostname;          /* (transfer none), must outlive the session */
    guint64     max_message_size;
    guint       max_recipients;
    guint       max_errors;
    /* The messages all sessions hold at once, in bytes: a transaction that
     * would take buffered past max_buffered drops its data and is answered
     * 452 4.3.1, so many large messages at once cost a retry, not the
     * process. Counted in steps of 64 KiB a transaction. buffered NULL: no
     * such limit. */
    guint64     max_buffered;
    gint64     *buffered;          /* shared by the sessions, atomic */
} LmtpLimits;

typedef struct LmtpSession LmtpSession;

/* lmtp_session_new - writes the 220 greeting into the output at once.
 * handler and limits are borrowed. (transfer full) */
LmtpSession *lmtp_session_new(const char *sid, const LmtpLimits *limits,
                              const LmtpSessionHandler *handler, gpointer ctx);
void lmtp_session_free(LmtpSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LmtpSession, lmtp_session_free)

/* lmtp_session_feed - consume all of data; replies are appended to the
 * output. Bytes after the session closed are ignored. */
void lmtp_session_feed(LmtpSession *session, const char *data, gsize len);

/* lmtp_session_close - write "code text" (e.g. "421 4.4.2 ... timeout")
 * and close; used for timeouts and shutdown. */
void lmtp_session_close(LmtpSession *session, const char *reply);

/* lmtp_session_output - replies not yet sent; the caller sends and then
 * truncates it (g_string_truncate(out, 0)). (transfer none) */
GString *lmtp_session_output(LmtpSession *session);

LmtpState lmtp_session_state(const LmtpSession *session);
const char *lmtp_state_name(LmtpState state);
const char *lmtp_session_id(const LmtpSession *session);

/* lmtp_reply_for_error - the one place an error becomes a reply line
 * ("451 4.3.0 ..." without CRLF). Errors outside BOUNCER_ERROR are
 * temporary. (transfer full) */
char *lmtp_reply_for_error(const GError *error);

#endif
