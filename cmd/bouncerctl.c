/* bouncerctl.c - the command-line tool for operators, support staff and the
 * app: one subcommand per file (cmd/ctl_*.c), dispatched from this table. */
#include <glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"

typedef struct {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
} CtlCommand;

static const CtlCommand ctl_commands[] = {
    { "parse",   ctl_parse_main,   "parse FILE...|DIR|-   read bounces, print JSON lines (no database)" },
    { "token",   ctl_token_main,   "token encode|decode   mint or check a VERP token" },
    { "migrate", ctl_migrate_main, "migrate [-c FILE]     apply the database migrations" },
    { "purge",   ctl_purge_main,   "purge [--dry-run]     delete stored messages past retention" },
    { "events",  ctl_events_main,  "events --since SEQ [--follow]   print events as JSON lines" },
    { "org",     ctl_org_main,     "org set|show ID       write or print an organisation" },
    { "suppression", ctl_suppression_main, "suppression list|add|remove   what the app must not send to" },
    { "bounces", ctl_bounces_main, "bounces --org N|--recipient A|--since WHEN   bounces, newest first" },
    { "stats",   ctl_stats_main,   "stats [--org N]       counts over 1/7/30 days, suppressions, outbox" },
    { "show",    ctl_show_main,    "show ID [--raw]       one received message and what came of it" },
    { "outbox",  ctl_outbox_main,  "outbox [--failed] | retry ID   mail not sent; queue a row again" },
    { "reclassify", ctl_reclassify_main, "reclassify [--since WHEN] [--dry-run]   parse stored bounces again" },
};

static void
ctl_usage(FILE *out)
{
    fprintf(out, "usage: bouncerctl COMMAND [ARGS]   (bouncerctl COMMAND --help for more)\n\n");
    for (gsize i = 0; i < G_N_ELEMENTS(ctl_commands); i++)
        fprintf(out, "  %s\n", ctl_commands[i].summary);
}

int
main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        ctl_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(ctl_commands); i++) {
        if (strcmp(argv[1], ctl_commands[i].name) == 0)
            return ctl_commands[i].main(argc - 1, argv + 1);
    }
    fprintf(stderr, "bouncerctl: unknown command '%s'\n", argv[1]);
    ctl_usage(stderr);
    return 2;
}
