/* test_metrics.c - the registry and its Prometheus text, byte for byte. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "common/metrics.h"

/* check_text - the whole rendering, with the first differing line named. */
static void
check_text(MetricsRegistry *registry, const char *want)
{
    g_autofree char *got = metrics_registry_render(registry);

    if (strcmp(got, want) != 0) {
        g_auto(GStrv) g = g_strsplit(got, "\n", -1);
        g_auto(GStrv) w = g_strsplit(want, "\n", -1);
        guint i = 0;

        while (g[i] != NULL && w[i] != NULL && strcmp(g[i], w[i]) == 0)
            i++;
        g_error("line %u: got %s, want %s\n--- got:\n%s--- want:\n%s", i + 1,
                g[i] != NULL ? g[i] : "(end)", w[i] != NULL ? w[i] : "(end)", got, want);
    }
}

/* HELP and TYPE for every family in declaration order, label sets sorted
 * by value, counters without labels at 0 from the start, gauges only once
 * set. */
static void
test_exposition(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();

    metrics_registry_declare(r, METRICS_COUNTER, "app_requests_total", "Requests handled.",
                             "method", "code", NULL);
    metrics_registry_declare(r, METRICS_COUNTER, "app_errors_total", "Errors.", NULL);
    metrics_registry_declare(r, METRICS_GAUGE, "app_queue", "Items waiting.", NULL);
    metrics_registry_declare(r, METRICS_GAUGE, "app_temperature", "Per room.", "room", NULL);

    check_text(r,
               "# HELP app_requests_total Requests handled.\n"
               "# TYPE app_requests_total counter\n"
               "# HELP app_errors_total Errors.\n"
               "# TYPE app_errors_total counter\n"
               "app_errors_total 0\n"
               "# HELP app_queue Items waiting.\n"
               "# TYPE app_queue gauge\n"
               "# HELP app_temperature Per room.\n"
               "# TYPE app_temperature gauge\n");

    metrics_registry_counter_add(r, "app_requests_total", 1, "method", "post", "code", "200", NULL);
    metrics_registry_counter_add(r, "app_requests_total", 2, "method", "get", "code", "404", NULL);
    metrics_registry_counter_add(r, "app_requests_total", 5, "method", "get", "code", "200", NULL);
    metrics_registry_counter_add(r, "app_requests_total", 1, "method", "post", "code", "200", NULL);
    metrics_registry_counter_add(r, "app_errors_total", 3, NULL);
    metrics_registry_gauge_set(r, "app_queue", 17, NULL);
    metrics_registry_gauge_set(r, "app_temperature", 21.5, "room", "b", NULL);
    metrics_registry_gauge_set(r, "app_temperature", -3, "room", "a", NULL);

    check_text(r,
               "# HELP app_requests_total Requests handled.\n"
               "# TYPE app_requests_total counter\n"
               "app_requests_total{method=\"get\",code=\"200\"} 5\n"
               "app_requests_total{method=\"get\",code=\"404\"} 2\n"
               "app_requests_total{method=\"post\",code=\"200\"} 2\n"
               "# HELP app_errors_total Errors.\n"
               "# TYPE app_errors_total counter\n"
               "app_errors_total 3\n"
               "# HELP app_queue Items waiting.\n"
               "# TYPE app_queue gauge\n"
               "app_queue 17\n"
               "# HELP app_temperature Per room.\n"
               "# TYPE app_temperature gauge\n"
               "app_temperature{room=\"a\"} -3\n"
               "app_temperature{room=\"b\"} 21.5\n");
}

typedef struct {
    const char *value;     /* as counted */
    const char *want;      /* as written between the quotes */
} EscapeCase;

/* Label values escape backslash, double quote and newline; HELP text
 * escapes backslash and newline only (the format's two rules). */
static void
test_escaping(void)
{
    static const EscapeCase cases[] = {
        { "plain", "plain" },
        { "say \"hi\"", "say \\\"hi\\\"" },
        { "C:\\path", "C:\\\\path" },
        { "two\nlines", "two\\nlines" },
        { "\\\"\n", "\\\\\\\"\\n" },
        { "tab\tand cr\r", "tab\tand cr\r" },
        { "utf-8 \xc3\xa9t\xc3\xa9", "utf-8 \xc3\xa9t\xc3\xa9" },
        { "", "" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MetricsRegistry) r = metrics_registry_new();
        g_autofree char *want = g_strdup_printf(
            "# HELP t_total A \\\\ backslash, a \"quote\" and\\na newline.\n"
            "# TYPE t_total counter\n"
            "t_total{v=\"%s\"} 1\n", cases[i].want);

        metrics_registry_declare(r, METRICS_COUNTER, "t_total",
                                 "A \\ backslash, a \"quote\" and\na newline.", "v", NULL);
        metrics_registry_counter_add(r, "t_total", 1, "v", cases[i].value, NULL);
        check_text(r, want);
    }
}

/* Invalid UTF-8 in a label value never reaches the scraper. */
static void
test_invalid_utf8(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();
    g_autofree char *text = NULL;

    metrics_registry_declare(r, METRICS_COUNTER, "t_total", "t", "v", NULL);
    metrics_registry_counter_add(r, "t_total", 1, "v", "bad \xff byte", NULL);
    text = metrics_registry_render(r);
    g_assert_true(g_utf8_validate(text, -1, NULL));
    g_assert_nonnull(strstr(text, "t_total{v=\"bad \xef\xbf\xbd byte\"} 1\n"));
}

typedef struct {
    double      value;
    const char *want;
} ValueCase;

static void
test_gauge_values(void)
{
    const ValueCase cases[] = {
        { 0, "0" }, { -0.0, "0" }, { 3, "3" }, { -2, "-2" }, { 1.5, "1.5" }, { 0.1, "0.1" },
        { 1e20, "1e+20" }, { 123456789012345.0, "123456789012345" }, { NAN, "NaN" },
        { INFINITY, "+Inf" }, { -INFINITY, "-Inf" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(MetricsRegistry) r = metrics_registry_new();
        g_autofree char *want = g_strdup_printf("# HELP g g\n# TYPE g gauge\ng %s\n", cases[i].want);

        metrics_registry_declare(r, METRICS_GAUGE, "g", "g", NULL);
        metrics_registry_gauge_set(r, "g", cases[i].value, NULL);
        check_text(r, want);
    }
}

/* Gauges go up and down; unset leaves them out until set again. */
static void
test_gauge_set_add_unset(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();

    metrics_registry_declare(r, METRICS_GAUGE, "g", "g", "k", NULL);
    metrics_registry_gauge_add(r, "g", 2, "k", "x", NULL);
    metrics_registry_gauge_add(r, "g", 0.5, "k", "x", NULL);
    metrics_registry_gauge_add(r, "g", -1, "k", "y", NULL);
    check_text(r, "# HELP g g\n# TYPE g gauge\ng{k=\"x\"} 2.5\ng{k=\"y\"} -1\n");
    metrics_registry_gauge_unset(r, "g");
    check_text(r, "# HELP g g\n# TYPE g gauge\n");
    metrics_registry_gauge_set(r, "g", 7, "k", "y", NULL);
    check_text(r, "# HELP g g\n# TYPE g gauge\ng{k=\"y\"} 7\n");
}

#define THREADS 8
#define PER_THREAD 100000

static gpointer
count_thread(gpointer data)
{
    MetricsRegistry *r = data;

    for (int i = 0; i < PER_THREAD; i++) {
        metrics_registry_counter_add(r, "c_total", 1, "parity", i % 2 ? "odd" : "even", NULL);
        metrics_registry_counter_add(r, "n_total", 2, NULL);
        metrics_registry_gauge_add(r, "g", 1, NULL);
        /* New label sets appear while the others count. */
        if (i % 10000 == 0) {
            g_autofree char *label = g_strdup_printf("%p-%d", (void *)g_thread_self(), i);

            metrics_registry_counter_add(r, "c_total", 1, "parity", label, NULL);
        }
    }
    return NULL;
}

/* Increments from several threads at once all count. */
static void
test_threads(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();
    GThread *threads[THREADS];
    g_autofree char *text = NULL;
    g_autofree char *even = g_strdup_printf("c_total{parity=\"even\"} %d\n", THREADS * PER_THREAD / 2);
    g_autofree char *odd = g_strdup_printf("c_total{parity=\"odd\"} %d\n", THREADS * PER_THREAD / 2);
    g_autofree char *n = g_strdup_printf("\nn_total %d\n", THREADS * PER_THREAD * 2);
    g_autofree char *g = g_strdup_printf("\ng %d\n", THREADS * PER_THREAD);

    metrics_registry_declare(r, METRICS_COUNTER, "c_total", "c", "parity", NULL);
    metrics_registry_declare(r, METRICS_COUNTER, "n_total", "n", NULL);
    metrics_registry_declare(r, METRICS_GAUGE, "g", "g", NULL);
    for (int i = 0; i < THREADS; i++)
        threads[i] = g_thread_new("count", count_thread, r);
    for (int i = 0; i < THREADS; i++)
        g_thread_join(threads[i]);
    text = metrics_registry_render(r);
    for (const char *want[] = { even, odd, n, g, NULL }, **w = want; *w != NULL; w++) {
        if (strstr(text, *w) == NULL)
            g_error("got:\n%s\nwant a line %s", text, *w);
    }
    {
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        guint sets = 0;

        for (guint i = 0; lines[i] != NULL; i++)
            sets += g_str_has_prefix(lines[i], "c_total{");
        g_assert_cmpuint(sets, ==, 2 + THREADS * (PER_THREAD / 10000));
    }
}

/* Inside metrics_tx_begin/end transactional counters wait for the
 * commit and a rollback drops them; plain counters and gauges count at
 * once (an error inside a transaction that rolls back is still an error). */
static void
test_transaction(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();

    metrics_registry_declare(r, METRICS_COUNTER_TX, "c_total", "c", "k", NULL);
    metrics_registry_declare(r, METRICS_COUNTER, "e_total", "e", NULL);
    metrics_registry_declare(r, METRICS_GAUGE, "g", "g", NULL);

    metrics_tx_begin();
    metrics_registry_counter_add(r, "c_total", 1, "k", "a", NULL);
    metrics_registry_counter_add(r, "c_total", 1, "k", "a", NULL);
    metrics_registry_counter_add(r, "c_total", 1, "k", "b", NULL);
    metrics_registry_counter_add(r, "e_total", 1, NULL);
    metrics_registry_gauge_set(r, "g", 4, NULL);
    /* Held: the label sets exist (at 0), the counts are not there yet. */
    check_text(r, "# HELP c_total c\n# TYPE c_total counter\nc_total{k=\"a\"} 0\nc_total{k=\"b\"} 0\n"
                  "# HELP e_total e\n# TYPE e_total counter\ne_total 1\n"
                  "# HELP g g\n# TYPE g gauge\ng 4\n");
    metrics_tx_end(FALSE);
    check_text(r, "# HELP c_total c\n# TYPE c_total counter\nc_total{k=\"a\"} 0\nc_total{k=\"b\"} 0\n"
                  "# HELP e_total e\n# TYPE e_total counter\ne_total 1\n"
                  "# HELP g g\n# TYPE g gauge\ng 4\n");

    metrics_tx_begin();
    metrics_registry_counter_add(r, "c_total", 1, "k", "a", NULL);
    metrics_registry_counter_add(r, "c_total", 2, "k", "b", NULL);
    metrics_tx_end(TRUE);
    metrics_registry_counter_add(r, "c_total", 10, "k", "b", NULL);
    check_text(r, "# HELP c_total c\n# TYPE c_total counter\nc_total{k=\"a\"} 1\nc_total{k=\"b\"} 12\n"
                  "# HELP e_total e\n# TYPE e_total counter\ne_total 1\n"
                  "# HELP g g\n# TYPE g gauge\ng 4\n");

    /* A begin without its end (a forgotten path) does not carry over. */
    metrics_tx_begin();
    metrics_registry_counter_add(r, "c_total", 5, "k", "a", NULL);
    metrics_tx_begin();
    metrics_tx_end(TRUE);
    check_text(r, "# HELP c_total c\n# TYPE c_total counter\nc_total{k=\"a\"} 1\nc_total{k=\"b\"} 12\n"
                  "# HELP e_total e\n# TYPE e_total counter\ne_total 1\n"
                  "# HELP g g\n# TYPE g gauge\ng 4\n");
}

/* Past METRICS_TX_SLOTS distinct label sets in one transaction the rest
 * count at once, even if it rolls back: over-count rather than lose. */
static void
test_transaction_overflow(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();
    g_autofree char *text = NULL;
    guint64 total = 0;
    g_auto(GStrv) lines = NULL;

    metrics_registry_declare(r, METRICS_COUNTER_TX, "c_total", "c", "k", NULL);
    metrics_tx_begin();
    for (int i = 0; i < METRICS_TX_SLOTS + 3; i++) {
        g_autofree char *k = g_strdup_printf("%03d", i);

        metrics_registry_counter_add(r, "c_total", 1, "k", k, NULL);
    }
    metrics_tx_end(FALSE);
    text = metrics_registry_render(r);
    lines = g_strsplit(text, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        if (g_str_has_prefix(lines[i], "c_total{"))
            total += g_ascii_strtoull(strrchr(lines[i], ' ') + 1, NULL, 10);
    }
    g_assert_cmpuint(total, ==, 3);
}

/* A family stops growing at METRICS_MAX_SERIES label sets; the rest are
 * counted under "other". */
static void
test_series_cap(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();
    g_autofree char *text = NULL;

    metrics_registry_declare(r, METRICS_COUNTER, "c_total", "c", "k", "j", NULL);
    for (int i = 0; i < METRICS_MAX_SERIES + 5; i++) {
        g_autofree char *k = g_strdup_printf("%05d", i);

        metrics_registry_counter_add(r, "c_total", 1, "k", k, "j", "x", NULL);
    }
    text = metrics_registry_render(r);
    g_assert_nonnull(strstr(text, "c_total{k=\"other\",j=\"other\"} 5\n"));
    g_assert_null(strstr(text, "k=\"01000\""));
    g_assert_nonnull(strstr(text, "c_total{k=\"00999\",j=\"x\"} 1\n"));
}

static int collected;

static void
collect(gpointer data)
{
    collected++;
    metrics_registry_gauge_set(data, "g", collected, NULL);
}

/* Collectors run at each render, before the text is written. */
static void
test_collector(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();

    metrics_registry_declare(r, METRICS_GAUGE, "g", "g", NULL);
    metrics_registry_add_collector(r, collect, r);
    check_text(r, "# HELP g g\n# TYPE g gauge\ng 1\n");
    check_text(r, "# HELP g g\n# TYPE g gauge\ng 2\n");
}

/* A call that does not match the declaration is a programming error:
 * a critical, and nothing counted. */
static void
test_mismatch(void)
{
    g_autoptr(MetricsRegistry) r = metrics_registry_new();

    metrics_registry_declare(r, METRICS_COUNTER, "c_total", "c", "k", NULL);
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*label 'x' is not label 1*");
    metrics_registry_counter_add(r, "c_total", 1, "x", "v", NULL);
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*0 label(s) given, 1 declared*");
    metrics_registry_counter_add(r, "c_total", 1, NULL);
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*nope_total is not declared*");
    metrics_registry_counter_add(r, "nope_total", 1, NULL);
    g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*c_total is not a gauge*");
    metrics_registry_gauge_set(r, "c_total", 1, "k", "v", NULL);
    g_test_assert_expected_messages();
    check_text(r, "# HELP c_total c\n# TYPE c_total counter\n");
}

/* The daemon's registry declares every family docs/operations.md names. */
static void
test_bouncer_families(void)
{
    static const char *const families[] = {
        "bouncer_lmtp_sessions_total counter", "bouncer_lmtp_sessions_active gauge",
        "bouncer_lmtp_messages_total counter", "bouncer_lmtp_rcpt_rejected_total counter",
        "bouncer_bounces_total counter", "bouncer_complaints_total counter",
        "bouncer_autoreplies_total counter", "bouncer_rule_runs_stopped_total counter",
        "bouncer_outbox_sent_total counter",
        "bouncer_outbox_deferred_total counter", "bouncer_outbox_failed_total counter",
        "bouncer_events_published_total counter", "bouncer_db_errors_total counter",
        "bouncer_db_reconnects_total counter", "bouncer_database_up gauge",
        "bouncer_outbox_queued gauge", "bouncer_outbox_oldest_queued_seconds gauge",
        "bouncer_outbox_failed gauge", "bouncer_events_unpublished gauge",
    };
    g_autofree char *text = NULL;

    metrics_counter_inc("bouncer_lmtp_messages_total", "mailbox", "bounce", "result", "stored", NULL);
    metrics_counter_add("bouncer_events_published_total", 3, NULL);
    metrics_gauge_set("bouncer_outbox_queued", 2, NULL);
    text = metrics_render();
    for (gsize i = 0; i < G_N_ELEMENTS(families); i++) {
        g_autofree char *type = g_strdup_printf("# TYPE %s\n", families[i]);
        g_autofree char *name = g_strndup(families[i], strchr(families[i], ' ') - families[i]);
        g_autofree char *help = g_strdup_printf("# HELP %s ", name);

        if (strstr(text, type) == NULL || strstr(text, help) == NULL)
            g_error("no HELP/TYPE for %s in:\n%s", families[i], text);
    }
    g_assert_nonnull(strstr(text, "bouncer_lmtp_messages_total{mailbox=\"bounce\",result=\"stored\"} 1\n"));
    g_assert_nonnull(strstr(text, "\nbouncer_events_published_total 3\n"));
    g_assert_nonnull(strstr(text, "\nbouncer_complaints_total 0\n"));
    g_assert_nonnull(strstr(text, "\nbouncer_outbox_queued 2\n"));
    g_assert_null(strstr(text, "\nbouncer_outbox_failed "));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/metrics/exposition", test_exposition);
    g_test_add_func("/metrics/escaping", test_escaping);
    g_test_add_func("/metrics/invalid-utf8", test_invalid_utf8);
    g_test_add_func("/metrics/gauge-values", test_gauge_values);
    g_test_add_func("/metrics/gauge-set-add-unset", test_gauge_set_add_unset);
    g_test_add_func("/metrics/threads", test_threads);
    g_test_add_func("/metrics/transaction", test_transaction);
    g_test_add_func("/metrics/transaction-overflow", test_transaction_overflow);
    g_test_add_func("/metrics/series-cap", test_series_cap);
    g_test_add_func("/metrics/collector", test_collector);
    g_test_add_func("/metrics/mismatch", test_mismatch);
    g_test_add_func("/metrics/bouncer-families", test_bouncer_families);
    return g_test_run();
}
