/* delivery.c - route at RCPT time, store after DATA, answer after COMMIT. */
#include "common/delivery.h"
#include "common/db_watchdog.h"

#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"

struct Delivery {
    DbPool                 *pool;
    CommitQueue            *queue;
    guint                   wait_ms;
    Router                 *router;
    const MailboxProcessor *processors[MAILBOX_KIND_COUNT];
};

Delivery *
delivery_new(DbPool *pool, Router *router, guint transactions, guint group_commit,
             guint wait_ms)
{
    Delivery *delivery = g_new0(Delivery, 1);

    delivery->pool = pool;
    delivery->wait_ms = wait_ms;
    delivery->queue = commit_queue_new(pool, transactions, group_commit, wait_ms);
    delivery->router = router;
    return delivery;
}

void
delivery_free(Delivery *delivery)
{
    if (delivery == NULL)
        return;
    commit_queue_free(delivery->queue);
    g_free(delivery);
}

void
delivery_set_processor(Delivery *delivery, MailboxKind kind, const MailboxProcessor *processor)
{
    g_return_if_fail(kind > MAILBOX_NONE && kind < MAILBOX_KIND_COUNT);
    delivery->processors[kind] = processor;
}

static gboolean
delivery_check_recipient(gpointer ctx, const char *sid, const char *address, int *route_out,
                         gpointer *route_data_out, GError **error)
{
    Delivery *delivery = ctx;
    MailboxKind kind = MAILBOX_NONE;
    TokenInfo *token = NULL;

    if (!router_route(delivery->router, sid, address, &kind, &token, error))
        return FALSE;
    *route_out = (int)kind;
    *route_data_out = token;
    return TRUE;
}

/* delivery_store_one - one recipient, one transaction: the inbound row
 * (or the discovery that it is a redelivery), the mailbox's own rows, then
 * COMMIT. Only a successful COMMIT returns TRUE. */
static gboolean
delivery_store_one(Delivery *delivery, PGconn *conn, const DeliveryRecipient *base,
                   gpointer prepared, gboolean *duplicate_out, GError **error)
{
    const MailboxProcessor *processor = delivery->processors[base->mailbox];
    DeliveryRecipient rcpt = *base;
    const char *values[6] = { rcpt.sid, rcpt.mail_from, rcpt.rcpt_to,
                              mailbox_kind_name(rcpt.mailbox), (const char *)rcpt.data, NULL };
    int lengths[6] = { 0, 0, 0, 0, (int)rcpt.len, 0 };
    int formats[6] = { 0, 0, 0, 0, 1, 0 };
    g_autoptr(PGresult) res = NULL;
    const char *kind = NULL;

    if (!db_exec_ok(conn, "BEGIN", error))
        return FALSE;
    res = PQexecParams(conn,
                       "SELECT id, duplicate FROM bouncer_store_inbound($1, $2, $3, $4, 'stored', $5, $6)",
                       6, NULL, values, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        metrics_counter_inc("bouncer_db_errors_total", NULL);
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "store inbound: %s",
                    PQerrorMessage(conn));
        goto rollback;
    }
    rcpt.inbound_id = g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    *duplicate_out = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    if (*duplicate_out)
        return db_commit(conn, error);

    if (processor != NULL) {
        if (!processor->record(processor->self, conn, &rcpt, prepared, &kind, error))
            goto rollback;
        if (kind != NULL) {
            g_autofree char *id = g_strdup_printf("%" G_GINT64_FORMAT, rcpt.inbound_id);
            const char *params[] = { kind, id };
            g_autoptr(PGresult) upd = db_exec(conn,
                "UPDATE inbound_messages SET kind = $1 WHERE id = $2", 2, params, error);

            if (upd == NULL)
                goto rollback;
        }
    }
    /* synchronous_commit is on (the default): COMMIT returns once the
     * row is on disk, and only then may the recipient hear 250. */
    return db_commit(conn, error);

rollback:
    if (PQstatus(conn) == CONNECTION_OK)
        db_exec_ok(conn, "ROLLBACK", NULL);
    return FALSE;
}

/* delivery_run_statement - the processor's statement through the commit
 * queue; TRUE once committed. */
static gboolean
delivery_run_statement(Delivery *delivery, const MailboxProcessor *processor,
                       const DeliveryRecipient *rcpt, gpointer prepared, gboolean *duplicate_out,
                       GError **error)
{
    DbStatement stmt = { 0 };
    g_autoptr(PGresult) res = NULL;
    gboolean ok = FALSE;

    if (!processor->statement(processor->self, rcpt, prepared, &stmt, error))
        goto out;
    res = commit_queue_run(delivery->queue, &stmt, error);
    if (res == NULL)
        goto out;
    if (PQntuples(res) != 1 || PQnfields(res) < 2) {
        metrics_counter_inc("bouncer_db_errors_total", NULL);
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "%s: %d rows, not one",
                    stmt.name, PQntuples(res));
        goto out;
    }
    *duplicate_out = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    processor->stored(processor->self, rcpt, prepared, &stmt, *duplicate_out);
    ok = TRUE;
out:
    db_statement_clear(&stmt);
    return ok;
}

/* delivery_store - store one recipient: through the commit queue when
 * its mailbox has a statement, else in a transaction of its own, with one
 * retry when the connection turned out to be dead (the database
 * restarted while it sat in the pool; a retry after a lost COMMIT reply
 * is safe: the redelivery check finds the first copy). */
static gboolean
delivery_store(Delivery *delivery, const DeliveryRecipient *rcpt, gpointer prepared,
               gboolean *duplicate_out, GError **error)
{
    const MailboxProcessor *processor = delivery->processors[rcpt->mailbox];

    if (processor != NULL && processor->statement != NULL)
        return delivery_run_statement(delivery, processor, rcpt, prepared, duplicate_out, error);
    for (int attempt = 0;; attempt++) {
        g_autoptr(GError) local = NULL;
        PGconn *conn = db_pool_acquire(delivery->pool, delivery->wait_ms, &local);
        DbWatch *watch;
        gboolean ok, broken;

        if (conn == NULL) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        metrics_tx_begin();
        watch = db_watch(conn);
        ok = delivery_store_one(delivery, conn, rcpt, prepared, duplicate_out, &local);
        db_unwatch(watch);
        metrics_tx_end(ok);
        broken = PQstatus(conn) != CONNECTION_OK;
        db_pool_release(delivery->pool, conn);
        if (ok)
            return TRUE;
        if (!broken || attempt == 1) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        db_pool_flush_idle(delivery->pool);
    }
}

/* delivery_deliver_one - store, then count and log the outcome. */
static GError *
delivery_deliver_one(Delivery *delivery, const DeliveryRecipient *rcpt, gpointer prepared)
{
    g_autoptr(GError) error = NULL;
    gboolean duplicate = FALSE;
    const char *mailbox = mailbox_kind_name(rcpt->mailbox);

    if (delivery_store(delivery, rcpt, prepared, &duplicate, &error)) {
        metrics_counter_inc("bouncer_lmtp_messages_total", "mailbox", mailbox,
                            "result", duplicate ? "duplicate" : "stored", NULL);
        if (duplicate)
            log_info("sid=%s rcpt=<%s> result=duplicate", rcpt->sid, rcpt->rcpt_to);
        return NULL;
    }
    metrics_counter_inc("bouncer_lmtp_messages_total", "mailbox", mailbox, "result",
                        error->domain != BOUNCER_ERROR || error->code == BOUNCER_ERROR_TEMPORARY
                            ? "tempfail" : "rejected", NULL);
    log_warning("sid=%s rcpt=<%s> result=451 reason=db-error error=\"%s\"", rcpt->sid,
                rcpt->rcpt_to, error->message);
    return g_steal_pointer(&error);
}

/* delivery_deliver - parse once per mailbox kind, then store per recipient. */
static void
delivery_deliver(gpointer ctx, const char *sid, const LmtpTransaction *tx, GError **results)
{
    Delivery *delivery = ctx;
    gpointer prepared[MAILBOX_KIND_COUNT] = { NULL };
    gboolean done[MAILBOX_KIND_COUNT] = { FALSE };
    /* MAIL FROM may carry any 8-bit bytes; the column is UTF-8 text, and a
     * sender PostgreSQL refuses would be deferred forever. The raw message
     * keeps every byte. */
    g_autofree char *mail_from = g_utf8_make_valid(tx->mail_from, -1);

    for (guint i = 0; i < tx->recipients->len; i++) {
        const LmtpRecipient *r = g_ptr_array_index(tx->recipients, i);
        MailboxKind kind = (MailboxKind)r->route;
        const MailboxProcessor *processor = delivery->processors[kind];
        DeliveryRecipient rcpt = {
            .sid = sid,
            .mail_from = mail_from,
            .rcpt_to = r->address,
            .mailbox = kind,
            .token = r->route_data,
            .data = tx->data->data,
            .len = tx->data->len,
        };

        if (processor != NULL && !done[kind]) {
            prepared[kind] = processor->prepare(processor->self, mail_from, tx->data->data,
                                                tx->data->len);
            done[kind] = TRUE;
        }
        g_clear_error(&results[i]);
        results[i] = delivery_deliver_one(delivery, &rcpt, prepared[kind]);
    }
    for (guint k = 0; k < MAILBOX_KIND_COUNT; k++) {
        if (prepared[k] != NULL)
            delivery->processors[k]->prepared_free(prepared[k]);
    }
}

static const LmtpSessionHandler delivery_handler = {
    .check_recipient = delivery_check_recipient,
    .deliver = delivery_deliver,
};

const LmtpSessionHandler *
delivery_session_handler(void)
{
    return &delivery_handler;
}
