/* ctl_org.c - `bouncerctl org set|show`: write or read one row of the
 * organisations table (normally the app's job: see docs/app.md), for
 * operators setting up or checking an organisation by hand.
 *
 *   bouncerctl org set ID [--name NAME] [--reply-to ADDR] [--forward-bounces yes|no]
 *   bouncerctl org show ID [--json]
 *
 * --name is needed to create an organisation, not to change one.
 *
 * Exit status: 0 ok, 1 failure (database, no such organisation), 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"
#include "cmd/ctl_support.h"
#include "common/db.h"

typedef struct {
    char    *config;
    char    *conninfo;
    char    *name;
    char    *reply_to;
    char    *forward;
    gboolean json;
} CtlOrgOptions;

static void
ctl_org_options_clear(CtlOrgOptions *opts)
{
    g_free(opts->config);
    g_free(opts->conninfo);
    g_free(opts->name);
    g_free(opts->reply_to);
    g_free(opts->forward);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CtlOrgOptions, ctl_org_options_clear)

/* The upsert. $3/$4 NULL: the option was not given, so an existing row
 * keeps its value and a new one gets the column default; $3 '' clears
 * reply_to. */
static const char ctl_org_sql_set[] =
    "INSERT INTO organisations AS o (id, name, reply_to, forward_bounces, updated_at)"
    " VALUES ($1, $2, nullif($3::text, ''), coalesce($4::boolean, true), now())"
    " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
    "   reply_to = CASE WHEN $3::text IS NULL THEN o.reply_to ELSE excluded.reply_to END,"
    "   forward_bounces = coalesce($4::boolean, o.forward_bounces),"
    "   updated_at = now()"
    " RETURNING (xmax = 0)";    /* true when inserted, false when updated */

/* The same without a name: an existing row only ($2/$3 as $3/$4 above). */
static const char ctl_org_sql_update[] =
    "UPDATE organisations AS o"
    "   SET reply_to = CASE WHEN $2::text IS NULL THEN o.reply_to ELSE nullif($2::text, '') END,"
    "       forward_bounces = coalesce($3::boolean, o.forward_bounces),"
    "       updated_at = now()"
    " WHERE id = $1"
    " RETURNING false";

static const char ctl_org_sql_show[] =
    "SELECT id, name, coalesce(reply_to, ''), reply_to IS NOT NULL,"
    "       CASE WHEN forward_bounces THEN 'yes' ELSE 'no' END,"
    "       to_char(updated_at, 'YYYY-MM-DD HH24:MI:SSOF'),"
    "       json_build_object('id', id, 'name', name, 'reply_to', reply_to,"
    "                         'forward_bounces', forward_bounces, 'updated_at', updated_at)"
    "  FROM organisations WHERE id = $1";

static void
ctl_org_usage(FILE *out)
{
    fprintf(out,
            "usage: bouncerctl org set ID [--name NAME] [--reply-to ADDR] [--forward-bounces yes|no]\n"
            "       bouncerctl org show ID [--json]\n"
            "\n"
            "Both take -c/--config FILE (its [database] conninfo) or -d/--conninfo STR.\n"
            "'set' creates the organisation (--name is needed then) or updates it;\n"
            "options left out keep their value (--reply-to '' clears the address).\n"
            "Run 'bouncerctl org set --help' for the options.\n");
}

/* ctl_org_set - validate everything, then one upsert. */
static int
ctl_org_set(const CtlOrgOptions *opts, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = NULL;
    g_autoptr(PGresult) res = NULL;
    gint64 id;
    const char *forward = NULL;
    const char *params[4];

    if (argc != 2) {
        fprintf(stderr, "bouncerctl org set: %s\n",
                argc < 2 ? "give the organisation ID" : "more than one ID given");
        return 2;
    }
    if (!ctl_check_org_id("organisation id", argv[1], &id, &error))
        goto usage;
    if (opts->name != NULL && !ctl_check_one_line("--name", opts->name, TRUE, &error))
        goto usage;
    if (opts->reply_to != NULL && opts->reply_to[0] != '\0' &&
        !ctl_check_address("--reply-to", opts->reply_to, &error))
        goto usage;
    if (opts->forward != NULL) {
        if (g_ascii_strcasecmp(opts->forward, "yes") == 0)
            forward = "true";
        else if (g_ascii_strcasecmp(opts->forward, "no") == 0)
            forward = "false";
        else {
            fprintf(stderr, "bouncerctl org set: --forward-bounces takes yes or no, not '%s'\n",
                    opts->forward);
            return 2;
        }
    }

    conn = ctl_connect(opts->config, opts->conninfo, &error);
    if (conn == NULL)
        goto fail;
    params[0] = argv[1];
    if (opts->name != NULL) {
        params[1] = opts->name;
        params[2] = opts->reply_to;
        params[3] = forward;
        res = ctl_support_exec(conn, ctl_org_sql_set, 4, params, &error);
    } else {
        params[1] = opts->reply_to;
        params[2] = forward;
        res = ctl_support_exec(conn, ctl_org_sql_update, 3, params, &error);
    }
    if (res == NULL)
        goto fail;
    if (PQntuples(res) == 0) {
        fprintf(stderr, "bouncerctl org set: no organisation %" G_GINT64_FORMAT
                "; give --name NAME to create it\n", id);
        return 1;
    }
    printf("organisation %" G_GINT64_FORMAT " %s\n", id,
           PQgetvalue(res, 0, 0)[0] == 't' ? "created" : "updated");
    return 0;

usage:
    fprintf(stderr, "bouncerctl org set: %s\n", error->message);
    return 2;
fail:
    fprintf(stderr, "bouncerctl org set: %s\n", error->message);
    return 1;
}

/* ctl_org_show - aligned "key: value" lines, or one JSON object. */
static int
ctl_org_show(const CtlOrgOptions *opts, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = NULL;
    g_autoptr(PGresult) res = NULL;
    gint64 id;
    const char *params[1];

    if (argc != 2) {
        fprintf(stderr, "bouncerctl org show: %s\n",
                argc < 2 ? "give the organisation ID" : "more than one ID given");
        return 2;
    }
    if (!ctl_check_org_id("organisation id", argv[1], &id, &error)) {
        fprintf(stderr, "bouncerctl org show: %s\n", error->message);
        return 2;
    }
    conn = ctl_connect(opts->config, opts->conninfo, &error);
    if (conn == NULL) {
        fprintf(stderr, "bouncerctl org show: %s\n", error->message);
        return 1;
    }
    params[0] = argv[1];
    res = ctl_support_exec(conn, ctl_org_sql_show, 1, params, &error);
    if (res == NULL) {
        fprintf(stderr, "bouncerctl org show: %s\n", error->message);
        return 1;
    }
    if (PQntuples(res) == 0) {
        fprintf(stderr, "bouncerctl org show: no organisation %" G_GINT64_FORMAT "\n", id);
        return 1;
    }
    if (opts->json) {
        printf("%s\n", PQgetvalue(res, 0, 6));
        return 0;
    }
    {
        /* The app writes this table directly: show its controls escaped. */
        g_autofree char *name = ctl_printable(PQgetvalue(res, 0, 1));
        g_autofree char *reply_to = ctl_printable(PQgetvalue(res, 0, 2));
        const char *keys[] = { "id:", "name:", "reply_to:", "forward_bounces:", "updated_at:" };
        const char *values[] = {
            PQgetvalue(res, 0, 0), name,
            PQgetvalue(res, 0, 3)[0] == 't' ? reply_to : "(none)",
            PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
        };
        int width = 0;

        for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
            width = MAX(width, (int)strlen(keys[i]));
        for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
            printf("%-*s %s\n", width, keys[i], values[i]);
    }
    return 0;
}

int
ctl_org_main(int argc, char **argv)
{
    g_auto(CtlOrgOptions) opts = { 0 };
    g_autoptr(GOptionContext) context = NULL;
    g_autoptr(GError) error = NULL;
    const char *action;
    gboolean set;
    GOptionEntry common[] = {
        CTL_DB_OPTIONS(&opts.config, &opts.conninfo),
        { NULL },
    };
    GOptionEntry set_entries[] = {
        { "name", 'n', 0, G_OPTION_ARG_STRING, &opts.name,
          "the organisation's name (needed to create it)", "NAME" },
        { "reply-to", 'r', 0, G_OPTION_ARG_STRING, &opts.reply_to,
          "its own address, where forwarded bounces go ('' clears it)", "ADDR" },
        { "forward-bounces", 'f', 0, G_OPTION_ARG_STRING, &opts.forward,
          "forward final bounces to the reply-to address (default yes)", "yes|no" },
        { NULL },
    };
    GOptionEntry show_entries[] = {
        { "json", 'j', 0, G_OPTION_ARG_NONE, &opts.json, "print one JSON object", NULL },
        { NULL },
    };

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        ctl_org_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    action = argv[1];
    if (strcmp(action, "set") == 0)
        set = TRUE;
    else if (strcmp(action, "show") == 0)
        set = FALSE;
    else {
        fprintf(stderr, "bouncerctl org: unknown action '%s'\n", action);
        ctl_org_usage(stderr);
        return 2;
    }

    /* GOption takes the action for the program name, so --help reads
     * "bouncerctl org set ID [OPTION…]". */
    context = g_option_context_new(set ? "ID - create or update an organisation"
                                       : "ID - print an organisation");
    g_option_context_add_main_entries(context, set ? set_entries : show_entries, NULL);
    g_option_context_add_main_entries(context, common, NULL);
    g_set_prgname(set ? "bouncerctl org set" : "bouncerctl org show");
    argc--;
    argv++;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerctl org %s: %s\n", action, error->message);
        return 2;
    }
    return set ? ctl_org_set(&opts, argc, argv) : ctl_org_show(&opts, argc, argv);
}
