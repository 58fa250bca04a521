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
    /* The statement's policy parameters ($11-$13, $15, $16): the same for
     * every message, written out once. */
    char                    *soft_threshold, *soft_window, *soft_period;
    char                    *forward_limit, *give_up;
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
    /* The router checked it at RCPT, with the same keyring, and handed on
     * what it says: its MAC is not worked out a second time. */
    if (rcpt->mailbox == MAILBOX_BOUNCE && rcpt->token != NULL) {
        *info = *rcpt->token;
        found = TRUE;
    }
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

/* bounce_store_is_own - addr is one of our signed VERP addresses, of any
 * age: the envelope sender of what we sent, never one of its recipients. */
static gboolean
bounce_store_is_own(const BounceStore *store, const char *addr)
{
    g_autoptr(GError) error = NULL;

    if (store->keyring == NULL || addr == NULL || (addr[0] != 'b' && addr[0] != 'B'))
        return FALSE;
    return token_decode(store->keyring, addr, token_today(), NULL, &error)
           || g_error_matches(error, TOKEN_ERROR, TOKEN_ERROR_EXPIRED)
           || g_error_matches(error, TOKEN_ERROR, TOKEN_ERROR_FUTURE);
}

/* bounce_store_prepare - parse, then leave out any "recipient" that is our
 * own VERP address: a server refusing the envelope sender may quote it in
 * a line shaped like a recipient's ("<b…@notifications.example.com>...
 * Domain of sender address does not exist"), which a parser that does not
 * know our addresses reads as one more failed recipient. Recorded, it
 * would be suppressed, forwarded and published as a bounce. */
static gpointer
bounce_store_prepare(gpointer self, const char *mail_from, const guint8 *data, gsize len)
{
    const BounceStore *store = self;
    BounceReport *report = bounce_report_parse((const char *)data, len);

    for (guint i = report->recipients->len; i-- > 0;) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (bounce_store_is_own(store, r->addr))
            g_ptr_array_remove_index(report->recipients, i);
    }
    return report;
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

char *
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

/* bounce_store_recipients_json - the parser's recipients as the JSON
 * array bouncer_deliver_report() reads: each one the recipient's part of
 * its event, under the event's own names (docs/events.md), so that the
 * database adds only what it alone knows. An auto-reply that names none is
 * recorded under its sender. Written straight into a string: json-glib's
 * builder (a node, a value and a list cell per member) was a twelfth of
 * bouncerd's CPU per message. (transfer full) */
typedef struct {
    const char *key, *value;
} StoreField;

static char *
bounce_store_recipients_json(const BounceReport *report)
{
    GString *out = g_string_sized_new(512);
    g_autofree char *sender = NULL;
    BounceRecipient synthetic = { 0 };
    guint n = report->recipients->len;

    if (report->kind == BOUNCE_KIND_NOTBOUNCE || report->kind == BOUNCE_KIND_UNPARSEABLE)
        n = 0;
    if (n == 0 && report->kind == BOUNCE_KIND_AUTOREPLY) {
        sender = bounce_store_sender_address(report->from);
        synthetic = (BounceRecipient){ .addr = sender, .action = "", .reason = "vacation",
                                       .rule = "autoreply" };
        n = 1;
    }
    g_string_append_c(out, '[');
    for (guint i = 0; i < n; i++) {
        const BounceRecipient *r = sender != NULL ? &synthetic : g_ptr_array_index(report->recipients, i);
        const StoreField bounce[] = {
            { "recipient", r->addr }, { "action", r->action }, { "status", r->status },
            { "reply_code", r->replycode }, { "reason", r->reason },
            { "bounce_type", r->bounce_type }, { "bounce_subtype", r->bounce_subtype },
            { "diagnostic", r->diagnostic }, { "remote_mta", r->remote_mta }, { "rule", r->rule },
        }, complaint[] = {
            { "recipient", r->addr }, { "feedback_type", r->feedbacktype },
        };
        gboolean arf = report->kind == BOUNCE_KIND_ARF;
        const StoreField *fields = arf ? complaint : bounce;
        gsize nfields = arf ? G_N_ELEMENTS(complaint) : G_N_ELEMENTS(bounce);

        g_string_append(out, i == 0 ? "{" : ",{");
        for (gsize f = 0; f < nfields; f++) {
            if (f > 0)
                g_string_append_c(out, ',');
            bounce_json_append_string(out, fields[f].key);
            g_string_append_c(out, ':');
            bounce_json_append_string(out, fields[f].value);
        }
        if (!arf)
            g_string_append(out, r->hard ? ",\"hard\":true" : ",\"hard\":false");
        g_string_append_c(out, '}');
    }
    g_string_append_c(out, ']');
    return g_string_free(out, FALSE);
}

/* bounce_store_count - the metrics, once the row is committed. */
static void
bounce_store_count(const BounceReport *report)
{
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (report->kind == BOUNCE_KIND_ARF)
            metrics_counter_inc("bouncer_complaints_total", NULL);
        else
            metrics_counter_inc("bouncer_bounces_total", "kind", bounce_kind_to_string(report->kind),
                                "reason", r->reason != NULL && r->reason[0] != '\0' ? r->reason : "undefined",
                                NULL);
    }
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

/* The statement of a returned message: the message and everything it
 * says in one call (sql/007), its own transaction or a share of one: the
 * inbound row or the discovery that it is a redelivery, a row per
 * recipient with its event and suppression, and the forward, queued to
 * be composed when sent. */
#define BOUNCE_STORE_PARAM_ORG      6
#define BOUNCE_STORE_PARAM_MESSAGE  7
#define BOUNCE_STORE_PARAM_FORWARD  13

static gboolean
bounce_store_statement(gpointer self, const DeliveryRecipient *rcpt, gpointer prepared,
                       DbStatement *stmt, GError **error)
{
    BounceStore *store = self;
    const BounceReport *report = prepared;
    TokenInfo info = { 0 };

    stmt->name = "bouncer_deliver_report";
    stmt->sql = "SELECT id, duplicate FROM bouncer_deliver_report($1, $2, $3, $4, $5,"
                " $6, $7, $8, $9, $10::jsonb, $11, $12::interval, $13::interval, $14,"
                " $15, $16::interval)";
    stmt->n_params = 16;
    if (report->kind != BOUNCE_KIND_NOTBOUNCE && report->kind != BOUNCE_KIND_UNPARSEABLE &&
        bounce_store_find_token(store, rcpt, report, &info)) {
        db_statement_take(stmt, BOUNCE_STORE_PARAM_ORG,
                          g_strdup_printf("%" G_GUINT64_FORMAT, info.org_id));
        db_statement_take(stmt, BOUNCE_STORE_PARAM_MESSAGE,
                          g_strdup_printf("%" G_GUINT64_FORMAT, info.message_id));
    }
    stmt->values[0] = rcpt->sid;
    stmt->values[1] = rcpt->mail_from;
    stmt->values[2] = rcpt->rcpt_to;
    stmt->values[3] = mailbox_kind_name(rcpt->mailbox);
    stmt->values[4] = bounce_kind_to_string(report->kind);
    stmt->values[5] = (const char *)rcpt->data;
    stmt->lengths[5] = (int)rcpt->len;
    stmt->formats[5] = 1;
    stmt->values[8] = bounce_store_str(report->reporting_mta);
    db_statement_take(stmt, 9, bounce_store_recipients_json(report));
    stmt->values[10] = store->soft_threshold;
    stmt->values[11] = store->soft_window;
    stmt->values[12] = store->soft_period;
    stmt->values[BOUNCE_STORE_PARAM_FORWARD] = bounce_store_forward_wanted(store, report) ? "t" : "f";
    stmt->values[14] = store->forward_limit;
    stmt->values[15] = store->give_up;
    return TRUE;
}

/* bounce_store_stored - the metrics and the log line, once committed. */
static void
bounce_store_stored(gpointer self, const DeliveryRecipient *rcpt, gpointer prepared,
                    const DbStatement *stmt, gboolean duplicate)
{
    const BounceReport *report = prepared;
    const char *org = stmt->values[BOUNCE_STORE_PARAM_ORG];
    const char *msg = stmt->values[BOUNCE_STORE_PARAM_MESSAGE];
    gboolean forward = stmt->values[BOUNCE_STORE_PARAM_FORWARD][0] == 't';

    if (duplicate)
        return;
    bounce_store_count(report);
    log_info("sid=%s rcpt=<%s> kind=%s recipients=%u org=%s message=%s%s", rcpt->sid,
             rcpt->rcpt_to, bounce_kind_to_string(report->kind), report->recipients->len,
             org != NULL ? org : "-", msg != NULL ? msg : "-",
             forward && org != NULL ? " forward=wanted" : "");
}

/* bounce_store_compose_forward - the forward, composed when the sender
 * takes it: the stored report parsed again, the organisation as it is
 * now, the Message-ID and Date of the outbox row (the same at every
 * attempt). NULL when there is nothing to forward. */
static char *
bounce_store_compose_forward(gpointer self, const char *raw, gsize raw_len, const char *org_name,
                             const char *org_reply_to, const OutboxStamp *stamp, gsize *len_out)
{
    BounceStore *store = self;
    g_autoptr(BounceReport) report = bounce_report_parse(raw, raw_len);

    return bounce_forward_compose_queued(report, raw, raw_len, store->reply_mailbox, org_name,
                                         org_reply_to, NULL, stamp->id, stamp->queued_at_us,
                                         len_out);
}

OutboxComposer
bounce_store_forward_composer(BounceStore *store, gpointer *data_out)
{
    *data_out = store;
    return bounce_store_compose_forward;
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
    store->soft_threshold = g_strdup_printf("%u", policy->soft_threshold);
    store->soft_window = g_strdup_printf("%u days", policy->soft_window_days);
    store->soft_period = g_strdup_printf("%u days", policy->soft_days);
    store->forward_limit = g_strdup_printf("%u", forward->hourly_limit);
    store->give_up = g_strdup_printf("%u hours", forward->give_up_hours);
    store->processor = (MailboxProcessor){
        .prepare = bounce_store_prepare,
        .prepared_free = bounce_store_prepared_free,
        .statement = bounce_store_statement,
        .stored = bounce_store_stored,
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
    g_free(store->soft_threshold);
    g_free(store->soft_window);
    g_free(store->soft_period);
    g_free(store->forward_limit);
    g_free(store->give_up);
    g_free(store);
}

const MailboxProcessor *
bounce_store_processor(BounceStore *store)
{
    return &store->processor;
}
