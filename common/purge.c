/* purge.c - delete stored raw messages past their retention period. */
#include "common/purge.h"

#include "common/db.h"
#include "common/log.h"

/* Rows per statement: short transactions, no long locks on a big table.
 * Each UPDATE takes its rows as an array of ids (WHERE id = ANY (ARRAY(
 * ...))): with "id IN (subquery)" the planner may join the batch to the
 * whole table read in full, when it misjudges how many the batch holds. */
#define PURGE_BATCH "1000"

/* What is due: past its own purge_after when set (a hold can set it far
 * ahead), else past the policy for its mailbox; and no queued forward
 * still needs it (a forward is composed from it when sent; an
 * auto-reply carries its own text). The second condition follows from
 * the third; it is there in the parts the indexes of stored messages
 * answer (sql/017), so that a run reads what is due, not the table. */
#define PURGE_DUE \
    " raw IS NOT NULL" \
    " AND ((mailbox = 'reply' AND received_at < now() - $1::interval)" \
    "      OR (mailbox <> 'reply' AND received_at < now() - $2::interval)" \
    "      OR purge_after < now())" \
    " AND coalesce(purge_after, received_at + CASE mailbox WHEN 'reply' THEN $1::interval" \
    "                                                       ELSE $2::interval END) < now()" \
    " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.inbound_id = inbound_messages.id" \
    "                 AND o.state = 'queued' AND o.kind = 'forward')"

/* The copies an auto-reply keeps of what it answered (the sender, the
 * subject, in its text) go when the message they answered goes, once the
 * reply is no longer queued; $1 is the reply mailbox's period, for a
 * reply without its message. A scalar subquery, so that the message of
 * each such reply (outbox_copies_kept, sql/017) is looked up by its key:
 * a join or an EXISTS may be planned as a read of every message. */
#define PURGE_COPIES \
    " SELECT o.id FROM outbox o" \
    " WHERE o.message IS NOT NULL AND o.state <> 'queued'" \
    "   AND coalesce((SELECT m.purged_at IS NOT NULL FROM inbound_messages m" \
    "                   WHERE m.id = o.inbound_id)," \
    "                 o.created_at + $1::interval < now())"

gboolean
purge_run(PGconn *conn, const PurgePolicy *policy, gboolean dry_run, guint64 *count_out,
          GError **error)
{
    g_autofree char *reply = g_strdup_printf("%u days", policy->reply_days);
    g_autofree char *bounce = g_strdup_printf("%u days", policy->bounce_days);
    const char *params[] = { reply, bounce };
    guint64 total = 0;

    if (dry_run) {
        g_autoptr(PGresult) res = db_exec(conn, "SELECT count(*) FROM inbound_messages WHERE" PURGE_DUE,
                                          2, params, error);

        if (res == NULL)
            return FALSE;
        *count_out = g_ascii_strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        return TRUE;
    }
    for (;;) {
        g_autoptr(PGresult) res = db_exec(conn,
            "UPDATE inbound_messages SET raw = NULL, purged_at = now()"
            " WHERE id = ANY (ARRAY(SELECT id FROM inbound_messages WHERE" PURGE_DUE
            "                       LIMIT " PURGE_BATCH " FOR UPDATE SKIP LOCKED))", 2, params, error);
        guint64 n;

        if (res == NULL)
            return FALSE;
        n = g_ascii_strtoull(PQcmdTuples(res), NULL, 10);
        total += n;
        if (n < 1000)
            break;
    }
    for (;;) {
        g_autoptr(PGresult) res = db_exec(conn,
            "UPDATE outbox SET message = NULL"
            " WHERE id = ANY (ARRAY(" PURGE_COPIES " LIMIT " PURGE_BATCH " FOR UPDATE OF o SKIP LOCKED))",
            1, params, error);

        if (res == NULL)
            return FALSE;
        if (g_ascii_strtoull(PQcmdTuples(res), NULL, 10) < 1000)
            break;
    }
    *count_out = total;
    return TRUE;
}

struct PurgeTimer {
    char        *conninfo;
    PurgePolicy  policy;
    guint        interval;
    GThread     *thread;
    GMutex       lock;
    GCond        wake;
    gboolean     stopping;
};

static gpointer
purge_timer_thread(gpointer data)
{
    PurgeTimer *timer = data;

    g_mutex_lock(&timer->lock);
    while (!timer->stopping) {
        gint64 until = g_get_monotonic_time() + (gint64)timer->interval * G_USEC_PER_SEC;
        g_autoptr(GError) error = NULL;
        g_autoptr(PGconn) conn = NULL;
        guint64 purged = 0;

        g_mutex_unlock(&timer->lock);
        conn = db_connect(timer->conninfo, &error);
        if (conn == NULL || !purge_run(conn, &timer->policy, FALSE, &purged, &error))
            log_warning("purge failed: %s", error->message);
        else if (purged > 0)
            log_info("purge removed=%" G_GUINT64_FORMAT, purged);
        g_mutex_lock(&timer->lock);
        while (!timer->stopping && g_cond_wait_until(&timer->wake, &timer->lock, until))
            ;
    }
    g_mutex_unlock(&timer->lock);
    return NULL;
}

PurgeTimer *
purge_timer_start(const char *conninfo, const PurgePolicy *policy, guint interval)
{
    PurgeTimer *timer = g_new0(PurgeTimer, 1);

    timer->conninfo = g_strdup(conninfo);
    timer->policy = *policy;
    timer->interval = MAX(interval, 1);
    g_mutex_init(&timer->lock);
    g_cond_init(&timer->wake);
    timer->thread = g_thread_new("purge", purge_timer_thread, timer);
    return timer;
}

void
purge_timer_stop(PurgeTimer *timer)
{
    if (timer == NULL)
        return;
    g_mutex_lock(&timer->lock);
    timer->stopping = TRUE;
    g_cond_broadcast(&timer->wake);
    g_mutex_unlock(&timer->lock);
    g_thread_join(timer->thread);
    g_free(timer->conninfo);
    g_mutex_clear(&timer->lock);
    g_cond_clear(&timer->wake);
    g_free(timer);
}
