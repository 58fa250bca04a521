/* delivery.h - the daemon's LMTP handler: route recipients at RCPT time,
 * and after the final dot store the message for each recipient in one
 * PostgreSQL transaction together with whatever its mailbox records.
 *
 * The mailbox logic (bouncer/, autoreply/) plugs in as a MailboxProcessor
 * per mailbox kind, so common/ never depends on it. */
#ifndef BOUNCER_DELIVERY_H
#define BOUNCER_DELIVERY_H

#include <glib.h>
#include <libpq-fe.h>

#include "common/commit_queue.h"
#include "common/db.h"
#include "common/lmtp_session.h"
#include "common/router.h"

/* What a processor sees of one recipient's delivery. */
typedef struct {
    const char  *sid;
    const char  *mail_from;
    const char  *rcpt_to;
    MailboxKind  mailbox;
    const TokenInfo *token;    /* the bounce address's token as the router read it at
                                * RCPT; NULL elsewhere and without a keyring */
    gint64       inbound_id;   /* the inbound_messages row, same transaction */
    const guint8 *data;
    gsize        len;
} DeliveryRecipient;

typedef struct {
    /* prepare - once per message and mailbox, outside any transaction
     * (parsing, deciding): returns what record() gets. */
    gpointer (*prepare)(gpointer self, const char *mail_from, const guint8 *data, gsize len);
    void     (*prepared_free)(gpointer prepared);
    /* record - inside the recipient's transaction, after its
     * inbound_messages row: add rows; an error rolls everything back and
     * the recipient gets a 451. Sets *kind_out to the inbound kind. */
    gboolean (*record)(gpointer self, PGconn *conn, const DeliveryRecipient *rcpt,
                       gpointer prepared, const char **kind_out, GError **error);
    /* statement - instead of record(), for the busy mailboxes: the whole
     * recipient (inbound row included) as one statement returning one row
     * (id, duplicate), run outside any transaction of the caller's; those
     * of messages arriving together share one transaction and one commit
     * (commit_queue.h). Fills *out; FALSE when no statement can be made. */
    gboolean (*statement)(gpointer self, const DeliveryRecipient *rcpt, gpointer prepared,
                          DbStatement *out, GError **error);
    /* stored - once statement's row is committed: what is said about it
     * then (metrics, log); duplicate when it was a redelivery. */
    void     (*stored)(gpointer self, const DeliveryRecipient *rcpt, gpointer prepared,
                       const DbStatement *stmt, gboolean duplicate);
    gpointer self;
} MailboxProcessor;

typedef struct Delivery Delivery;

/* delivery_new - pool and router are borrowed; up to group_commit
 * messages share a transaction (1: each its own), at most transactions
 * of them at once; a message waits at most wait_ms for a connection or a
 * transaction before it is answered 451. (transfer full) */
Delivery *delivery_new(DbPool *pool, Router *router, guint transactions, guint group_commit,
                       guint wait_ms);
void delivery_free(Delivery *delivery);
/* delivery_set_processor - processor is borrowed; none means store only. */
void delivery_set_processor(Delivery *delivery, MailboxKind kind, const MailboxProcessor *processor);

/* delivery_session_handler - the callbacks for lmtp_session, with the
 * Delivery as their ctx. (transfer none) */
const LmtpSessionHandler *delivery_session_handler(void);

#endif
