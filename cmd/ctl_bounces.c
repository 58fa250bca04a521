/* ctl_bounces.c - `bouncerctl bounces`: the bounces recorded for an
 * organisation, a recipient or a period, newest first, for support staff
 * answering "did my invoice to X arrive, and why not?".
 *
 *   bouncerctl bounces --org N | --recipient ADDR | --since WHEN [--limit N] [--json]
 *
 * The filters combine (all must hold). It reads support.recent_bounces, so
 * a login with only the bouncer_support role can run it.
 *
 * Exit status: 0 ok (also when nothing matches), 1 failure, 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"
#include "cmd/ctl_support.h"
#include "common/db.h"

#define CTL_BOUNCES_DEFAULT_LIMIT 50
#define CTL_BOUNCES_MAX_LIMIT     1000000
/* Longer organisation names are cut in the table (JSON has them whole). */
#define CTL_BOUNCES_NAME_WIDTH    "24"

typedef struct {
    char    *config;
    char    *conninfo;
    char    *org;
    char    *recipient;
    char    *since;
    char    *limit;
    gboolean json;
} CtlBouncesOptions;

static void
ctl_bounces_options_clear(CtlBouncesOptions *opts)
{
    g_free(opts->config);
    g_free(opts->conninfo);
    g_free(opts->org);
    g_free(opts->recipient);
    g_free(opts->since);
    g_free(opts->limit);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CtlBouncesOptions, ctl_bounces_options_clear)

/* $1 organisation, $2 recipient, $3 since (timestamptz), $4 limit. A NULL
 * parameter is no condition; the plan is made with the values, so each
 * query reaches its index (docs/support.md). Newest first: the order the
 * indexes hold, no sort. */
static const char ctl_bounces_sql[] =
    "SELECT to_char(received_at, 'YYYY-MM-DD HH24:MI:SSOF'),"
    "       coalesce(org_id::text || coalesce(' ' || CASE"
    "           WHEN length(org_name) > " CTL_BOUNCES_NAME_WIDTH
    "           THEN left(org_name, " CTL_BOUNCES_NAME_WIDTH " - 1) || '…'"
    "           ELSE org_name END, ''), '-'),"
    "       recipient, coalesce(nullif(action, ''), '-'), coalesce(nullif(status, ''), '-'),"
    "       coalesce(nullif(reason, ''), '-'), CASE WHEN hard THEN 'yes' ELSE 'no' END,"
    "       json_build_object('id', id, 'received_at', received_at, 'org_id', org_id,"
    "           'org_name', org_name, 'message_id', message_id, 'recipient', recipient,"
    "           'kind', kind, 'action', action, 'status', status, 'reply_code', reply_code,"
    "           'reason', reason, 'hard', hard, 'bounce_type', bounce_type,"
    "           'bounce_subtype', bounce_subtype, 'diagnostic', diagnostic,"
    "           'remote_mta', remote_mta, 'reporting_mta', reporting_mta, 'rule', rule,"
    "           'inbound_id', inbound_id)"
    "  FROM support.recent_bounces"
    " WHERE ($1::bigint IS NULL OR org_id = $1::bigint)"
    "   AND ($2::text IS NULL OR address = lower($2::text))"
    "   AND ($3::timestamptz IS NULL OR received_at >= $3::timestamptz)"
    " ORDER BY received_at DESC"
    " LIMIT $4::bigint";

enum { CTL_BOUNCES_COLUMNS = 7, CTL_BOUNCES_JSON = 7 };
static const char *const ctl_bounces_headers[CTL_BOUNCES_COLUMNS] = {
    "time", "org", "recipient", "action", "status", "reason", "hard",
};

static const char ctl_bounces_description[] =
    "Bounces (and delivery reports, and auto-replies sent back to the VERP\n"
    "address) as recorded, newest first: give at least one of --org,\n"
    "--recipient and --since; together they must all hold.\n"
    "\n"
    "WHEN is an age before now (90m, 2h, 7d, 4w) or an ISO 8601 date or time\n"
    "(2026-03-01, 2026-03-01T09:30, '2026-03-01 09:30:00+01:00'; local time\n"
    "unless an offset is given).\n"
    "\n"
    "The table shows time, org (id and name), recipient, action, status,\n"
    "reason and hard; --json prints every field, one JSON object a line.\n"
    "Exit status: 0 ok (also when nothing matches), 1 failure, 2 usage.";

/* ctl_bounces_run - check, connect, print. */
static int
ctl_bounces_run(const CtlBouncesOptions *opts, int argc, char **argv, GError **error)
{
    g_autoptr(PGconn) conn = NULL;
    g_autoptr(PGresult) res = NULL;
    g_autofree char *since = NULL;
    g_autofree char *limit_text = NULL;
    gint64 limit = CTL_BOUNCES_DEFAULT_LIMIT;
    int rows;

    if (argc > 1) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "unexpected argument '%s' (a recipient goes after --recipient)", argv[1]);
        return 2;
    }
    if (opts->org == NULL && opts->recipient == NULL && opts->since == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "say which bounces: --org N, --recipient ADDR or --since WHEN");
        return 2;
    }
    if (!ctl_check_org_id("--org", opts->org, NULL, error) ||
        !ctl_check_one_line("--recipient", opts->recipient, FALSE, error) ||
        !ctl_support_check_count("--limit", opts->limit, CTL_BOUNCES_MAX_LIMIT, &limit, error))
        return 2;
    if (opts->recipient != NULL && strchr(opts->recipient, '@') == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--recipient '%s' has no '@': give the whole address", opts->recipient);
        return 2;
    }
    if (opts->since != NULL && !ctl_support_parse_when("--since", opts->since, &since, error))
        return 2;

    conn = ctl_connect(opts->config, opts->conninfo, error);
    if (conn == NULL)
        return 1;
    if (opts->json) {
        const char *params[] = { opts->org, opts->recipient, since, NULL };

        limit_text = g_strdup_printf("%" G_GINT64_FORMAT, limit);
        params[3] = limit_text;
        return ctl_support_print_json_lines(conn, ctl_bounces_sql, 4, params, CTL_BOUNCES_JSON,
                                            NULL, error) ? 0 : 1;
    }
    /* One more than asked, to say whether there are more. */
    limit_text = g_strdup_printf("%" G_GINT64_FORMAT, limit + 1);
    {
        const char *params[] = { opts->org, opts->recipient, since, limit_text };

        res = ctl_support_exec(conn, ctl_bounces_sql, 4, params, error);
    }
    if (res == NULL)
        return 1;
    rows = PQntuples(res);
    if (rows == 0) {
        printf("no bounces match\n");
        return 0;
    }
    ctl_support_print_table(res, (int)MIN(rows, limit), CTL_BOUNCES_COLUMNS, ctl_bounces_headers,
                            "lllllll", "");
    if (rows > limit)
        fprintf(stderr, "bouncerctl bounces: the newest %" G_GINT64_FORMAT " shown; more match "
                "(raise --limit or narrow --since)\n", limit);
    return 0;
}

int
ctl_bounces_main(int argc, char **argv)
{
    g_auto(CtlBouncesOptions) opts = { 0 };
    g_autoptr(GOptionContext) context = NULL;
    g_autoptr(GError) error = NULL;
    int status;
    GOptionEntry entries[] = {
        { "org", 'o', 0, G_OPTION_ARG_STRING, &opts.org, "bounces of organisation N", "N" },
        { "recipient", 'r', 0, G_OPTION_ARG_STRING, &opts.recipient,
          "bounces for this address (any case)", "ADDR" },
        { "since", 's', 0, G_OPTION_ARG_STRING, &opts.since,
          "received at or after WHEN (2h, 7d, 2026-03-01, ...)", "WHEN" },
        { "limit", 'n', 0, G_OPTION_ARG_STRING, &opts.limit,
          "at most N rows, the newest (default " G_STRINGIFY(CTL_BOUNCES_DEFAULT_LIMIT) ")", "N" },
        { "json", 'j', 0, G_OPTION_ARG_NONE, &opts.json, "print JSON lines, every field", NULL },
        CTL_DB_OPTIONS(&opts.config, &opts.conninfo),
        { NULL },
    };

    context = g_option_context_new("- bounces by organisation, recipient or time, newest first");
    g_option_context_set_description(context, ctl_bounces_description);
    g_option_context_add_main_entries(context, entries, NULL);
    g_set_prgname("bouncerctl bounces");
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerctl bounces: %s\n", error->message);
        return 2;
    }
    status = ctl_bounces_run(&opts, argc, argv, &error);
    if (status != 0)
        fprintf(stderr, "bouncerctl bounces: %s\n", error->message);
    return status;
}
