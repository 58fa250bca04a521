/* commit_queue.c - statements that arrive together commit together.
 *
 * Leader and followers, no thread of its own: every caller queues its job
 * and then either leads (a transaction slot is free: it takes its own job
 * and the oldest waiting ones, and runs them) or sleeps on its job's
 * condition until a leader has run it, a slot frees up (the oldest
 * waiting job's owner is woken to lead), or its wait times out. A job's
 * state only moves forward: WAITING in the queue, TAKEN by a leader, DONE
 * with its result.
 *
 * Two locks. The queue's covers the queue, the slots and the move to
 * TAKEN; each job's own covers its move to DONE and the call to lead, and
 * is what its owner sleeps on. Owners are woken after every lock is let
 * go: woken under a lock, an owner's first act was to sleep again on that
 * lock until the waker let it go (2.6 futex calls a message at 16
 * sessions on the queue's lock alone). A job is therefore counted, not
 * on the caller's stack: whoever wakes its owner holds a reference, and
 * the owner may already have returned. Lock order: queue, then job. */
#include "common/commit_queue.h"
#include "common/db_watchdog.h"

#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"

/* No more statements than this in one transaction, whatever is asked. */
#define COMMIT_QUEUE_MAX_BATCH 64
/* Below this many statements running, a second transaction may start
 * beside them (queue_may_start). */
#define COMMIT_QUEUE_SMALL 4

typedef enum {
    JOB_WAITING,
    JOB_TAKEN,
    JOB_DONE,
} JobState;

/* One caller's statement: held by its owner, by a leader that took it
 * until it has woken the owner, and by a waker while it calls the owner
 * to lead. */
typedef struct {
    gint ref;
    const DbStatement *stmt;
    gint state;              /* JobState: to TAKEN under the queue's lock,
                              * to DONE under lock */
    gboolean lead;           /* under lock: a slot is free, come and lead */
    GMutex lock;
    GCond wake;              /* DONE, or lead */
    PGresult *result;
    GError *error;
} Job;

struct CommitQueue {
    DbPool *pool;
    guint transactions;      /* batches running at once, at most */
    guint batch;             /* statements per batch, at most */
    guint wait_ms;           /* for a connection, or for a slot */
    GMutex lock;
    GQueue waiting;          /* Job*, oldest first */
    guint running;           /* batches running now */
    guint in_flight;         /* statements in those batches */
};

void
db_statement_take(DbStatement *stmt, int i, char *value)
{
    g_return_if_fail(i >= 0 && i < DB_STATEMENT_MAX_PARAMS);
    g_free(stmt->owned[i]);
    stmt->owned[i] = value;
    stmt->values[i] = value;
}

void
db_statement_clear(DbStatement *stmt)
{
    for (int i = 0; i < DB_STATEMENT_MAX_PARAMS; i++)
        g_clear_pointer(&stmt->owned[i], g_free);
}

CommitQueue *
commit_queue_new(DbPool *pool, guint transactions, guint batch, guint wait_ms)
{
    CommitQueue *queue = g_new0(CommitQueue, 1);

    queue->pool = pool;
    queue->transactions = MAX(transactions, 1);
    queue->batch = CLAMP(batch, 1, COMMIT_QUEUE_MAX_BATCH);
    queue->wait_ms = wait_ms;
    g_mutex_init(&queue->lock);
    g_queue_init(&queue->waiting);
    return queue;
}

void
commit_queue_free(CommitQueue *queue)
{
    if (queue == NULL)
        return;
    g_warn_if_fail(queue->running == 0 && g_queue_is_empty(&queue->waiting));
    g_mutex_clear(&queue->lock);
    g_free(queue);
}

/* --- running a batch --------------------------------------------------- */

/* conn_usable - connected, outside any transaction and pipeline: fit for
 * the next statement. */
static gboolean
conn_usable(PGconn *conn)
{
    return PQstatus(conn) == CONNECTION_OK && PQpipelineStatus(conn) == PQ_PIPELINE_OFF &&
           PQtransactionStatus(conn) == PQTRANS_IDLE;
}

/* pipeline_read - the next query's result in pipeline mode: the result,
 * with the NULL that ends it consumed. (transfer full) */
static PGresult *
pipeline_read(PGconn *conn)
{
    PGresult *res = PQgetResult(conn);

    if (res != NULL && PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
        PGresult *extra;

        while ((extra = PQgetResult(conn)) != NULL)
            PQclear(extra);
    }
    return res;
}

/* pipeline_check - res is what a query of the pipeline should answer
 * (tag: the command's tag, NULL for rows); else the first thing that went
 * wrong goes into *first. */
static gboolean
pipeline_check(PGconn *conn, const PGresult *res, const char *tag, GError **first)
{
    ExecStatusType status = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    gboolean ok = tag != NULL ? status == PGRES_COMMAND_OK && strcmp(PQcmdStatus((PGresult *)res), tag) == 0
                              : status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;

    if (!ok && *first == NULL) {
        const char *why = res != NULL ? PQresultErrorMessage(res) : "";

        /* Not counted in bouncer_db_errors_total: the statements run
         * again alone, and count there. A transaction that failed answers
         * COMMIT with the tag ROLLBACK. */
        g_set_error(first, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database: %s",
                    why[0] != '\0' ? why : status == PGRES_COMMAND_OK ? "not committed"
                                                                      : PQerrorMessage(conn));
        g_strdelimit(g_strchomp((*first)->message), "\r\n", ' ');     /* one log line */
    }
    return ok;
}

/* batch_run_together - jobs in one transaction, sent in one go: BEGIN,
 * the statements, COMMIT and a sync point. TRUE when it committed, each
 * job's result then set; FALSE leaves every job as it was. */
static gboolean
batch_run_together(PGconn *conn, Job **jobs, guint n, GError **error)
{
    PGresult *results[COMMIT_QUEUE_MAX_BATCH] = { NULL };
    g_autoptr(GError) first = NULL;
    PGresult *res;
    gboolean sent;

    /* Statements are prepared outside the pipeline: a name counts as
     * prepared only once the server said so. */
    for (guint i = 0; i < n; i++) {
        const DbStatement *st = jobs[i]->stmt;

        if (!db_prepare(conn, st->name, st->sql, st->n_params, error))
            return FALSE;
    }
    if (!PQenterPipelineMode(conn)) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database: %s",
                    PQerrorMessage(conn));
        return FALSE;
    }
    sent = PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (guint i = 0; sent && i < n; i++) {
        const DbStatement *st = jobs[i]->stmt;

        sent = PQsendQueryPrepared(conn, st->name, st->n_params, st->values, st->lengths,
                                   st->formats, 0);
    }
    sent = sent && PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
    sent = sent && PQpipelineSync(conn);
    if (!sent) {
        /* Half a pipeline: the connection is not used again (conn_usable). */
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database: %s",
                    PQerrorMessage(conn));
        return FALSE;
    }

    /* Every result up to the sync point is read whatever happens, so the
     * connection leaves the pipeline clean. After an error the server
     * skips the rest (PIPELINE_ABORTED) and the transaction is rolled
     * back below. */
    res = pipeline_read(conn);
    pipeline_check(conn, res, "BEGIN", &first);
    PQclear(res);
    for (guint i = 0; i < n; i++) {
        results[i] = pipeline_read(conn);
        pipeline_check(conn, results[i], NULL, &first);
    }
    res = pipeline_read(conn);
    pipeline_check(conn, res, "COMMIT", &first);
    PQclear(res);
    res = PQgetResult(conn);
    if ((res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC) && first == NULL)
        g_set_error(&first, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                    "database: no sync point: %s", PQerrorMessage(conn));
    PQclear(res);
    /* A connection that cannot leave the pipeline is closed on release
     * (db_pool_release), never used again. */
    if (!PQexitPipelineMode(conn) && first == NULL)
        g_set_error(&first, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                    "database: cannot leave pipeline mode: %s", PQerrorMessage(conn));
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_INERROR)
        db_exec_ok(conn, "ROLLBACK", NULL);

    for (guint i = 0; i < n; i++) {
        if (first == NULL)
            jobs[i]->result = results[i];
        else
            PQclear(results[i]);
    }
    if (first != NULL) {
        g_propagate_error(error, g_steal_pointer(&first));
        return FALSE;
    }
    return TRUE;
}

/* batch_run - run the jobs and set each one's result or error: together
 * when there are several; what that leaves undone runs alone, so a
 * failing statement fails only its own job. Running alone stops after
 * wait_ms: when the group failed on something every statement meets (a
 * lock held elsewhere, a timeout), trying each in turn would make the last
 * wait that long again and again; the rest are answered 451 instead.
 *
 * A job that could not run on a connection found broken gets one more try
 * on a new one: the database may have restarted, and a retry after a lost
 * COMMIT reply is safe (the redelivery check finds the first copy). */
static void
batch_run(CommitQueue *queue, Job **jobs, guint n)
{
    gint64 give_up = 0;     /* when running alone stops; 0: not started */
    g_autoptr(GError) group_error = NULL;

    for (int attempt = 0; attempt < 2; attempt++) {
        g_autoptr(GError) error = NULL;
        PGconn *conn = db_pool_acquire(queue->pool, queue->wait_ms, &error);
        DbWatch *watch = NULL;
        gboolean broken;

        if (conn == NULL) {
            for (guint i = 0; i < n; i++) {
                if (jobs[i]->result == NULL && jobs[i]->error == NULL)
                    jobs[i]->error = g_error_copy(error);
            }
            return;
        }
        /* A database that stopped answering costs these messages a 451
         * after the watchdog's deadline, not a session held for good. */
        watch = db_watch(conn);
        if (n > 1 && attempt == 0) {
            if (batch_run_together(conn, jobs, n, &group_error)) {
                metrics_counter_inc("bouncer_db_group_commits_total", NULL);
                metrics_counter_add("bouncer_db_group_commit_messages_total", n, NULL);
                db_unwatch(watch);
                db_pool_release(queue->pool, conn);
                return;
            }
            metrics_counter_inc("bouncer_db_group_commit_failures_total", NULL);
            log_info("group commit of %u messages failed, each runs alone: %s", n,
                     group_error->message);
        }
        if (give_up == 0)
            give_up = g_get_monotonic_time() + (gint64)queue->wait_ms * 1000;
        for (guint i = 0; i < n && conn_usable(conn); i++) {
            const DbStatement *st = jobs[i]->stmt;

            if (jobs[i]->result != NULL || jobs[i]->error != NULL)
                continue;
            if (n > 1 && g_get_monotonic_time() >= give_up) {
                g_set_error(&jobs[i]->error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                            "not run alone after its group failed (%s): %u ms spent",
                            group_error != NULL ? group_error->message : "connection lost",
                            queue->wait_ms);
                continue;
            }
            jobs[i]->result = db_exec_prepared(conn, st->name, st->sql, st->n_params,
                                               st->values, st->lengths, st->formats,
                                               &jobs[i]->error);
        }
        broken = !conn_usable(conn);
        db_unwatch(watch);
        db_pool_release(queue->pool, conn);
        if (!broken)
            return;
        /* The other idle connections date from before too. */
        db_pool_flush_idle(queue->pool);
        for (guint i = 0; i < n; i++) {
            if (attempt == 0 && jobs[i]->result == NULL)
                g_clear_error(&jobs[i]->error);     /* failed on a broken connection */
            else if (jobs[i]->result == NULL && jobs[i]->error == NULL)
                g_set_error(&jobs[i]->error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                            "database connection lost");
        }
    }
}

/* --- leaders and followers --------------------------------------------- */

static Job *
job_new(const DbStatement *stmt)
{
    Job *job = g_new0(Job, 1);

    job->ref = 1;
    job->stmt = stmt;
    job->state = JOB_WAITING;
    g_mutex_init(&job->lock);
    g_cond_init(&job->wake);
    return job;
}

static Job *
job_ref(Job *job)
{
    g_atomic_int_inc(&job->ref);
    return job;
}

static void
job_unref(Job *job)
{
    if (!g_atomic_int_dec_and_test(&job->ref))
        return;
    g_cond_clear(&job->wake);
    g_mutex_clear(&job->lock);
    g_free(job);
}

/* job_wake - set a job DONE or call its owner to lead, and wake the owner
 * once the lock is let go; drops the caller's reference. */
static void
job_wake(Job *job, gboolean done)
{
    g_mutex_lock(&job->lock);
    if (done)
        g_atomic_int_set(&job->state, JOB_DONE);
    else
        job->lead = TRUE;
    g_mutex_unlock(&job->lock);
    g_cond_signal(&job->wake);
    job_unref(job);
}

/* queue_may_start - whether the jobs waiting may start a batch now. With
 * nothing running they always may: no statement waits for company. Beside
 * a running batch, only a whole batch's worth of them, or while what runs
 * is small (fewer than COMMIT_QUEUE_SMALL statements) and they are at
 * least as many: then a second transaction hides the first one's round
 * trip and commit, as with a few sessions. A slot taken the moment it
 * is free would start groups of one or two beside a large one, and every
 * commit costs PostgreSQL a WAL flush, a round trip and wake-ups however
 * little it carries; and two transactions at once were measured to cost
 * more CPU a message than one at a time. Held back, they go together when the running batch ends
 * (docs/performance.md, "One transaction at a time under load"). Called
 * with the queue's lock held. */
static gboolean
queue_may_start(const CommitQueue *queue)
{
    guint waiting = queue->waiting.length;

    if (queue->running >= queue->transactions)
        return FALSE;
    if (queue->running == 0 || waiting >= queue->batch)
        return TRUE;
    return queue->in_flight < COMMIT_QUEUE_SMALL && waiting * queue->running >= queue->in_flight;
}

/* queue_next_leader - when the jobs waiting may start a batch, the oldest
 * of them, referenced, for job_wake() to call its owner to lead once the
 * queue's lock is let go; else NULL. Called with that lock held. */
static Job *
queue_next_leader(CommitQueue *queue)
{
    Job *head = g_queue_peek_head(&queue->waiting);

    return head != NULL && queue_may_start(queue) ? job_ref(head) : NULL;
}

/* job_sleep - the owner waits, without the queue's lock, until its job is
 * DONE, or (until deadline, 0 for none) until it is called to lead while
 * still WAITING. FALSE when the deadline passed first. */
static gboolean
job_sleep(Job *job, gint64 deadline)
{
    gboolean in_time = TRUE;

    g_mutex_lock(&job->lock);
    while (g_atomic_int_get(&job->state) != JOB_DONE &&
           !(job->lead && g_atomic_int_get(&job->state) == JOB_WAITING)) {
        if (deadline == 0 || g_atomic_int_get(&job->state) == JOB_TAKEN) {
            /* A leader runs it: its statements are bounded by the
             * connection's statement and lock timeouts. */
            g_cond_wait(&job->wake, &job->lock);
        } else if (!g_cond_wait_until(&job->wake, &job->lock, deadline)) {
            in_time = g_atomic_int_get(&job->state) != JOB_WAITING || job->lead;
            break;
        }
    }
    job->lead = FALSE;
    g_mutex_unlock(&job->lock);
    return in_time;
}

PGresult *
commit_queue_run(CommitQueue *queue, const DbStatement *stmt, GError **error)
{
    Job *job = job_new(stmt);
    gint64 deadline = g_get_monotonic_time() + (gint64)queue->wait_ms * 1000;
    gboolean logged = FALSE;
    PGresult *result;

    g_mutex_lock(&queue->lock);
    g_queue_push_tail(&queue->waiting, job);
    for (;;) {
        Job *batch[COMMIT_QUEUE_MAX_BATCH];
        Job *next;
        guint n = 0;

        /* Taken and run while this owner was on its way back here. */
        if (g_atomic_int_get(&job->state) == JOB_DONE)
            break;
        if (g_atomic_int_get(&job->state) == JOB_TAKEN) {
            /* Taken: it can only become DONE, and that needs no queue. */
            g_mutex_unlock(&queue->lock);
            job_sleep(job, 0);
            goto done;
        }
        if (!queue_may_start(queue)) {
            gboolean in_time;

            if (!logged) {
                log_debug("commit queue: a statement waits, %u in all", queue->waiting.length);
                logged = TRUE;
            }
            g_mutex_unlock(&queue->lock);
            in_time = job_sleep(job, deadline);
            /* Mostly a leader took it meanwhile and has run it. */
            if (g_atomic_int_get(&job->state) == JOB_DONE)
                goto done;
            g_mutex_lock(&queue->lock);
            /* Not taken in time: the message is answered 451 and the MTA
             * tries again later, as when no connection is free. */
            if (!in_time && g_atomic_int_get(&job->state) == JOB_WAITING &&
                !queue_may_start(queue)) {
                g_queue_remove(&queue->waiting, job);
                g_set_error(&job->error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                            "no database transaction took it within %u ms", queue->wait_ms);
                break;
            }
            continue;
        }
        /* Lead: this job and the oldest others. Always this one: while a
         * leader runs, its own job must not sit in the queue, where a
         * call to lead meant for its owner would be lost (the owner is not
         * waiting) and the jobs behind it would sleep with a slot free. */
        g_queue_remove(&queue->waiting, job);
        g_atomic_int_set(&job->state, JOB_TAKEN);
        batch[n++] = job;
        while (n < queue->batch && !g_queue_is_empty(&queue->waiting)) {
            /* Not woken: an owner sleeping until its deadline finds it
             * TAKEN then, and sleeps on until DONE. The reference is the
             * leader's until it wakes the owner. */
            batch[n] = job_ref(g_queue_pop_head(&queue->waiting));
            g_atomic_int_set(&batch[n]->state, JOB_TAKEN);
            n++;
        }
        queue->running++;
        queue->in_flight += n;
        next = queue_next_leader(queue);
        g_mutex_unlock(&queue->lock);
        if (next != NULL)
            job_wake(next, FALSE);

        batch_run(queue, batch, n);

        g_mutex_lock(&queue->lock);
        queue->running--;
        queue->in_flight -= n;
        next = queue_next_leader(queue);
        g_mutex_unlock(&queue->lock);
        if (next != NULL)
            job_wake(next, FALSE);
        for (guint i = 1; i < n; i++)
            job_wake(batch[i], TRUE);
        goto done;
    }
    g_mutex_unlock(&queue->lock);
done:
    result = job->result;
    if (result == NULL)
        g_propagate_error(error, g_steal_pointer(&job->error));
    job_unref(job);
    return result;
}
