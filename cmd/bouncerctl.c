/* bouncerctl.c - the command-line tool for operators, support staff and the
 * app: one subcommand per file (cmd/ctl_*.c), dispatched from this table.
 *
 * It is built twice. bin/bouncerctl-db has every command. bin/bouncerctl
 * (this file with BOUNCERCTL_FRONT defined) has only those that need no
 * database, so it does not load libpq and its TLS and Kerberos stacks,
 * which are most of the start-up of `bouncerctl parse`; for a database
 * command it runs bouncerctl-db with the same arguments, found beside its
 * own executable or else in BOUNCER_LIBEXECDIR. */
#include <errno.h>
#include <glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/ctl.h"

#ifndef BOUNCER_LIBEXECDIR
#define BOUNCER_LIBEXECDIR "/usr/local/lib/bouncer"
#endif
#define CTL_DB_HELPER "bouncerctl-db"

/* DB(fn) - the function of a command that needs the database; the front's
 * table has none of them, so nothing there refers to libpq. */
#ifdef BOUNCERCTL_FRONT
#define DB(fn) NULL
#else
#define DB(fn) fn
#endif

typedef struct {
    const char *name;
    int (*main)(int argc, char **argv);   /* NULL: run by bouncerctl-db */
    const char *summary;
} CtlCommand;

static const CtlCommand ctl_commands[] = {
    { "parse",   ctl_parse_main,   "parse FILE...|DIR|-   read bounces, print JSON lines (no database)" },
    { "token",   ctl_token_main,   "token encode|decode   mint or check a VERP token" },
    { "migrate", DB(ctl_migrate_main), "migrate [-c FILE]     apply the database migrations" },
    { "purge",   DB(ctl_purge_main),   "purge [--dry-run]     delete stored messages past retention" },
    { "events",  DB(ctl_events_main),  "events --since SEQ [--follow]   print events as JSON lines" },
    { "org",     DB(ctl_org_main),     "org set|show ID       write or print an organisation" },
    { "suppression", DB(ctl_suppression_main), "suppression list|add|remove   what the app must not send to" },
    { "bounces", DB(ctl_bounces_main), "bounces --org N|--recipient A|--since WHEN   bounces, newest first" },
    { "stats",   DB(ctl_stats_main),   "stats [--org N]       counts over 1/7/30 days, suppressions, outbox" },
    { "show",    DB(ctl_show_main),    "show ID [--raw]       one received message and what came of it" },
    { "outbox",  DB(ctl_outbox_main),  "outbox [--failed] | retry ID   mail not sent; queue a row again" },
    { "reclassify", DB(ctl_reclassify_main), "reclassify [--since WHEN] [--dry-run]   parse stored bounces again" },
};

static void
ctl_usage(FILE *out)
{
    fprintf(out, "usage: bouncerctl COMMAND [ARGS]   (bouncerctl COMMAND --help for more)\n\n");
    for (gsize i = 0; i < G_N_ELEMENTS(ctl_commands); i++)
        fprintf(out, "  %s\n", ctl_commands[i].summary);
}

/* ctl_exec_db - run bouncerctl-db with argv: the one beside this program
 * (bin/ of a checkout, build/san/bin, an installed copy's directory), else
 * the installed one. Returns only when neither can be run: exit status 1. */
static int
ctl_exec_db(const char *command, char **argv)
{
    g_autoptr(GPtrArray) tried = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) why = g_string_new(NULL);
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);

    if (self != NULL) {
        g_autofree char *dir = g_path_get_dirname(self);

        g_ptr_array_add(tried, g_build_filename(dir, CTL_DB_HELPER, NULL));
    }
    g_ptr_array_add(tried, g_build_filename(BOUNCER_LIBEXECDIR, CTL_DB_HELPER, NULL));
    for (guint i = 0; i < tried->len; i++) {
        const char *path = g_ptr_array_index(tried, i);

        execv(path, argv);
        g_string_append_printf(why, "\n  %s: %s", path, g_strerror(errno));
    }
    fprintf(stderr, "bouncerctl: '%s' needs the database helper " CTL_DB_HELPER
            ", which could not be run:%s\n", command, why->str);
    return 1;
}

int
main(int argc, char **argv)
{
#ifndef BOUNCERCTL_FRONT
    setlocale(LC_ALL, "");
#endif
    /* The front's commands (parse, token) stay in the C locale, as
     * bouncerd does: their output must not depend on the user's LANG
     * (GMime takes its fallback charset from the locale), and loading a
     * locale is a tenth of a millisecond of every `bouncerctl parse`. */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        ctl_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(ctl_commands); i++) {
        if (strcmp(argv[1], ctl_commands[i].name) != 0)
            continue;
        if (ctl_commands[i].main == NULL)
            return ctl_exec_db(argv[1], argv);
        return ctl_commands[i].main(argc - 1, argv + 1);
    }
    fprintf(stderr, "bouncerctl: unknown command '%s'\n", argv[1]);
    ctl_usage(stderr);
    return 2;
}
