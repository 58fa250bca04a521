/* db.c - PostgreSQL connections, a reconnecting pool, and migrations. */
#include "common/db.h"

#include <libpq-events.h>
#include <string.h>

#include "common/db_private.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"

/* Serialises migrations of several instances starting at once. */
#define DB_MIGRATION_LOCK "7093017055106265649"  /* "bouncer1" read as a bigint */

struct DbPool {
    char        *conninfo;
    guint        size;
    guint        opened;     /* connections that exist (idle or in use) */
    GAsyncQueue *idle;       /* PGconn* ready for use */
    GMutex       lock;
};

/* db_event - libpq's per-connection events: each connection made by
 * db_connect carries the set of statement names prepared on it, which a
 * reset empties and the end of the connection frees. */
static int
db_event(PGEventId id, void *info, void *passthrough)
{
    PGconn *conn = NULL;

    if (id == PGEVT_CONNRESET)
        conn = ((PGEventConnReset *)info)->conn;
    else if (id == PGEVT_CONNDESTROY)
        conn = ((PGEventConnDestroy *)info)->conn;
    if (conn != NULL) {
        GHashTable *prepared = PQinstanceData(conn, db_event);

        if (prepared != NULL && id == PGEVT_CONNRESET)
            g_hash_table_remove_all(prepared);
        else if (prepared != NULL)
            g_hash_table_destroy(prepared);
    }
    return TRUE;
}

/* db_notice_quiet - keep server NOTICEs (e.g. "relation exists, skipping")
 * out of the daemon's log. */
static void
db_notice_quiet(void *arg, const char *message)
{
}

PGconn *
db_connect(const char *conninfo, GError **error)
{
    /* Every wait on the database is bounded, so a lock held by someone
     * else, or a server that vanished without a reset, costs a message a
     * 451 and never hangs a session: connect_timeout, statement and lock
     * timeouts, TCP keepalives. synchronous_commit is forced on: a COMMIT
     * that returned is on disk, whatever the database's own setting says.
     * conninfo comes last, so an explicit value there wins. */
    const char *keywords[] = { "connect_timeout", "options", "keepalives_idle",
                               "keepalives_interval", "keepalives_count", "dbname", NULL };
    const char *values[] = { "5",
                             "-c statement_timeout=60s -c lock_timeout=30s"
                             " -c idle_in_transaction_session_timeout=60s -c synchronous_commit=on",
                             "30", "10", "3", conninfo, NULL };
    PGconn *conn = PQconnectdbParams(keywords, values, 1);

    if (PQstatus(conn) != CONNECTION_OK) {
        g_autofree char *message = g_strchomp(g_strdup(PQerrorMessage(conn)));

        metrics_counter_inc("bouncer_db_errors_total", NULL);
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database connection failed: %s",
                    message);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, db_notice_quiet, NULL);
    if (PQregisterEventProc(conn, db_event, "bouncer", NULL))
        PQsetInstanceData(conn, db_event, g_hash_table_new(g_str_hash, g_str_equal));
    return conn;
}

DbPool *
db_pool_new(const char *conninfo, guint size)
{
    DbPool *pool = g_new0(DbPool, 1);

    pool->conninfo = g_strdup(conninfo);
    pool->size = MAX(size, 1);
    pool->idle = g_async_queue_new();
    g_mutex_init(&pool->lock);
    return pool;
}

void
db_pool_free(DbPool *pool)
{
    PGconn *conn;

    if (pool == NULL)
        return;
    while ((conn = g_async_queue_try_pop(pool->idle)) != NULL)
        PQfinish(conn);
    g_async_queue_unref(pool->idle);
    g_mutex_clear(&pool->lock);
    g_free(pool->conninfo);
    g_free(pool);
}

/* db_pool_acquire - an idle connection, a new one while under size, or
 * wait for one to come back. */
PGconn *
db_pool_acquire(DbPool *pool, guint timeout_ms, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    PGconn *conn = g_async_queue_try_pop(pool->idle);

    /* Wait in short slices: a connection closed as broken frees a place
     * without anything arriving on the queue, and a waiter must notice. */
    while (conn == NULL) {
        gboolean may_open = FALSE;

        g_mutex_lock(&pool->lock);
        if (pool->opened < pool->size) {
            pool->opened++;
            may_open = TRUE;
        }
        g_mutex_unlock(&pool->lock);
        if (may_open) {
            conn = db_connect(pool->conninfo, error);
            if (conn == NULL) {
                g_mutex_lock(&pool->lock);
                pool->opened--;
                g_mutex_unlock(&pool->lock);
            }
            return conn;
        }
        if (g_get_monotonic_time() >= deadline) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                        "no database connection free after %u ms", timeout_ms);
            return NULL;
        }
        conn = g_async_queue_timeout_pop(pool->idle, 100 * 1000);
    }
    /* A connection that broke while idle (database restarted) is replaced
     * here rather than failing the message that drew it. */
    if (PQstatus(conn) != CONNECTION_OK) {
        PQreset(conn);
        if (PQstatus(conn) != CONNECTION_OK) {
            g_autofree char *message = g_strchomp(g_strdup(PQerrorMessage(conn)));

            metrics_counter_inc("bouncer_db_errors_total", NULL);
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                        "database connection failed: %s", message);
            db_pool_release(pool, conn);
            return NULL;
        }
        log_info("database reconnected");
        metrics_counter_inc("bouncer_db_reconnects_total", NULL);
    }
    return conn;
}

void
db_pool_release(DbPool *pool, PGconn *conn)
{
    if (conn == NULL)
        return;
    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE ||
        PQpipelineStatus(conn) != PQ_PIPELINE_OFF) {
        if (PQstatus(conn) != CONNECTION_OK)
            metrics_counter_inc("bouncer_db_reconnects_total", NULL);
        PQfinish(conn);
        g_mutex_lock(&pool->lock);
        pool->opened--;
        g_mutex_unlock(&pool->lock);
        return;
    }
    /* Last in, first out: the connection used last is taken next, so
     * under load the same backend does the work with its caches warm.
     * Taken in turn, consecutive transactions ran in different backends
     * and cost PostgreSQL about a third more CPU a message, at the same
     * group sizes (docs/performance.md). */
    g_async_queue_push_front(pool->idle, conn);
}

void
db_pool_flush_idle(DbPool *pool)
{
    PGconn *conn;
    guint closed = 0;

    while ((conn = g_async_queue_try_pop(pool->idle)) != NULL) {
        PQfinish(conn);
        closed++;
    }
    g_mutex_lock(&pool->lock);
    pool->opened -= MIN(closed, pool->opened);
    g_mutex_unlock(&pool->lock);
}

/* db_result_check - res when it is COMMAND_OK or TUPLES_OK, else NULL
 * with BOUNCER_ERROR_TEMPORARY (res cleared). */
static PGresult *
db_result_check(PGconn *conn, PGresult *res, GError **error)
{
    ExecStatusType status = PQresultStatus(res);

    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        g_autofree char *message = g_strchomp(g_strdup(PQresultErrorMessage(res)));

        metrics_counter_inc("bouncer_db_errors_total", NULL);
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database: %s",
                    message[0] != '\0' ? message : PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

PGresult *
db_exec(PGconn *conn, const char *sql, int n_params, const char *const *params, GError **error)
{
    return db_result_check(conn, PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0),
                           error);
}

gboolean
db_prepare(PGconn *conn, const char *name, const char *sql, int n_params, GError **error)
{
    GHashTable *prepared = PQinstanceData(conn, db_event);
    PGresult *res;

    if (prepared != NULL && g_hash_table_contains(prepared, name))
        return TRUE;
    res = db_result_check(conn, PQprepare(conn, name, sql, n_params, NULL), error);
    if (res == NULL)
        return FALSE;
    PQclear(res);
    if (prepared != NULL)
        g_hash_table_add(prepared, (gpointer)name);
    return TRUE;
}

PGresult *
db_exec_prepared(PGconn *conn, const char *name, const char *sql, int n_params,
                 const char *const *values, const int *lengths, const int *formats,
                 GError **error)
{
    if (PQinstanceData(conn, db_event) == NULL)    /* not made by db_connect: no record of what it has */
        return db_result_check(conn, PQexecParams(conn, sql, n_params, NULL, values, lengths,
                                                  formats, 0), error);
    if (!db_prepare(conn, name, sql, n_params, error))
        return NULL;
    return db_result_check(conn, PQexecPrepared(conn, name, n_params, values, lengths, formats, 0),
                           error);
}

gboolean
db_exec_ok(PGconn *conn, const char *sql, GError **error)
{
    PGresult *res = db_exec(conn, sql, 0, NULL, error);

    PQclear(res);
    return res != NULL;
}

/* db_commit - COMMIT, and TRUE only if it committed: a transaction that
 * had already failed answers COMMIT with the tag ROLLBACK and COMMAND_OK. */
gboolean
db_commit(PGconn *conn, GError **error)
{
    g_autoptr(PGresult) res = db_exec(conn, "COMMIT", 0, NULL, error);

    if (res == NULL)
        return FALSE;
    if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                    "database: transaction rolled back (%s)", PQcmdStatus(res));
        return FALSE;
    }
    return TRUE;
}

guint
db_schema_latest(void)
{
    return db_n_migrations > 0 ? db_migrations[db_n_migrations - 1].version : 0;
}

/* db_schema_applied - the set of applied migration versions. */
static GHashTable *
db_schema_applied(PGconn *conn, GError **error)
{
    g_autoptr(PGresult) res = db_exec(conn, "SELECT version FROM bouncer_schema_migrations", 0,
                                      NULL, error);
    GHashTable *applied;

    if (res == NULL)
        return NULL;
    applied = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (int i = 0; i < PQntuples(res); i++)
        g_hash_table_add(applied, GUINT_TO_POINTER(g_ascii_strtoull(PQgetvalue(res, i, 0), NULL, 10)));
    return applied;
}

/* db_migrate - every compiled-in migration not yet applied, in order; a
 * migration added with a lower number than one already applied (two
 * branches merged) is applied too, not skipped. */
gboolean
db_migrate(PGconn *conn, guint *applied_out, GError **error)
{
    g_autoptr(GHashTable) done = NULL;
    guint applied = 0;
    gboolean ok = FALSE;

    /* The lock first: two instances starting at once must not race on
     * creating the table. A migration may build indexes on big tables: no
     * statement timeout for it. */
    if (!db_exec_ok(conn, "SET statement_timeout = 0", error) ||
        !db_exec_ok(conn, "SELECT pg_advisory_lock(" DB_MIGRATION_LOCK ")", error))
        return FALSE;
    if (!db_exec_ok(conn,
                    "CREATE TABLE IF NOT EXISTS bouncer_schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())", error))
        goto out;
    done = db_schema_applied(conn, error);
    if (done == NULL)
        goto out;
    for (guint i = 0; i < db_n_migrations; i++) {
        const DbMigration *m = &db_migrations[i];
        g_autofree char *version = g_strdup_printf("%u", m->version);
        const char *params[] = { version, m->name };
        g_autoptr(PGresult) res = NULL;

        if (g_hash_table_contains(done, GUINT_TO_POINTER(m->version)))
            continue;
        if (!db_exec_ok(conn, "BEGIN", error))
            goto out;
        res = PQexec(conn, m->sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "migration %s: %s", m->name,
                        PQresultErrorMessage(res));
            db_exec_ok(conn, "ROLLBACK", NULL);
            goto out;
        }
        g_clear_pointer(&res, PQclear);
        res = db_exec(conn, "INSERT INTO bouncer_schema_migrations (version, name) VALUES ($1, $2)",
                      2, params, error);
        if (res == NULL || !db_commit(conn, error)) {
            db_exec_ok(conn, "ROLLBACK", NULL);
            goto out;
        }
        applied++;
    }
    ok = TRUE;
out:
    db_exec_ok(conn, "SELECT pg_advisory_unlock(" DB_MIGRATION_LOCK ")", NULL);
    if (applied_out != NULL)
        *applied_out = applied;
    return ok;
}

gboolean
db_schema_check(PGconn *conn, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GHashTable) done = db_schema_applied(conn, &local);

    if (done == NULL) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "database has no bouncer schema: run 'bouncerctl migrate' (%s)", local->message);
        return FALSE;
    }
    for (guint i = 0; i < db_n_migrations; i++) {
        if (!g_hash_table_contains(done, GUINT_TO_POINTER(db_migrations[i].version))) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                        "database lacks migration %s: run 'bouncerctl migrate'",
                        db_migrations[i].name);
            return FALSE;
        }
    }
    return TRUE;
}
