/* autoreply_store.c - decide, rate-limit, queue and record the reply to
 * mail sent to the reply mailbox. */
#include "autoreply/autoreply_store.h"

#include <string.h>

#include "autoreply/autoreply_private.h"
#include "common/db.h"
#include "common/error.h"
#include "common/log.h"
#include "common/outbox.h"
#include "common/metrics.h"

struct AutoreplyStore {
    AutoreplyStoreOptions options;
    char                 *reply_mailbox;
    AutoreplyPolicy       policy;
    MailboxProcessor      processor;
};

static gpointer
autoreply_store_prepare(gpointer self, const char *mail_from, const guint8 *data, gsize len)
{
    AutoreplyStore *store = self;
    gboolean automated = store->options.is_automated != NULL &&
                         store->options.is_automated((const char *)data, len);

    return autoreply_decide(&store->policy, mail_from, (const char *)data, len, automated);
}

static void
autoreply_store_prepared_free(gpointer prepared)
{
    autoreply_decision_free(prepared);
}

/* The replies sent to sender $1 within the period $2. */
#define AUTOREPLY_SENDER_REPLIES \
    "(SELECT count(*) FROM autoreplies WHERE decision = 'replied'" \
    "   AND bouncer_sender_key(sender) = bouncer_sender_key($1)" \
    "   AND received_at > now() - $2::interval)"

/* autoreply_store_limit - the per-sender period and the hourly cap, each
 * counted under an advisory lock held to the end of the transaction, so
 * that mail arriving at once on several sessions cannot all be answered:
 * with a cap, one lock for every reply decision (replies counted against
 * the cap by transactions that had not yet committed let the whole pool
 * through at once); without one, a lock per sender. Replies are rare, and
 * one lock taken first cannot deadlock with a second. A sender is its
 * mailbox, however its address is written (case, +detail, BATV, SRS:
 * bouncer_sender_key() in sql/011). Returns the rule that stops the
 * reply, or NULL. */
static const char *
autoreply_store_limit(AutoreplyStore *store, PGconn *conn, const char *sender, GError **error)
{
    g_autofree char *period = g_strdup_printf("%u hours", store->options.period_hours);
    const char *params[] = { sender, period };
    g_autoptr(PGresult) lock = db_exec(conn, store->options.hourly_cap > 0
        ? "SELECT pg_advisory_xact_lock(hashtextextended('autoreply:hourly-cap', 0))"
        : "SELECT pg_advisory_xact_lock(hashtextextended('autoreply:' || bouncer_sender_key($1), 0))",
        store->options.hourly_cap > 0 ? 0 : 1, params, error);
    g_autoptr(PGresult) res = NULL;

    if (lock == NULL)
        return NULL;
    /* The last hour's replies are counted only when there is a cap. */
    res = db_exec(conn, store->options.hourly_cap > 0
        ? "SELECT " AUTOREPLY_SENDER_REPLIES ","
          "       (SELECT count(*) FROM autoreplies WHERE decision = 'replied'"
          "         AND received_at > now() - interval '1 hour')"
        : "SELECT " AUTOREPLY_SENDER_REPLIES ", 0", 2, params, error);
    if (res == NULL)
        return NULL;
    if (g_ascii_strtoll(PQgetvalue(res, 0, 0), NULL, 10) > 0)
        return "period";
    if (store->options.hourly_cap > 0 &&
        g_ascii_strtoll(PQgetvalue(res, 0, 1), NULL, 10) >= store->options.hourly_cap)
        return "hourly-cap";
    return NULL;
}

/* autoreply_store_organisation - name and Reply-To of the organisation,
 * FALSE when it has no row (the general text is used then). */
static gboolean
autoreply_store_organisation(PGconn *conn, const char *org, char **name_out, char **reply_to_out,
                             GError **error)
{
    const char *params[] = { org };
    g_autoptr(PGresult) res = db_exec(conn,
        "SELECT name, coalesce(reply_to, '') FROM organisations WHERE id = $1", 1, params, error);

    if (res == NULL || PQntuples(res) == 0 || PQgetvalue(res, 0, 1)[0] == '\0')
        return FALSE;
    *name_out = g_strdup(PQgetvalue(res, 0, 0));
    *reply_to_out = g_strdup(PQgetvalue(res, 0, 1));
    return TRUE;
}

static gboolean
autoreply_store_record(gpointer self, PGconn *conn, const DeliveryRecipient *rcpt, gpointer prepared,
                       const char **kind_out, GError **error)
{
    AutoreplyStore *store = self;
    const AutoreplyDecision *d = prepared;
    const char *sender = d->reply_to != NULL ? d->reply_to : "";
    const char *rule = d->reply ? NULL : d->rule;
    g_autofree char *token_text = autoreply_find_token_text(d);
    g_autofree char *org = NULL;
    g_autofree char *msg = NULL;
    g_autofree char *outbox_id = NULL;
    g_autofree char *inbound = g_strdup_printf("%" G_GINT64_FORMAT, rcpt->inbound_id);
    g_autoptr(PGresult) res = NULL;
    TokenInfo info = { 0 };

    *kind_out = "reply";
    if (store->options.keyring != NULL &&
        token_find_in_text(store->options.keyring, token_text, token_today(), &info) &&
        info.org_id <= G_MAXINT64 && info.message_id <= G_MAXINT64) {
        org = g_strdup_printf("%" G_GUINT64_FORMAT, info.org_id);
        msg = g_strdup_printf("%" G_GUINT64_FORMAT, info.message_id);
    }
    if (rule == NULL) {
        g_autoptr(GError) local = NULL;

        rule = autoreply_store_limit(store, conn, sender, &local);
        if (local != NULL) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
    }
    if (rule == NULL) {
        g_autofree char *org_name = NULL;
        g_autofree char *org_reply_to = NULL;
        g_autofree char *reply = NULL;
        gsize len = 0;
        gint64 id = 0;
        OutboxItem item;

        if (org != NULL && autoreply_store_organisation(conn, org, &org_name, &org_reply_to, NULL)) {
            g_autofree char *usable = autoreply_address_clean(org_reply_to);

            /* The reply then names no address: the app wrote one we
             * cannot (docs/app.md asks for a bare address). */
            if (usable == NULL) {
                g_autofree char *shown = mime_compose_fold(org_reply_to, -1, 200);

                log_warning("sid=%s org=%s reply_to=\"%s\" is not a bare address: the auto-reply"
                            " gives the general text", rcpt->sid, org, shown);
            }
        }
        reply = autoreply_compose(store->options.templates, d, store->reply_mailbox, org_name,
                                  org_reply_to, NULL, &len);
        if (reply == NULL) {
            rule = "no-sender";
        } else {
            item = (OutboxItem){
                .kind = "autoreply",
                .org_id = org != NULL ? (gint64)info.org_id : -1,
                .inbound_id = rcpt->inbound_id,
                .mail_from = "",
                .rcpt_to = sender,
                .message = reply,
                .len = len,
                .give_up_hours = store->options.give_up_hours,
            };
            if (!outbox_enqueue(conn, &item, &id, error))
                return FALSE;
            outbox_id = g_strdup_printf("%" G_GINT64_FORMAT, id);
        }
    }
    {
        const char *params[] = { inbound, sender, org, msg, rule == NULL ? "replied" : "skipped",
                                 rule != NULL ? rule : "", outbox_id };

        res = db_exec(conn,
            "WITH a AS (INSERT INTO autoreplies (inbound_id, sender, org_id, message_id, decision,"
            "           rule, outbox_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *)"
            " INSERT INTO events (type, org_id, payload)"
            " SELECT 'autoreply.decided', a.org_id, jsonb_build_object('type', 'autoreply.decided',"
            "        'time', now(), 'org_id', a.org_id, 'message_id', a.message_id,"
            "        'recipient', a.sender, 'decision', a.decision, 'rule', a.rule,"
            "        'inbound_id', a.inbound_id, 'autoreply_id', a.id, 'outbox_id', a.outbox_id)"
            "   FROM a", G_N_ELEMENTS(params), params, error);
    }
    if (res == NULL)
        return FALSE;
    metrics_counter_inc("bouncer_autoreplies_total", "decision", rule == NULL ? "replied" : "skipped",
                        "rule", rule != NULL ? rule : d->rule, NULL);
    log_info("sid=%s rcpt=<%s> autoreply=%s rule=%s sender=<%s> org=%s%s%s%s", rcpt->sid,
             rcpt->rcpt_to, rule == NULL ? "replied" : "skipped", rule != NULL ? rule : "-", sender,
             org != NULL ? org : "-", d->detail != NULL ? " detail=\"" : "",
             d->detail != NULL ? d->detail : "", d->detail != NULL ? "\"" : "");
    return TRUE;
}

AutoreplyStore *
autoreply_store_new(const AutoreplyStoreOptions *options)
{
    AutoreplyStore *store = g_new0(AutoreplyStore, 1);

    store->options = *options;
    store->reply_mailbox = g_strdup(options->reply_mailbox);
    store->options.reply_mailbox = store->reply_mailbox;
    store->policy.own_domains = options->own_domains;
    store->processor = (MailboxProcessor){
        .prepare = autoreply_store_prepare,
        .prepared_free = autoreply_store_prepared_free,
        .record = autoreply_store_record,
        .self = store,
    };
    return store;
}

void
autoreply_store_free(AutoreplyStore *store)
{
    if (store == NULL)
        return;
    g_free(store->reply_mailbox);
    g_free(store);
}

const MailboxProcessor *
autoreply_store_processor(AutoreplyStore *store)
{
    return &store->processor;
}
