/* bounce_classify.c - for each recipient: status and reply code, the reason
 * (Sisimai's names), hard or soft, and the Amazon SES type/subtype. */
#include <stdlib.h>
#include <string.h>

#include "bouncer/bounce_private.h"

/* Enhanced status codes with one clear meaning: RFC 3463's and those IANA's
 * registry added since (RFC 4954's X.5.6 and X.7.8-X.7.12, 7505's null MX,
 * 7372's SPF/DKIM/PTR results, X.7.28 mail flood, X.7.29 ARC, X.7.30
 * REQUIRETLS, X.4.8 "retry over IPv4"), as Sisimai reads them. Other codes
 * say too little and the diagnostic text decides. */
static const struct {
    const char *status;
    const char *reason;
} status_reasons[] = {
    { "2.1.5", "delivered" },
    { "4.1.6", "hasmoved" },     { "4.1.7", "rejected" },      { "4.1.8", "rejected" },
    { "4.1.9", "systemerror" },  { "4.2.1", "suspend" },       { "4.2.2", "mailboxfull" },
    { "4.2.3", "exceedlimit" },  { "4.2.4", "filtered" },      { "4.3.1", "systemfull" },
    { "4.3.2", "notaccept" },    { "4.3.3", "systemerror" },   { "4.3.5", "systemerror" },
    { "4.4.1", "expired" },      { "4.4.2", "networkerror" },  { "4.4.3", "systemerror" },
    { "4.4.4", "networkerror" }, { "4.4.5", "systemfull" },    { "4.4.6", "networkerror" },
    { "4.4.7", "expired" },      { "4.4.8", "networkerror" },
    { "4.5.3", "systemerror" },  { "4.5.5", "systemerror" },   { "4.6.0", "contenterror" },
    { "4.6.2", "contenterror" }, { "4.6.5", "contenterror" },  { "4.7.1", "blocked" },
    { "4.7.2", "blocked" },      { "4.7.5", "securityerror" }, { "4.7.6", "securityerror" },
    { "4.7.7", "securityerror" },{ "4.7.12", "securityerror" },{ "4.7.15", "securityerror" },
    { "4.7.16", "mesgtoobig" },  { "4.7.24", "authfailure" },  { "4.7.25", "requireptr" },
    { "4.7.26", "authfailure" },
    { "5.1.0", "userunknown" },  { "5.1.1", "userunknown" },   { "5.1.2", "hostunknown" },
    { "5.1.3", "userunknown" },  { "5.1.4", "filtered" },      { "5.1.6", "hasmoved" },
    { "5.1.7", "rejected" },     { "5.1.8", "rejected" },      { "5.1.9", "systemerror" },
    { "5.1.10", "userunknown" }, { "5.2.0", "filtered" },      { "5.2.1", "filtered" },
    { "5.2.2", "mailboxfull" },  { "5.2.3", "exceedlimit" },   { "5.2.4", "filtered" },
    { "5.3.0", "systemerror" },  { "5.3.1", "systemfull" },    { "5.3.2", "notaccept" },
    { "5.3.3", "systemerror" },  { "5.3.4", "mesgtoobig" },    { "5.3.5", "systemerror" },
    { "5.4.0", "networkerror" }, { "5.4.3", "systemerror" },   { "5.4.4", "hostunknown" },
    { "5.4.6", "networkerror" }, { "5.5.2", "syntaxerror" },
    { "5.5.3", "toomanyconn" },  { "5.5.4", "systemerror" },   { "5.5.5", "systemerror" },
    { "5.5.6", "syntaxerror" },  { "5.6.0", "contenterror" },  { "5.6.1", "contenterror" },
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
    { "5.7.27", "notaccept" },   { "5.7.28", "spamdetected" },{ "5.7.29", "authfailure" },
    { "5.7.30", "securityerror" },
    /* Microsoft 365's detail codes (documented with its NDRs). */
    { "4.4.312", "networkerror" },{ "5.4.312", "networkerror" },{ "4.4.316", "expired" },
    { "5.4.316", "expired" },    { "5.4.300", "expired" },    { "4.4.300", "expired" },
    { "5.4.310", "hostunknown" },{ "5.1.90", "speeding" },    { "5.7.501", "spamdetected" },
    { "5.7.502", "spamdetected" },
    { "5.7.503", "spamdetected" },{ "5.7.504", "filtered" },   { "5.7.505", "filtered" },
    { "5.7.506", "blocked" },    { "5.7.507", "blocked" },     { "5.7.508", "toomanyconn" },
    { "5.7.509", "authfailure" },{ "5.7.510", "blocked" },   { "5.7.511", "blocked" },
    { "5.7.606", "blocked" },    { "5.7.607", "blocked" },     { "5.7.608", "blocked" },
    { "5.7.609", "blocked" },    { "4.7.650", "badreputation" },{ "4.7.651", "badreputation" },
    { "4.7.652", "badreputation" },
};

/* status_lookup - the exact code's reason, or NULL. */
static const char *
status_lookup(const char *status)
{
    for (gsize i = 0; i < G_N_ELEMENTS(status_reasons); i++) {
        if (strcmp(status_reasons[i].status, status) == 0)
            return status_reasons[i].reason;
    }
    return NULL;
}

const char *
bounce_reason_from_status(const char *status)
{
    const char *reason;
    const char *dot;
    char general[16];

    if (status == NULL || *status == '\0')
        return NULL;
    if ((reason = status_lookup(status)) != NULL)
        return reason;
    /* Vendor detail codes (Microsoft's 5.1.351, 5.4.312, ...) share the
     * meaning of their subject: read them as X.Y.0. */
    dot = strrchr(status, '.');
    if (dot == NULL || dot - status > 8 || strtol(dot + 1, NULL, 10) < 10)
        return NULL;
    g_snprintf(general, sizeof(general), "%.*s.0", (int)(dot - status), status);
    return status_lookup(general);
}

/* rcpt_domain - the part after '@'. (transfer none) */
static const char *
rcpt_domain(const BounceRecipient *r)
{
    const char *at = strrchr(r->addr, '@');

    return at != NULL ? at + 1 : "";
}

gboolean
bounce_reason_is_final(const char *reason)
{
    /* Sending again can never succeed only when the address or its
     * domain is gone. */
    static const char *const final[] = { "userunknown", "hostunknown", "hasmoved", "notaccept" };

    for (gsize i = 0; i < G_N_ELEMENTS(final); i++) {
        if (g_strcmp0(reason, final[i]) == 0)
            return TRUE;
    }
    return FALSE;
}

/* context_gave_up - the notice says it gave up on r: a "failed" rule of
 * the delay table in its text before r's address, with no list of
 * transient errors between those words and the address. Sendmail heads
 * the addresses it still tries with "had transient non-fatal errors"
 * under those with "permanent fatal errors", in the same notice; and the
 * words in a returned message after the address are the sender's, not
 * the notice's. An address not in the text: the whole text. */
static gboolean
context_gave_up(const BounceRecipient *r, const char *context, gsize context_len)
{
    g_autofree char *low = g_ascii_strdown(context, (gssize)context_len);
    g_autofree char *addr = g_ascii_strdown(r->addr, -1);
    const char *at = addr[0] != '\0' ? strstr(low, addr) : NULL;
    gsize before = at != NULL ? (gsize)(at - low) : strlen(low);
    BounceMatch m;

    if (!bounce_rules_first(BOUNCE_TABLE_DELAYED, context, before, &m)
        || g_strcmp0(m.rule->value, "failed") != 0)
        return FALSE;
    return g_strstr_len(low + m.match_end, (gssize)(before - m.match_end), "non-fatal") == NULL;
}

/* context_still_trying - the notice is one that only ever reports delays
 * (DELIVERED_NOTICE's "delayed" rules: Postfix's "THIS IS A WARNING
 * ONLY", Exim's "has not yet been delivered", Courier's "DELAYS IN
 * DELIVERING YOUR MESSAGE", OpenSMTPD's "A message is delayed for more
 * than 4 hours"), said before r's address, and it did not give up on r. */
static gboolean
context_still_trying(const BounceRecipient *r, const char *context, gsize context_len)
{
    g_autofree char *low = NULL, *addr = NULL;
    const char *at;
    BounceMatch m;

    /* most notices are no delay's: ask the whole text first */
    if (!bounce_rules_first(BOUNCE_TABLE_DELIVERED_NOTICE, context, context_len, &m)
        || g_strcmp0(m.rule->value, "delayed") != 0)
        return FALSE;
    low = g_ascii_strdown(context, (gssize)context_len);
    addr = g_ascii_strdown(r->addr, -1);
    at = addr[0] != '\0' ? strstr(low, addr) : NULL;
    if (at != NULL && (gsize)(at - low) < m.match_start)
        return FALSE;
    return !context_gave_up(r, context, context_len);
}

/* action_from_text - the action of a recipient no report field gave one:
 * its status class first (a reply code with no status beside it says the
 * same): a temporary one delayed unless the words say the sender gave up,
 * a permanent one failed unless the notice is still trying; with no code
 * at all, its wording (a delay, a delivery that worked), then the
 * notice's if it is one that only ever reports successes (or only
 * delays); else failed. A success notice whose delivery-status
 * part was lost must not count as a bounce: it would be published,
 * forwarded and counted towards suppression as one. *rule_out: the wording
 * rule that said delivered, or NULL. */
static const char *
action_from_text(const BounceRecipient *r, const char *context, gsize context_len,
                 const BounceRule **rule_out)
{
    gsize len = strlen(r->diagnostic);
    BounceMatch m;
    char cls;

    *rule_out = NULL;
    if (r->status[0] == '2')
        return "delivered";
    /* The code's class (a reply code with no status beside it, "421
     * Service not available", says the same), unless the recipient's own
     * words say otherwise ("Gmail will retry for 46 more hours", "I've
     * given up"). A temporary code is a delay, unless the notice says the
     * sender gave up on the address ("This is a permanent error; I've
     * given up.", qmail's heading over every address it lists). A
     * permanent one is a failure, unless the notice says, before the
     * address, that it is still trying (Postfix's "THIS IS A WARNING
     * ONLY", Exim's "has not yet been delivered"): the code is then an
     * earlier attempt's answer, another MX's or a server's that a later
     * try may pass. */
    cls = r->status[0] != '\0' ? r->status[0] : r->replycode[0];
    if (cls == '4' || cls == '5') {
        if (bounce_rules_first(BOUNCE_TABLE_DELAYED, r->diagnostic, len, &m))
            return m.rule->value != NULL ? m.rule->value : "delayed";
        if (cls == '4')
            return context != NULL && context_gave_up(r, context, context_len) ? "failed" : "delayed";
        return context != NULL && context_still_trying(r, context, context_len) ? "delayed" : "failed";
    }
    if (r->status[0] != '\0')
        return "failed";
    if (bounce_rules_first(BOUNCE_TABLE_DELAYED, r->diagnostic, len, &m))
        return m.rule->value != NULL ? m.rule->value : "delayed";
    if (bounce_rules_first(BOUNCE_TABLE_DELIVERED, r->diagnostic, len, &m)
        || (context != NULL
            && bounce_rules_first(BOUNCE_TABLE_DELIVERED_NOTICE, context, context_len, &m))) {
        /* a notice of delays only: the action, but the reason is still
         * the recipient's own words' */
        if (strcmp(m.rule->value, "delayed") != 0)
            *rule_out = m.rule;
        return m.rule->value;
    }
    return "failed";
}

/* status_is_fallback - a code kept only when the text holds no other:
 * x.0.0 says only that something failed, and 4.4.7 only that time ran out
 * (RFC 3463 asks for the code of the problem met instead, where known). */
static gboolean
status_is_fallback(const char *status)
{
    return g_str_has_suffix(status, ".0.0") || strcmp(status, "4.4.7") == 0;
}

/* status_has_zero - x.0.z or x.y.0: a subject or detail left undefined. */
static gboolean
status_has_zero(const char *status)
{
    const char *dot1 = strchr(status, '.');
    const char *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;

    if (dot2 == NULL)
        return FALSE;
    return strncmp(dot1, ".0.", 3) == 0 || strcmp(dot2, ".0") == 0;
}

/* status_is_address - X.1.Z: a code about the address itself. */
static gboolean
status_is_address(const char *status)
{
    return status[0] != '\0' && status[1] == '.' && status[2] == '1' && status[3] == '.';
}

/* diagnostic_codes - the diagnostic's status and reply code. A fallback
 * code (554 4.4.7 Message expired ... <421 4.4.2 Connection timed out>)
 * gives way to a later code in the same text, with that code's reply. */
static void
diagnostic_codes(const char *diag, char status[16], char reply[8])
{
    const char *from = diag;

    bounce_rules_find_codes(diag, status, reply);
    for (int k = 0; k < 4 && status_is_fallback(status); k++) {
        char later[16], later_reply[8];
        const char *at = strstr(from, status);

        if (at == NULL)
            return;
        from = at + strlen(status);
        bounce_rules_find_codes(from, later, later_reply);
        if (later[0] == '\0')
            return;
        if (status_is_fallback(later))
            continue;
        memcpy(status, later, 16);
        if (later_reply[0] != '\0')
            memcpy(reply, later_reply, 8);
        return;
    }
}

/* status_prefer - the report's Status field or the diagnostic's own code
 * (the remote server's reply): which one says more. The field stands
 * unless it is vague (x.0.0, or x.0.z/x.y.0 against a code with no
 * undefined part), only says time ran out (4.4.7), blames the mail system
 * as a whole (5.3.z), or is the reporting MTA's "no such user" (5.1.1)
 * beside a more exact code (5.1.10), or one of the two is about the
 * address (X.1.Z) and the other is not. Of two classes the field's
 * stands, except that a 5.x.x field gives way to a 4.x.x code its own
 * 4xx reply agrees with: the server said the trouble was temporary. */
static const char *
status_prefer(const char *field, const char *mesg, const char *reply)
{
    if (field[0] == '\0')
        return mesg;
    if (mesg[0] == '\0' || strcmp(field, mesg) == 0)
        return field;
    if (field[0] != mesg[0])
        return field[0] == '5' && mesg[0] == '4' && reply[0] == '4' ? mesg : field;
    if (g_str_has_suffix(field, ".0.0"))
        return mesg;
    if (status_has_zero(field) && !status_has_zero(mesg))
        return mesg;
    if (g_str_has_suffix(mesg, ".0.0"))
        return field;
    /* An address code (X.1.Z: no such user, no such domain, moved) and
     * the remote server's code of another subject contradict each other,
     * and only the address code suppresses the address: the remote
     * server's reading stands, the server that holds the mailbox. A
     * "550 5.7.0 Message rejected due to local policy" quoted under a
     * relay's Status: 5.1.1 is a refusal of the message; a "550 5.1.1
     * User unknown" quoted under Status: 5.7.1 is an address gone. */
    if (status_is_address(field) != status_is_address(mesg))
        return mesg;
    if (strcmp(field, "4.4.7") == 0 || g_str_has_prefix(field, "5.3."))
        return mesg;
    if (strcmp(field, "5.1.1") == 0)
        return status_has_zero(mesg) ? field : mesg;
    return field;
}

/* classify_codes - status and reply code: the report's Status field or
 * the diagnostic's own code, as status_prefer decides. */
static void
classify_codes(BounceRecipient *r, const char *context, gsize context_len)
{
    char status[16], reply[8];

    diagnostic_codes(r->diagnostic, status, reply);
    /* "Action: failed" (or delayed) beside a 2.X.X Status contradicts
     * itself. The Action says what happened (RFC 3464 2.3.3); a success
     * code kept beside it would report the failure as a delivery, so it
     * gives way to the diagnostic's own failure code, or to none. */
    if (r->status[0] == '2' && (strcmp(r->action, "failed") == 0 || strcmp(r->action, "delayed") == 0)) {
        bounce_recipient_set(&r->status, status[0] == '4' || status[0] == '5' ? status : "");
        /* Nor does a success code in the diagnostic ("250 2.0.0 Ok")
         * come back in by the next step. */
        if (status[0] == '2')
            status[0] = '\0';
    }
    if (status[0] != '\0') {
        const char *keep = status_prefer(r->status, status, reply);

        if (keep == status)
            bounce_recipient_set(&r->status, status);
    }
    /* A 2xx reply in a failure's text is a step that worked (RCPT TO
     * accepted before DATA failed), not the answer. */
    if (r->replycode[0] == '\0' && reply[0] != '\0' && (reply[0] != '2' || r->status[0] == '2'))
        bounce_recipient_set(&r->replycode, reply);
    /* A reply code of another class than the status answered some other
     * step of the session. */
    if (r->status[0] != '\0' && r->replycode[0] != '\0' && r->replycode[0] != r->status[0])
        bounce_recipient_set(&r->replycode, "");
    if (r->action[0] == '\0') {
        const BounceRule *said = NULL;

        bounce_recipient_set(&r->action, action_from_text(r, context, context_len, &said));
        if (said != NULL) {     /* the words that said so decide the reason too */
            bounce_recipient_set(&r->reason, "delivered");
            bounce_recipient_set(&r->rule, said->id);
        }
    }
}

/* The reasons in the order their wording is tried when the failure came
 * in an SMTP reply (Sisimai's order, with its newer names placed first
 * because their wording is the most specific). */
static const char *const reason_order_smtp[] = {
    "authfailure", "requireptr", "badreputation", "notcompliantrfc",
    "mailboxfull", "mesgtoobig", "exceedlimit", "suspend", "hasmoved", "norelaying",
    "userunknown", "filtered", "rejected", "hostunknown", "spamdetected", "speeding",
    "toomanyconn", "policyviolation", "blocked",
};

/* The order for the second pass, over what the first left undecided. */
static const char *const reason_order_other[] = {
    "authfailure", "requireptr", "badreputation", "notcompliantrfc",
    "mailboxfull", "spamdetected", "policyviolation", "virusdetected", "norelaying",
    "securityerror", "systemerror", "networkerror", "suspend", "expired", "contenterror",
    "systemfull", "notaccept", "mailererror", "blocked", "rejected", "userunknown",
    "hostunknown", "filtered", "speeding", "toomanyconn", "syntaxerror",
};

/* Reasons that say too little to stand when the reporting MTA gave them:
 * the generic rules are tried first (Sisimai's "retry" reasons). */
static const char *const reason_retry[] = {
    "undefined", "onhold", "systemerror", "securityerror", "networkerror",
};

/* Codes that say too little on their own: the wording may know better. */
static const char *const reason_vague_code[] = {
    "undefined", "onhold", "systemerror", "securityerror", "networkerror", "hostunknown",
    "userunknown", "expired",
};

#define REASON_SLOTS 64

typedef struct {
    const BounceRule *by_reason[REASON_SLOTS]; /* first rule that matched, per reason */
    const char *names[REASON_SLOTS];
    guint count;
    const char *command;      /* the SMTP command the failure answered, or NULL */
} ReasonHits;

/* reason_hit_wanted - bounce_rules_each's question: whether a match of
 * rule would be kept, so that the others are not run at all. Only the
 * first rule of each reason that matches is kept, and a rule limited to
 * one SMTP command says nothing about the others. */
static gboolean
reason_hit_wanted(const BounceRule *rule, gpointer data)
{
    const ReasonHits *hits = data;

    if (rule->rhost != NULL && g_strcmp0(rule->rhost, hits->command) != 0)
        return FALSE;
    for (guint i = 0; i < hits->count; i++) {
        if (strcmp(hits->names[i], rule->value) == 0)
            return FALSE;
    }
    return hits->count < REASON_SLOTS;
}

/* reason_hit_add - bounce_rules_each callback: remember the rule, which
 * reason_hit_wanted has just asked for (and nothing has changed since). */
static void
reason_hit_add(const BounceMatch *m, gpointer data)
{
    ReasonHits *hits = data;

    if (hits->count < REASON_SLOTS) {
        hits->names[hits->count] = m->rule->value;
        hits->by_reason[hits->count] = m->rule;
        hits->count++;
    }
}

/* reason_hit - the rule that matched reason, or NULL. */
static const BounceRule *
reason_hit(const ReasonHits *hits, const char *reason)
{
    for (guint i = 0; i < hits->count; i++) {
        if (strcmp(hits->names[i], reason) == 0)
            return hits->by_reason[i];
    }
    return NULL;
}

static gboolean
str_in(const char *s, const char *const *list, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        if (g_strcmp0(s, list[i]) == 0)
            return TRUE;
    }
    return FALSE;
}

/* reason_set - record the decision and what made it. */
static void
reason_set(BounceRecipient *r, const char *reason, const char *rule)
{
    bounce_recipient_set(&r->reason, reason);
    bounce_recipient_set(&r->rule, rule);
}

/* failure_is_temporary - a 4.X.X status, or with no status a 4XX reply
 * ("450 <x@y>: Recipient address rejected: Domain not found" from a
 * server that gives no enhanced code): the server will try again. */
static gboolean
failure_is_temporary(const BounceRecipient *r)
{
    return r->status[0] == '4' || (r->status[0] == '\0' && r->replycode[0] == '4');
}

/* reason_first_pass - a reason is true when the code names it or its
 * wording matches, with the exceptions that the SMTP command explains:
 * "user unknown" answered to DATA is a content filter pretending, and a
 * failure at MAIL FROM is about the sender. */
static gboolean
reason_first_pass(BounceRecipient *r, const ReasonHits *hits, const char *code)
{
    const char *cmd = r->smtp_command != NULL ? r->smtp_command : "";
    gboolean at_rcpt = strcmp(cmd, "RCPT") == 0, at_mail = strcmp(cmd, "MAIL") == 0;
    gboolean at_greeting = strcmp(cmd, "HELO") == 0 || strcmp(cmd, "CONN") == 0;

    for (gsize i = 0; i < G_N_ELEMENTS(reason_order_smtp); i++) {
        const char *want = reason_order_smtp[i];
        const BounceRule *hit = reason_hit(hits, want);

        if (strcmp(want, "userunknown") == 0) {
            static const char *const others[] = { "norelaying", "blocked", "mailboxfull",
                                                  "hasmoved", "rejected", "notaccept", "filtered" };
            gboolean other = FALSE;

            /* No recipient is judged at MAIL FROM: the sender is; nor
             * under a code about the sender's address (X.1.7, X.1.8:
             * Microsoft's "5.1.7 Invalid address" is the sender's). */
            if (g_strcmp0(code, "suspend") == 0 || g_strcmp0(code, "rejected") == 0 || at_mail)
                continue;
            for (gsize k = 0; k < G_N_ELEMENTS(others); k++)
                other = other || reason_hit(hits, others[k]) != NULL;
            if (g_strcmp0(code, "userunknown") == 0 && !other) {
                reason_set(r, want, hit != NULL ? hit->id : "status-code");
                return TRUE;
            }
            /* Without a code that says so, only a refusal of RCPT TO is
             * about the address; "user unknown" said later (or at no
             * known step) is a filter's answer. */
            if (g_strcmp0(code, "userunknown") != 0 && hit != NULL && !other && at_rcpt) {
                reason_set(r, want, hit->id);
                return TRUE;
            }
            continue;
        }
        if (strcmp(want, "filtered") == 0) {
            const BounceRule *uu = reason_hit(hits, "userunknown");

            if (g_strcmp0(code, "rejected") == 0) {
                reason_set(r, "rejected", "status-code");
                return TRUE;
            }
            if (g_strcmp0(code, "suspend") == 0)
                continue;
            if (g_strcmp0(code, "filtered") == 0 && (hit != NULL || uu != NULL)) {
                reason_set(r, want, hit != NULL ? hit->id : uu->id);
                return TRUE;
            }
            /* "Address is unknown" in "mail domain mentioned in email
             * address is unknown" is the domain's: no filter's answer. */
            if (hit == NULL && reason_hit(hits, "hostunknown") != NULL)
                continue;
            if (!at_rcpt && !at_mail && !at_greeting && (hit != NULL || uu != NULL)) {
                reason_set(r, want, hit != NULL ? hit->id : uu->id);
                return TRUE;
            }
            continue;
        }
        if (strcmp(want, "rejected") == 0) {
            if (g_strcmp0(code, "rejected") == 0) {
                reason_set(r, want, "status-code");
                return TRUE;
            }
            if (hit == NULL)
                continue;
            if (at_mail || (strcmp(cmd, "DATA") == 0 && g_strcmp0(code, "userunknown") != 0)
                || code == NULL || str_in(code, (const char *const[]){ "onhold", "undefined",
                                          "securityerror", "systemerror" }, 4)) {
                reason_set(r, want, hit->id);
                return TRUE;
            }
            continue;
        }
        if (strcmp(want, "mesgtoobig") == 0 && g_strcmp0(code, "exceedlimit") == 0)
            continue;
        /* A failure whose status says the delivery time ran out (X.4.7)
         * expired; the connection the last attempt could not make ("Deferred:
         * Connection refused by ...") is why, not a block of the sender. */
        if (strcmp(want, "blocked") == 0 && g_strcmp0(code, "expired") == 0)
            continue;
        /* A spam filter reads the message: spam wording in answer to an
         * earlier step is a block of the sending host. */
        if (strcmp(want, "spamdetected") == 0 && (at_rcpt || at_mail || at_greeting)
            && g_strcmp0(code, want) != 0)
            continue;

        /* A host that is gone is gone for good: a temporary failure
         * that mentions it is a lookup problem (networkerror). */
        if (strcmp(want, "hostunknown") == 0 && failure_is_temporary(r))
            continue;
        /* A domain not found beside the sender's wording ("Sender address
         * rejected: Domain not found") is the sender's domain. */
        if (strcmp(want, "hostunknown") == 0 && hit != NULL && g_strcmp0(code, want) != 0
            && reason_hit(hits, "rejected") != NULL) {
            reason_set(r, "rejected", reason_hit(hits, "rejected")->id);
            return TRUE;
        }
        /* So is one said in answer to MAIL FROM, before any recipient
         * was named ("553 notifications.example.net does not exist"). */
        if (strcmp(want, "hostunknown") == 0 && hit != NULL && at_mail) {
            reason_set(r, "rejected", "command-mail");
            return TRUE;
        }
        /* "Unable to route" (X.4.4) is an unknown host unless the words
         * say the lookup itself failed. */
        if (strcmp(want, "hostunknown") == 0 && hit == NULL && reason_hit(hits, "networkerror") != NULL)
            continue;
        if (g_strcmp0(code, want) == 0) {
            reason_set(r, want, "status-code");
            return TRUE;
        }
        if (hit != NULL) {
            reason_set(r, want, hit->id);
            return TRUE;
        }
    }
    return FALSE;
}

/* diag_unwrap - a multi-line SMTP reply folded into one line repeats its
 * code on each line ("550-5.7.1 Messages with multiple 550 5.7.1 addresses
 * in From:"); drop the repeats so wording spans the line breaks. Written
 * into local (size bytes) when it fits, else into *heap. (transfer none) */
static char *
diag_unwrap(const char *diag, char *local, gsize size, char **heap)
{
    gsize need = strlen(diag) + 1;                         /* it only gets shorter */
    char *out = need <= size ? local : (*heap = g_malloc(need)), *o = out;
    const char *p = diag;
    gboolean first = TRUE;

    while (*p != '\0') {
        if ((p == diag || p[-1] == ' ') && (p[0] == '4' || p[0] == '5') && g_ascii_isdigit(p[1])
            && g_ascii_isdigit(p[2]) && (p[3] == '-' || p[3] == ' ')) {
            const char *q = p + 4;

            if ((*q == '4' || *q == '5') && q[1] == '.') {
                q += 2;
                while (g_ascii_isdigit(*q) || *q == '.')
                    q++;
            }
            if (*q == ' ' && q > p + 4) {
                if (!first) {
                    p = q + 1;
                    continue;
                }
                first = FALSE;
            }
        }
        *o++ = *p++;
    }
    *o = '\0';
    return out;
}

/* rhost_reason - a provider's own meaning, when the remote host is one of
 * its hosts (its domain or under it, by labels: "outlook.example.com" is
 * another company's server), or else the recipient's domain is one of
 * its domains. With no remote host known, the host that wrote the report
 * (Reporting-MTA) goes last: the words are then its own, as in Exchange
 * Online's report on a mailbox of its own tenant; a reporting host that
 * relayed elsewhere quotes the server it met, which the remote host names
 * when the report says. Through the reporting host a provider's rule
 * never says the address is gone (a relay may quote a server it does not
 * name).
 * The rules see the diagnostic and a line "status=... command=..." (see
 * bounce_tables.c). */
static gboolean
rhost_reason(const BounceRecipient *r, const char *reporting_mta, const char *diag, BounceMatch *m)
{
    /* "<diag>\nstatus=<status> command=<command>", on the stack when it
     * fits (a recipient's diagnostic is at most BOUNCE_MAX_DIAGNOSTIC
     * bytes): one for each recipient's classification. */
    const char *command = r->smtp_command != NULL ? r->smtp_command : "";
    char local[BOUNCE_MAX_DIAGNOSTIC + 256];
    g_autofree char *heap = NULL;
    const char *subject = local;
    gsize len = (gsize)g_snprintf(local, sizeof(local), "%s\nstatus=%s command=%s", diag,
                                  r->status, command);

    if (len >= sizeof(local))
        subject = heap = g_strdup_printf("%s\nstatus=%s command=%s", diag, r->status, command);

    if (bounce_rules_first_domain(BOUNCE_TABLE_RHOST_REASON, r->remote_mta, subject, len, m)
        || bounce_rules_first_domain(BOUNCE_TABLE_RHOST_REASON, rcpt_domain(r), subject, len, m))
        return TRUE;
    /* The reporting host may be a relay quoting a server it does not
     * name ("552 5.2.2 <x@example.net>: mailbox full" through Exchange
     * Online): its table may say the recipient is gone only where the
     * generic rules would. */
    return r->remote_mta[0] == '\0'
        && bounce_rules_first_domain(BOUNCE_TABLE_RHOST_REASON, reporting_mta, subject, len, m)
        && !bounce_reason_is_final(m->rule->value);
}

/* classify_reason - provider wording, then the SMTP-reply pass, then the
 * code, then the wording again in a broader order, then what little the
 * class and action say. read_as_delay: read as a report's delay (expired
 * unless a passing condition is named), as for Action: delayed;
 * still_trying: the recipient is delayed, however it came to be, so that
 * nothing may say its address is gone. */
static void
classify_reason(BounceRecipient *r, const char *reporting_mta, gboolean read_as_delay,
                gboolean still_trying)
{
    char diag_local[BOUNCE_MAX_DIAGNOSTIC + 1];
    g_autofree char *diag_heap = NULL;
    const char *diag = diag_unwrap(r->diagnostic, diag_local, sizeof(diag_local), &diag_heap);
    gsize len = strlen(diag);
    const char *code = bounce_reason_from_status(r->status);
    gboolean smtp = r->diagnostic_type == NULL || strcmp(r->diagnostic_type, "SMTP") == 0;
    ReasonHits hits = { { NULL }, { NULL }, 0, NULL };
    BounceMatch m;
    /* answered before the message was sent: at MAIL FROM or the greeting */
    gboolean before_message = g_strcmp0(r->smtp_command, "MAIL") == 0
                              || g_strcmp0(r->smtp_command, "HELO") == 0
                              || g_strcmp0(r->smtp_command, "CONN") == 0;
    gboolean spam_before_message = FALSE;

    g_autofree char *preset = r->reason[0] != '\0' ? g_strdup(r->reason) : NULL;
    g_autofree char *preset_rule = preset != NULL ? g_strdup(r->rule) : NULL;

    if (r->status[0] == '2' || strcmp(r->action, "delivered") == 0
        || strcmp(r->action, "relayed") == 0 || strcmp(r->action, "expanded") == 0) {
        /* A delivery its words decided (classify_codes) keeps their rule. */
        if (strcmp(r->reason, "delivered") != 0)
            reason_set(r, "delivered", "status-2xx");
        return;
    }
    /* The reporting MTA's own words decided (bounce_mta_preset): they
     * stand, unless they only said something vague, or said the address
     * is gone in a report still trying it: as with a provider's or a
     * vendor's rule below, "Unrouteable address" or "Domain does not
     * exist" in a delay notice is a lookup the sender will repeat. */
    if (preset != NULL && still_trying && bounce_reason_is_final(preset)) {
        g_clear_pointer(&preset, g_free);
        bounce_recipient_set(&r->reason, "");
    }
    if (preset != NULL && !str_in(preset, reason_retry, G_N_ELEMENTS(reason_retry)))
        return;
    /* A provider's or a vendor's meaning decides, except that a report
     * still trying the address (Action: delayed) cannot say it is gone:
     * Gmail's "DNS server returned answer with no data" in a delay
     * notice is a lookup it will repeat. Such a report goes on to the
     * delay's own reading below; so does a notice whose words say it is
     * still trying. */
    if (rhost_reason(r, reporting_mta, diag, &m)
        && !(still_trying && bounce_reason_is_final(m.rule->value))) {
        reason_set(r, m.rule->value, m.rule->id);
        return;
    }
    if (bounce_rules_first(BOUNCE_TABLE_VENDOR_REASON, diag, len, &m)
        && !(still_trying && bounce_reason_is_final(m.rule->value))) {
        reason_set(r, m.rule->value, m.rule->id);
        return;
    }
    hits.command = r->smtp_command;
    if (len > 0)
        bounce_rules_each(BOUNCE_TABLE_REASON, diag, len, reason_hit_wanted, reason_hit_add, &hits);
    if (read_as_delay) {
        /* The report says delivery is still being tried: the message is
         * waiting out its queue time (expired), unless the last attempt
         * met a passing condition worth telling apart. The wording may
         * say a full mailbox or system, or too many connections; the
         * status code may say so too, or a bad connection (X.4.2). Words
         * about the address (user unknown) say nothing of a delay, and a
         * network wording alone is too often another recipient's. */
        static const char *const by_words[] = { "mailboxfull", "systemfull", "toomanyconn" };
        static const char *const by_code[] = { "mailboxfull", "systemfull", "toomanyconn",
                                               "networkerror" };

        for (gsize k = 0; k < G_N_ELEMENTS(by_words); k++) {
            const BounceRule *hit = reason_hit(&hits, by_words[k]);

            if (hit != NULL) {
                reason_set(r, by_words[k], hit->id);
                return;
            }
        }
        if (code != NULL && str_in(code, by_code, G_N_ELEMENTS(by_code)))
            reason_set(r, code, "status-code");
        else if (preset != NULL && (strcmp(preset, "networkerror") == 0 || strcmp(preset, "systemerror") == 0))
            /* the reporting MTA's own words for this recipient (Courier's
             * "DNS lookup failed.", qmail-ldap's failed LDAP lookup) */
            reason_set(r, preset, preset_rule);
        else
            reason_set(r, "expired", "action-delayed");
        return;
    }
    if ((smtp || !g_str_has_prefix(r->diagnostic_type, "X-UNIX")) && reason_first_pass(r, &hits, code))
        return;
    if (preset != NULL) {
        reason_set(r, preset, preset_rule);
        return;
    }
    if (code != NULL && !str_in(code, reason_vague_code, G_N_ELEMENTS(reason_vague_code))) {
        reason_set(r, code, "status-code");
        return;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(reason_order_other); i++) {
        const BounceRule *hit = reason_hit(&hits, reason_order_other[i]);

        /* As in the first pass: no recipient is judged at MAIL FROM
         * ("mailbox unavailable" there is about our sender). */
        if (hit != NULL && strcmp(reason_order_other[i], "userunknown") == 0
            && g_strcmp0(r->smtp_command, "MAIL") == 0)
            continue;
        /* As in the first pass: a temporary failure never makes a host
         * unknown. Postfix's "450 4.1.2 ... Recipient address rejected:
         * Domain not found", returned when the queue time ran out, is a
         * lookup that failed each time it was tried, not a domain known
         * to be gone. */
        if (hit != NULL && strcmp(reason_order_other[i], "hostunknown") == 0 && failure_is_temporary(r))
            continue;
        /* As in the first pass: a spam filter reads the message, so its
         * words in answer to MAIL FROM or the greeting say no more than
         * that the sending host was refused; another reason's words go
         * first ("Temporary failure in the anti-spam system"), and
         * failing any, below, the host is blocked. */
        if (hit != NULL && strcmp(reason_order_other[i], "spamdetected") == 0 && before_message) {
            spam_before_message = TRUE;
            continue;
        }
        if (hit != NULL) {
            reason_set(r, reason_order_other[i], hit->id);
            return;
        }
    }
    if (spam_before_message) {
        /* "Your mail is blocked automatically by anti-spam system" at
         * MAIL FROM, and no other reason's words: the sending host was
         * refused before any content was sent, whatever its 5.7.1 says. */
        reason_set(r, "blocked", strcmp(r->smtp_command, "MAIL") == 0 ? "command-mail" : "command-helo");
    } else if (r->smtp_command != NULL && strcmp(r->smtp_command, "MAIL") == 0
        && (code == NULL || str_in(code, (const char *const[]){ "userunknown", "filtered", "hostunknown" }, 3))) {
        /* Refused at MAIL FROM with nothing more specific said: the sender
         * was refused, whatever the code claims about a recipient. */
        reason_set(r, "rejected", "command-mail");
    } else if (code != NULL) {
        reason_set(r, code, "status-code");
    } else if (g_str_has_prefix(r->status, "5.6") || g_str_has_prefix(r->status, "4.6")) {
        reason_set(r, "contenterror", "status-class-6");
    } else if (g_str_has_prefix(r->status, "5.7") || g_str_has_prefix(r->status, "4.7")) {
        reason_set(r, "securityerror", "status-class-7");
    } else if (r->diagnostic_type != NULL && (g_str_has_prefix(r->diagnostic_type, "X-UNIX")
                                              || g_str_has_prefix(r->diagnostic_type, "X-POSTFIX"))) {
        reason_set(r, "mailererror", "diagnostic-type");
    } else if (r->replycode[0] != '\0' && r->replycode[1] == '0' && r->replycode[2] >= '1'
               && r->replycode[2] <= '7') {
        /* 501-507 name the command or its arguments; a bare 500 ("command
         * unrecognized", but also many servers' catch-all) says nothing
         * of the message and stays undecided. */
        reason_set(r, "syntaxerror", "replycode-50x");
    } else if (strcmp(r->action, "delayed") == 0) {
        reason_set(r, "expired", "action-delayed");
    } else if (r->smtp_command != NULL && (strcmp(r->smtp_command, "HELO") == 0
                                           || strcmp(r->smtp_command, "EHLO") == 0
                                           || strcmp(r->smtp_command, "CONN") == 0)) {
        /* Refused before anything about the message was said: the
         * sending host is (Postfix: "refused to talk to me"). */
        reason_set(r, "blocked", "command-helo");
    } else if (len > 0) {
        reason_set(r, "onhold", "no-rule");
    } else {
        reason_set(r, "undefined", "no-rule");
    }
}

const char BOUNCE_COMMAND_NONE[] = "";

const char *
bounce_command_last(const char *text, gsize len)
{
    BounceMatch m;
    const char *name;

    if (text == NULL || !bounce_rules_last(BOUNCE_TABLE_COMMAND, text, len, &m))
        return NULL;
    name = m.rule->value != NULL ? m.rule->value
                                 : bounce_command_name(text + m.start, m.end - m.start);
    return name != NULL ? name : BOUNCE_COMMAND_NONE;
}

/* classify_command - the SMTP command the failure answered: from the
 * diagnostic, else the one the caller found for this recipient
 * (command_hint: a session transcript's command sent before its first
 * line about it, or its own paragraph's in a notice about several, where
 * another's "in reply to MAIL FROM" must not become its own), else the
 * last one in the text around it. */
static void
classify_command(BounceRecipient *r, const char *context, gsize context_len,
                 const char *command_hint)
{
    const char *name;

    if (r->smtp_command != NULL)
        return;
    name = bounce_command_last(r->diagnostic, strlen(r->diagnostic));
    if (name == NULL)
        name = command_hint != NULL ? command_hint : bounce_command_last(context, context_len);
    if (name != NULL && name != BOUNCE_COMMAND_NONE)
        r->smtp_command = g_strdup(name);
}

const char *
bounce_command_name(const char *word, gsize len)
{
    g_autofree char *cmd = g_ascii_strup(word, (gssize)len);

    if (g_str_has_prefix(cmd, "RCPT") || strcmp(cmd, "RECIPIENT") == 0)
        return "RCPT";
    if (g_str_has_prefix(cmd, "MAIL"))
        return "MAIL";
    if (strstr(cmd, "DATA") != NULL || strcmp(cmd, "MESSAGE") == 0)
        return "DATA";
    if (g_str_has_prefix(cmd, "EHLO") || g_str_has_prefix(cmd, "HELO"))
        return "HELO";
    if (g_str_has_prefix(cmd, "INITIAL"))
        return "CONN";
    return NULL;
}

/* classify_mda - a delivery report whose text carries a local delivery
 * agent's line (mail.local, procmail, Dovecot, ...): that agent had the
 * last word on the recipient, unless the report gives the delivery
 * program's own exit status (X-Unix). */
static void
classify_mda(BounceRecipient *r, const char *context, gsize context_len)
{
    BounceMatch m;

    if (r->reason[0] != '\0' || context == NULL
        || (r->diagnostic_type != NULL && g_str_has_prefix(r->diagnostic_type, "X-")))
        return;
    if (!bounce_rules_first(BOUNCE_TABLE_MDA_REASON, context, context_len, &m))
        return;
    bounce_recipient_set(&r->reason, m.rule->value);
    bounce_recipient_set(&r->rule, m.rule->id);
    if (r->diagnostic[0] == '\0') {
        /* the agent's paragraph: its line and the ones up to a blank line */
        const char *start = context + m.match_start, *end = context + context_len;
        const char *blank = g_strstr_len(start, end - start, "\n\n");

        g_free(r->diagnostic);
        r->diagnostic = bounce_fold(start, (gsize)((blank != NULL ? blank : end) - start));
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
    } else if (r->status[0] == '5' && strcmp(reason, "suspend") != 0
               && strcmp(r->action, "delayed") != 0) {
        /* A 5xx quoted in a delay notice is an earlier attempt's: the
         * sender is still trying, which SES calls Transient. */
        type = "Permanent";
        sub = "General";
    } else {
        type = "Transient";
        sub = "General";
    }
    bounce_recipient_set(&r->bounce_type, type);
    bounce_recipient_set(&r->bounce_subtype, sub);
}

/* classify_remote_host - the host that refused, from the failure's own
 * words when no Remote-MTA field named it ("host mx.example.com[192.0.2.1]
 * said:"): support staff see it, and the provider's rules go by it. */
static void
classify_remote_host(BounceRecipient *r)
{
    BounceMatch m;
    g_autofree char *host = NULL;

    if (r->remote_mta[0] != '\0'
        || !bounce_rules_first(BOUNCE_TABLE_REMOTE_HOST, r->diagnostic, strlen(r->diagnostic), &m))
        return;
    host = g_ascii_strdown(r->diagnostic + m.start, m.end - m.start);
    bounce_recipient_set(&r->remote_mta, host);
}

void
bounce_classify(BounceRecipient *r, BounceKind kind, const char *context, gsize context_len,
                const char *command_hint, const char *reporting_mta)
{
    gboolean reported_delayed, still_trying;

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
    /* Delayed before the codes are read: an Action field, or in prose a
     * delay's heading or subject over a recipient with no code or a
     * permanent one. */
    reported_delayed = strcmp(r->action, "delayed") == 0;
    if (kind == BOUNCE_KIND_DSN)
        classify_mda(r, context, context_len);
    classify_codes(r, context, context_len);
    /* Delayed, whether an Action field or the notice's words said so. */
    still_trying = strcmp(r->action, "delayed") == 0;
    classify_command(r, context, context_len, command_hint);
    classify_remote_host(r);
    classify_reason(r, reporting_mta, reported_delayed, still_trying);
    /* A delay the notice's words told keeps the reason its wording gives
     * (a full mailbox, a missing PTR, a system error), as for a failure;
     * but not one that says the address is gone ("550 5.1.1 User unknown"
     * from an earlier attempt): that is read as a report's delay is. */
    if (still_trying && !reported_delayed && bounce_reason_is_final(r->reason))
        classify_reason(r, reporting_mta, TRUE, TRUE);
    /* A null MX (notaccept) is hard only as a permanent failure; nothing
     * the sender is still trying is hard. */
    r->hard = !still_trying && bounce_reason_is_final(r->reason)
        && (strcmp(r->reason, "notaccept") != 0
            || (r->status[0] != '4' && (r->status[0] != '\0' || r->replycode[0] != '4')));
    if (strcmp(r->reason, "delivered") != 0)
        classify_ses(r);
}
