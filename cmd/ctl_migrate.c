/* ctl_migrate.c - bouncerctl migrate: bring the database schema up to
 * date with the migrations compiled into this binary. */
#include <stdio.h>

#include "cmd/ctl.h"
#include "common/db.h"

int
ctl_migrate_main(int argc, char **argv)
{
    g_autofree char *config_path = NULL;
    g_autofree char *conninfo = NULL;
    GOptionEntry entries[] = {
        CTL_DB_OPTIONS(&config_path, &conninfo),
        { NULL },
    };
    g_autoptr(GOptionContext) options = g_option_context_new("- apply the database migrations");
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = NULL;
    guint applied = 0;

    g_option_context_add_main_entries(options, entries, NULL);
    if (!g_option_context_parse(options, &argc, &argv, &error) || argc > 1) {
        fprintf(stderr, "bouncerctl migrate: %s\n", error != NULL ? error->message : "unexpected argument");
        return 2;
    }
    conn = ctl_connect(config_path, conninfo, &error);
    if (conn == NULL || !db_migrate(conn, &applied, &error)) {
        fprintf(stderr, "bouncerctl migrate: %s\n", error->message);
        return 1;
    }
    printf("schema at migration %u (%u applied now)\n", db_schema_latest(), applied);
    return 0;
}
