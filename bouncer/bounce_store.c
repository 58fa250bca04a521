/* bounce_store.c - record a parsed returned message in PostgreSQL. */
#include "bouncer/bounce_store.h"

#include <string.h>

#include "bouncer/bounce_forward.h"
#include "bouncer/bounce_report.h"
#include "common/db.h"
#include "common/error.h"
#include "common/log.h"
#include "common/outbox.h"
#include "common/metrics.h"

struct BounceStore {
    const TokenKeyring      *keyring;
    BounceSuppressionPolicy  policy;
    BounceForwardPolicy      forward;
    char                    *reply_mailbox;
    MailboxProcessor         processor;
};

/* bounce_store_find_token - which organisation and message this is about:
 * the envelope recipient's token first (checked at RCPT time), then the
 * returned original's headers, for fbl@/postmaster@ and for MTAs that
 * bounce to the wrong address. */
static gboolean
bounce_store_find_token(const BounceStore *store, const DeliveryRecipient *rcpt,
                        const BounceReport *report, TokenInfo *info)
{
    guint16 today = token_today();
    const char *candidates[] = {
        report->original.return_path, report->original.message_id,
        report->original.references, report->original.in_reply_to,
        report->in_reply_to, report->references,
    };

    gboolean found = FALSE;

    if (store->keyring == NULL)
        return FALSE;
    if (rcpt->mailbox == MAILBOX_BOUNCE)
        found = token_decode(store->keyring, rcpt->rcpt_to, today, info, NULL);
    for (gsize i = 0; !found && i < G_N_ELEMENTS(candidates); i++)
        found = candidates[i] != NULL && token_find_in_text(store->keyring, candidates[i], today, info);
    /* The codec carries full u64 ids; ours are PostgreSQL bigints. An id
     * past 2^63 is kept as "no organisation" rather than failing the row. */
    if (found && (info->org_id > G_MAXINT64 || info->message_id > G_MAXINT64)) {
        log_warning("sid=%s token ids out of bigint range org=%" G_GUINT64_FORMAT
                    " message=%" G_GUINT64_FORMAT, rcpt->sid, info->org_id, info->message_id);
        return FALSE;
    }
    return found;
}

static gpointer
bounce_store_prepare(gpointer self, const char *mail_from, const guint8 *data, gsize len)
{
    return bounce_report_parse((const char *)data, len);
}

static void
bounce_store_prepared_free(gpointer prepared)
{
    bounce_report_free(prepared);
}

static const char *
bounce_store_str(const char *s)
{
    return s != NULL ? s : "";
}

/* bounce_store_sender_address - the bare address of a From: header value,
 * for recording an auto-reply that names no recipient. */
static char *
bounce_store_sender_address(const char *from)
{
    const char *lt, *gt;

    if (from == NULL)
        return g_strdup("");
    lt = strrchr(from, '<');
    gt = lt != NULL ? strchr(lt, '>') : NULL;
    if (lt != NULL && gt != NULL)
        return g_strndup(lt + 1, gt - lt - 1);
    return g_strstrip(g_strdup(from));
}

static gboolean
bounce_store_record_recipient(BounceStore *store, PGconn *conn, const DeliveryRecipient *rcpt,
                              const BounceReport *report, const BounceRecipient *r,
                              const char *org, const char *msg, GError **error)
{
    g_autofree char *inbound = g_strdup_printf("%" G_GINT64_FORMAT, rcpt->inbound_id);
    g_autofree char *window = g_strdup_printf("%u days", store->policy.soft_window_days);
    g_autofree char *period = g_strdup_printf("%u days", store->policy.soft_days);
    g_autofree char *threshold = g_strdup_printf("%u", store->policy.soft_threshold);
    g_autoptr(PGresult) res = NULL;

    if (report->kind == BOUNCE_KIND_ARF) {
        const char *params[] = { inbound, org, msg, bounce_store_str(r->addr),
                                 bounce_store_str(r->feedbacktype),
                                 bounce_store_str(report->reporting_mta) };

        res = db_exec(conn, "SELECT bouncer_record_complaint($1, $2, $3, $4, $5, $6)",
                      G_N_ELEMENTS(params), params, error);
        if (res != NULL)
            metrics_counter_inc("bouncer_complaints_total", NULL);
    } else {
        const char *params[] = {
            inbound, org, msg, bounce_store_str(r->addr), bounce_kind_to_string(report->kind),
            bounce_store_str(r->action), bounce_store_str(r->status), bounce_store_str(r->replycode),
            bounce_store_str(r->reason), r->hard ? "t" : "f", bounce_store_str(r->bounce_type),
            bounce_store_str(r->bounce_subtype), bounce_store_str(r->diagnostic),
            bounce_store_str(r->remote_mta), bounce_store_str(report->reporting_mta),
            bounce_store_str(r->rule), threshold, window, period,
        };

        res = db_exec(conn,
                      "SELECT bouncer_record_bounce($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
                      " $12, $13, $14, $15, $16, $17, $18::interval, $19::interval)",
                      G_N_ELEMENTS(params), params, error);
        if (res != NULL)
            metrics_counter_inc("bouncer_bounces_total", "kind", bounce_kind_to_string(report->kind),
                                "reason", r->reason != NULL && r->reason[0] != '\0' ? r->reason : "undefined",
                                NULL);
    }
    if (res == NULL)
        g_prefix_error(error, "record %s: ", bounce_store_str(r->addr));
    return res != NULL;
}

/* bounce_store_forward_wanted - final failures (and, when configured,
 * out-of-office replies) are forwarded; delays and complaints never. */
static gboolean
bounce_store_forward_wanted(const BounceStore *store, const BounceReport *report)
{
    if (report->kind == BOUNCE_KIND_AUTOREPLY)
        return store->forward.autoreplies;
    if (report->kind != BOUNCE_KIND_DSN && report->kind != BOUNCE_KIND_NONSTANDARD)
        return FALSE;
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (g_strcmp0(r->action, "failed") == 0)
            return TRUE;
    }
    return FALSE;
}

/* bounce_store_forward - queue the forward to the organisation's Reply-To
 * in this transaction; over the hourly limit it is recorded as held. An
 * organisation the app has not written, or without a Reply-To or with
 * forwarding off, gets none. */
static gboolean
bounce_store_forward(BounceStore *store, PGconn *conn, const DeliveryRecipient *rcpt,
                     const BounceReport *report, const char *org, GError **error)
{
    const char *params[] = { org };
    g_autoptr(PGresult) res = NULL;
    g_autofree char *message = NULL;
    const char *held = NULL;
    gsize len = 0;
    OutboxItem item;

    if (org == NULL || !bounce_store_forward_wanted(store, report))
        return TRUE;
    res = db_exec(conn,
        "SELECT o.name, coalesce(o.reply_to, ''), o.forward_bounces,"
        "       (SELECT count(*) FROM outbox f WHERE f.org_id = o.id AND f.kind = 'forward'"
        "         AND f.state <> 'held' AND f.created_at > now() - interval '1 hour')"
        "  FROM organisations o WHERE o.id = $1", 1, params, error);
    if (res == NULL)
        return FALSE;
    if (PQntuples(res) == 0 || PQgetvalue(res, 0, 1)[0] == '\0' ||
        strcmp(PQgetvalue(res, 0, 2), "t") != 0)
        return TRUE;
    message = bounce_forward_compose(report, (const char *)rcpt->data, rcpt->len,
                                     store->reply_mailbox, PQgetvalue(res, 0, 0),
                                     PQgetvalue(res, 0, 1), NULL, &len);
    if (message == NULL)
        return TRUE;
    if (store->forward.hourly_limit > 0 &&
        g_ascii_strtoull(PQgetvalue(res, 0, 3), NULL, 10) >= store->forward.hourly_limit)
        held = "hourly forward limit reached";
    item = (OutboxItem){
        .kind = "forward",
        .org_id = g_ascii_strtoll(org, NULL, 10),
        .inbound_id = rcpt->inbound_id,
        .mail_from = "",
        .rcpt_to = PQgetvalue(res, 0, 1),
        .message = message,
        .len = len,
        .held_reason = held,
        .give_up_hours = store->forward.give_up_hours,
    };
    if (!outbox_enqueue(conn, &item, NULL, error))
        return FALSE;
    log_info("sid=%s forward org=%s to=<%s>%s", rcpt->sid, org, item.rcpt_to,
             held != NULL ? " held=hourly-limit" : "");
    return TRUE;
}

/* bounce_store_record - every recipient the report speaks of. Ordinary
 * mail and what could not be parsed only keep their inbound row. */
static gboolean
bounce_store_record(gpointer self, PGconn *conn, const DeliveryRecipient *rcpt, gpointer prepared,
                    const char **kind_out, GError **error)
{
    BounceStore *store = self;
    const BounceReport *report = prepared;
    TokenInfo info = { 0 };
    g_autofree char *org = NULL;
    g_autofree char *msg = NULL;

    *kind_out = bounce_kind_to_string(report->kind);
    if (report->kind == BOUNCE_KIND_NOTBOUNCE || report->kind == BOUNCE_KIND_UNPARSEABLE)
        return TRUE;
    if (bounce_store_find_token(store, rcpt, report, &info)) {
        org = g_strdup_printf("%" G_GUINT64_FORMAT, info.org_id);
        msg = g_strdup_printf("%" G_GUINT64_FORMAT, info.message_id);
    }
    if (report->recipients->len == 0 && report->kind == BOUNCE_KIND_AUTOREPLY) {
        g_autofree char *sender = bounce_store_sender_address(report->from);
        BounceRecipient r = { .addr = sender, .action = "", .reason = "vacation",
                              .rule = "autoreply" };

        return bounce_store_record_recipient(store, conn, rcpt, report, &r, org, msg, error) &&
               bounce_store_forward(store, conn, rcpt, report, org, error);
    }
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (!bounce_store_record_recipient(store, conn, rcpt, report, r, org, msg, error))
            return FALSE;
    }
    log_info("sid=%s rcpt=<%s> kind=%s recipients=%u org=%s message=%s", rcpt->sid, rcpt->rcpt_to,
             *kind_out, report->recipients->len, org != NULL ? org : "-", msg != NULL ? msg : "-");
    return bounce_store_forward(store, conn, rcpt, report, org, error);
}

BounceStore *
bounce_store_new(const TokenKeyring *keyring, const BounceSuppressionPolicy *policy,
                 const BounceForwardPolicy *forward)
{
    BounceStore *store = g_new0(BounceStore, 1);

    store->keyring = keyring;
    store->policy = *policy;
    store->forward = *forward;
    store->reply_mailbox = g_strdup(forward->reply_mailbox);
    store->forward.reply_mailbox = store->reply_mailbox;
    store->processor = (MailboxProcessor){
        .prepare = bounce_store_prepare,
        .prepared_free = bounce_store_prepared_free,
        .record = bounce_store_record,
        .self = store,
    };
    return store;
}

void
bounce_store_free(BounceStore *store)
{
    if (store == NULL)
        return;
    g_free(store->reply_mailbox);
    g_free(store);
}

const MailboxProcessor *
bounce_store_processor(BounceStore *store)
{
    return &store->processor;
}
