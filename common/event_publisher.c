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
/* How long after an events id was handed out its transaction surely has
 * an xid, and how often the floor is ignored for one full look. */
#define EVENT_XID_LAG_US (1 * G_USEC_PER_SEC)
#define EVENT_FULL_SCAN_US (60 * G_USEC_PER_SEC)
#define EVENT_SAMPLES_MAX 64
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
    gboolean  unbound;        /* no endpoints: sequence and mark, the table is the record */
    guint64   published;
    guint     high_water_mark;
    GString  *json;           /* the publisher thread's buffer for one event */
    /* The tail to send again, (tail_from, tail_upto] by seq; tail_upto 0:
     * none, -1: not looked up yet. */
    gint64    tail_from;
    gint64    tail_upto;
    /* The publisher thread's own, reset with its connection: */
    gint64    floor;          /* every event with an id up to this has a seq */
    GQueue    samples;        /* EventSample, oldest first: candidates for the floor */
    gint64    full_scan_at;   /* when the floor is next ignored for one batch */
};

/* Why a floor. Sequencing takes the events without a seq in id order, from
 * a partial index (seq IS NULL). Every event sequenced leaves a dead entry
 * in that index until VACUUM; scanning from the lowest id steps over all
 * of them, so between two vacuums each batch grew slower (a quarter of the
 * throughput lost in a benchmark). The floor is an id below which no event
 * can still come without a seq, so the scan starts there.
 *
 * An id handed out does not mean its event is visible: the transaction
 * may commit later, or never. A sample pairs the highest id handed out at
 * some moment with an xid assigned EVENT_XID_LAG_US later (txid_current()
 * of a transaction of our own): every transaction that had taken one of
 * those ids then held a smaller xid. Once a snapshot's xmin reaches it, all
 * of them have ended, and a scan that then sees no event without a seq up
 * to that id (it came back short, or went past it) lets the floor rise to
 * it. A snapshot's xmax would not do as that bound: it is one past the
 * newest transaction to have *ended*, and a transaction still running can
 * hold an xid at or above it (on a quiet system, the one writing the late
 * event), so the floor rose past its event and only the full scan found
 * it, a minute later. EVENT_FULL_SCAN_US the scan starts from nothing, for
 * anything that reasoning missed: such an event is late, never lost. */
typedef struct {
    gint64 id;                /* the highest events id handed out ... */
    gint64 taken_at;          /* ... read at this monotonic time */
    gint64 xid;               /* 0 until one assigned EVENT_XID_LAG_US later */
} EventSample;

/* Both statements below return seq, type and the payload as stored, in
 * which event_publisher_send() puts the seq: having the database add it
 * (payload || jsonb_build_object('seq', seq)) rebuilt and re-sorted every
 * payload, a third of the publisher's instructions. */

/* Events sequenced before a crash but never marked published: sent again
 * first, so nothing sequenced is lost and seq order holds on the wire. */
static const char event_sql_resend[] =
    "SELECT seq, type, payload::text"
    "  FROM events WHERE seq > coalesce((SELECT published_seq FROM event_publication), 0)"
    " ORDER BY seq LIMIT " G_STRINGIFY(EVENT_BATCH);

/* New committed events get the next seqs, in the order they were written.
 * Only the instance holding the leader lock runs this, so the rows need no
 * lock of their own before the update (FOR UPDATE wrote each one twice). */
static const char event_sql_sequence[] =
    "WITH c AS (SELECT id FROM events WHERE seq IS NULL AND id > $1 ORDER BY id"
    "           LIMIT " G_STRINGIFY(EVENT_BATCH) "),"
    "     o AS (SELECT id, nextval('events_seq') AS seq FROM (SELECT id FROM c ORDER BY id) s)"
    " UPDATE events e SET seq = o.seq FROM o WHERE e.id = o.id"
    " RETURNING e.seq, e.type, e.payload::text, e.id";

/* The highest events id handed out, and this statement's snapshot. */
static const char event_sql_horizon[] =
    "SELECT coalesce(pg_sequence_last_value('events_id_seq'), 0),"
    "       pg_snapshot_xmin(s)::text::bigint"
    "  FROM pg_current_snapshot() s";

/* An xid newer than every one assigned before it: ours, assigned now. The
 * transaction writes nothing but its commit record, which need not wait
 * for the disk (at most a few a second, only while events come). */
static const char event_sql_new_xid[] =
    "SELECT set_config('synchronous_commit', 'off', true), txid_current()";

/* The last events marked published, again: see event_publisher_tail().
 * The fourth column is what event_publisher_batch() reports the highest
 * of: here the seq, where the next page starts. */
static const char event_sql_tail[] =
    "SELECT seq, type, payload::text, seq FROM events WHERE seq > $1 AND seq <= $2"
    " ORDER BY seq LIMIT " G_STRINGIFY(EVENT_BATCH);

/* Marking a batch sent is one row: the highest seq published. A batch
 * is a run of consecutive seqs above the mark (resent ones included), so
 * everything up to its highest seq has gone out. The row is written back
 * if someone deleted it. */
static const char event_sql_mark[] =
    "INSERT INTO event_publication (published_seq) VALUES ($1)"
    " ON CONFLICT (only_row) DO UPDATE SET published_seq = excluded.published_seq"
    " WHERE event_publication.published_seq < excluded.published_seq";

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

/* event_publisher_batch - send one batch and mark it. Returns the number
 * of events sent, -1 on a database error; *max_id_out, when not NULL, the
 * highest events id among them (the query's fourth column). */
static int
event_publisher_batch(EventPublisher *publisher, PGconn *conn, const char *sql, int n_params,
                      const char *const *params, gint64 *max_id_out)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = db_exec(conn, sql, n_params, params, &error);
    g_autoptr(PGresult) marked = NULL;
    g_autofree int *order = NULL;
    gint64 high = 0;
    int n;

    if (res == NULL) {
        log_warning("events: %s", error->message);
        return -1;
    }
    n = PQntuples(res);
    if (n == 0)
        return 0;
    /* RETURNING gives no order: send by seq. */
    order = g_new(int, n);
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++) {
        int key = order[i], j = i - 1;
        gint64 seq = g_ascii_strtoll(PQgetvalue(res, key, 0), NULL, 10);

        while (j >= 0 && g_ascii_strtoll(PQgetvalue(res, order[j], 0), NULL, 10) > seq) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = key;
    }
    for (int i = 0; i < n; i++) {
        gint64 seq = g_ascii_strtoll(PQgetvalue(res, order[i], 0), NULL, 10);

        event_publisher_send(publisher, PQgetvalue(res, order[i], 1), seq, PQgetvalue(res, order[i], 2));
        high = MAX(high, seq);
        if (max_id_out != NULL)
            *max_id_out = MAX(*max_id_out, g_ascii_strtoll(PQgetvalue(res, order[i], 3), NULL, 10));
    }
    {
        g_autofree char *hi = g_strdup_printf("%" G_GINT64_FORMAT, high);
        const char *params[] = { hi };

        marked = db_exec(conn, event_sql_mark, 1, params, &error);
    }
    if (marked == NULL) {
        /* Sent but not marked: they go out again later (at least once). */
        log_warning("events: cannot mark published: %s", error->message);
        return -1;
    }
    publisher->published += (guint64)n;
    metrics_counter_add("bouncer_events_published_total", (guint64)n, NULL);
    return n;
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
    /* Sent like any batch; marking it changes nothing (it is below the mark). */
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
 * several bouncerd may share it, and two sequencing at once could commit
 * seqs out of order and resend each other's batches. The lock belongs to
 * the connection; when it drops, another instance takes over and resends
 * what was sequenced but not marked. */
static gboolean
event_publisher_lead(PGconn *conn)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) res = db_exec(conn, "SELECT pg_try_advisory_lock(" EVENT_LEADER_LOCK ")",
                                      0, NULL, &error);

    return res != NULL && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
}

/* event_publisher_forget - start again from no floor (a new connection,
 * possibly a new leader after another one). */
static void
event_publisher_forget(EventPublisher *publisher)
{
    publisher->floor = 0;
    g_queue_clear_full(&publisher->samples, g_free);
    publisher->full_scan_at = 0;
}

/* event_publisher_sequence - give the next committed events their seqs,
 * send and mark them, from the floor up; then raise the floor as far as
 * this batch allows. Returns what event_publisher_batch returns. */
static int
event_publisher_sequence(EventPublisher *publisher, PGconn *conn)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(PGresult) horizon = db_exec(conn, event_sql_horizon, 0, NULL, &error);
    gint64 now = g_get_monotonic_time(), xmin, new_xid = 0, settled = publisher->floor, from;
    gint64 max_id = 0, last_id;
    g_autofree char *from_text = NULL;
    EventSample *sample;
    int sent;

    if (horizon == NULL) {
        log_warning("events: %s", error->message);
        return -1;
    }
    last_id = g_ascii_strtoll(PQgetvalue(horizon, 0, 0), NULL, 10);
    xmin = g_ascii_strtoll(PQgetvalue(horizon, 0, 1), NULL, 10);
    for (GList *l = publisher->samples.head; l != NULL; l = l->next) {
        sample = l->data;
        if (sample->xid == 0 && now - sample->taken_at >= EVENT_XID_LAG_US) {
            if (new_xid == 0) {
                g_autoptr(PGresult) res = db_exec(conn, event_sql_new_xid, 0, NULL, &error);

                if (res == NULL) {
                    log_warning("events: %s", error->message);
                    return -1;
                }
                new_xid = g_ascii_strtoll(PQgetvalue(res, 0, 1), NULL, 10);
            }
            sample->xid = new_xid;
        }
        if (sample->xid != 0 && sample->xid <= xmin)
            settled = MAX(settled, sample->id);
    }
    /* A few samples a second, and only of ids not sampled yet; while a
     * long transaction holds xmin back they wait, at most
     * EVENT_SAMPLES_MAX of them. */
    sample = g_queue_peek_tail(&publisher->samples);
    if ((sample == NULL || (now - sample->taken_at >= EVENT_XID_LAG_US / 4 && last_id > sample->id))
        && last_id > publisher->floor && publisher->samples.length < EVENT_SAMPLES_MAX) {
        sample = g_new0(EventSample, 1);
        sample->id = last_id;
        sample->taken_at = now;
        g_queue_push_tail(&publisher->samples, sample);
    }

    from = now >= publisher->full_scan_at ? 0 : publisher->floor;
    from_text = g_strdup_printf("%" G_GINT64_FORMAT, from);
    sent = event_publisher_batch(publisher, conn, event_sql_sequence, 1,
                                 (const char *const[]){ from_text }, &max_id);
    if (sent < 0)
        return sent;
    if (from == 0)
        publisher->full_scan_at = now + EVENT_FULL_SCAN_US;
    if (sent < EVENT_BATCH || max_id >= settled)
        publisher->floor = MAX(publisher->floor, settled);
    while ((sample = g_queue_peek_head(&publisher->samples)) != NULL
           && sample->id <= publisher->floor && sample->xid != 0)
        g_free(g_queue_pop_head(&publisher->samples));
    return sent;
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
                sent = event_publisher_batch(publisher, conn, event_sql_resend, 0, NULL, NULL);
            if (sent == 0)
                sent = event_publisher_sequence(publisher, conn);
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
