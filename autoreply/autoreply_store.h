/* autoreply_store.h - the processor for mail to the reply mailbox: decide
 * (autoreply_decide), enforce the per-sender period and the hourly cap in
 * PostgreSQL (so they hold across restarts and instances), queue the reply
 * in the outbox, and record the decision with an autoreply.in event — all
 * in the transaction that stores the message. */
#ifndef BOUNCER_AUTOREPLY_STORE_H
#define BOUNCER_AUTOREPLY_STORE_H

#include <glib.h>

#include "autoreply/autoreply.h"
#include "common/delivery.h"
#include "common/token.h"

/* The bounce parser's verdict, supplied by the program that wires the
 * modules together (autoreply/ does not depend on bouncer/). */
typedef gboolean (*AutoreplyAutomatedCheck)(const char *data, gsize len);

typedef struct {
    const TokenKeyring       *keyring;         /* (transfer none) tokens in In-Reply-To/References */
    const AutoreplyTemplate  *templates;       /* (transfer none) */
    const char *const        *own_domains;     /* (transfer none) never answer these */
    const char               *reply_mailbox;   /* From: of the reply */
    guint                     period_hours;    /* one reply per sender per period */
    guint                     hourly_cap;      /* replies per hour in all; 0: none */
    guint                     give_up_hours;   /* outbox expiry */
    AutoreplyAutomatedCheck   is_automated;
} AutoreplyStoreOptions;

typedef struct AutoreplyStore AutoreplyStore;

/* autoreply_store_new - strings are copied, pointers borrowed. (transfer full) */
AutoreplyStore *autoreply_store_new(const AutoreplyStoreOptions *options);
void autoreply_store_free(AutoreplyStore *store);
/* autoreply_store_processor - (transfer none), lives as long as store. */
const MailboxProcessor *autoreply_store_processor(AutoreplyStore *store);

#endif
