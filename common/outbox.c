/* outbox.c - queue outgoing mail in PostgreSQL and deliver it to the relay. */
#include "common/outbox.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/mime_compose.h"

#define OUTBOX_BATCH 20
#define OUTBOX_IDLE_POLL_MS 500
/* A claimed row is left alone this long; then another sender (or this one
 * after a crash) may try it again. */
#define OUTBOX_LEASE "10 minutes"

typedef struct {
    OutboxComposer composer;
    gpointer       data;
} OutboxComposerEntry;

struct OutboxSender {
    GHashTable *composers;     /* kind -> OutboxComposerEntry */
    char     *conninfo;
    char     *url;
    char     *file_dir;        /* non-NULL for a file: relay */
    char     *starttls;
    char     *username;
    char     *password;
    guint     timeout;
    guint     retry_base;
    guint     retry_max;
    GThread  *thread;
    gint      stopping;
    GMutex    lock;
    GCond     wake;
};

gboolean
outbox_enqueue(PGconn *conn, const OutboxItem *item, gint64 *id_out, GError **error)
{
    g_autofree char *org = item->org_id >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, item->org_id) : NULL;
    g_autofree char *inbound = g_strdup_printf("%" G_GINT64_FORMAT, item->inbound_id);
    g_autofree char *hours = g_strdup_printf("%u hours", item->give_up_hours);
    const char *values[] = {
        item->kind, org, inbound, item->mail_from, item->rcpt_to, item->message,
        item->held_reason != NULL ? "held" : "queued",
        item->held_reason != NULL ? item->held_reason : "", hours,
    };
    int lengths[G_N_ELEMENTS(values)] = { [5] = (int)item->len };
    int formats[G_N_ELEMENTS(values)] = { [5] = 1 };
    g_autoptr(PGresult) res = PQexecParams(conn,
        "INSERT INTO outbox (kind, org_id, inbound_id, mail_from, rcpt_to, message, state,"
        " last_error, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + $9::interval)"
        " RETURNING id", G_N_ELEMENTS(values), NULL, values, lengths, formats, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        metrics_counter_inc("bouncer_db_errors_total", NULL);
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "outbox: %s",
                    PQresultErrorMessage(res));
        return FALSE;
    }
    if (id_out != NULL)
        *id_out = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    return TRUE;
}

/* --- delivery ----------------------------------------------------------- */

typedef enum {
    OUTBOX_SENT,
    OUTBOX_TEMPORARY,
    OUTBOX_PERMANENT,
} OutboxResult;

typedef struct {
    const char *data;
    gsize       len;
    gsize       pos;
} OutboxUpload;

static size_t
outbox_curl_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    OutboxUpload *up = userdata;
    gsize n = MIN(size * nitems, up->len - up->pos);

    memcpy(buffer, up->data + up->pos, n);
    up->pos += n;
    return n;
}

/* outbox_permanent - whether a failed attempt should not be tried again:
 * a 5xx reply to the message (MAIL, RCPT, DATA, or after its data). A
 * refused login or STARTTLS, and the replies that say authentication or
 * encryption is needed (RFC 4954: 530, 534, 535, 538), are our
 * configuration, not the message; a 5xx greeting or HELO is the relay
 * refusing service (libcurl says CURLE_WEIRD_SERVER_REPLY both for that
 * and for a 5xx after the data, told apart by whether the data went).
 * Those are retried until fixed or the row expires, as Postfix does
 * (smtp_sasl_auth_soft_bounce, smtp_skip_5xx_greeting). Everything else
 * (4xx, no connection, a timeout) is worth another try too. */
static gboolean
outbox_permanent(CURLcode rc, long code, gboolean data_sent)
{
    if (rc == CURLE_LOGIN_DENIED || rc == CURLE_USE_SSL_FAILED || rc == CURLE_REMOTE_ACCESS_DENIED)
        return FALSE;
    if (rc == CURLE_WEIRD_SERVER_REPLY && !data_sent)
        return FALSE;
    if (code == 530 || code == 534 || code == 535 || code == 538)
        return FALSE;
    return code >= 500 && code < 600;
}

/* The relay's last reply, as it said it: libcurl's error text names only
 * the command and the code ("RCPT failed: 550"), and the server's words
 * ("5.1.1 no such user") are what an operator reads last_error for. */
#define OUTBOX_REPLY_MAX 512

typedef struct {
    GString *reply;           /* the reply coming in, its lines joined by " " */
    gboolean complete;        /* its last line ("NNN text") has come */
    GString *refusal;         /* the last complete 4xx or 5xx reply (QUIT's
                               * 221 comes after it) */
} OutboxReply;

/* outbox_curl_debug - keep each reply the server sends; what we send
 * (AUTH among it) is not looked at. */
static int
outbox_curl_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *userp)
{
    OutboxReply *reply = userp;
    g_autofree char *line = NULL;

    (void)curl;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    if (reply->complete) {
        g_string_truncate(reply->reply, 0);
        reply->complete = FALSE;
    }
    line = mime_compose_fold(data, (gssize)MIN(size, (size_t)OUTBOX_REPLY_MAX), OUTBOX_REPLY_MAX);
    if (reply->reply->len < OUTBOX_REPLY_MAX) {
        if (reply->reply->len > 0)
            g_string_append_c(reply->reply, ' ');
        g_string_append(reply->reply, line);
    }
    /* "250-..." continues a reply, "250 ..." ends it */
    reply->complete = size < 4 || data[3] != '-';
    if (reply->complete && (reply->reply->str[0] == '4' || reply->reply->str[0] == '5'))
        g_string_assign(reply->refusal, reply->reply->str);
    return 0;
}

/* outbox_send_smtp - one message through libcurl's SMTP client; see
 * outbox_permanent() for which failures are final. */
static OutboxResult
outbox_send_smtp(OutboxSender *sender, const char *mail_from, const char *rcpt_to,
                 const char *data, gsize len, char **error_out)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *rcpts = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    OutboxUpload up = { data, len, 0 };
    g_autofree char *from = g_strdup_printf("<%s>", mail_from);
    g_autofree char *to = g_strdup_printf("<%s>", rcpt_to);
    g_autoptr(GString) last_reply = g_string_new(NULL);
    g_autoptr(GString) refusal = g_string_new(NULL);
    OutboxReply reply = { last_reply, FALSE, refusal };
    long code = 0;
    CURLcode rc;

    if (curl == NULL) {
        *error_out = g_strdup("cannot create a libcurl handle");
        return OUTBOX_TEMPORARY;
    }
    rcpts = curl_slist_append(rcpts, to);
    curl_easy_setopt(curl, CURLOPT_URL, sender->url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, outbox_curl_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)sender->timeout);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, outbox_curl_debug);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
    if (g_strcmp0(sender->starttls, "required") == 0)
        curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    else if (g_strcmp0(sender->starttls, "try") == 0)
        curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    if (sender->username[0] != '\0') {
        curl_easy_setopt(curl, CURLOPT_USERNAME, sender->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, sender->password);
    }
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(curl);

    if (rc == CURLE_OK)
        return OUTBOX_SENT;
    /* The server's words, when the refusal we kept is the one that failed. */
    if (code != 0 && strtol(refusal->str, NULL, 10) == code)
        *error_out = g_strdup_printf("%s (reply %ld: %s)",
                                     errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc), code,
                                     refusal->str);
    else
        *error_out = g_strdup_printf("%s (reply %ld)",
                                     errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc), code);
    return outbox_permanent(rc, code, up.pos > 0) ? OUTBOX_PERMANENT : OUTBOX_TEMPORARY;
}

/* outbox_send_file - the file: relay writes NAME.eml atomically (a
 * temporary name, then rename), for running without a mail server. */
static OutboxResult
outbox_send_file(OutboxSender *sender, gint64 id, const char *rcpt_to, const char *data, gsize len,
                 char **error_out)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%S");
    g_autofree char *name = g_strdup_printf("%s-%06" G_GINT64_FORMAT ".eml", stamp, id);
    g_autofree char *path = g_build_filename(sender->file_dir, name, NULL);

    if (g_mkdir_with_parents(sender->file_dir, 0755) != 0 ||
        !g_file_set_contents(path, data, (gssize)len, &error)) {
        *error_out = g_strdup_printf("cannot write %s: %s", path,
                                     error != NULL ? error->message : g_strerror(errno));
        return OUTBOX_TEMPORARY;
    }
    return OUTBOX_SENT;
}

/* outbox_backoff - seconds before attempt n+1: base, 2*base, 4*base ... max. */
static guint
outbox_backoff(const OutboxSender *sender, int attempts)
{
    guint64 delay = sender->retry_base;

    for (int i = 1; i < attempts && delay < sender->retry_max; i++)
        delay *= 2;
    return (guint)MIN(delay, (guint64)sender->retry_max);
}

/* outbox_finish - record one attempt: sent, retry later, or failed (with
 * an outbox.failed event for the app). */
static void
outbox_finish(OutboxSender *sender, PGconn *conn, const char *id, const char *kind, int attempts,
              gboolean expired, OutboxResult result, const char *error_text)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = NULL;

    if (result == OUTBOX_SENT) {
        const char *params[] = { id };

        res = db_exec(conn,
            "WITH s AS (UPDATE outbox SET state = 'sent', sent_at = now(), last_error = ''"
            "           WHERE id = $1 RETURNING id, kind, org_id, inbound_id, rcpt_to)"
            " INSERT INTO events (type, org_id, payload)"
            " SELECT 'autoreply.sent', s.org_id, jsonb_build_object('type', 'autoreply.sent',"
            "        'time', now(), 'org_id', s.org_id, 'recipient', s.rcpt_to,"
            "        'inbound_id', s.inbound_id, 'outbox_id', s.id)"
            "   FROM s WHERE s.kind = 'autoreply'", 1, params, &error);
        metrics_counter_inc("bouncer_outbox_sent_total", "kind", kind, NULL);
        log_info("outbox id=%s kind=%s result=sent attempts=%d", id, kind, attempts);
    } else if (result == OUTBOX_PERMANENT || expired) {
        g_autofree char *claimed = g_strdup_printf("%d", attempts);
        const char *params[] = { id, error_text, claimed };

        /* Only while the row is still this attempt's (see outbox_reclaim). */
        res = db_exec(conn,
            "WITH f AS (UPDATE outbox SET state = 'failed', last_error = $2"
            "           WHERE id = $1 AND attempts = $3::integer"
            "           RETURNING id, kind, org_id, inbound_id, rcpt_to, attempts)"
            " INSERT INTO events (type, org_id, payload)"
            " SELECT 'outbox.failed', f.org_id, jsonb_build_object('type', 'outbox.failed',"
            "        'time', now(), 'org_id', f.org_id, 'recipient', f.rcpt_to, 'kind', f.kind,"
            "        'attempts', f.attempts, 'diagnostic', $2::text, 'inbound_id', f.inbound_id,"
            "        'outbox_id', f.id) FROM f", 3, params, &error);
        metrics_counter_inc("bouncer_outbox_failed_total", "kind", kind, NULL);
        log_warning("outbox id=%s kind=%s result=failed attempts=%d error=\"%s\"", id, kind,
                    attempts, error_text);
    } else {
        g_autofree char *delay = g_strdup_printf("%u seconds", outbox_backoff(sender, attempts));
        g_autofree char *claimed = g_strdup_printf("%d", attempts);
        const char *params[] = { id, error_text, delay, claimed };

        res = db_exec(conn,
            "UPDATE outbox SET last_error = $2, next_attempt_at = now() + $3::interval"
            " WHERE id = $1 AND attempts = $4::integer", 4, params, &error);
        metrics_counter_inc("bouncer_outbox_deferred_total", "kind", kind, NULL);
        log_info("outbox id=%s kind=%s result=deferred attempts=%d retry_in=%s error=\"%s\"", id,
                 kind, attempts, delay, error_text);
    }
    if (res == NULL)
        log_warning("outbox id=%s: cannot record the attempt: %s", id, error->message);
}

/* outbox_compose - a row queued without its message (a forward): the
 * registered composer makes it from the stored inbound message and the
 * organisation's row as they are now. NULL with *error_out set when it
 * cannot: the row fails. */
static char *
outbox_compose(OutboxSender *sender, const char *kind, PGresult *res, int row,
               const char *rcpt_to, gsize *len_out, char **error_out)
{
    OutboxStamp stamp = { g_ascii_strtoll(PQgetvalue(res, row, 0), NULL, 10),
                          g_ascii_strtoll(PQgetvalue(res, row, 9), NULL, 10) };
    const OutboxComposerEntry *entry = g_hash_table_lookup(sender->composers, kind);
    g_autofree guchar *raw = NULL;
    size_t raw_len = 0;
    guchar *unescaped;
    char *message;

    if (entry == NULL) {
        *error_out = g_strdup_printf("no composer for %s messages", kind);
        return NULL;
    }
    if (PQgetisnull(res, row, 7)) {
        *error_out = g_strdup("not sent: the stored message is gone");
        return NULL;
    }
    unescaped = PQunescapeBytea((const guchar *)PQgetvalue(res, row, 7), &raw_len);
    if (unescaped == NULL) {
        *error_out = g_strdup("cannot decode the stored message");
        return NULL;
    }
    raw = g_malloc(raw_len + 1);
    memcpy(raw, unescaped, raw_len);
    raw[raw_len] = '\0';
    PQfreemem(unescaped);
    message = entry->composer(entry->data, (const char *)raw, raw_len, PQgetvalue(res, row, 8),
                              rcpt_to, &stamp, len_out);
    if (message == NULL)
        *error_out = g_strdup("nothing to forward in the stored message");
    return message;
}

/* outbox_reclaim - renew this attempt's lease just before sending. A
 * batch can take longer than the lease (a slow relay); then another
 * sender may have taken the row, and sending it here too would deliver
 * it twice. FALSE: no longer ours, skip it. */
static gboolean
outbox_reclaim(PGconn *conn, const char *id, int attempts)
{
    g_autofree char *claimed = g_strdup_printf("%d", attempts);
    const char *params[] = { id, claimed };
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = db_exec(conn,
        "UPDATE outbox SET next_attempt_at = now() + interval '" OUTBOX_LEASE "'"
        " WHERE id = $1 AND attempts = $2::integer AND state = 'queued' RETURNING id",
        2, params, &error);

    return res != NULL && PQntuples(res) == 1;
}

/* outbox_sender_round - claim the due rows (lease + attempt count in one
 * statement), deliver each, record each. Returns rows handled, -1 when
 * the database failed. */
static int
outbox_sender_round(OutboxSender *sender, PGconn *conn)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = db_exec(conn,
        "WITH due AS (SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= now()"
        "              ORDER BY next_attempt_at LIMIT " G_STRINGIFY(OUTBOX_BATCH)
        "              FOR UPDATE SKIP LOCKED),"
        "     c AS (UPDATE outbox o SET attempts = o.attempts + 1,"
        "                  next_attempt_at = now() + interval '" OUTBOX_LEASE "'"
        "             FROM due WHERE o.id = due.id RETURNING o.*)"
        /* A row queued without its message (a forward) goes to the
         * organisation's Reply-To as it is now, and only while the
         * organisation still wants forwards: none when its Reply-To was
         * cleared, forwarding turned off or the organisation removed. */
        " SELECT c.id, c.kind, c.mail_from,"
        "        CASE WHEN c.message IS NULL THEN g.reply_to ELSE c.rcpt_to END, c.attempts,"
        "        c.expires_at <= now(), c.message, i.raw, coalesce(g.name, ''),"
        "        (extract(epoch FROM c.created_at) * 1000000)::bigint"
        "   FROM c"
        "   LEFT JOIN inbound_messages i ON c.message IS NULL AND i.id = c.inbound_id"
        "   LEFT JOIN organisations g ON c.message IS NULL AND g.id = c.org_id"
        "          AND g.forward_bounces AND coalesce(g.reply_to, '') <> ''", 0, NULL, &error);
    int n;

    if (res == NULL) {
        log_warning("outbox: %s", error->message);
        return -1;
    }
    n = PQntuples(res);
    for (int i = 0; i < n && !g_atomic_int_get(&sender->stopping); i++) {
        const char *id = PQgetvalue(res, i, 0);
        const char *kind = PQgetvalue(res, i, 1);
        /* The envelope recipient as the composer writes To: a bare
         * addr-spec, not the column as typed ("<joe@example.org>"). */
        g_autofree char *rcpt_to = PQgetisnull(res, i, 3)
                                       ? NULL : mime_compose_plain_address(PQgetvalue(res, i, 3));
        int attempts = atoi(PQgetvalue(res, i, 4));
        gboolean expired = strcmp(PQgetvalue(res, i, 5), "t") == 0;
        g_autofree char *composed = NULL;
        g_autofree char *error_text = NULL;
        guchar *stored = NULL;
        const char *message = NULL;
        size_t len = 0;
        OutboxResult result;

        if (!outbox_reclaim(conn, id, attempts)) {
            log_info("outbox id=%s kind=%s result=skipped reason=lease-lost", id, kind);
            continue;
        }
        if (rcpt_to == NULL) {
            error_text = g_strdup(PQgetisnull(res, i, 3)
                ? "not sent: the organisation no longer forwards (no Reply-To, forwarding"
                  " turned off, or removed)"
                : "not sent: the recipient is not a plain address");
        } else if (!PQgetisnull(res, i, 6)) {
            stored = PQunescapeBytea((const guchar *)PQgetvalue(res, i, 6), &len);
            message = (const char *)stored;
        } else {
            composed = outbox_compose(sender, kind, res, i, rcpt_to, &len, &error_text);
            message = composed;
        }
        if (message == NULL)
            result = OUTBOX_PERMANENT;
        else if (sender->file_dir != NULL)
            result = outbox_send_file(sender, g_ascii_strtoll(id, NULL, 10), rcpt_to, message, len,
                                      &error_text);
        else
            result = outbox_send_smtp(sender, PQgetvalue(res, i, 2), rcpt_to, message, len,
                                      &error_text);
        if (stored != NULL)
            PQfreemem(stored);
        outbox_finish(sender, conn, id, kind, attempts, expired, result,
                      error_text != NULL ? error_text : "");
    }
    return n;
}

static gpointer
outbox_sender_thread(gpointer data)
{
    OutboxSender *sender = data;
    PGconn *conn = NULL;

    while (!g_atomic_int_get(&sender->stopping)) {
        int handled = 0;
        gint64 until;

        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
            g_autoptr(GError) error = NULL;

            if (conn != NULL)
                metrics_counter_inc("bouncer_db_reconnects_total", NULL);
            g_clear_pointer(&conn, PQfinish);
            conn = db_connect(sender->conninfo, &error);
            if (conn == NULL)
                handled = -1;
        }
        if (conn != NULL)
            handled = outbox_sender_round(sender, conn);
        if (handled == OUTBOX_BATCH)
            continue;
        until = g_get_monotonic_time() + (handled < 0 ? 2000 : OUTBOX_IDLE_POLL_MS) * 1000;
        g_mutex_lock(&sender->lock);
        while (!g_atomic_int_get(&sender->stopping) &&
               g_cond_wait_until(&sender->wake, &sender->lock, until))
            ;
        g_mutex_unlock(&sender->lock);
    }
    g_clear_pointer(&conn, PQfinish);
    return NULL;
}

OutboxSender *
outbox_sender_new(const char *conninfo, const OutboxRelay *relay, GError **error)
{
    static gsize curl_ready = 0;
    OutboxSender *sender;

    if (g_once_init_enter(&curl_ready)) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        g_once_init_leave(&curl_ready, 1);
    }
    if (!g_str_has_prefix(relay->url, "smtp://") && !g_str_has_prefix(relay->url, "smtps://") &&
        !g_str_has_prefix(relay->url, "file:")) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "[relay] url: want smtp://host:port, smtps://host:port or file:DIRECTORY, got '%s'",
                    relay->url);
        return NULL;
    }
    sender = g_new0(OutboxSender, 1);
    sender->composers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    sender->conninfo = g_strdup(conninfo);
    sender->url = g_strdup(relay->url);
    if (g_str_has_prefix(relay->url, "file:"))
        sender->file_dir = g_strdup(relay->url + 5);
    sender->starttls = g_strdup(relay->starttls);
    sender->username = g_strdup(relay->username);
    sender->password = g_strdup(relay->password);
    sender->timeout = relay->timeout;
    sender->retry_base = MAX(relay->retry_base, 1);
    sender->retry_max = MAX(relay->retry_max, sender->retry_base);
    g_mutex_init(&sender->lock);
    g_cond_init(&sender->wake);
    return sender;
}

void
outbox_sender_set_composer(OutboxSender *sender, const char *kind, OutboxComposer composer,
                           gpointer data)
{
    OutboxComposerEntry *entry = g_new0(OutboxComposerEntry, 1);

    entry->composer = composer;
    entry->data = data;
    g_hash_table_replace(sender->composers, g_strdup(kind), entry);
}

void
outbox_sender_start(OutboxSender *sender)
{
    sender->thread = g_thread_new("outbox", outbox_sender_thread, sender);
}

void
outbox_sender_stop(OutboxSender *sender)
{
    if (sender->thread == NULL)
        return;
    g_atomic_int_set(&sender->stopping, TRUE);
    g_mutex_lock(&sender->lock);
    g_cond_broadcast(&sender->wake);
    g_mutex_unlock(&sender->lock);
    g_thread_join(sender->thread);
    sender->thread = NULL;
}

void
outbox_sender_free(OutboxSender *sender)
{
    if (sender == NULL)
        return;
    outbox_sender_stop(sender);
    g_hash_table_unref(sender->composers);
    g_free(sender->conninfo);
    g_free(sender->url);
    g_free(sender->file_dir);
    g_free(sender->starttls);
    g_free(sender->username);
    if (sender->password != NULL)
        memset(sender->password, 0, strlen(sender->password));
    g_free(sender->password);
    g_mutex_clear(&sender->lock);
    g_cond_clear(&sender->wake);
    g_free(sender);
}
