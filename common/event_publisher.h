/* event_publisher.h - publish the events table on ZeroMQ, in seq order,
 * at least once.
 *
 * A thread of its own takes committed events in seq order (an event's seq
 * is its id) once no transaction can still commit one below them, sends
 * each as two frames (topic, JSON) on an XPUB socket, and only then marks
 * them published; what was sent but not marked before a crash is sent
 * again on restart. Events wait in the table while nobody is
 * subscribed, and the socket's high-water mark drops what a slow
 * subscriber cannot take, so LMTP never waits and memory stays bounded:
 * the table is the record (bouncerctl events --since SEQ catches up). */
#ifndef BOUNCER_EVENT_PUBLISHER_H
#define BOUNCER_EVENT_PUBLISHER_H

#include <glib.h>

typedef struct EventPublisher EventPublisher;

/* event_publisher_new - bind every endpoint ("tcp://127.0.0.1:5556",
 * "ipc:///run/bouncer/events"). With none, events are still marked as
 * sent, for readers of the table (bouncerctl events). (transfer full) */
EventPublisher *event_publisher_new(const char *conninfo, char **endpoints, guint high_water_mark,
                                    GError **error);
void event_publisher_start(EventPublisher *publisher);
/* event_publisher_stop - finish the batch in hand and stop the thread. */
void event_publisher_stop(EventPublisher *publisher);
void event_publisher_free(EventPublisher *publisher);

/* event_json_with_seq - what a subscriber gets for an event: its payload
 * (as PostgreSQL prints jsonb) with "seq" added as the first member, into
 * out, replacing what it held. */
void event_json_with_seq(GString *out, gint64 seq, const char *payload);

/* event_publisher_published - events sent since start (for tests, metrics). */
guint64 event_publisher_published(EventPublisher *publisher);

#endif
