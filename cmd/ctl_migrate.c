/* ctl_migrate.c - placeholder until the subcommand lands. */
#include <stdio.h>
#include "cmd/ctl.h"

int
ctl_migrate_main(int argc, char **argv)
{
    fprintf(stderr, "bouncerctl: migrate is not built yet\n");
    return 1;
}
