/* ctl_common.c - what several bouncerctl subcommands share. */
#include "cmd/ctl.h"

#include "common/config.h"
#include "common/db.h"

PGconn *
ctl_connect(const char *config_path, const char *conninfo, GError **error)
{
    g_autoptr(BouncerConfig) config = NULL;

    if (conninfo != NULL)
        return db_connect(conninfo, error);
    if (config_path != NULL) {
        config = config_load(config_path, error);
        if (config == NULL)
            return NULL;
        return db_connect(config->conninfo, error);
    }
    return db_connect("dbname=bouncer", error);
}
