/* ctl_suppression.c - `bouncerctl suppression list|add|remove`: what the
 * app must not send to, for support staff answering "why did my invoice
 * not go out?" and for lifting a suppression by hand.
 *
 *   bouncerctl suppression list [--org N] [--address A] [--all] [--json]
 *   bouncerctl suppression add ADDRESS [--org N] [--reason TEXT] [--days N]
 *   bouncerctl suppression remove ADDRESS [--org N] --by WHO [--reason TEXT]
 *
 * Adding goes through bouncer_suppress() and removing through
 * bouncer_unsuppress() (sql/), so both write the 'suppression' event the
 * app listens for, and a removed row stays in the table as the audit.
 *
 * Exit status: 0 ok, 1 failure (database, nothing to remove), 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"
#include "cmd/ctl_support.h"
#include "common/db.h"
#include "common/error.h"

#define CTL_SUPPRESSION_MAX_DAYS 36500

typedef enum {
    CTL_SUPPRESSION_LIST,
    CTL_SUPPRESSION_ADD,
    CTL_SUPPRESSION_REMOVE,
} CtlSuppressionAction;

typedef struct {
    char    *config;
    char    *conninfo;
    char    *org;
    char    *address;
    char    *reason;
    char    *days;
    char    *by;
    gboolean all;
    gboolean json;
} CtlSuppressionOptions;

static void
ctl_suppression_options_clear(CtlSuppressionOptions *opts)
{
    g_free(opts->config);
    g_free(opts->conninfo);
    g_free(opts->org);
    g_free(opts->address);
    g_free(opts->reason);
    g_free(opts->days);
    g_free(opts->by);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CtlSuppressionOptions, ctl_suppression_options_clear)

/* Time as people read it in the table; JSON gets full ISO 8601. */
#define CTL_SUPPRESSION_TIME(col) "to_char(" col ", 'YYYY-MM-DD HH24:MIOF')"
/* Addresses and texts come from bounces: no control characters in a table. */
#define CTL_SUPPRESSION_CLEAN(col) "regexp_replace(" col ", '[[:cntrl:]]', '?', 'g')"

/* Live: not removed and not expired. $1 organisation: what applies to it
 * (its own rows and those for everyone). $2 address. $3 include removed
 * and expired rows. */
static const char ctl_suppression_sql_list[] =
    "SELECT " CTL_SUPPRESSION_CLEAN("address") ","
    "       CASE WHEN org_id IS NULL THEN 'all' ELSE 'org ' || org_id END,"
    "       reason,"
    "       " CTL_SUPPRESSION_TIME("since") ","
    "       coalesce(" CTL_SUPPRESSION_TIME("until") ", '-'),"
    "       CASE WHEN removed_at IS NOT NULL AND removed_by IS NULL"
    "            THEN CASE WHEN removed_reason = 'superseded' THEN 'superseded ' ELSE 'expired ' END"
    "                 || " CTL_SUPPRESSION_TIME("removed_at")
    "            WHEN removed_at IS NOT NULL"
    "            THEN 'removed ' || " CTL_SUPPRESSION_TIME("removed_at")
    "                 || ' by ' || " CTL_SUPPRESSION_CLEAN("removed_by")
    "            WHEN until <= now() THEN 'expired' ELSE 'live' END,"
    "       " CTL_SUPPRESSION_CLEAN("detail") ","
    "       json_build_object('id', id, 'address', address, 'org_id', org_id,"
    "           'scope', CASE WHEN org_id IS NULL THEN 'all' ELSE 'organisation' END,"
    "           'reason', reason, 'detail', detail, 'source_event', source_event,"
    "           'since', since, 'until', until,"
    "           'live', removed_at IS NULL AND (until IS NULL OR until > now()),"
    "           'removed_at', removed_at, 'removed_by', removed_by,"
    "           'removed_reason', removed_reason)"
    "  FROM suppressions"
    " WHERE ($1::bigint IS NULL OR org_id IS NULL OR org_id = $1::bigint)"
    "   AND ($2::text IS NULL OR address = lower($2::text))"
    "   AND ($3::boolean OR (removed_at IS NULL AND (until IS NULL OR until > now())))"
    " ORDER BY address, org_id NULLS FIRST, since, id";

/* Columns of the list query: the table shows the first CTL_LIST_TABLE
 * (the state column only with --all), JSON the last. */
enum {
    CTL_LIST_ADDRESS, CTL_LIST_SCOPE, CTL_LIST_REASON, CTL_LIST_SINCE, CTL_LIST_UNTIL,
    CTL_LIST_STATE, CTL_LIST_DETAIL, CTL_LIST_JSON, CTL_LIST_TABLE = CTL_LIST_JSON,
};
static const char *const ctl_suppression_headers[CTL_LIST_TABLE] = {
    "address", "scope", "reason", "since", "until", "state", "detail",
};

/* --days N ends at the end of the Nth day after today (UTC), not N times 24
 * hours from now: the same command run again that day asks for the same
 * end, which the row in force already covers, so it changes nothing. */
static const char ctl_suppression_sql_add[] =
    "SELECT bouncer_suppress($1, $2::bigint, 'manual', $3, NULL,"
    "       (date_trunc('day', now() AT TIME ZONE 'UTC')"
    "        + make_interval(days => $4::integer + 1)) AT TIME ZONE 'UTC')";

/* The row now in force in that scope (after add, or when add changed nothing). */
static const char ctl_suppression_sql_live[] =
    "SELECT id, address, reason, coalesce('until ' || " CTL_SUPPRESSION_TIME("until") ", 'permanently')"
    "  FROM suppressions"
    " WHERE address = lower($1) AND coalesce(org_id, 0) = coalesce($2::bigint, 0)"
    "   AND removed_at IS NULL";

static const char ctl_suppression_sql_remove[] =
    "SELECT bouncer_unsuppress($1, $2::bigint, $3, $4)";

/* Where else the address is suppressed, for the hint when remove finds
 * nothing in the scope it was given. */
static const char ctl_suppression_sql_scopes[] =
    "SELECT coalesce(org_id::text, '') FROM suppressions"
    " WHERE address = lower($1) AND removed_at IS NULL AND (until IS NULL OR until > now())"
    " ORDER BY org_id NULLS FIRST LIMIT 6";

static void
ctl_suppression_usage(FILE *out)
{
    fprintf(out,
            "usage: bouncerctl suppression list [--org N] [--address A] [--all] [--json]\n"
            "       bouncerctl suppression add ADDRESS [--org N] [--reason TEXT] [--days N]\n"
            "       bouncerctl suppression remove ADDRESS [--org N] --by WHO [--reason TEXT]\n"
            "\n"
            "Each takes -c/--config FILE (its [database] conninfo) or -d/--conninfo STR.\n"
            "Without --org, add and remove act on the suppression for every organisation;\n"
            "with it, on that organisation's own. A removed suppression stays in the\n"
            "table (list --all shows it). Add and remove write a 'suppression' event.\n"
            "Run 'bouncerctl suppression list --help' for the options.\n");
}

/* ctl_suppression_scope - "for every organisation" / "for organisation N". */
static char *
ctl_suppression_scope(const char *org)
{
    return org == NULL ? g_strdup("for every organisation")
                       : g_strdup_printf("for organisation %s", org);
}

/* ctl_suppression_print_table - aligned columns, two spaces apart, the
 * last one unpadded; widths in characters, not bytes. */
static void
ctl_suppression_print_table(PGresult *res, gboolean with_state)
{
    glong width[CTL_LIST_TABLE] = { 0 };
    int rows = PQntuples(res);

    for (int c = 0; c < CTL_LIST_TABLE; c++) {
        width[c] = g_utf8_strlen(ctl_suppression_headers[c], -1);
        for (int r = 0; r < rows; r++)
            width[c] = MAX(width[c], g_utf8_strlen(PQgetvalue(res, r, c), -1));
    }
    for (int r = -1; r < rows; r++) {
        GString *line = g_string_new(NULL);

        for (int c = 0; c < CTL_LIST_TABLE; c++) {
            const char *value = r < 0 ? ctl_suppression_headers[c] : PQgetvalue(res, r, c);

            if (c == CTL_LIST_STATE && !with_state)
                continue;
            if (line->len > 0)
                g_string_append(line, "  ");
            g_string_append(line, value);
            if (c + 1 < CTL_LIST_TABLE) {
                for (glong pad = g_utf8_strlen(value, -1); pad < width[c]; pad++)
                    g_string_append_c(line, ' ');
            }
        }
        g_strchomp(line->str);
        printf("%s\n", line->str);
        g_string_free(line, TRUE);
    }
}

/* ctl_suppression_list - the table for people, or JSON lines. */
static int
ctl_suppression_list(const CtlSuppressionOptions *opts, PGconn *conn, GError **error)
{
    const char *params[] = { opts->org, opts->address, opts->all ? "true" : "false" };
    g_autoptr(PGresult) res = NULL;

    if (opts->json)
        return ctl_support_print_json_lines(conn, ctl_suppression_sql_list, 3, params,
                                            CTL_LIST_JSON, NULL, error) ? 0 : 1;
    res = ctl_support_exec(conn, ctl_suppression_sql_list, 3, params, error);
    if (res == NULL)
        return 1;
    if (PQntuples(res) == 0)
        printf("no suppressions match\n");
    else
        ctl_suppression_print_table(res, opts->all);
    return 0;
}

/* ctl_suppression_add - bouncer_suppress() with reason 'manual'; --reason
 * becomes the detail. Saying so when a row already covers it is not an
 * error: the address is suppressed, as asked. */
static int
ctl_suppression_add(const CtlSuppressionOptions *opts, PGconn *conn, const char *address,
                    GError **error)
{
    const char *params[] = { address, opts->org, opts->reason != NULL ? opts->reason : "", opts->days };
    g_autoptr(PGresult) added = ctl_support_exec(conn, ctl_suppression_sql_add, 4, params, error);
    g_autoptr(PGresult) live = NULL;
    g_autofree char *scope = ctl_suppression_scope(opts->org);

    if (added == NULL)
        return 1;
    live = ctl_support_exec(conn, ctl_suppression_sql_live, 2, params, error);
    if (live == NULL)
        return 1;
    if (PQntuples(live) == 0) {
        /* Removed again between the two statements by someone else. */
        printf("%s is no longer suppressed %s\n", address, scope);
        return 0;
    }
    if (!PQgetisnull(added, 0, 0))
        printf("suppressed %s %s %s (suppression %s)\n", PQgetvalue(live, 0, 1), scope,
               PQgetvalue(live, 0, 3), PQgetvalue(live, 0, 0));
    else
        printf("%s is already suppressed %s (%s, %s): nothing changed\n", PQgetvalue(live, 0, 1),
               scope, PQgetvalue(live, 0, 2), PQgetvalue(live, 0, 3));
    return 0;
}

/* ctl_suppression_remove - bouncer_unsuppress(); when nothing was in force
 * in that scope, say where the address is suppressed instead. */
static int
ctl_suppression_remove(const CtlSuppressionOptions *opts, PGconn *conn, const char *address,
                       GError **error)
{
    const char *params[] = { address, opts->org, opts->by, opts->reason };
    g_autoptr(PGresult) removed = ctl_support_exec(conn, ctl_suppression_sql_remove, 4, params, error);
    g_autoptr(PGresult) scopes = NULL;
    g_autofree char *scope = ctl_suppression_scope(opts->org);
    g_autoptr(GString) elsewhere = NULL;

    if (removed == NULL)
        return 1;
    if (!PQgetisnull(removed, 0, 0)) {
        printf("removed suppression %s of %s %s (kept as audit: list --all shows it)\n",
               PQgetvalue(removed, 0, 0), address, scope);
        return 0;
    }
    scopes = ctl_support_exec(conn, ctl_suppression_sql_scopes, 1, params, error);
    if (scopes == NULL)
        return 1;
    elsewhere = g_string_new(NULL);
    for (int r = 0; r < PQntuples(scopes); r++) {
        const char *org = PQgetvalue(scopes, r, 0);

        g_string_append(elsewhere, r == 0 ? "; it is suppressed " : ", ");
        if (r == 5)
            g_string_append(elsewhere, "...");
        else if (org[0] == '\0')
            g_string_append(elsewhere, "for every organisation (leave out --org)");
        else
            g_string_append_printf(elsewhere, "for organisation %s (--org %s)", org, org);
    }
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s is not suppressed %s%s",
                address, scope, elsewhere->str);
    return 1;
}

/* ctl_suppression_run - check the arguments, connect, run the action. */
static int
ctl_suppression_run(CtlSuppressionAction action, const CtlSuppressionOptions *opts,
                    int argc, char **argv, GError **error)
{
    g_autoptr(PGconn) conn = NULL;
    const char *address = NULL;
    gint64 days;

    if (action == CTL_SUPPRESSION_LIST) {
        if (argc > 1) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "unexpected argument '%s' (filter with --address)", argv[1]);
            return 2;
        }
    } else if (argc != 2) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    argc < 2 ? "give the ADDRESS" : "one ADDRESS at a time");
        return 2;
    } else {
        address = argv[1];
        if (!ctl_check_address("address", address, error))
            return 2;
    }
    if (!ctl_check_org_id("--org", opts->org, NULL, error) ||
        !ctl_check_one_line("--reason", opts->reason, FALSE, error) ||
        !ctl_check_one_line("--by", opts->by, FALSE, error))
        return 2;
    if (opts->address != NULL && !g_utf8_validate(opts->address, -1, NULL)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--address is not valid UTF-8");
        return 2;
    }
    if (opts->days != NULL &&
        !g_ascii_string_to_signed(opts->days, 10, 1, CTL_SUPPRESSION_MAX_DAYS, &days, NULL)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--days '%s' is not a whole number of days from 1 to %d", opts->days,
                    CTL_SUPPRESSION_MAX_DAYS);
        return 2;
    }
    if (action == CTL_SUPPRESSION_REMOVE && (opts->by == NULL || opts->by[0] == '\0')) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--by WHO is required: the removal is recorded with who made it");
        return 2;
    }

    conn = ctl_connect(opts->config, opts->conninfo, error);
    if (conn == NULL)
        return 1;
    switch (action) {
    case CTL_SUPPRESSION_LIST:
        return ctl_suppression_list(opts, conn, error);
    case CTL_SUPPRESSION_ADD:
        return ctl_suppression_add(opts, conn, address, error);
    case CTL_SUPPRESSION_REMOVE:
        return ctl_suppression_remove(opts, conn, address, error);
    }
    g_assert_not_reached();
}

int
ctl_suppression_main(int argc, char **argv)
{
    g_auto(CtlSuppressionOptions) opts = { 0 };
    g_autoptr(GOptionContext) context = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *prgname = NULL;
    CtlSuppressionAction action;
    const char *name;
    int status;
    GOptionEntry common[] = {
        CTL_DB_OPTIONS(&opts.config, &opts.conninfo),
        { NULL },
    };
    GOptionEntry list_entries[] = {
        { "org", 'o', 0, G_OPTION_ARG_STRING, &opts.org,
          "only what applies to organisation N: its own and those for everyone", "N" },
        { "address", 'a', 0, G_OPTION_ARG_STRING, &opts.address, "only this address", "A" },
        { "all", 0, 0, G_OPTION_ARG_NONE, &opts.all,
          "also removed and expired suppressions (adds a state column)", NULL },
        { "json", 'j', 0, G_OPTION_ARG_NONE, &opts.json, "print JSON lines", NULL },
        { NULL },
    };
    GOptionEntry add_entries[] = {
        { "org", 'o', 0, G_OPTION_ARG_STRING, &opts.org,
          "for organisation N only (default: for every organisation)", "N" },
        { "reason", 'r', 0, G_OPTION_ARG_STRING, &opts.reason,
          "why, kept as the detail (the reason is 'manual')", "TEXT" },
        { "days", 0, 0, G_OPTION_ARG_STRING, &opts.days,
          "until the end of the Nth day after today, UTC (default: until removed)", "N" },
        { NULL },
    };
    GOptionEntry remove_entries[] = {
        { "org", 'o', 0, G_OPTION_ARG_STRING, &opts.org,
          "organisation N's own suppression (default: the one for everyone)", "N" },
        { "by", 'b', 0, G_OPTION_ARG_STRING, &opts.by, "who removes it (required)", "WHO" },
        { "reason", 'r', 0, G_OPTION_ARG_STRING, &opts.reason, "why", "TEXT" },
        { NULL },
    };
    GOptionEntry *entries;
    const char *summary;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        ctl_suppression_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    name = argv[1];
    if (strcmp(name, "list") == 0) {
        action = CTL_SUPPRESSION_LIST;
        entries = list_entries;
        summary = "- print suppressions (live ones unless --all)";
    } else if (strcmp(name, "add") == 0) {
        action = CTL_SUPPRESSION_ADD;
        entries = add_entries;
        summary = "ADDRESS - suppress an address by hand";
    } else if (strcmp(name, "remove") == 0) {
        action = CTL_SUPPRESSION_REMOVE;
        entries = remove_entries;
        summary = "ADDRESS - lift a suppression, keeping the row as audit";
    } else {
        fprintf(stderr, "bouncerctl suppression: unknown action '%s'\n", name);
        ctl_suppression_usage(stderr);
        return 2;
    }

    /* GOption takes the action for the program name, so --help reads
     * "bouncerctl suppression add ADDRESS [OPTION…]". */
    context = g_option_context_new(summary);
    g_option_context_add_main_entries(context, entries, NULL);
    g_option_context_add_main_entries(context, common, NULL);
    prgname = g_strdup_printf("bouncerctl suppression %s", name);
    g_set_prgname(prgname);
    argc--;
    argv++;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerctl suppression %s: %s\n", name, error->message);
        return 2;
    }
    status = ctl_suppression_run(action, &opts, argc, argv, &error);
    if (status != 0)
        fprintf(stderr, "bouncerctl suppression %s: %s\n", name, error->message);
    return status;
}
