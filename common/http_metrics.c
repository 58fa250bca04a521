/* http_metrics.c - GET /metrics and GET /healthz over libmicrohttpd. */
#include "common/http_metrics.h"
#include "common/net_listen.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/db.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"

#define HTTP_METRICS_TEXT "text/plain; charset=utf-8"

/* One statement, one round trip, each part on a partial index. A failure
 * is dated by its outbox.failed event (the outbox row keeps no time of
 * failure, and a retried row leaves the failed state). */
static const char http_metrics_gauges_sql[] =
    "SELECT (SELECT count(*) FROM outbox WHERE state = 'queued'),"
    "       (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)"
    "          FROM outbox WHERE state = 'queued'),"
    "       (SELECT count(*) FROM event_log WHERE type = 'outbox.failed'"
    "           AND created_at > now() - interval '24 hours'),"
    "       (SELECT count(*) FROM events_unpublished)";

static const char *const http_metrics_gauges[] = {
    "bouncer_outbox_queued",
    "bouncer_outbox_oldest_queued_seconds",
    "bouncer_outbox_failed",
    "bouncer_events_unpublished",
};

struct HttpMetrics {
    struct MHD_Daemon *daemon;
    guint              port;
    char              *conninfo;
    GMutex             db_lock;
    PGconn            *conn;        /* kept between requests; NULL after a failure */
    gboolean           db_failing;  /* the last answer was a failure: log changes only */
};

/* --- the database, with a deadline ------------------------------------------ */

static void
http_metrics_notice_quiet(void *arg, const char *message)
{
}

/* http_metrics_one_line - libpq's messages run over several lines (a
 * hint after a tab); the reason is one line in the log and in /healthz. */
static char *
http_metrics_one_line(const char *message)
{
    g_auto(GStrv) words = g_strsplit_set(message, " \t\r\n", -1);
    GString *out = g_string_new(NULL);

    for (guint i = 0; words[i] != NULL; i++) {
        if (words[i][0] != '\0')
            g_string_append_printf(out, "%s%s", out->len > 0 ? " " : "", words[i]);
    }
    return g_string_free(out, FALSE);
}

/* http_metrics_wait - until the connection's socket is ready, or the
 * deadline (monotonic microseconds) passes. */
static gboolean
http_metrics_wait(PGconn *conn, gboolean for_write, gint64 deadline, GError **error)
{
    for (;;) {
        struct pollfd pfd = { .fd = PQsocket(conn), .events = for_write ? POLLOUT : POLLIN };
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        int rc;

        if (pfd.fd < 0) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database connection lost");
            return FALSE;
        }
        if (left_ms <= 0) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                        "database: no answer within %u ms", HTTP_METRICS_DB_TIMEOUT_MS);
            return FALSE;
        }
        rc = poll(&pfd, 1, (int)left_ms);
        if (rc > 0)
            return TRUE;
        if (rc < 0 && errno != EINTR) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "poll: %s", g_strerror(errno));
            return FALSE;
        }
    }
}

/* http_metrics_connect - libpq's non-blocking connect, so the deadline
 * holds however the server or the network misbehaves. */
static PGconn *
http_metrics_connect(const char *conninfo, gint64 deadline, GError **error)
{
    /* conninfo comes last: what it sets wins. */
    const char *keywords[] = { "application_name", "dbname", NULL };
    const char *values[] = { "bouncerd-metrics", conninfo, NULL };
    PGconn *conn = PQconnectStartParams(keywords, values, 1);
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;

    if (conn == NULL) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database connection failed");
        return NULL;
    }
    while (PQstatus(conn) != CONNECTION_BAD && status != PGRES_POLLING_OK &&
           status != PGRES_POLLING_FAILED) {
        if (!http_metrics_wait(conn, status == PGRES_POLLING_WRITING, deadline, error)) {
            PQfinish(conn);
            return NULL;
        }
        status = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        g_autofree char *message = http_metrics_one_line(PQerrorMessage(conn));

        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database connection failed: %s",
                    message);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, http_metrics_notice_quiet, NULL);
    return conn;
}

/* http_metrics_query - send, then read the result as it arrives. On
 * failure the connection is in an unknown state: the caller drops it. */
static PGresult *
http_metrics_query(PGconn *conn, const char *sql, gint64 deadline, GError **error)
{
    PGresult *first = NULL;
    int rc;

    if (!PQsendQuery(conn, sql))
        goto libpq_error;
    while ((rc = PQflush(conn)) == 1) {
        if (!http_metrics_wait(conn, TRUE, deadline, error))
            return NULL;
    }
    if (rc < 0)
        goto libpq_error;
    for (;;) {
        PGresult *res;

        while (PQisBusy(conn)) {
            if (!http_metrics_wait(conn, FALSE, deadline, error)) {
                PQclear(first);
                return NULL;
            }
            if (!PQconsumeInput(conn)) {
                PQclear(first);
                goto libpq_error;
            }
        }
        res = PQgetResult(conn);
        if (res == NULL)
            break;
        if (first == NULL)
            first = res;
        else
            PQclear(res);
    }
    if (PQresultStatus(first) == PGRES_TUPLES_OK || PQresultStatus(first) == PGRES_COMMAND_OK)
        return first;
    if (first != NULL) {
        g_autofree char *message = http_metrics_one_line(PQresultErrorMessage(first));

        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database: %s", message);
        PQclear(first);
        return NULL;
    }
libpq_error:
    {
        g_autofree char *message = http_metrics_one_line(PQerrorMessage(conn));

        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database: %s",
                    message[0] != '\0' ? message : "query failed");
    }
    return NULL;
}

/* http_metrics_db_query - sql on the listener's own connection, opened
 * when there is none. A kept connection that fails (the database restarted
 * since) is replaced by a fresh one within the same deadline. */
static PGresult *
http_metrics_db_query(HttpMetrics *http, const char *sql, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)HTTP_METRICS_DB_TIMEOUT_MS * 1000;
    PGresult *res = NULL;

    g_mutex_lock(&http->db_lock);
    for (;;) {
        g_autoptr(GError) local = NULL;
        gboolean fresh = http->conn == NULL || PQstatus(http->conn) != CONNECTION_OK;

        if (fresh) {
            g_clear_pointer(&http->conn, PQfinish);
            http->conn = http_metrics_connect(http->conninfo, deadline, &local);
            if (http->conn != NULL) {
                /* The server gives up too, should we stop waiting. */
                PGresult *set = http_metrics_query(http->conn, "SET statement_timeout = "
                                                   G_STRINGIFY(HTTP_METRICS_DB_TIMEOUT_MS),
                                                   deadline, &local);

                if (set == NULL)
                    g_clear_pointer(&http->conn, PQfinish);
                PQclear(set);
            }
        }
        if (http->conn != NULL) {
            res = http_metrics_query(http->conn, sql, deadline, &local);
            if (res == NULL)
                g_clear_pointer(&http->conn, PQfinish);
        }
        if (res != NULL || fresh) {
            if (res == NULL)
                g_propagate_error(error, g_steal_pointer(&local));
            break;
        }
    }
    g_mutex_unlock(&http->db_lock);
    return res;
}

/* http_metrics_note - log when the database starts or stops answering,
 * not on every request. */
static void
http_metrics_note(HttpMetrics *http, const GError *error)
{
    gboolean failing = error != NULL;

    if (g_atomic_int_exchange(&http->db_failing, failing) == failing)
        return;
    if (failing)
        log_warning("metrics: health check failed: %s", error->message);
    else
        log_info("metrics: health check ok again");
}

void
http_metrics_collect_database(gpointer data)
{
    HttpMetrics *http = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = http_metrics_db_query(http, http_metrics_gauges_sql, &error);

    if (res != NULL && PQntuples(res) != 1) {
        g_set_error(&error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database: no row for the gauges");
        g_clear_pointer(&res, PQclear);
    }
    http_metrics_note(http, error);
    if (res == NULL) {
        for (gsize i = 0; i < G_N_ELEMENTS(http_metrics_gauges); i++)
            metrics_gauge_unset(http_metrics_gauges[i]);
        metrics_gauge_set("bouncer_database_up", 0, NULL);
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(http_metrics_gauges); i++)
        metrics_gauge_set(http_metrics_gauges[i], g_ascii_strtod(PQgetvalue(res, 0, (int)i), NULL),
                          NULL);
    metrics_gauge_set("bouncer_database_up", 1, NULL);
}

/* --- HTTP ---------------------------------------------------------------- */

/* http_metrics_reply - queue body (transfer full) with its status. */
static enum MHD_Result
http_metrics_reply(struct MHD_Connection *connection, const char *url, unsigned int status,
                   const char *content_type, char *body)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer_with_free_callback(strlen(body), body, g_free);
    enum MHD_Result rc;

    if (response == NULL) {
        g_free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    rc = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    log_debug("metrics: path=%.100s status=%u", url, status);
    return rc;
}

/* http_metrics_handle - the request handler. Every answer is decided on
 * the first call, before any request body (which is never wanted). */
static enum MHD_Result
http_metrics_handle(void *cls, struct MHD_Connection *connection, const char *url,
                    const char *method, const char *version, const char *upload_data,
                    size_t *upload_data_size, void **req_cls)
{
    HttpMetrics *http = cls;
    gboolean metrics = strcmp(url, "/metrics") == 0;
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = NULL;

    if (!metrics && strcmp(url, "/healthz") != 0)
        return http_metrics_reply(connection, url, MHD_HTTP_NOT_FOUND, HTTP_METRICS_TEXT,
                                  g_strdup("not found: try /metrics or /healthz\n"));
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return http_metrics_reply(connection, url, MHD_HTTP_METHOD_NOT_ALLOWED, HTTP_METRICS_TEXT,
                                  g_strdup("method not allowed\n"));
    if (metrics)
        return http_metrics_reply(connection, url, MHD_HTTP_OK, METRICS_CONTENT_TYPE,
                                  metrics_render());

    res = http_metrics_db_query(http, "SELECT 1", &error);
    http_metrics_note(http, error);
    if (res == NULL)
        return http_metrics_reply(connection, url, MHD_HTTP_SERVICE_UNAVAILABLE, HTTP_METRICS_TEXT,
                                  g_strdup_printf("%s\n", error->message));
    return http_metrics_reply(connection, url, MHD_HTTP_OK, HTTP_METRICS_TEXT, g_strdup("ok\n"));
}

static void http_metrics_log(void *cls, const char *fmt, va_list ap) G_GNUC_PRINTF(2, 0);

static void
http_metrics_log(void *cls, const char *fmt, va_list ap)
{
    g_autofree char *text = g_strdup_vprintf(fmt, ap);

    log_warning("metrics: %s", g_strchomp(text));
}

HttpMetrics *
http_metrics_new(const char *listen_on, const char *conninfo, GError **error)
{
    HttpMetrics *http;
    guint port = 0;
    /* Bound here, before bouncerd drops privileges. */
    int fd = net_listen_tcp(listen_on, 64, &port, error);

    if (fd < 0) {
        g_prefix_error(error, "[metrics] listen: ");
        return NULL;
    }
    http = g_new0(HttpMetrics, 1);
    http->port = port;
    http->conninfo = g_strdup(conninfo);
    g_mutex_init(&http->db_lock);
    http->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        http_metrics_handle, http,
        MHD_OPTION_EXTERNAL_LOGGER, http_metrics_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_METRICS_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_METRICS_IDLE_TIMEOUT,
        MHD_OPTION_END);
    if (http->daemon == NULL) {
        close(fd);
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "cannot start the metrics listener on %s", listen_on);
        http_metrics_free(http);
        return NULL;
    }
    return http;
}

guint
http_metrics_bound_port(HttpMetrics *http)
{
    return http->port;
}

void
http_metrics_free(HttpMetrics *http)
{
    if (http == NULL)
        return;
    /* Waits for the thread; libmicrohttpd closes the listening socket. */
    if (http->daemon != NULL)
        MHD_stop_daemon(http->daemon);
    g_clear_pointer(&http->conn, PQfinish);
    g_mutex_clear(&http->db_lock);
    g_free(http->conninfo);
    g_free(http);
}
