/* ctl_purge.c - bouncerctl purge: delete raw messages past retention now,
 * or with --dry-run say how many would go. */
#include <stdio.h>

#include "cmd/ctl.h"
#include "common/config.h"
#include "common/db.h"
#include "common/purge.h"

int
ctl_purge_main(int argc, char **argv)
{
    g_autofree char *config_path = NULL;
    g_autofree char *conninfo = NULL;
    gboolean dry_run = FALSE;
    GOptionEntry entries[] = {
        { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "read [database] and [retention] from FILE", "FILE" },
        { "conninfo", 'd', 0, G_OPTION_ARG_STRING, &conninfo, "libpq connection string", "STR" },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "only count what would be purged", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) options = g_option_context_new("- delete stored messages past their retention period");
    g_autoptr(GError) error = NULL;
    g_autoptr(BouncerConfig) config = NULL;
    g_autoptr(PGconn) conn = NULL;
    PurgePolicy policy;
    guint64 count = 0;

    g_option_context_add_main_entries(options, entries, NULL);
    if (!g_option_context_parse(options, &argc, &argv, &error) || argc > 1) {
        fprintf(stderr, "bouncerctl purge: %s\n", error != NULL ? error->message : "unexpected argument");
        return 2;
    }
    config = config_path != NULL ? config_load(config_path, &error) : config_new_default();
    if (config == NULL) {
        fprintf(stderr, "bouncerctl purge: %s\n", error->message);
        return 1;
    }
    policy = (PurgePolicy){ config->retention_days, config->bounce_retention_days };
    conn = ctl_connect(config_path, conninfo, &error);
    if (conn == NULL || !purge_run(conn, &policy, dry_run, &count, &error)) {
        fprintf(stderr, "bouncerctl purge: %s\n", error->message);
        return 1;
    }
    printf("%s %" G_GUINT64_FORMAT " message(s) (reply mailbox after %u days, others after %u days)\n",
           dry_run ? "would purge" : "purged", count, policy.reply_days, policy.bounce_days);
    return 0;
}
