/* bounce_classify.c - for each recipient: status and reply code, the reason
 * (Sisimai's names), hard or soft, and the Amazon SES type/subtype. */
#include <string.h>

#include "bouncer/bounce_private.h"

/* RFC 3463 codes with one clear meaning; other codes say too little and the
 * diagnostic text decides. */
static const struct {
    const char *status;
    const char *reason;
} status_reasons[] = {
    { "2.1.5", "delivered" },
    { "4.1.6", "hasmoved" },     { "4.1.7", "rejected" },      { "4.1.8", "rejected" },
    { "4.1.9", "systemerror" },  { "4.2.1", "suspend" },       { "4.2.2", "mailboxfull" },
    { "4.2.3", "exceedlimit" },  { "4.2.4", "filtered" },      { "4.3.1", "systemfull" },
    { "4.3.2", "notaccept" },    { "4.3.3", "systemerror" },   { "4.3.5", "systemerror" },
    { "4.4.1", "expired" },      { "4.4.2", "networkerror" },  { "4.4.4", "networkerror" },
    { "4.4.5", "systemfull" },   { "4.4.6", "networkerror" },  { "4.4.7", "expired" },
    { "4.5.3", "systemerror" },  { "4.5.5", "systemerror" },   { "4.6.0", "contenterror" },
    { "4.6.2", "contenterror" }, { "4.6.5", "contenterror" },  { "4.7.1", "blocked" },
    { "4.7.2", "blocked" },      { "4.7.5", "securityerror" }, { "4.7.6", "securityerror" },
    { "4.7.7", "securityerror" },{ "4.7.12", "securityerror" },{ "4.7.15", "securityerror" },
    { "4.7.16", "mesgtoobig" },  { "4.7.24", "authfailure" },  { "4.7.25", "requireptr" },
    { "4.7.26", "authfailure" },
    { "5.1.0", "userunknown" },  { "5.1.1", "userunknown" },   { "5.1.2", "hostunknown" },
    { "5.1.3", "userunknown" },  { "5.1.4", "filtered" },      { "5.1.6", "hasmoved" },
    { "5.1.7", "rejected" },     { "5.1.8", "rejected" },      { "5.1.9", "systemerror" },
    { "5.1.10", "notaccept" },   { "5.2.0", "filtered" },      { "5.2.1", "filtered" },
    { "5.2.2", "mailboxfull" },  { "5.2.3", "exceedlimit" },   { "5.2.4", "filtered" },
    { "5.3.0", "systemerror" },  { "5.3.1", "systemfull" },    { "5.3.2", "notaccept" },
    { "5.3.3", "systemerror" },  { "5.3.4", "mesgtoobig" },    { "5.3.5", "systemerror" },
    { "5.4.0", "networkerror" }, { "5.4.3", "systemerror" },   { "5.4.4", "hostunknown" },
    { "5.5.3", "toomanyconn" },  { "5.5.4", "systemerror" },   { "5.5.5", "systemerror" },
    { "5.5.6", "securityerror" },{ "5.6.0", "contenterror" },  { "5.6.1", "contenterror" },
    { "5.6.2", "contenterror" }, { "5.6.3", "contenterror" },  { "5.6.5", "contenterror" },
    { "5.6.6", "contenterror" }, { "5.6.7", "contenterror" },  { "5.6.8", "contenterror" },
    { "5.6.9", "contenterror" }, { "5.7.0", "securityerror" }, { "5.7.1", "securityerror" },
    { "5.7.2", "securityerror" },{ "5.7.3", "securityerror" }, { "5.7.4", "securityerror" },
    { "5.7.5", "securityerror" },{ "5.7.6", "securityerror" }, { "5.7.7", "securityerror" },
    { "5.7.8", "securityerror" },{ "5.7.9", "securityerror" }, { "5.7.10", "securityerror" },
    { "5.7.11", "securityerror" },{ "5.7.13", "suspend" },     { "5.7.14", "securityerror" },
    { "5.7.15", "securityerror" },{ "5.7.16", "mesgtoobig" },  { "5.7.17", "hasmoved" },
    { "5.7.18", "hasmoved" },    { "5.7.19", "securityerror" },{ "5.7.20", "authfailure" },
    { "5.7.21", "authfailure" }, { "5.7.22", "authfailure" },  { "5.7.23", "authfailure" },
    { "5.7.24", "authfailure" }, { "5.7.25", "requireptr" },   { "5.7.26", "authfailure" },
    { "5.7.27", "notaccept" },
};

const char *
bounce_reason_from_status(const char *status)
{
    if (status == NULL || *status == '\0')
        return NULL;
    for (gsize i = 0; i < G_N_ELEMENTS(status_reasons); i++) {
        if (strcmp(status_reasons[i].status, status) == 0)
            return status_reasons[i].reason;
    }
    return NULL;
}

/* status_is_vague - x.0.0 and friends: "something failed". */
static gboolean
status_is_vague(const char *status)
{
    return status[0] == '\0' || g_str_has_suffix(status, ".0.0");
}

/* rcpt_domain - the part after '@'. (transfer none) */
static const char *
rcpt_domain(const BounceRecipient *r)
{
    const char *at = strrchr(r->addr, '@');

    return at != NULL ? at + 1 : "";
}

/* classify_codes - status and reply code: the report's Status field first;
 * the diagnostic's own code when the field is missing or vague and the
 * class agrees (or there is no field). */
static void
classify_codes(BounceRecipient *r)
{
    char status[16], reply[8];

    bounce_rules_find_codes(r->diagnostic, status, reply);
    if (r->replycode[0] == '\0' && reply[0] != '\0')
        bounce_recipient_set(&r->replycode, reply);
    if (status[0] != '\0' && status_is_vague(r->status)
        && (r->status[0] == '\0' || r->status[0] == status[0]))
        bounce_recipient_set(&r->status, status);
    if (r->status[0] == '\0' && r->replycode[0] == '2' && r->action[0] == '\0')
        bounce_recipient_set(&r->action, "delivered");
    if (r->action[0] == '\0') {
        BounceMatch m;

        if (r->status[0] == '4' || (r->status[0] == '\0'
                                    && bounce_rules_first(BOUNCE_TABLE_DELAYED, r->diagnostic,
                                                          strlen(r->diagnostic), &m)))
            bounce_recipient_set(&r->action, "delayed");
        else
            bounce_recipient_set(&r->action, "failed");
    }
}

/* classify_reason - rhost wording, then general wording, then the status
 * code, then what little the class and action say. */
static void
classify_reason(BounceRecipient *r)
{
    const char *diag = r->diagnostic;
    gsize len = strlen(diag);
    const char *by_code = bounce_reason_from_status(r->status);
    BounceMatch m;

    if (r->status[0] == '2' || strcmp(r->action, "delivered") == 0
        || strcmp(r->action, "relayed") == 0 || strcmp(r->action, "expanded") == 0) {
        bounce_recipient_set(&r->reason, "delivered");
        bounce_recipient_set(&r->rule, "status-2xx");
        return;
    }
    if (bounce_rules_first_rhost(BOUNCE_TABLE_RHOST_REASON, r->remote_mta, diag, len, &m)
        || bounce_rules_first_rhost(BOUNCE_TABLE_RHOST_REASON, rcpt_domain(r), diag, len, &m)) {
        bounce_recipient_set(&r->reason, m.rule->value);
        bounce_recipient_set(&r->rule, m.rule->id);
        return;
    }
    if (len > 0 && bounce_rules_first(BOUNCE_TABLE_REASON, diag, len, &m)) {
        bounce_recipient_set(&r->reason, m.rule->value);
        bounce_recipient_set(&r->rule, m.rule->id);
        return;
    }
    if (by_code != NULL) {
        bounce_recipient_set(&r->reason, by_code);
        bounce_recipient_set(&r->rule, "status-code");
        return;
    }
    if (strcmp(r->action, "delayed") == 0) {
        bounce_recipient_set(&r->reason, "expired");
        bounce_recipient_set(&r->rule, "action-delayed");
    } else if (g_str_has_prefix(r->status, "5.6") || g_str_has_prefix(r->status, "4.6")) {
        bounce_recipient_set(&r->reason, "contenterror");
        bounce_recipient_set(&r->rule, "status-class-6");
    } else if (g_str_has_prefix(r->status, "5.7") || g_str_has_prefix(r->status, "4.7")) {
        bounce_recipient_set(&r->reason, "securityerror");
        bounce_recipient_set(&r->rule, "status-class-7");
    } else if (r->diagnostic_type != NULL && g_str_has_prefix(r->diagnostic_type, "X-UNIX")) {
        bounce_recipient_set(&r->reason, "mailererror");
        bounce_recipient_set(&r->rule, "diagnostic-x-unix");
    } else if (r->replycode[0] != '\0' && r->replycode[1] == '0' && r->replycode[2] <= '7') {
        bounce_recipient_set(&r->reason, "syntaxerror");
        bounce_recipient_set(&r->rule, "replycode-50x");
    } else if (len > 0) {
        bounce_recipient_set(&r->reason, "onhold");
        bounce_recipient_set(&r->rule, "no-rule");
    } else {
        bounce_recipient_set(&r->reason, "undefined");
        bounce_recipient_set(&r->rule, "no-rule");
    }
}

/* classify_ses - Amazon SES bounceType/bounceSubType names for the reason. */
static void
classify_ses(BounceRecipient *r)
{
    const char *type, *sub;
    const char *reason = r->reason;

    if (r->bounce_type[0] != '\0')
        return;     /* the SES notification said so itself */

    if (r->hard) {
        type = "Permanent";
        sub = strcmp(reason, "notaccept") == 0 || strcmp(reason, "hasmoved") == 0 ? "General" : "NoEmail";
    } else if (strcmp(reason, "mailboxfull") == 0) {
        type = "Transient";
        sub = "MailboxFull";
    } else if (strcmp(reason, "mesgtoobig") == 0 || strcmp(reason, "exceedlimit") == 0) {
        type = "Transient";
        sub = "MessageTooLarge";
    } else if (strcmp(reason, "virusdetected") == 0) {
        type = "Transient";
        sub = "AttachmentRejected";
    } else if (strcmp(reason, "spamdetected") == 0 || strcmp(reason, "contenterror") == 0
               || strcmp(reason, "policyviolation") == 0) {
        type = "Transient";
        sub = "ContentRejected";
    } else if (strcmp(reason, "undefined") == 0 || strcmp(reason, "onhold") == 0) {
        type = "Undetermined";
        sub = "Undetermined";
    } else if (r->status[0] == '5' && strcmp(reason, "suspend") != 0) {
        type = "Permanent";
        sub = "General";
    } else {
        type = "Transient";
        sub = "General";
    }
    bounce_recipient_set(&r->bounce_type, type);
    bounce_recipient_set(&r->bounce_subtype, sub);
}

void
bounce_classify(BounceRecipient *r, BounceKind kind)
{
    if (kind == BOUNCE_KIND_ARF) {
        bounce_recipient_set(&r->reason, "feedback");
        bounce_recipient_set(&r->rule, "arf-feedback-type");
        r->hard = FALSE;
        return;
    }
    if (kind == BOUNCE_KIND_AUTOREPLY) {
        bounce_recipient_set(&r->reason, "vacation");
        r->hard = FALSE;
        return;
    }
    classify_codes(r);
    classify_reason(r);
    /* Sending again can never succeed only when the address or its domain
     * is gone; a null MX (notaccept) is hard only as a permanent failure. */
    r->hard = strcmp(r->reason, "userunknown") == 0 || strcmp(r->reason, "hostunknown") == 0
        || strcmp(r->reason, "hasmoved") == 0
        || (strcmp(r->reason, "notaccept") == 0 && r->status[0] == '5');
    if (strcmp(r->reason, "delivered") != 0)
        classify_ses(r);
}
