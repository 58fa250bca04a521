/* ctl.h - the subcommands of bouncerctl, one file each (cmd/ctl_NAME.c).
 *
 * Each takes the arguments after its own name (argv[0] is the subcommand)
 * and returns the process exit status: 0 ok, 1 failure, 2 usage error. */
#ifndef BOUNCER_CTL_H
#define BOUNCER_CTL_H

int ctl_parse_main(int argc, char **argv);     /* cmd/ctl_parse.c */
int ctl_token_main(int argc, char **argv);     /* cmd/ctl_token.c */
int ctl_migrate_main(int argc, char **argv);   /* cmd/ctl_migrate.c */
int ctl_events_main(int argc, char **argv);    /* cmd/ctl_events.c */
int ctl_org_main(int argc, char **argv);       /* cmd/ctl_org.c */
int ctl_suppression_main(int argc, char **argv); /* cmd/ctl_suppression.c */
int ctl_purge_main(int argc, char **argv);     /* cmd/ctl_purge.c */


/* Shared by the subcommands (cmd/ctl_common.c). */
#include <glib.h>
#include <libpq-fe.h>

/* ctl_connect - conninfo wins, else the [database] conninfo of
 * config_path, else libpq's defaults and PG* variables. */
PGconn *ctl_connect(const char *config_path, const char *conninfo, GError **error);

#endif
