/* metrics.h - counters and gauges with labels, in the Prometheus text
 * exposition format (version 0.0.4), for GET /metrics.
 *
 *   metrics_counter_inc("bouncer_lmtp_messages_total",
 *                       "mailbox", "bounce", "result", "stored", NULL);
 *
 * Every family is declared once with its help text and label names (the
 * daemon's own families are declared in metrics.c); a call names the
 * family and gives the labels as name/value pairs in the declared order,
 * ending with NULL. A label set is allocated the first time it is seen;
 * after that an update is a hash lookup under a read lock and one atomic
 * add, from any thread.
 *
 * A counter of what a database transaction records (a bounce row, a
 * complaint) should count only once the transaction commits: declared
 * METRICS_COUNTER_TX, its updates between metrics_tx_begin() and
 * metrics_tx_end() on the same thread are held back, then applied or
 * dropped. Other counters (errors, sessions) count at once, always. */
#ifndef BOUNCER_METRICS_H
#define BOUNCER_METRICS_H

#include <glib.h>

/* Label names per family, and label sets per family (beyond it the values
 * of a new set are all "other": a bug must not eat the memory). */
#define METRICS_MAX_LABELS 4
#define METRICS_MAX_SERIES 1000

/* Counter updates one transaction may hold back; past it they count at once. */
#define METRICS_TX_SLOTS 32

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef enum {
    METRICS_COUNTER,
    METRICS_GAUGE,
    METRICS_COUNTER_TX,   /* a counter that waits for metrics_tx_end(TRUE) */
} MetricsType;

typedef struct MetricsRegistry MetricsRegistry;

/* MetricsCollectFunc - runs at render time, before the text is written,
 * to set gauges whose truth lives elsewhere (the database, the LMTP
 * server). When it cannot, it calls metrics_gauge_unset() so no stale
 * number is shown. */
typedef void (*MetricsCollectFunc)(gpointer data);

/* --- a registry ------------------------------------------------------------ */

/* metrics_registry_new - empty, for tests and other programs. (transfer full) */
MetricsRegistry *metrics_registry_new(void);
void metrics_registry_free(MetricsRegistry *registry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MetricsRegistry, metrics_registry_free)

/* metrics_registry_declare - a family: name, help text, then its label
 * names, NULL-terminated. Families are rendered in declaration order; a
 * counter without labels is shown as 0 from the start. */
void metrics_registry_declare(MetricsRegistry *registry, MetricsType type, const char *name,
                              const char *help, ...) G_GNUC_NULL_TERMINATED;

void metrics_registry_counter_add(MetricsRegistry *registry, const char *name, guint64 n, ...)
    G_GNUC_NULL_TERMINATED;
void metrics_registry_gauge_set(MetricsRegistry *registry, const char *name, double value, ...)
    G_GNUC_NULL_TERMINATED;
void metrics_registry_gauge_add(MetricsRegistry *registry, const char *name, double delta, ...)
    G_GNUC_NULL_TERMINATED;
/* metrics_registry_gauge_unset - every label set of the gauge is left out
 * of the text until it is set again. */
void metrics_registry_gauge_unset(MetricsRegistry *registry, const char *name);

/* metrics_registry_add_collector - data must outlive the last render. */
void metrics_registry_add_collector(MetricsRegistry *registry, MetricsCollectFunc fn, gpointer data);

/* metrics_registry_render - run the collectors, then every family: HELP
 * and TYPE lines, then its label sets sorted by label values. (transfer full) */
char *metrics_registry_render(MetricsRegistry *registry);

/* --- the daemon's registry ----------------------------------------------- */

/* metrics_default - the process's registry, with bouncer's families
 * declared on first use. (transfer none) */
MetricsRegistry *metrics_default(void);

void metrics_counter_inc(const char *name, ...) G_GNUC_NULL_TERMINATED;
void metrics_counter_add(const char *name, guint64 n, ...) G_GNUC_NULL_TERMINATED;
void metrics_gauge_set(const char *name, double value, ...) G_GNUC_NULL_TERMINATED;
void metrics_gauge_add(const char *name, double delta, ...) G_GNUC_NULL_TERMINATED;
void metrics_gauge_unset(const char *name);

/* metrics_add_collector - register a scrape-time callback on the daemon's
 * registry (the database gauges, the LMTP sessions gauge). */
void metrics_add_collector(MetricsCollectFunc fn, gpointer data);

/* metrics_render - the daemon's registry as exposition text; what the
 * HTTP handler serves. (transfer full) */
char *metrics_render(void);

/* --- counting only what was committed --------------------------------------- */

/* metrics_tx_begin - from here this thread's METRICS_COUNTER_TX updates
 * are held ... */
void metrics_tx_begin(void);
/* metrics_tx_end - ... and applied when committed, else dropped. */
void metrics_tx_end(gboolean committed);

#endif
