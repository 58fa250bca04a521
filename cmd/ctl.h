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
int ctl_bounces_main(int argc, char **argv);   /* cmd/ctl_bounces.c */
int ctl_stats_main(int argc, char **argv);     /* cmd/ctl_stats.c */
int ctl_show_main(int argc, char **argv);      /* cmd/ctl_show.c */
int ctl_outbox_main(int argc, char **argv);    /* cmd/ctl_outbox.c */
int ctl_reclassify_main(int argc, char **argv); /* cmd/ctl_reclassify.c */


/* Shared by the subcommands (cmd/ctl_common.c). */
#include <glib.h>
#include <libpq-fe.h>

/* CTL_DB_OPTIONS - the two options of every database command, for its
 * GOptionEntry table: --config FILE and --conninfo STR (ctl_connect's two
 * sources). */
#define CTL_DB_OPTIONS(config_ptr, conninfo_ptr)                                   \
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, (config_ptr),                     \
      "read [database] conninfo from FILE", "FILE" },                             \
    { "conninfo", 'd', 0, G_OPTION_ARG_STRING, (conninfo_ptr), "libpq connection string", "STR" }

/* ctl_connect - conninfo wins, else the [database] conninfo of
 * config_path, else libpq's defaults and PG* variables. */
PGconn *ctl_connect(const char *config_path, const char *conninfo, GError **error);

/* ctl_printable - s for a terminal: valid UTF-8, control characters as C
 * escapes. (transfer full) */
char *ctl_printable(const char *s);
/* ctl_check_org_id - 1 .. 2^63-1 as org_id columns and tokens hold it (0
 * would collide with "every organisation"); NULL text passes. id_out may
 * be NULL. */
gboolean ctl_check_org_id(const char *option, const char *text, gint64 *id_out, GError **error);
/* ctl_check_one_line - valid UTF-8 without line breaks or other control
 * characters (it ends up in headers, tables and events); NULL passes unless
 * required, and a required value may not be blank. */
gboolean ctl_check_one_line(const char *option, const char *text, gboolean required, GError **error);
/* ctl_check_address - one mailbox that may go into a header: one '@' with
 * something on both sides, no spaces or controls, none of <>,; and no
 * empty domain label. */
gboolean ctl_check_address(const char *option, const char *addr, GError **error);

#endif
