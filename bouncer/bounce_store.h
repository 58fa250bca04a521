/* bounce_store.h - record what a returned message says: one bounces row
 * per recipient (or complaints rows for ARF), the events for the app, the
 * suppressions they cause and the forward, with the message itself in one
 * statement (bouncer_deliver_report, sql/007).
 *
 * It is the MailboxProcessor for the bounce, postmaster and fbl mailboxes:
 * prepare() parses (outside any transaction), store() writes. */
#ifndef BOUNCER_BOUNCE_STORE_H
#define BOUNCER_BOUNCE_STORE_H

#include <glib.h>

#include "common/delivery.h"
#include "common/outbox.h"
#include "common/token.h"

typedef struct {
    guint soft_threshold;    /* failed soft bounces ... */
    guint soft_window_days;  /* ... within this many days ... */
    guint soft_days;         /* ... suppress for this many days; 0 threshold: never */
} BounceSuppressionPolicy;

typedef struct {
    const char *reply_mailbox;      /* From: of forwards */
    guint       hourly_limit;       /* forwards per organisation per hour; 0: none */
    gboolean    autoreplies;        /* forward out-of-office replies too */
    guint       give_up_hours;      /* outbox expiry */
} BounceForwardPolicy;

typedef struct BounceStore BounceStore;

/* bounce_store_new - keyring is borrowed (maps tokens to organisations);
 * the policies are copied. (transfer full) */
BounceStore *bounce_store_new(const TokenKeyring *keyring, const BounceSuppressionPolicy *policy,
                              const BounceForwardPolicy *forward);
void bounce_store_free(BounceStore *store);

/* bounce_store_forward_composer - what the outbox sender calls to compose
 * a queued forward when it sends it (data_out gets store). */
OutboxComposer bounce_store_forward_composer(BounceStore *store, gpointer *data_out);

/* bounce_store_sender_address - the bare address of a From: value: the
 * recipient an auto-reply that names none is recorded under. (transfer full) */
char *bounce_store_sender_address(const char *from);

/* bounce_store_processor - (transfer none), lives as long as store. */
const MailboxProcessor *bounce_store_processor(BounceStore *store);

#endif
