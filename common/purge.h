/* purge.h - delete stored raw messages past their retention period.
 *
 * Only the raw bytes go (raw = NULL, purged_at set); the row and what was
 * recorded from it stay. A message an unsent outbox row still needs (a
 * forward attaches it) is kept until that row is done. */
#ifndef BOUNCER_PURGE_H
#define BOUNCER_PURGE_H

#include <glib.h>
#include <libpq-fe.h>

typedef struct {
    guint reply_days;   /* mail to the reply mailbox */
    guint bounce_days;  /* everything else */
} PurgePolicy;

/* purge_run - purge (or with dry_run only count) what is due. */
gboolean purge_run(PGconn *conn, const PurgePolicy *policy, gboolean dry_run, guint64 *count_out,
                   GError **error);

typedef struct PurgeTimer PurgeTimer;

/* purge_timer_start - run purge_run every interval seconds in a thread. (transfer full) */
PurgeTimer *purge_timer_start(const char *conninfo, const PurgePolicy *policy, guint interval);
void purge_timer_stop(PurgeTimer *timer);

#endif
