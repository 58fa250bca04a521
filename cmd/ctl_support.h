/* ctl_support.h - what the support subcommands of bouncerctl (bounces,
 * stats, show, outbox, reclassify) share: reading a time the way people
 * write it, aligned tables, and JSON lines streamed from the database.
 *
 * They read through the views of schema support (sql/006_support.sql), so
 * a login granted only bouncer_support can run them; what writes (outbox
 * retry, reclassify) or reads the raw bytes (show --raw) needs the tables. */
#ifndef BOUNCER_CTL_SUPPORT_H
#define BOUNCER_CTL_SUPPORT_H

#include <glib.h>
#include <libpq-fe.h>

/* A whole number in 1..max for --limit and ids; NULL text passes. */
gboolean ctl_support_check_count(const char *option, const char *text, gint64 max,
                                 gint64 *value_out, GError **error);

/* ctl_support_parse_when - WHEN as support staff write it: an age before
 * now (90m, 2h, 7d, 4w; s m h d w) or an ISO 8601 date or time
 * (2026-03-01, 2026-03-01T09:30, "2026-03-01 09:30:15+01:00"); a date or
 * time without an offset is local time. iso_out gets ISO 8601 with the
 * offset, for a timestamptz parameter. (transfer full) */
gboolean ctl_support_parse_when(const char *option, const char *text, char **iso_out,
                                GError **error);

/* ctl_support_print_table - the first n_columns columns of the first
 * n_rows rows of res (all when n_rows < 0) as an aligned table under
 * headers: two spaces apart, widths in characters, control characters
 * escaped. align has one letter per column: 'l', or 'r' for numbers.
 * indent is put before every line. */
void ctl_support_print_table(PGresult *res, int n_rows, int n_columns, const char *const *headers,
                             const char *align, const char *indent);

/* ctl_support_print_json_lines - run sql and print column json_column of
 * each row on a line of its own, row by row (single-row mode), so a long
 * answer never sits in memory. *rows_out may be NULL. */
gboolean ctl_support_print_json_lines(PGconn *conn, const char *sql, int n_params,
                                      const char *const *params, int json_column,
                                      gint64 *rows_out, GError **error);

/* ctl_support_db_error - a failed result as a GError; a permission error
 * says which role's rights were missing and what the support role may
 * read. Clears nothing: the caller owns res. */
void ctl_support_db_error(PGconn *conn, const PGresult *res, GError **error);

/* ctl_support_exec - db_exec() with ctl_support_db_error()'s messages.
 * (transfer full) */
PGresult *ctl_support_exec(PGconn *conn, const char *sql, int n_params,
                           const char *const *params, GError **error);

#endif
