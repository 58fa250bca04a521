/* ctl_stats.c - `bouncerctl stats`: what came back over the last 1, 7 and
 * 30 days by kind and reason, the suppressions in force and the outbox's
 * health, for everyone or one organisation.
 *
 *   bouncerctl stats [--org N] [--json]
 *
 * Reads the support views (support.recent_activity, suppressions_live,
 * outbox_health, org_summary): the bouncer_support role is enough.
 *
 * Exit status: 0 ok, 1 failure, 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"
#include "cmd/ctl_support.h"
#include "common/db.h"

/* By kind and reason; $1 organisation or NULL for all. Kinds in the order
 * support asks about them. */
#define CTL_STATS_COUNTS \
    "SELECT what, coalesce(nullif(reason, ''), '-') AS reason," \
    "       count(*) FILTER (WHERE received_at > now() - interval '1 day') AS last_1d," \
    "       count(*) FILTER (WHERE received_at > now() - interval '7 days') AS last_7d," \
    "       count(*) AS last_30d" \
    "  FROM support.recent_activity" \
    " WHERE $1::bigint IS NULL OR org_id = $1::bigint" \
    " GROUP BY 1, 2"
#define CTL_STATS_COUNTS_ORDER \
    " ORDER BY array_position(ARRAY['hard', 'soft', 'delayed', 'complaint', 'auto-reply']," \
    "          what) NULLS LAST, what, last_30d DESC, reason"

/* Suppressions in force: with an organisation, its own only (those for
 * every organisation apply to it too, and are counted without --org). */
#define CTL_STATS_SUPPRESSIONS \
    "SELECT scope, reason, count(*) AS count" \
    "  FROM support.suppressions_live" \
    " WHERE $1::bigint IS NULL OR org_id = $1::bigint" \
    " GROUP BY scope, reason"
#define CTL_STATS_SUPPRESSIONS_ORDER " ORDER BY scope, count DESC, reason"

static const char ctl_stats_sql_counts[] = CTL_STATS_COUNTS CTL_STATS_COUNTS_ORDER;
static const char ctl_stats_sql_suppressions[] =
    CTL_STATS_SUPPRESSIONS CTL_STATS_SUPPRESSIONS_ORDER;

static const char ctl_stats_sql_org[] =
    "SELECT org_name FROM support.org_summary WHERE org_id = $1::bigint";

static const char ctl_stats_sql_outbox[] =
    "SELECT queued, due,"
    "       coalesce(to_char(oldest_queued_at, 'YYYY-MM-DD HH24:MI:SSOF'), '-'),"
    "       coalesce(oldest_queued_age::text, '-'), failed_24h, held_24h, held"
    "  FROM support.outbox_health";

/* Everything in one object, from the same queries. */
static const char ctl_stats_sql_json[] =
    "SELECT jsonb_build_object("
    "    'org_id', $1::bigint,"
    "    'org_name', (SELECT org_name FROM support.org_summary WHERE org_id = $1::bigint),"
    "    'days', jsonb_build_array(1, 7, 30),"
    "    'counts', coalesce((SELECT jsonb_agg(c" CTL_STATS_COUNTS_ORDER ")"
    "                          FROM (" CTL_STATS_COUNTS ") c), '[]'::jsonb),"
    "    'suppressions', coalesce((SELECT jsonb_agg(s" CTL_STATS_SUPPRESSIONS_ORDER ")"
    "                                FROM (" CTL_STATS_SUPPRESSIONS ") s), '[]'::jsonb),"
    "    'suppressions_scope', CASE WHEN $1::bigint IS NULL THEN 'all'"
    "                               ELSE 'organisation' END,"
    "    'outbox', (SELECT jsonb_build_object('queued', queued, 'due', due,"
    "                   'oldest_queued_at', oldest_queued_at,"
    "                   'oldest_queued_seconds', extract(epoch FROM oldest_queued_age)::bigint,"
    "                   'failed_24h', failed_24h, 'held_24h', held_24h, 'held', held)"
    "                 FROM support.outbox_health))";

static const char *const ctl_stats_count_headers[] = {
    "what", "reason", "last_1d", "last_7d", "last_30d",
};
static const char *const ctl_stats_suppression_headers[] = { "scope", "reason", "count" };

static const char ctl_stats_description[] =
    "what: hard and soft (failed bounces), delayed, delivered/relayed/expanded\n"
    "(success reports), complaint (feedback loops; reason is the feedback\n"
    "type), auto-reply (out-of-office replies sent back to a VERP address).\n"
    "last_1d, last_7d, last_30d count what arrived in the last 24 hours, 7\n"
    "and 30 days.\n"
    "\n"
    "Suppressions are those in force now. With --org, the organisation's\n"
    "own (complaints, manual); those for every organisation apply to it too\n"
    "and are counted by 'bouncerctl stats' without --org. The outbox line is\n"
    "for all organisations: queued, due (waiting past their time: the sender\n"
    "is behind or stopped), failed and held in the last 24 hours.\n"
    "Exit status: 0 ok, 1 failure, 2 usage.";

/* ctl_stats_text - the three parts, each from its own query. */
static int
ctl_stats_text(PGconn *conn, const char *org, GError **error)
{
    const char *params[] = { org };
    g_autoptr(PGresult) counts = NULL;
    g_autoptr(PGresult) suppressions = NULL;
    g_autoptr(PGresult) outbox = NULL;

    if (org != NULL) {
        g_autoptr(PGresult) name = ctl_support_exec(conn, ctl_stats_sql_org, 1, params, error);
        g_autofree char *shown = NULL;

        if (name == NULL)
            return 1;
        shown = PQntuples(name) > 0 ? ctl_printable(PQgetvalue(name, 0, 0)) : NULL;
        printf("organisation %s%s%s\n", org, shown != NULL ? " " : "",
               shown != NULL ? shown : " (not in organisations: the app has not written it)");
    } else {
        printf("all organisations\n");
    }

    counts = ctl_support_exec(conn, ctl_stats_sql_counts, 1, params, error);
    if (counts == NULL)
        return 1;
    printf("\nbounces and complaints, last 1, 7 and 30 days:\n");
    if (PQntuples(counts) == 0)
        printf("  none in the last 30 days\n");
    else
        ctl_support_print_table(counts, -1, 5, ctl_stats_count_headers, "llrrr", "  ");

    suppressions = ctl_support_exec(conn, ctl_stats_sql_suppressions, 1, params, error);
    if (suppressions == NULL)
        return 1;
    printf("\nsuppressions in force%s:\n",
           org != NULL ? " (the organisation's own; those for every organisation apply too)" : "");
    if (PQntuples(suppressions) == 0)
        printf("  none\n");
    else
        ctl_support_print_table(suppressions, -1, 3, ctl_stats_suppression_headers, "llr", "  ");

    outbox = ctl_support_exec(conn, ctl_stats_sql_outbox, 0, NULL, error);
    if (outbox == NULL)
        return 1;
    printf("\noutbox (all organisations):\n");
    if (strcmp(PQgetvalue(outbox, 0, 0), "0") == 0)
        printf("  nothing queued\n");
    else
        printf("  %s queued, %s of them due (waiting past their time), the oldest since %s (%s)\n",
               PQgetvalue(outbox, 0, 0), PQgetvalue(outbox, 0, 1), PQgetvalue(outbox, 0, 2),
               PQgetvalue(outbox, 0, 3));
    printf("  %s failed and %s held in the last 24 hours (%s held in all)\n",
           PQgetvalue(outbox, 0, 4), PQgetvalue(outbox, 0, 5), PQgetvalue(outbox, 0, 6));
    return 0;
}

int
ctl_stats_main(int argc, char **argv)
{
    g_autofree char *config = NULL;
    g_autofree char *conninfo = NULL;
    g_autofree char *org = NULL;
    gboolean json = FALSE;
    g_autoptr(GOptionContext) context = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = NULL;
    GOptionEntry entries[] = {
        { "org", 'o', 0, G_OPTION_ARG_STRING, &org, "only organisation N", "N" },
        { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL },
        CTL_DB_OPTIONS(&config, &conninfo),
        { NULL },
    };

    context = g_option_context_new("- what came back in the last 1, 7 and 30 days, "
                                   "suppressions, outbox health");
    g_option_context_set_description(context, ctl_stats_description);
    g_option_context_add_main_entries(context, entries, NULL);
    g_set_prgname("bouncerctl stats");
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerctl stats: %s\n", error->message);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "bouncerctl stats: unexpected argument '%s' (an organisation goes "
                "after --org)\n", argv[1]);
        return 2;
    }
    if (!ctl_check_org_id("--org", org, NULL, &error)) {
        fprintf(stderr, "bouncerctl stats: %s\n", error->message);
        return 2;
    }
    conn = ctl_connect(config, conninfo, &error);
    if (conn == NULL) {
        fprintf(stderr, "bouncerctl stats: %s\n", error->message);
        return 1;
    }
    if (json) {
        const char *params[] = { org };
        g_autoptr(PGresult) res = ctl_support_exec(conn, ctl_stats_sql_json, 1, params, &error);

        if (res == NULL) {
            fprintf(stderr, "bouncerctl stats: %s\n", error->message);
            return 1;
        }
        printf("%s\n", PQgetvalue(res, 0, 0));
        return 0;
    }
    if (ctl_stats_text(conn, org, &error) != 0) {
        fprintf(stderr, "bouncerctl stats: %s\n", error->message);
        return 1;
    }
    return 0;
}
