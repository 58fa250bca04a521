/* db.h - PostgreSQL connections: a small pool that reconnects on its own,
 * and the schema migrations compiled into the binaries.
 *
 * A connection that failed is dropped and replaced on the next acquire, so
 * a database restart costs the messages in flight a 451 and nothing else. */
#ifndef BOUNCER_DB_H
#define BOUNCER_DB_H

#include <glib.h>
#include <libpq-fe.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PGresult, PQclear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PGconn, PQfinish)

typedef struct DbPool DbPool;

/* db_pool_new - up to size connections, opened lazily. (transfer full) */
DbPool *db_pool_new(const char *conninfo, guint size);
void db_pool_free(DbPool *pool);

/* db_pool_acquire - a live connection, connecting if needed; waits up to
 * timeout_ms for a free one. BOUNCER_ERROR_TEMPORARY when none. */
PGconn *db_pool_acquire(DbPool *pool, guint timeout_ms, GError **error);
/* db_pool_release - give it back; a connection whose status is bad, or
 * that was left inside a transaction or a pipeline, is closed instead. */
void db_pool_release(DbPool *pool, PGconn *conn);
/* db_pool_flush_idle - close the idle connections: after one was found
 * broken the others, idle since before, are suspect too (a restarted
 * database), and a retry should get a new one. */
void db_pool_flush_idle(DbPool *pool);

/* db_connect - one connection outside any pool (bouncerctl, tests). */
PGconn *db_connect(const char *conninfo, GError **error);

/* db_exec - run sql with text parameters; NULL with BOUNCER_ERROR_TEMPORARY
 * unless the result is COMMAND_OK or TUPLES_OK. (transfer full) */
PGresult *db_exec(PGconn *conn, const char *sql, int n_params, const char *const *params,
                  GError **error);
/* db_exec_prepared - the same with binary-capable parameters (lengths
 * and formats as PQexecParams), through a statement prepared on this
 * connection under name the first time it runs there: the hot statements
 * are parsed and planned once per connection, not once per message. name
 * must be a string that lives as long as the program (a literal); one
 * name, one sql. */
PGresult *db_exec_prepared(PGconn *conn, const char *name, const char *sql, int n_params,
                           const char *const *values, const int *lengths, const int *formats,
                           GError **error);
/* db_prepare - prepare sql under name on conn unless it already is there
 * (the same rules for name as db_exec_prepared). */
gboolean db_prepare(PGconn *conn, const char *name, const char *sql, int n_params, GError **error);
/* db_exec_ok - the same, for statements whose result is not needed. */
gboolean db_exec_ok(PGconn *conn, const char *sql, GError **error);

/* db_commit - COMMIT; TRUE only when the transaction really committed. */
gboolean db_commit(PGconn *conn, GError **error);

/* db_migrate - apply every migration newer than the database, each in its
 * own transaction, under an advisory lock (several instances may start at
 * once). *applied_out counts what was applied. */
gboolean db_migrate(PGconn *conn, guint *applied_out, GError **error);
/* db_schema_check - FALSE when the database lacks migrations this binary
 * knows (start-up refuses to run on an old schema). */
gboolean db_schema_check(PGconn *conn, GError **error);
/* db_schema_latest - the newest migration compiled in. */
guint db_schema_latest(void);

#endif
