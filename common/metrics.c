/* metrics.c - a registry of labelled counters and gauges, rendered in the
 * Prometheus text format. */
#include "common/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

typedef struct MetricsFamily MetricsFamily;

/* One label set of a family. The label values are copied the first time
 * the set is seen; a lookup compares against the caller's strings. */
typedef struct {
    MetricsFamily   *family;
    const char      *values[METRICS_MAX_LABELS];
    guint            hash;
    _Atomic guint64  value;    /* counter: the count; gauge: the bits of a double */
    atomic_int       hidden;   /* gauge unset: not rendered until set again */
} MetricsSeries;

struct MetricsFamily {
    char        *name;
    char        *help;
    MetricsType  type;         /* METRICS_COUNTER or METRICS_GAUGE */
    gboolean     transactional; /* declared METRICS_COUNTER_TX */
    guint        n_labels;
    char        *labels[METRICS_MAX_LABELS];
    GHashTable  *series;       /* MetricsSeries* set */
    gboolean     overflowed;   /* warned once about METRICS_MAX_SERIES */
};

typedef struct {
    MetricsCollectFunc fn;
    gpointer           data;
} MetricsCollector;

struct MetricsRegistry {
    GRWLock     lock;          /* families and their series tables */
    GPtrArray  *families;      /* MetricsFamily*, in declaration order */
    GHashTable *by_name;       /* name -> MetricsFamily* */
    GMutex      collect_lock;  /* collectors, and one render at a time */
    GArray     *collectors;    /* MetricsCollector */
};

/* This thread's held-back counter updates (metrics_tx_begin). */
typedef struct {
    gboolean active;
    guint    n;
    struct {
        MetricsSeries *series;
        guint64        n;
    } slots[METRICS_TX_SLOTS];
} MetricsTx;

static __thread MetricsTx metrics_tx;

/* --- series ---------------------------------------------------------------- */

static guint
metrics_labels_hash(const char *const *values, guint n)
{
    guint hash = 5381;

    for (guint i = 0; i < n; i++)
        hash = hash * 31 + g_str_hash(values[i]);
    return hash;
}

static guint
metrics_series_hash(gconstpointer p)
{
    return ((const MetricsSeries *)p)->hash;
}

static gboolean
metrics_series_equal(gconstpointer a, gconstpointer b)
{
    const MetricsSeries *x = a, *y = b;

    if (x->hash != y->hash)
        return FALSE;
    for (guint i = 0; i < x->family->n_labels; i++) {
        if (strcmp(x->values[i], y->values[i]) != 0)
            return FALSE;
    }
    return TRUE;
}

static void
metrics_series_free(gpointer p)
{
    MetricsSeries *series = p;

    for (guint i = 0; i < series->family->n_labels; i++)
        g_free((char *)series->values[i]);
    g_free(series);
}

/* metrics_series_new - a new label set holding copies of values; the
 * caller holds the write lock. */
static MetricsSeries *
metrics_series_new(MetricsFamily *family, const char *const *values)
{
    MetricsSeries *series = g_new0(MetricsSeries, 1);

    series->family = family;
    for (guint i = 0; i < family->n_labels; i++)
        series->values[i] = g_strdup(values[i]);
    series->hash = metrics_labels_hash(series->values, family->n_labels);
    g_hash_table_add(family->series, series);
    return series;
}

static void
metrics_family_free(gpointer p)
{
    MetricsFamily *family = p;

    g_hash_table_unref(family->series);
    for (guint i = 0; i < family->n_labels; i++)
        g_free(family->labels[i]);
    g_free(family->name);
    g_free(family->help);
    g_free(family);
}

/* metrics_series_find - the series of name for the name/value pairs in
 * args, created the first time. NULL, with a critical, when the call does
 * not match the declaration (a programming error). */
static MetricsSeries *
metrics_series_find(MetricsRegistry *registry, const char *name, MetricsType type, va_list args)
{
    const char *values[METRICS_MAX_LABELS] = { NULL };
    MetricsSeries probe = { 0 };
    MetricsFamily *family;
    MetricsSeries *series;
    guint n = 0;

    g_rw_lock_reader_lock(&registry->lock);
    family = g_hash_table_lookup(registry->by_name, name);
    g_rw_lock_reader_unlock(&registry->lock);
    if (family == NULL) {
        g_critical("metrics: %s is not declared", name);
        return NULL;
    }
    if (family->type != type) {
        g_critical("metrics: %s is not a %s", name, type == METRICS_COUNTER ? "counter" : "gauge");
        return NULL;
    }
    for (const char *key = va_arg(args, const char *); key != NULL; key = va_arg(args, const char *)) {
        if (n >= family->n_labels || strcmp(key, family->labels[n]) != 0) {
            g_critical("metrics: %s: label '%s' is not label %u of its declaration", name, key, n + 1);
            return NULL;
        }
        values[n] = va_arg(args, const char *);
        if (values[n] == NULL) {
            g_critical("metrics: %s: label '%s' has no value", name, key);
            return NULL;
        }
        n++;
    }
    if (n != family->n_labels) {
        g_critical("metrics: %s: %u label(s) given, %u declared", name, n, family->n_labels);
        return NULL;
    }

    probe.family = family;
    memcpy(probe.values, values, sizeof values);
    probe.hash = metrics_labels_hash(values, n);
    g_rw_lock_reader_lock(&registry->lock);
    series = g_hash_table_lookup(family->series, &probe);
    g_rw_lock_reader_unlock(&registry->lock);
    if (series != NULL)
        return series;

    g_rw_lock_writer_lock(&registry->lock);
    series = g_hash_table_lookup(family->series, &probe);
    if (series == NULL && g_hash_table_size(family->series) >= METRICS_MAX_SERIES) {
        static const char *const other[METRICS_MAX_LABELS] = { "other", "other", "other", "other" };

        if (!family->overflowed) {
            family->overflowed = TRUE;
            log_warning("metrics: %s has %u label sets; new ones are counted as \"other\"", name,
                        METRICS_MAX_SERIES);
        }
        memcpy(probe.values, other, sizeof other);
        probe.hash = metrics_labels_hash(other, n);
        series = g_hash_table_lookup(family->series, &probe);
        if (series == NULL)
            series = metrics_series_new(family, other);
    }
    if (series == NULL)
        series = metrics_series_new(family, values);
    g_rw_lock_writer_unlock(&registry->lock);
    return series;
}

/* --- updates ------------------------------------------------------------- */

static void
metrics_counter_apply(MetricsSeries *series, guint64 n)
{
    MetricsTx *tx = &metrics_tx;

    if (tx->active && series->family->transactional) {
        for (guint i = 0; i < tx->n; i++) {
            if (tx->slots[i].series == series) {
                tx->slots[i].n += n;
                return;
            }
        }
        if (tx->n < METRICS_TX_SLOTS) {
            tx->slots[tx->n].series = series;
            tx->slots[tx->n].n = n;
            tx->n++;
            return;
        }
    }
    atomic_fetch_add_explicit(&series->value, n, memory_order_relaxed);
}

static guint64
metrics_double_bits(double value)
{
    guint64 bits;

    memcpy(&bits, &value, sizeof bits);
    return bits;
}

static double
metrics_bits_double(guint64 bits)
{
    double value;

    memcpy(&value, &bits, sizeof value);
    return value;
}

static void
metrics_gauge_apply(MetricsSeries *series, double value, gboolean add)
{
    if (add) {
        guint64 old = atomic_load_explicit(&series->value, memory_order_relaxed);

        while (!atomic_compare_exchange_weak_explicit(
                   &series->value, &old, metrics_double_bits(metrics_bits_double(old) + value),
                   memory_order_relaxed, memory_order_relaxed))
            ;
    } else {
        atomic_store_explicit(&series->value, metrics_double_bits(value), memory_order_relaxed);
    }
    atomic_store_explicit(&series->hidden, 0, memory_order_release);
}

static void
metrics_counter_add_va(MetricsRegistry *registry, const char *name, guint64 n, va_list args)
{
    MetricsSeries *series = metrics_series_find(registry, name, METRICS_COUNTER, args);

    if (series != NULL)
        metrics_counter_apply(series, n);
}

static void
metrics_gauge_va(MetricsRegistry *registry, const char *name, double value, gboolean add,
                 va_list args)
{
    MetricsSeries *series = metrics_series_find(registry, name, METRICS_GAUGE, args);

    if (series != NULL)
        metrics_gauge_apply(series, value, add);
}

void
metrics_registry_counter_add(MetricsRegistry *registry, const char *name, guint64 n, ...)
{
    va_list args;

    va_start(args, n);
    metrics_counter_add_va(registry, name, n, args);
    va_end(args);
}

void
metrics_registry_gauge_set(MetricsRegistry *registry, const char *name, double value, ...)
{
    va_list args;

    va_start(args, value);
    metrics_gauge_va(registry, name, value, FALSE, args);
    va_end(args);
}

void
metrics_registry_gauge_add(MetricsRegistry *registry, const char *name, double delta, ...)
{
    va_list args;

    va_start(args, delta);
    metrics_gauge_va(registry, name, delta, TRUE, args);
    va_end(args);
}

void
metrics_registry_gauge_unset(MetricsRegistry *registry, const char *name)
{
    MetricsFamily *family;
    GHashTableIter iter;
    gpointer key;

    g_rw_lock_reader_lock(&registry->lock);
    family = g_hash_table_lookup(registry->by_name, name);
    if (family != NULL && family->type == METRICS_GAUGE) {
        g_hash_table_iter_init(&iter, family->series);
        while (g_hash_table_iter_next(&iter, &key, NULL))
            atomic_store_explicit(&((MetricsSeries *)key)->hidden, 1, memory_order_release);
    }
    g_rw_lock_reader_unlock(&registry->lock);
    if (family == NULL || family->type != METRICS_GAUGE)
        g_critical("metrics: %s is not a declared gauge", name);
}

void
metrics_tx_begin(void)
{
    metrics_tx.active = TRUE;
    metrics_tx.n = 0;
}

void
metrics_tx_end(gboolean committed)
{
    MetricsTx *tx = &metrics_tx;

    for (guint i = 0; committed && i < tx->n; i++)
        atomic_fetch_add_explicit(&tx->slots[i].series->value, tx->slots[i].n, memory_order_relaxed);
    tx->active = FALSE;
    tx->n = 0;
}

/* --- registry -------------------------------------------------------------- */

MetricsRegistry *
metrics_registry_new(void)
{
    MetricsRegistry *registry = g_new0(MetricsRegistry, 1);

    g_rw_lock_init(&registry->lock);
    g_mutex_init(&registry->collect_lock);
    registry->families = g_ptr_array_new_with_free_func(metrics_family_free);
    registry->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    registry->collectors = g_array_new(FALSE, FALSE, sizeof(MetricsCollector));
    return registry;
}

void
metrics_registry_free(MetricsRegistry *registry)
{
    if (registry == NULL)
        return;
    g_hash_table_unref(registry->by_name);
    g_ptr_array_unref(registry->families);
    g_array_unref(registry->collectors);
    g_rw_lock_clear(&registry->lock);
    g_mutex_clear(&registry->collect_lock);
    g_free(registry);
}

/* metrics_name_valid - [a-zA-Z_:][a-zA-Z0-9_:]* for families, without ':'
 * for labels (names are written into the text unescaped). */
static gboolean
metrics_name_valid(const char *name, gboolean label)
{
    if (name == NULL || name[0] == '\0' || g_ascii_isdigit(name[0]))
        return FALSE;
    for (const char *p = name; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_' && (label || *p != ':'))
            return FALSE;
    }
    return TRUE;
}

static void
metrics_family_declare(MetricsRegistry *registry, MetricsType type, const char *name,
                       const char *help, const char *const *labels, guint n_labels)
{
    MetricsFamily *family;

    g_return_if_fail(metrics_name_valid(name, FALSE));
    g_return_if_fail(n_labels <= METRICS_MAX_LABELS);
    for (guint i = 0; i < n_labels; i++)
        g_return_if_fail(metrics_name_valid(labels[i], TRUE));

    family = g_new0(MetricsFamily, 1);
    family->name = g_strdup(name);
    family->help = g_strdup(help != NULL ? help : "");
    family->type = type == METRICS_GAUGE ? METRICS_GAUGE : METRICS_COUNTER;
    family->transactional = type == METRICS_COUNTER_TX;
    family->n_labels = n_labels;
    for (guint i = 0; i < n_labels; i++)
        family->labels[i] = g_strdup(labels[i]);
    family->series = g_hash_table_new_full(metrics_series_hash, metrics_series_equal,
                                           metrics_series_free, NULL);

    g_rw_lock_writer_lock(&registry->lock);
    if (g_hash_table_contains(registry->by_name, name)) {
        g_rw_lock_writer_unlock(&registry->lock);
        metrics_family_free(family);
        g_critical("metrics: %s is declared twice", name);
        return;
    }
    g_ptr_array_add(registry->families, family);
    g_hash_table_insert(registry->by_name, family->name, family);
    /* A counter without labels exists from the start: rate() needs the 0. */
    if (family->type == METRICS_COUNTER && n_labels == 0)
        metrics_series_new(family, NULL);
    g_rw_lock_writer_unlock(&registry->lock);
}

void
metrics_registry_declare(MetricsRegistry *registry, MetricsType type, const char *name,
                         const char *help, ...)
{
    const char *labels[METRICS_MAX_LABELS + 1];
    guint n = 0;
    va_list args;

    va_start(args, help);
    for (const char *label = va_arg(args, const char *); label != NULL;
         label = va_arg(args, const char *)) {
        if (n == G_N_ELEMENTS(labels))
            break;
        labels[n++] = label;
    }
    va_end(args);
    metrics_family_declare(registry, type, name, help, labels, n);
}

void
metrics_registry_add_collector(MetricsRegistry *registry, MetricsCollectFunc fn, gpointer data)
{
    MetricsCollector collector = { fn, data };

    g_return_if_fail(fn != NULL);
    g_mutex_lock(&registry->collect_lock);
    g_array_append_val(registry->collectors, collector);
    g_mutex_unlock(&registry->collect_lock);
}

/* --- rendering ------------------------------------------------------------ */

/* metrics_append_escaped - HELP text escapes backslash and newline; label
 * values also the double quote. Invalid UTF-8 is replaced, not sent. */
static void
metrics_append_escaped(GString *out, const char *text, gboolean label_value)
{
    g_autofree char *valid = g_utf8_validate(text, -1, NULL) ? NULL : g_utf8_make_valid(text, -1);

    for (const char *p = valid != NULL ? valid : text; *p != '\0'; p++) {
        switch (*p) {
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '"':
            g_string_append(out, label_value ? "\\\"" : "\"");
            break;
        default:
            g_string_append_c(out, *p);
            break;
        }
    }
}

/* metrics_append_value - whole numbers without a fraction, the rest in the
 * shortest form that reads back the same; NaN and +Inf as the format spells them. */
static void
metrics_append_value(GString *out, double value)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (isnan(value))
        g_string_append(out, "NaN");
    else if (isinf(value))
        g_string_append(out, value > 0 ? "+Inf" : "-Inf");
    else if (value == 0)
        g_string_append_c(out, '0');
    else if (value == floor(value) && fabs(value) < 1e15)
        g_string_append_printf(out, "%.0f", value);
    else {
        static const char *const formats[] = { "%.15g", "%.16g", "%.17g" };

        for (gsize i = 0; i < G_N_ELEMENTS(formats); i++) {
            g_ascii_formatd(buf, sizeof buf, formats[i], value);
            if (g_ascii_strtod(buf, NULL) == value)
                break;
        }
        g_string_append(out, buf);
    }
}

static int
metrics_series_compare(gconstpointer a, gconstpointer b)
{
    const MetricsSeries *x = *(MetricsSeries *const *)a;
    const MetricsSeries *y = *(MetricsSeries *const *)b;

    for (guint i = 0; i < x->family->n_labels; i++) {
        int c = strcmp(x->values[i], y->values[i]);

        if (c != 0)
            return c;
    }
    return 0;
}

static void
metrics_family_render(GString *out, MetricsFamily *family)
{
    g_autoptr(GPtrArray) sorted = g_ptr_array_sized_new(g_hash_table_size(family->series));
    GHashTableIter iter;
    gpointer key;

    g_string_append_printf(out, "# HELP %s ", family->name);
    metrics_append_escaped(out, family->help, FALSE);
    g_string_append_printf(out, "\n# TYPE %s %s\n", family->name,
                           family->type == METRICS_COUNTER ? "counter" : "gauge");
    g_hash_table_iter_init(&iter, family->series);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_ptr_array_add(sorted, key);
    g_ptr_array_sort(sorted, metrics_series_compare);
    for (guint i = 0; i < sorted->len; i++) {
        MetricsSeries *series = g_ptr_array_index(sorted, i);
        guint64 bits = atomic_load_explicit(&series->value, memory_order_relaxed);

        if (atomic_load_explicit(&series->hidden, memory_order_acquire))
            continue;
        g_string_append(out, family->name);
        for (guint l = 0; l < family->n_labels; l++) {
            g_string_append_printf(out, "%c%s=\"", l == 0 ? '{' : ',', family->labels[l]);
            metrics_append_escaped(out, series->values[l], TRUE);
            g_string_append_c(out, '"');
        }
        g_string_append(out, family->n_labels > 0 ? "} " : " ");
        if (family->type == METRICS_COUNTER)
            g_string_append_printf(out, "%" G_GUINT64_FORMAT, bits);
        else
            metrics_append_value(out, metrics_bits_double(bits));
        g_string_append_c(out, '\n');
    }
}

char *
metrics_registry_render(MetricsRegistry *registry)
{
    GString *out = g_string_sized_new(4096);

    /* Collectors may take a while (a database query): run them without
     * the registry lock, so updates from other threads never wait. */
    g_mutex_lock(&registry->collect_lock);
    for (guint i = 0; i < registry->collectors->len; i++) {
        const MetricsCollector *c = &g_array_index(registry->collectors, MetricsCollector, i);

        c->fn(c->data);
    }
    g_rw_lock_reader_lock(&registry->lock);
    for (guint i = 0; i < registry->families->len; i++)
        metrics_family_render(out, g_ptr_array_index(registry->families, i));
    g_rw_lock_reader_unlock(&registry->lock);
    g_mutex_unlock(&registry->collect_lock);
    return g_string_free(out, FALSE);
}

/* --- the daemon's families ------------------------------------------------ */

typedef struct {
    MetricsType  type;
    const char  *name;
    const char  *labels[METRICS_MAX_LABELS];
    const char  *help;
} MetricsFamilySpec;

/* docs/operations.md says what each one means and what normal looks like. */
static const MetricsFamilySpec metrics_bouncer_families[] = {
    { METRICS_COUNTER, "bouncer_lmtp_sessions_total", { NULL },
      "LMTP sessions accepted." },
    { METRICS_GAUGE, "bouncer_lmtp_sessions_active", { NULL },
      "LMTP sessions open now." },
    { METRICS_COUNTER, "bouncer_lmtp_messages_total", { "mailbox", "result" },
      "Replies after DATA, one per recipient, by mailbox and result "
      "(stored, duplicate, tempfail, rejected)." },
    { METRICS_COUNTER, "bouncer_lmtp_too_big_total", { NULL },
      "Recipients answered 552 after DATA because the message was over the size limit." },
    { METRICS_COUNTER, "bouncer_lmtp_rcpt_rejected_total", { "reason" },
      "Recipients refused at RCPT time (unknown_user, bad_token)." },
    { METRICS_COUNTER_TX, "bouncer_bounces_total", { "kind", "reason" },
      "Bounced recipients recorded, by report kind and reason." },
    { METRICS_COUNTER_TX, "bouncer_complaints_total", { NULL },
      "Complaints (ARF feedback reports) recorded." },
    { METRICS_COUNTER_TX, "bouncer_autoreplies_total", { "decision", "rule" },
      "Mail to the reply mailbox, by decision (replied, skipped) and the rule that decided." },
    { METRICS_COUNTER, "bouncer_rule_runs_stopped_total", { "rule", "limit" },
      "Pattern runs stopped by a bound (steps, depth, heap, jit_stack) or out of memory, "
      "counted as no match: a text built to make that rule backtrack." },
    { METRICS_COUNTER, "bouncer_outbox_sent_total", { "kind" },
      "Outbox messages accepted by the relay." },
    { METRICS_COUNTER, "bouncer_outbox_deferred_total", { "kind" },
      "Outbox delivery attempts that failed temporarily and will be retried." },
    { METRICS_COUNTER, "bouncer_outbox_failed_total", { "kind" },
      "Outbox messages given up (5xx reply or past give_up_hours)." },
    { METRICS_COUNTER, "bouncer_events_published_total", { NULL },
      "Events published on the ZeroMQ socket (or marked, with no endpoints)." },
    { METRICS_COUNTER, "bouncer_db_errors_total", { NULL },
      "Failed database statements and connection attempts." },
    { METRICS_COUNTER, "bouncer_db_reconnects_total", { NULL },
      "Database connections found broken and replaced." },
    { METRICS_COUNTER, "bouncer_db_group_commits_total", { NULL },
      "Transactions that stored several messages together." },
    { METRICS_COUNTER, "bouncer_db_group_commit_messages_total", { NULL },
      "Messages stored by those transactions." },
    { METRICS_COUNTER, "bouncer_db_group_commit_failures_total", { NULL },
      "Group commits rolled back because a statement failed; each message then ran alone." },
    { METRICS_GAUGE, "bouncer_database_up", { NULL },
      "1 when this scrape's database query answered within 2 s, else 0." },
    { METRICS_GAUGE, "bouncer_outbox_queued", { NULL },
      "Outbox messages waiting to be sent or retried." },
    { METRICS_GAUGE, "bouncer_outbox_oldest_queued_seconds", { NULL },
      "Age of the oldest queued outbox message, 0 when none is queued." },
    { METRICS_GAUGE, "bouncer_outbox_failed", { NULL },
      "Outbox messages given up in the last 24 hours." },
    { METRICS_GAUGE, "bouncer_events_unpublished", { NULL },
      "Events committed but not yet published." },
};

static gpointer
metrics_default_init(gpointer unused)
{
    MetricsRegistry *registry = metrics_registry_new();

    for (gsize i = 0; i < G_N_ELEMENTS(metrics_bouncer_families); i++) {
        const MetricsFamilySpec *spec = &metrics_bouncer_families[i];
        guint n = 0;

        while (n < METRICS_MAX_LABELS && spec->labels[n] != NULL)
            n++;
        metrics_family_declare(registry, spec->type, spec->name, spec->help, spec->labels, n);
    }
    return registry;
}

MetricsRegistry *
metrics_default(void)
{
    static GOnce once = G_ONCE_INIT;

    return g_once(&once, metrics_default_init, NULL);
}

void
metrics_counter_inc(const char *name, ...)
{
    va_list args;

    va_start(args, name);
    metrics_counter_add_va(metrics_default(), name, 1, args);
    va_end(args);
}

void
metrics_counter_add(const char *name, guint64 n, ...)
{
    va_list args;

    va_start(args, n);
    metrics_counter_add_va(metrics_default(), name, n, args);
    va_end(args);
}

void
metrics_gauge_set(const char *name, double value, ...)
{
    va_list args;

    va_start(args, value);
    metrics_gauge_va(metrics_default(), name, value, FALSE, args);
    va_end(args);
}

void
metrics_gauge_add(const char *name, double delta, ...)
{
    va_list args;

    va_start(args, delta);
    metrics_gauge_va(metrics_default(), name, delta, TRUE, args);
    va_end(args);
}

void
metrics_gauge_unset(const char *name)
{
    metrics_registry_gauge_unset(metrics_default(), name);
}

void
metrics_add_collector(MetricsCollectFunc fn, gpointer data)
{
    metrics_registry_add_collector(metrics_default(), fn, data);
}

char *
metrics_render(void)
{
    return metrics_registry_render(metrics_default());
}
