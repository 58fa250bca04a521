/* event_publisher.c - the events table on a ZeroMQ XPUB socket. */
#include "common/event_publisher.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "common/db.h"
#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"

#define EVENT_BATCH 500
#define EVENT_IDLE_POLL_MS 200
#define EVENT_RETRY_MS 1000
/* The most samples waiting to settle (see EventSample), and how long the
 * oldest waits before the log names the transactions it waits for. */
#define EVENT_SAMPLES_MAX 64
#define EVENT_HELD_WARN_US (30 * G_USEC_PER_SEC)
/* The most events sent again when this process becomes the publisher (see
 * event_publisher_tail), and how long a closing socket may go on sending
 * what it still holds. */
#define EVENT_TAIL_MAX 100000
#define EVENT_LINGER_MS 2000
/* The advisory lock of the one publishing instance ("bouncerE" as a bigint). */
#define EVENT_LEADER_LOCK "7093017055106265669"

struct EventPublisher {
    char     *conninfo;
    void     *zmq;            /* context */
    void     *socket;         /* XPUB, used by the publisher thread only */
    GThread  *thread;
    gint      stopping;
    gint      subscriptions;  /* live subscriptions seen on the XPUB socket */
    gboolean  unbound;        /* no endpoints: mark as sent, the table is the record */
    guint64   published;
    guint     high_water_mark;
    GString  *json;           /* the publisher thread's buffer for one event */
    /* The tail to send again, (tail_from, tail_upto] by seq; tail_upto 0:
     * none, -1: not looked up yet. */
    gint64    tail_from;
    gint64    tail_upto;
    /* The publisher thread's own, reset with its connection: */
    gint64    settled;        /* no event with a seq up to this can still commit */
    gint64    settled_marked; /* the settled_seq last written */
    GQueue    samples;        /* EventSample, oldest first */
};

/* Why settling. An event's seq is its id (sql/020), and ids are handed out
 * when events are written, not when they commit: a transaction may still
 * commit the event with id 7 after the one with id 8 was committed. Sent
 * (or shown in the view events) as soon as 8 is visible, 7 would come
 * after a higher seq and a consumer would skip it as already seen. So
 * events are sent, and shown, only up to a settled seq: one below which no
 * transaction still running holds an id.
 *
 * Which transactions may hold one: a transaction that writes an event
 * locks event_log (ROW EXCLUSIVE) before it takes the id, when its
 * statement is planned or its plan is reused, and keeps the lock until it
 * ends. A sample reads the highest id handed out, then the transactions
 * holding that lock (in one statement, in that order: see
 * event_sql_watch): every transaction that had taken an id up to the
 * sample's is in its list. Once none of them holds the lock any more, all
 * have committed or rolled back, and the sample's id is settled. A later
 * transaction takes a higher id. Transactions are identified by their
 * virtual transaction id, which is never the same for two transactions of
 * one backend. With no such transaction in the list, the sample is settled
 * at once, so a quiet system publishes an event as soon as it commits. A
 * transaction writing events that stays open holds back what comes after
 * it, not other events before it. */
typedef struct {
    gint64   id;              /* the highest events id handed out ... */
    char   **holders;         /* ... and who held the lock then (NULL-terminated) */
    gint64   taken_at;        /* monotonic time */
    gboolean warned;
} EventSample;

static void
event_sample_free(gpointer data)
{
    EventSample *sample = data;

    g_strfreev(sample->holders);
    g_free(sample);
}

/* The highest events id handed out, then who holds event_log's write lock
 * now: "vxid@pid", separated by spaces. The subquery refers to the id read, so it runs
 * after it: a lock taken after the read can only be for a higher id. */
static const char event_sql_watch[] =
    "SELECT s.l, (SELECT coalesce(string_agg(k.virtualtransaction || '@' || k.pid, ' '), '')"
    "               FROM pg_locks k"
    "              WHERE s.l IS NOT NULL AND k.locktype = 'relation'"
    "                AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    "                AND k.relation = 'event_log'::regclass AND k.mode = 'RowExclusiveLock'"
    "                AND k.granted AND k.pid <> pg_backend_pid())"
    "  FROM (SELECT coalesce(pg_sequence_last_value('events_id_seq'), 0) AS l OFFSET 0) s";

/* Each statement below returns seq, type and the payload as stored, in
 * which event_publisher_send() puts the seq (having the database add it
 * rebuilt and re-sorted every payload), in seq order. coalesce(seq, id) is
 * the seq of the view events: rows written before sql/020 keep the seq
 * they were given then. */

/* Settled events not yet marked sent, up to $1, the settled seq. */
static const char event_sql_next[] =
    "SELECT coalesce(seq, id), type, payload::text FROM event_log"
    " WHERE coalesce(seq, id) > coalesce((SELECT published_seq FROM event_publication), 0)"
    "   AND coalesce(seq, id) <= $1"
    " ORDER BY coalesce(seq, id) LIMIT " G_STRINGIFY(EVENT_BATCH);

/* The last events marked published, again: see event_publisher_tail(). */
static const char event_sql_tail[] =
    "SELECT coalesce(seq, id), type, payload::text FROM event_log"
    " WHERE coalesce(seq, id) > $1 AND coalesce(seq, id) <= $2"
    " ORDER BY coalesce(seq, id) LIMIT " G_STRINGIFY(EVENT_BATCH);

/* The highest seq sent ($1) and the settled seq ($2), each only forward.
 * A batch is every settled event above the mark up to its last seq (or up
 * to the settled seq, when it was the last batch), so everything up to
 * the new mark has gone out. The row is written back if someone deleted
 * it. */
static const char event_sql_mark[] =
    "INSERT INTO event_publication (published_seq, settled_seq) VALUES ($1, $2)"
    " ON CONFLICT (only_row) DO UPDATE"
    " SET published_seq = greatest(event_publication.published_seq, excluded.published_seq),"
    "     settled_seq = greatest(event_publication.settled_seq, excluded.settled_seq)"
    " WHERE event_publication.published_seq < excluded.published_seq"
    "    OR event_publication.settled_seq < excluded.settled_seq";

EventPublisher *
event_publisher_new(const char *conninfo, char **endpoints, guint high_water_mark, GError **error)
{
    EventPublisher *publisher = g_new0(EventPublisher, 1);
    int hwm = (int)high_water_mark, verbose = 1, linger = 0;

    publisher->conninfo = g_strdup(conninfo);
    publisher->high_water_mark = high_water_mark;
    publisher->json = g_string_sized_new(1024);
    publisher->zmq = zmq_ctx_new();
    publisher->socket = zmq_socket(publisher->zmq, ZMQ_XPUB);
    zmq_setsockopt(publisher->socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(publisher->socket, ZMQ_LINGER, &linger, sizeof linger);
    /* Every subscribe and unsubscribe (also on disconnect) reaches us, so
     * we know whether anyone is listening. */
    zmq_setsockopt(publisher->socket, ZMQ_XPUB_VERBOSER, &verbose, sizeof verbose);
    publisher->unbound = endpoints == NULL || endpoints[0] == NULL;
    for (guint i = 0; endpoints != NULL && endpoints[i] != NULL; i++) {
        if (zmq_bind(publisher->socket, endpoints[i]) != 0) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG, "cannot bind events endpoint %s: %s",
                        endpoints[i], zmq_strerror(zmq_errno()));
            event_publisher_free(publisher);
            return NULL;
        }
    }
    return publisher;
}

/* event_publisher_read_subscriptions - drain subscription messages: the
 * first byte is 1 for subscribe, 0 for unsubscribe. */
static void
event_publisher_read_subscriptions(EventPublisher *publisher)
{
    for (;;) {
        zmq_msg_t msg;
        const guint8 *data;

        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, publisher->socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        data = zmq_msg_data(&msg);
        if (zmq_msg_size(&msg) >= 1) {
            if (data[0] == 1)
                publisher->subscriptions++;
            else if (data[0] == 0 && publisher->subscriptions > 0)
                publisher->subscriptions--;
        }
        zmq_msg_close(&msg);
    }
}

/* event_json_with_seq - PostgreSQL prints a jsonb object as {"key": value,
 * ...}: the seq goes in after the brace. */
void
event_json_with_seq(GString *out, gint64 seq, const char *payload)
{
    g_string_printf(out, "{\"seq\": %" G_GINT64_FORMAT, seq);
    if (payload[0] == '{' && payload[1] != '}' && payload[1] != '\0')
        g_string_append_printf(out, ", %s", payload + 1);
    else
        g_string_append_c(out, '}');
}

/* event_publisher_send - topic frame, then the JSON frame. XPUB drops
 * rather than blocks when a subscriber is past its high-water mark. */
static void
event_publisher_send(EventPublisher *publisher, const char *topic, gint64 seq, const char *payload)
{
    event_json_with_seq(publisher->json, seq, payload);
    zmq_send(publisher->socket, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(publisher->socket, publisher->json->str, publisher->json->len, ZMQ_DONTWAIT);
}

/* event_publisher_batch - send what one of the statements above returns.
 * Returns the number of events sent, -1 on a database error; *high_out
 * the highest seq among them. */
static int
event_publisher_batch(EventPublisher *publisher, PGconn *conn, const char *sql, int n_params,
                      const char *const *params, gint64 *high_out)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = db_exec(conn, sql, n_params, params, &error);
    int n;

    if (res == NULL) {
        log_warning("events: %s", error->message);
        return -1;
    }
    n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        gint64 seq = g_ascii_strtoll(PQgetvalue(res, i, 0), NULL, 10);

        event_publisher_send(publisher, PQgetvalue(res, i, 1), seq, PQgetvalue(res, i, 2));
        *high_out = MAX(*high_out, seq);
    }
    publisher->published += (guint64)n;
    metrics_counter_add("bouncer_events_published_total", (guint64)n, NULL);
    return n;
}

/* event_publisher_mark - write the highest seq sent and the settled seq. */
static gboolean
event_publisher_mark(EventPublisher *publisher, PGconn *conn, gint64 published_seq)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *sent = g_strdup_printf("%" G_GINT64_FORMAT, published_seq);
    g_autofree char *settled = g_strdup_printf("%" G_GINT64_FORMAT, publisher->settled);
    g_autoptr(PGresult) res = db_exec(conn, event_sql_mark, 2, (const char *const[]){ sent, settled },
                                      &error);

    if (res == NULL) {
        log_warning("events: cannot mark published: %s", error->message);
        return FALSE;
    }
    publisher->settled_marked = publisher->settled;
    return TRUE;
}

/* event_publisher_tail - on becoming the publisher, send again the last
 * events marked published, up to the high-water mark (at most
 * EVENT_TAIL_MAX). Marked means handed to ZeroMQ, not received: a
 * publisher that stopped (a restart, a crash, another instance that died)
 * may have taken some of them down with its socket's queues, and a
 * subscriber would see the gap only when the next event came, in a quiet
 * hour much later. Consumers skip what they had (seq <= last). Returns
 * the events sent, -1 on a database error. */
static int
event_publisher_tail(EventPublisher *publisher, PGconn *conn)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *from = NULL;
    g_autofree char *upto = NULL;
    gint64 last = 0;
    int n;

    if (publisher->tail_upto < 0) {
        g_autoptr(PGresult) mark = db_exec(conn,
            "SELECT coalesce((SELECT published_seq FROM event_publication), 0)", 0, NULL, &error);

        if (mark == NULL) {
            log_warning("events: %s", error->message);
            return -1;
        }
        publisher->tail_upto = g_ascii_strtoll(PQgetvalue(mark, 0, 0), NULL, 10);
        publisher->tail_from = MAX(0, publisher->tail_upto
                                          - (gint64)MIN(publisher->high_water_mark, EVENT_TAIL_MAX));
    }
    if (publisher->tail_from >= publisher->tail_upto) {
        publisher->tail_upto = 0;
        return 0;
    }
    from = g_strdup_printf("%" G_GINT64_FORMAT, publisher->tail_from);
    upto = g_strdup_printf("%" G_GINT64_FORMAT, publisher->tail_upto);
    /* Below the mark: sent again, not marked again. */
    n = event_publisher_batch(publisher, conn, event_sql_tail, 2,
                              (const char *const[]){ from, upto }, &last);
    if (n < 0)
        return n;
    publisher->tail_from = MAX(publisher->tail_from, last);
    if (n < EVENT_BATCH)
        publisher->tail_upto = 0;       /* done */
    return n;
}

/* event_publisher_lead - one publisher at a time over the whole database:
 * several bouncerd may share it, and two sending at once would interleave
 * their batches and mark each other's. The lock belongs to the connection;
 * when it drops, another instance takes over and sends what was settled
 * but not marked. */
static gboolean
event_publisher_lead(PGconn *conn)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = db_exec(conn, "SELECT pg_try_advisory_lock(" EVENT_LEADER_LOCK ")",
                                      0, NULL, &error);

    return res != NULL && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
}

/* event_publisher_forget - start again with nothing settled (a new
 * connection, possibly a new leader after another one): the settled seq
 * written before is read again with the tail. */
static void
event_publisher_forget(EventPublisher *publisher)
{
    publisher->settled = 0;
    publisher->settled_marked = 0;
    g_queue_clear_full(&publisher->samples, event_sample_free);
}

/* event_publisher_settle - take a sample, and raise the settled seq to
 * the highest sample none of whose transactions still holds the lock.
 * Returns FALSE on a database error. */
static gboolean
event_publisher_settle(EventPublisher *publisher, PGconn *conn)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = db_exec(conn, event_sql_watch, 0, NULL, &error);
    g_auto(GStrv) holders = NULL;
    GHashTable *now;
    EventSample *sample;
    gint64 last_id;
    GList *l;

    if (res == NULL) {
        log_warning("events: %s", error->message);
        return FALSE;
    }
    last_id = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    holders = g_strsplit(PQgetvalue(res, 0, 1), " ", -1);
    if (last_id < publisher->settled) {
        /* The ids started again (the table was emptied with RESTART
         * IDENTITY): nothing known about them is true any more. */
        event_publisher_forget(publisher);
    }
    now = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; holders[i] != NULL; i++)
        g_hash_table_add(now, holders[i]);
    for (l = publisher->samples.head; l != NULL; l = l->next) {
        gboolean held = FALSE;

        sample = l->data;
        for (guint i = 0; sample->holders[i] != NULL && !held; i++)
            held = g_hash_table_contains(now, sample->holders[i]);
        if (!held)
            publisher->settled = MAX(publisher->settled, sample->id);
    }
    while ((sample = g_queue_peek_head(&publisher->samples)) != NULL
           && sample->id <= publisher->settled)
        event_sample_free(g_queue_pop_head(&publisher->samples));
    if (sample != NULL && !sample->warned
        && g_get_monotonic_time() - sample->taken_at >= EVENT_HELD_WARN_US) {
        /* An open transaction that wrote an event (a psql session left in
         * BEGIN, say) stops every later event from going out: say which. */
        g_autoptr(GString) which = g_string_new(NULL);

        for (guint i = 0; sample->holders[i] != NULL; i++)
            if (g_hash_table_contains(now, sample->holders[i]))
                g_string_append_printf(which, "%s%s", which->len > 0 ? ", " : "", sample->holders[i]);
        log_warning("events: events after id %" G_GINT64_FORMAT " are held back for %d s by open"
                    " transactions that may still commit one (virtual transaction@pid: %s)",
                    publisher->settled, (int)(EVENT_HELD_WARN_US / G_USEC_PER_SEC), which->str);
        sample->warned = TRUE;
    }
    g_hash_table_unref(now);

    sample = g_queue_peek_tail(&publisher->samples);
    if (last_id > publisher->settled && (sample == NULL || last_id > sample->id)) {
        if (holders[0] == NULL) {
            publisher->settled = last_id;   /* nobody can still commit below it */
            g_queue_clear_full(&publisher->samples, event_sample_free);
        } else if (publisher->samples.length < EVENT_SAMPLES_MAX) {
            /* While a long transaction holds the oldest samples back, newer
             * ids wait for a later sample. */
            sample = g_new0(EventSample, 1);
            sample->id = last_id;
            sample->taken_at = g_get_monotonic_time();
            sample->holders = g_steal_pointer(&holders);
            g_queue_push_tail(&publisher->samples, sample);
        }
    }
    return TRUE;
}

/* event_publisher_next - send the settled events above the mark, a batch
 * at a time, and mark them; or, with nobody to send to, only write the
 * settled seq, so that the view events shows what has settled. Returns the
 * events sent, -1 on a database error. */
static int
event_publisher_next(EventPublisher *publisher, PGconn *conn, gboolean sending)
{
    g_autofree char *upto = NULL;
    gint64 high = 0;
    int n;

    if (!event_publisher_settle(publisher, conn))
        return -1;
    if (!sending) {
        if (publisher->settled > publisher->settled_marked
            && !event_publisher_mark(publisher, conn, 0))
            return -1;
        return 0;
    }
    upto = g_strdup_printf("%" G_GINT64_FORMAT, publisher->settled);
    n = event_publisher_batch(publisher, conn, event_sql_next, 1, (const char *const[]){ upto }, &high);
    if (n < 0)
        return n;
    /* A short batch was everything settled: the mark goes up to the
     * settled seq, past the numbers no event has (rolled back). */
    if (n < EVENT_BATCH)
        high = publisher->settled;
    if ((n > 0 || publisher->settled > publisher->settled_marked)
        && !event_publisher_mark(publisher, conn, high))
        return -1;          /* sent but not marked: they go out again later */
    return n;
}

static gpointer
event_publisher_thread(gpointer data)
{
    EventPublisher *publisher = data;
    PGconn *conn = NULL;
    gboolean leader = FALSE;

    while (!g_atomic_int_get(&publisher->stopping)) {
        zmq_pollitem_t item = { .socket = publisher->socket, .events = ZMQ_POLLIN };
        int sent = 0;

        if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
            g_autoptr(GError) error = NULL;

            if (conn != NULL)
                metrics_counter_inc("bouncer_db_reconnects_total", NULL);
            g_clear_pointer(&conn, PQfinish);
            leader = FALSE;
            event_publisher_forget(publisher);
            conn = db_connect(publisher->conninfo, &error);
            if (conn == NULL) {
                log_debug("events: %s", error->message);
                zmq_poll(&item, 1, EVENT_RETRY_MS);
                event_publisher_read_subscriptions(publisher);
                continue;
            }
        }
        if (!leader) {
            if (!(leader = event_publisher_lead(conn))) {
                /* Another instance publishes; wait our turn. */
                zmq_poll(&item, 1, EVENT_RETRY_MS);
                event_publisher_read_subscriptions(publisher);
                continue;
            }
            /* A new lead: the tail first (event_publisher_tail). */
            publisher->tail_upto = publisher->unbound ? 0 : -1;
        }
        event_publisher_read_subscriptions(publisher);
        if (publisher->subscriptions > 0 || publisher->unbound) {
            sent = publisher->tail_upto != 0 ? event_publisher_tail(publisher, conn) : 0;
            if (sent == 0)
                sent = event_publisher_next(publisher, conn, TRUE);
        } else {
            sent = event_publisher_next(publisher, conn, FALSE);
        }
        /* A full batch means more are waiting: go again at once. */
        if (sent < EVENT_BATCH)
            zmq_poll(&item, 1, sent < 0 ? EVENT_RETRY_MS : EVENT_IDLE_POLL_MS);
    }
    g_clear_pointer(&conn, PQfinish);
    event_publisher_forget(publisher);
    return NULL;
}

void
event_publisher_start(EventPublisher *publisher)
{
    publisher->thread = g_thread_new("events", event_publisher_thread, publisher);
}

void
event_publisher_stop(EventPublisher *publisher)
{
    if (publisher->thread == NULL)
        return;
    g_atomic_int_set(&publisher->stopping, TRUE);
    g_thread_join(publisher->thread);
    publisher->thread = NULL;
}

guint64
event_publisher_published(EventPublisher *publisher)
{
    return publisher->published;
}

void
event_publisher_free(EventPublisher *publisher)
{
    if (publisher == NULL)
        return;
    event_publisher_stop(publisher);
    if (publisher->socket != NULL) {
        /* What the socket still holds for connected subscribers may go
         * out for a moment more; the tail is sent again at the next start
         * anyway (event_publisher_tail). */
        int linger = EVENT_LINGER_MS;

        zmq_setsockopt(publisher->socket, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(publisher->socket);
    }
    zmq_ctx_term(publisher->zmq);
    g_free(publisher->conninfo);
    g_string_free(publisher->json, TRUE);
    g_free(publisher);
}
