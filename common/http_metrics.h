/* http_metrics.h - the HTTP listener for monitoring: GET /metrics (the
 * Prometheus text of the daemon's registry) and GET /healthz (200 "ok"
 * while the database answers within 2 s, else 503 and why).
 *
 * libmicrohttpd serves from one thread of its own with a bounded number of
 * connections and an idle timeout; the database is reached over one
 * connection of the listener's own, never the LMTP pool, and every query
 * has a 2 s deadline, so nothing here can hold up LMTP. */
#ifndef BOUNCER_HTTP_METRICS_H
#define BOUNCER_HTTP_METRICS_H

#include <glib.h>

/* The database gets this long to connect and answer, per request. */
#define HTTP_METRICS_DB_TIMEOUT_MS 2000
#define HTTP_METRICS_MAX_CONNECTIONS 16
#define HTTP_METRICS_IDLE_TIMEOUT 10     /* seconds */

typedef struct HttpMetrics HttpMetrics;

/* http_metrics_new - bind host:port ("127.0.0.1:9125", "[::1]:9125",
 * ":9125" for all; port 0 picks one) and start serving. conninfo is
 * copied. (transfer full) */
HttpMetrics *http_metrics_new(const char *listen, const char *conninfo, GError **error);
/* http_metrics_bound_port - the port actually bound. */
guint http_metrics_bound_port(HttpMetrics *http);
/* http_metrics_collect_database - a MetricsCollectFunc (data: the
 * HttpMetrics) that reads bouncer_outbox_queued,
 * bouncer_outbox_oldest_queued_seconds, bouncer_outbox_failed and
 * bouncer_events_unpublished from the database and sets
 * bouncer_database_up; when the database does not answer in time the four
 * are left out of the scrape and bouncer_database_up is 0. */
void http_metrics_collect_database(gpointer http);
/* http_metrics_free - stop serving (requests in progress finish) and
 * close the database connection. Accepts NULL. */
void http_metrics_free(HttpMetrics *http);

#endif
