/* ctl_token.c - placeholder until the subcommand lands. */
#include <stdio.h>
#include "cmd/ctl.h"

int
ctl_token_main(int argc, char **argv)
{
    fprintf(stderr, "bouncerctl: token is not built yet\n");
    return 1;
}
