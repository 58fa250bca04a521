/* commit_queue.h - statements that arrive together commit together.
 *
 * A session thread hands in its delivery as one statement and waits. The
 * first waiting thread that may start a transaction takes every statement
 * waiting (up to a batch) and runs them on one connection in one
 * transaction: BEGIN, the statements and COMMIT sent at once in libpq's
 * pipeline mode, one round trip and one commit record for all. Each owner
 * gets its statement's result only after that COMMIT, so nothing is
 * answered 250 before it is on disk. When a statement fails the whole
 * transaction is rolled back and each statement runs again alone, so a
 * bad message fails by itself and the others are stored (for at most the
 * wait time: a failure every statement meets, such as a lock held
 * elsewhere, answers the rest 451 rather than waiting it out once each).
 *
 * No statement waits for company: one arriving when no transaction runs
 * runs at once (alone, as an autocommit statement). Batches form while a
 * transaction runs, which is when sharing a commit pays; a second one
 * starts beside it only while it is small or once a whole batch waits,
 * so that under load the batches stay large (commit_queue.c). */
#ifndef BOUNCER_COMMIT_QUEUE_H
#define BOUNCER_COMMIT_QUEUE_H

#include <glib.h>
#include <libpq-fe.h>

#include "common/db.h"

#define DB_STATEMENT_MAX_PARAMS 16

/* One prepared statement with its parameters; run by name, prepared on a
 * connection the first time it is used there. The strings are borrowed
 * unless kept in owned (freed by db_statement_clear). */
typedef struct {
    const char *name;
    const char *sql;
    int n_params;
    const char *values[DB_STATEMENT_MAX_PARAMS];
    int lengths[DB_STATEMENT_MAX_PARAMS];
    int formats[DB_STATEMENT_MAX_PARAMS];
    char *owned[DB_STATEMENT_MAX_PARAMS];
} DbStatement;

/* db_statement_take - parameter i is text value, freed with the
 * statement (NULL: SQL NULL). */
void db_statement_take(DbStatement *stmt, int i, char *value);
void db_statement_clear(DbStatement *stmt);

typedef struct CommitQueue CommitQueue;

/* commit_queue_new - at most transactions batches at once, of at most
 * batch statements each (1: every statement alone); a statement not taken
 * within wait_ms, and a batch without a connection within wait_ms, fail
 * with BOUNCER_ERROR_TEMPORARY. pool is borrowed. (transfer full) */
CommitQueue *commit_queue_new(DbPool *pool, guint transactions, guint batch, guint wait_ms);
void commit_queue_free(CommitQueue *queue);

/* commit_queue_run - run stmt, committed, and return its result
 * (TUPLES_OK or COMMAND_OK); NULL with BOUNCER_ERROR_TEMPORARY when it
 * is not known to be committed. (transfer full) */
PGresult *commit_queue_run(CommitQueue *queue, const DbStatement *stmt, GError **error);

#endif
