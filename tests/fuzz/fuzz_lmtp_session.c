/* fuzz_lmtp_session.c - arbitrary bytes into an LMTP session.
 *
 * Input layout: 4 header bytes, then what the client sends.
 *   bytes 0-2  chunk sizes, used in turn: 0 = all the rest, 1-127 as is,
 *              128-255 = (n - 127) * 64
 *   byte 3     bits 0-1 message size limit (16, 300, 4096, 1 MiB),
 *              bits 2-3 recipient limit (1, 2, 5, 100),
 *              bit 4 lmtp_session_close() half-way through,
 *              bit 5 message mode: the rest is the body of a message
 *
 * In message mode the client part becomes LHLO, MAIL, RCPT, DATA, the
 * rest of the input and a final <CRLF>.<CRLF>, and the first message
 * delivered must be what a simple reference gives (the text before the
 * first <CRLF>.<CRLF>, one leading dot per line removed) or, over the
 * limit, be refused with 552.
 *
 * The bytes go to one session in those chunks and to a second one in one
 * piece; both must write the same replies and deliver the same messages.
 * Besides that, abort() when: output after a feed does not end in CRLF;
 * a line is not "NNN" SP/"-" text (2xx-5xx); a reply other than the
 * greeting, LHLO's and 354 lacks an enhanced code of its class; anything is
 * written after the session closed; deliver() gets more than the size limit
 * or recipients than the limit; a recipient address holds a control byte. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "common/error.h"
#include "common/lmtp_session.h"
#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HOST   "fuzz.test"
#define FUZZ_HEADER 4

typedef struct {
    guint64     max_size;
    guint       max_recipients;
    GString    *record;      /* every delivery, to compare the two sessions */
    GByteArray *first_data;  /* the first message delivered, NULL before */
} FuzzCtx;

/* What message mode sends before the body, and the replies to it. */
#define MESSAGE_PREFIX \
    "LHLO client.test\r\nMAIL FROM:<sender@example.org>\r\nRCPT TO:<alice@example.org>\r\n" \
    "DATA\r\n"
#define MESSAGE_REPLIES_END \
    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"

#define FUZZ_CHECK(cond, ...)                                                       \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "fuzz_lmtp_session: " __VA_ARGS__);                     \
            fputc('\n', stderr);                                                    \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* local_is - the address's local part is exactly name. */
static gboolean
local_is(const char *address, const char *name)
{
    gsize len = strlen(name);

    return strncmp(address, name, len) == 0 && (address[len] == '@' || address[len] == '\0');
}

static gboolean
fuzz_check_recipient(gpointer ctx, const char *sid, const char *address, int *route_out,
                     gpointer *route_data_out, GError **error)
{
    *route_data_out = g_strdup(address);    /* freed by the session, whatever the answer */
    for (const char *p = address; *p != '\0'; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in RCPT address");
    FUZZ_CHECK(*address != '\0', "empty RCPT address");
    if (local_is(address, "unknown")) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER,
                    "Recipient address rejected: unknown user");
        return FALSE;
    }
    if (local_is(address, "tempfail")) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database is down");
        return FALSE;
    }
    *route_out = 1;
    return TRUE;
}

static void
fuzz_deliver(gpointer ctx, const char *sid, const LmtpTransaction *tx, GError **results)
{
    FuzzCtx *fuzz = ctx;

    FUZZ_CHECK(tx->data->len <= fuzz->max_size, "deliver got %u bytes, limit %" G_GUINT64_FORMAT,
               tx->data->len, fuzz->max_size);
    FUZZ_CHECK(!tx->too_big, "deliver called for a too big message");
    FUZZ_CHECK(tx->recipients->len >= 1 && tx->recipients->len <= fuzz->max_recipients,
               "deliver got %u recipients, limit %u", tx->recipients->len,
               fuzz->max_recipients);
    g_string_append_printf(fuzz->record, "from=<%s> n=%u len=%u:", tx->mail_from,
                           tx->recipients->len, tx->data->len);
    g_string_append_len(fuzz->record, (const char *)tx->data->data, tx->data->len);
    if (fuzz->first_data == NULL) {
        fuzz->first_data = g_byte_array_sized_new(tx->data->len);
        g_byte_array_append(fuzz->first_data, tx->data->data, tx->data->len);
    }
    for (guint i = 0; i < tx->recipients->len; i++) {
        const LmtpRecipient *rcpt = g_ptr_array_index(tx->recipients, i);

        FUZZ_CHECK(g_error_matches(results[i], BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY),
                   "results[%u] not a temporary error to start with", i);
        g_clear_error(&results[i]);
        g_string_append_printf(fuzz->record, "<%s>", rcpt->address);
        if (local_is(rcpt->address, "faildeliver"))
            g_set_error(&results[i], BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "disk full");
    }
}

static const LmtpSessionHandler fuzz_handler = {
    .check_recipient = fuzz_check_recipient,
    .deliver = fuzz_deliver,
};

/* check_output - the reply invariants, on whole lines. in_lhlo carries
 * over between calls: an LHLO reply is never split by a feed, but keep
 * the state anyway. */
static void
check_output(const GString *out, gboolean *in_lhlo)
{
    gsize pos = 0;

    if (out->len == 0)
        return;
    FUZZ_CHECK(out->len >= 2 && out->str[out->len - 2] == '\r' && out->str[out->len - 1] == '\n',
               "output does not end with CRLF");
    while (pos < out->len) {
        const char *line = out->str + pos;
        const char *end = g_strstr_len(line, out->len - pos, "\r\n");
        gsize len = (gsize)(end - line);
        const char *code;
        gsize digits;

        pos += len + 2;
        FUZZ_CHECK(len >= 4, "short reply line");
        FUZZ_CHECK(line[0] >= '2' && line[0] <= '5' && g_ascii_isdigit(line[1]) &&
                       g_ascii_isdigit(line[2]) && (line[3] == ' ' || line[3] == '-'),
                   "bad reply line \"%.*s\"", (int)len, line);
        FUZZ_CHECK(memchr(line, '\r', len) == NULL && memchr(line, '\n', len) == NULL &&
                       memchr(line, '\0', len) == NULL,
                   "CR, LF or NUL inside a reply line");
        if (len >= sizeof("250-" FUZZ_HOST) - 1 &&
            strncmp(line, "250-" FUZZ_HOST, sizeof("250-" FUZZ_HOST) - 1) == 0)
            *in_lhlo = TRUE;
        if (*in_lhlo) {
            *in_lhlo = line[3] == '-';
            continue;
        }
        if (strncmp(line, "220 ", 4) == 0 || strncmp(line, "354 ", 4) == 0)
            continue;
        FUZZ_CHECK(line[3] == ' ', "continuation line outside LHLO");
        code = line + 4;
        FUZZ_CHECK(len >= 10 && code[0] == line[0] && code[1] == '.',
                   "no enhanced code in \"%.*s\"", (int)len, line);
        digits = strspn(code + 2, "0123456789");
        FUZZ_CHECK(digits >= 1 && digits <= 3 && code[2 + digits] == '.',
                   "bad enhanced code in \"%.*s\"", (int)len, line);
        code += 3 + digits;
        digits = strspn(code, "0123456789");
        FUZZ_CHECK(digits >= 1 && digits <= 3 && code[digits] == ' ',
                   "bad enhanced code in \"%.*s\"", (int)len, line);
    }
}

/* feed - one chunk, then the checks, then take the output as the server
 * would. */
static void
feed(LmtpSession *session, const uint8_t *data, size_t len, GString *all, gboolean *in_lhlo)
{
    gboolean was_closed = lmtp_session_state(session) == LMTP_STATE_CLOSED;
    GString *out;

    lmtp_session_feed(session, (const char *)data, len);
    out = lmtp_session_output(session);
    FUZZ_CHECK(!was_closed || out->len == 0, "output after the session closed");
    check_output(out, in_lhlo);
    g_string_append_len(all, out->str, out->len);
    g_string_truncate(out, 0);
}

static void
close_session(LmtpSession *session, GString *all, gboolean *in_lhlo)
{
    gboolean was_closed = lmtp_session_state(session) == LMTP_STATE_CLOSED;
    GString *out;

    lmtp_session_close(session, "421 4.4.2 Timeout exceeded, closing connection");
    FUZZ_CHECK(lmtp_session_state(session) == LMTP_STATE_CLOSED, "not closed by close");
    out = lmtp_session_output(session);
    FUZZ_CHECK(!was_closed || out->len == 0, "output after the session closed");
    check_output(out, in_lhlo);
    g_string_append_len(all, out->str, out->len);
    g_string_truncate(out, 0);
}

/* reference_message - the message in body + <CRLF>.<CRLF>, worked out
 * on the whole buffer rather than byte by byte like the session: the text
 * up to the first <CRLF>.<CRLF> (counting the CRLF that ended DATA), with
 * the first '.' of every line removed (RFC 5321 §4.5.2). (transfer full) */
static GByteArray *
reference_message(const uint8_t *body, gsize len)
{
    GByteArray *text = g_byte_array_sized_new(len + 7);
    GByteArray *message = g_byte_array_sized_new(len);
    gsize end = 0;

    g_byte_array_append(text, (const guint8 *)"\r\n", 2);
    g_byte_array_append(text, body, len);
    g_byte_array_append(text, (const guint8 *)"\r\n.\r\n", 5);
    while (memcmp(text->data + end, "\r\n.\r\n", 5) != 0)
        end++;
    /* Lines start after each CRLF; the text begins with one. */
    for (gsize i = 2; i < end + 2; i++) {
        if (text->data[i] == '.' && text->data[i - 1] == '\n' && text->data[i - 2] == '\r')
            continue;
        g_byte_array_append(message, &text->data[i], 1);
    }
    g_byte_array_unref(text);
    return message;
}

/* check_message_mode - the first message against the reference. */
static void
check_message_mode(const FuzzCtx *fuzz, const GString *out, const uint8_t *body, gsize len)
{
    GByteArray *want = reference_message(body, len);
    const char *after = strstr(out->str, MESSAGE_REPLIES_END);

    FUZZ_CHECK(after != NULL, "message mode: no 354");
    after += strlen(MESSAGE_REPLIES_END);
    if (want->len > fuzz->max_size) {
        FUZZ_CHECK(g_str_has_prefix(after, "552 5.3.4 "),
                   "message mode: %u bytes over limit %" G_GUINT64_FORMAT " not refused",
                   want->len, fuzz->max_size);
        /* Commands after the final dot may deliver another message: the
         * 552 says this one was not delivered. */
    } else {
        FUZZ_CHECK(g_str_has_prefix(after, "250 2.0.0 "), "message mode: message not accepted");
        FUZZ_CHECK(fuzz->first_data != NULL, "message mode: nothing delivered");
        FUZZ_CHECK(fuzz->first_data->len == want->len &&
                       (want->len == 0 ||
                        memcmp(fuzz->first_data->data, want->data, want->len) == 0),
                   "message mode: delivered %u bytes, reference %u, or they differ",
                   fuzz->first_data->len, want->len);
    }
    g_byte_array_unref(want);
}

static gsize
chunk_size(uint8_t b, gsize rest)
{
    gsize n = b == 0 ? rest : b < 128 ? b : (gsize)(b - 127) * 64;

    return MIN(n, rest);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const guint64 sizes[] = { 16, 300, 4096, 1024 * 1024 };
    static const guint rcpts[] = { 1, 2, 5, 100 };
    static gboolean log_quiet;
    uint8_t header[FUZZ_HEADER] = { 0 };
    LmtpLimits limits = { .hostname = FUZZ_HOST, .max_errors = 10 };
    FuzzCtx chunked_ctx, whole_ctx;
    LmtpSession *chunked, *whole;
    GString *chunked_out = g_string_new(NULL);
    GString *whole_out = g_string_new(NULL);
    gboolean chunked_lhlo = FALSE, whole_lhlo = FALSE;
    gboolean close_midway, message_mode;
    GByteArray *stream = NULL;
    const uint8_t *payload;
    gsize payload_len, half, pos = 0, turn = 0;

    if (!log_quiet) {
        log_open(NULL, LOG_LEVEL_ERROR, NULL);
        log_quiet = TRUE;
    }
    if (size > 0)
        memcpy(header, data, MIN(size, FUZZ_HEADER));
    payload = size > FUZZ_HEADER ? data + FUZZ_HEADER : data + size;
    payload_len = size > FUZZ_HEADER ? size - FUZZ_HEADER : 0;
    limits.max_message_size = sizes[header[3] & 3];
    limits.max_recipients = rcpts[(header[3] >> 2) & 3];
    message_mode = (header[3] & 0x20) != 0;
    close_midway = (header[3] & 0x10) != 0 && !message_mode;
    if (message_mode) {
        stream = g_byte_array_sized_new(payload_len + 64);
        g_byte_array_append(stream, (const guint8 *)MESSAGE_PREFIX, strlen(MESSAGE_PREFIX));
        g_byte_array_append(stream, payload, payload_len);
        g_byte_array_append(stream, (const guint8 *)"\r\n.\r\n", 5);
        payload = stream->data;
        payload_len = stream->len;
    }
    half = close_midway ? payload_len / 2 : payload_len;

    chunked_ctx = (FuzzCtx){ limits.max_message_size, limits.max_recipients, g_string_new(NULL),
                             NULL };
    whole_ctx = (FuzzCtx){ limits.max_message_size, limits.max_recipients, g_string_new(NULL),
                           NULL };
    chunked = lmtp_session_new("fuzz1", &limits, &fuzz_handler, &chunked_ctx);
    whole = lmtp_session_new("fuzz2", &limits, &fuzz_handler, &whole_ctx);
    feed(chunked, NULL, 0, chunked_out, &chunked_lhlo);
    feed(whole, NULL, 0, whole_out, &whole_lhlo);

    /* The chunked session: sizes from the header, a close at the half. */
    if (close_midway && half == 0)
        close_session(chunked, chunked_out, &chunked_lhlo);
    while (pos < payload_len) {
        gsize limit = pos < half ? half : payload_len;
        gsize n = chunk_size(header[turn++ % 3], limit - pos);

        feed(chunked, payload + pos, n, chunked_out, &chunked_lhlo);
        pos += n;
        if (close_midway && half > 0 && pos == half)
            close_session(chunked, chunked_out, &chunked_lhlo);
    }

    /* The same bytes in one piece (two around the close). */
    feed(whole, payload, half, whole_out, &whole_lhlo);
    if (close_midway)
        close_session(whole, whole_out, &whole_lhlo);
    feed(whole, payload + half, payload_len - half, whole_out, &whole_lhlo);

    FUZZ_CHECK(lmtp_session_state(chunked) == lmtp_session_state(whole),
               "state %s chunked, %s whole", lmtp_state_name(lmtp_session_state(chunked)),
               lmtp_state_name(lmtp_session_state(whole)));
    FUZZ_CHECK(g_string_equal(chunked_out, whole_out), "replies differ between splits");
    FUZZ_CHECK(g_string_equal(chunked_ctx.record, whole_ctx.record),
               "deliveries differ between splits");
    if (message_mode)
        check_message_mode(&whole_ctx, whole_out, data + FUZZ_HEADER, size - FUZZ_HEADER);

    lmtp_session_free(chunked);
    lmtp_session_free(whole);
    g_string_free(chunked_ctx.record, TRUE);
    g_string_free(whole_ctx.record, TRUE);
    if (chunked_ctx.first_data != NULL)
        g_byte_array_unref(chunked_ctx.first_data);
    if (whole_ctx.first_data != NULL)
        g_byte_array_unref(whole_ctx.first_data);
    if (stream != NULL)
        g_byte_array_unref(stream);
    g_string_free(chunked_out, TRUE);
    g_string_free(whole_out, TRUE);
    return 0;
}
