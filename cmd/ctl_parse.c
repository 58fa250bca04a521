/* ctl_parse.c - placeholder until the subcommand lands. */
#include <stdio.h>
#include "cmd/ctl.h"

int
ctl_parse_main(int argc, char **argv)
{
    fprintf(stderr, "bouncerctl: parse is not built yet\n");
    return 1;
}
