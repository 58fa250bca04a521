/* bounce_dsn.c - delivery-status fields (RFC 3464 §2.2/§2.3, RFC 6533) into
 * recipients; also used for DSN fields pasted into plain text. */
#include <string.h>

#include "bouncer/bounce_private.h"

/* strip_type - "dns; mx.example.com" -> "mx.example.com" (the type names the
 * syntax of what follows, RFC 3464 §2.1.2). (transfer none, into value) */
static const char *
strip_type(const char *value)
{
    const char *semi = strchr(value, ';');

    if (semi == NULL)
        return value;
    for (const char *p = value; p < semi; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != ' ')
            return value;
    }
    semi++;
    while (*semi == ' ')
        semi++;
    return semi;
}

/* dsn_recipient_address - the address of a Final- or Original-Recipient
 * field. Under the "utf-8" type (RFC 6533 §3) a character the field could
 * not carry as it is may be written as \x{HEX}; such escapes are decoded
 * ("j\x{F6}rg@example.de" is jörg@). An escape that does not name a
 * Unicode scalar value outside ASCII is left as written. (transfer full) */
static char *
dsn_recipient_address(const char *value)
{
    const char *addr = strip_type(value);
    g_autoptr(GString) out = NULL;

    if (addr == value || g_ascii_strncasecmp(value, "utf-8", 5) != 0
        || strstr(addr, "\\x{") == NULL)
        return bounce_addr_clean(addr);
    out = g_string_sized_new(strlen(addr));
    for (const char *p = addr; *p != '\0';) {
        if (p[0] == '\\' && p[1] == 'x' && p[2] == '{') {
            const char *q = p + 3;
            guint32 c = 0;
            int digits = 0;

            while (g_ascii_isxdigit(*q) && digits < 6) {
                c = c << 4 | (guint32)g_ascii_xdigit_value(*q++);
                digits++;
            }
            /* Only what an address could not carry as it is: an ASCII
             * character written this way (a line end, an '@') is left
             * alone rather than let change the address. */
            if (*q == '}' && digits > 0 && c >= 0x80 && g_unichar_validate(c)) {
                g_string_append_unichar(out, c);
                p = q + 1;
                continue;
            }
        }
        g_string_append_c(out, *p++);
    }
    return bounce_addr_clean(out->str);
}

/* dsn_action - the action-value (RFC 3464 §2.3.3) in its plain form; some
 * MTAs write "failure" or add a comment. */
static char *
dsn_action(const char *value)
{
    static const struct { const char *prefix, *action; } map[] = {
        { "fail", "failed" }, { "delay", "delayed" }, { "deliver", "delivered" },
        { "relay", "relayed" }, { "expand", "expanded" }, { "expire", "failed" },
        { "bounce", "failed" }, { "reject", "failed" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(map); i++) {
        if (g_ascii_strncasecmp(value, map[i].prefix, strlen(map[i].prefix)) == 0)
            return g_strdup(map[i].action);
    }
    return g_ascii_strdown(value, -1);
}

/* dsn_status - the first "n.n.n" in a Status value. */
static char *
dsn_status(const char *value)
{
    const char *p = value;

    while (*p != '\0') {
        if ((*p == '2' || *p == '4' || *p == '5') && p[1] == '.' && g_ascii_isdigit(p[2])) {
            const char *q = p + 2;

            while (g_ascii_isdigit(*q))
                q++;
            if (*q == '.' && g_ascii_isdigit(q[1])) {
                q++;
                while (g_ascii_isdigit(*q))
                    q++;
                if (q - p <= 11)
                    return g_strndup(p, q - p);
            }
        }
        p++;
    }
    return g_strdup("");
}

/* dsn_is_reply - value opens with an SMTP reply code and its words
 * ("553 Exceeded maximum inbound message size"). */
static gboolean
dsn_is_reply(const char *value)
{
    return (value[0] == '4' || value[0] == '5') && g_ascii_isdigit(value[1])
           && g_ascii_isdigit(value[2]) && (value[3] == ' ' || value[3] == '-') && value[4] != '\0';
}

/* PowerMTA classifies each failure in its own per-recipient field
 * (X-PowerMTA-BounceCategory); its categories, as reasons. */
static const struct {
    const char *category, *reason;
} dsn_pmta_categories[] = {
    { "bad-domain", "hostunknown" },        { "bad-mailbox", "userunknown" },
    { "inactive-mailbox", "suspend" },      { "message-expired", "expired" },
    { "no-answer-from-host", "networkerror" }, { "policy-related", "policyviolation" },
    { "quota-issues", "mailboxfull" },      { "routing-errors", "systemerror" },
    { "spam-related", "spamdetected" },
};

/* dsn_category_reason - the reason for a PowerMTA bounce category, or NULL. */
static const char *
dsn_category_reason(const char *value)
{
    for (gsize i = 0; i < G_N_ELEMENTS(dsn_pmta_categories); i++) {
        if (g_ascii_strcasecmp(value, dsn_pmta_categories[i].category) == 0)
            return dsn_pmta_categories[i].reason;
    }
    return NULL;
}

/* dsn_is_recipient_field - a per-recipient field (RFC 3464 §2.3). */
static gboolean
dsn_is_recipient_field(const char *name)
{
    static const char *const names[] = { "Action", "Status", "Diagnostic-Code", "Remote-MTA",
                                         "Last-Attempt-Date", "Will-Retry-Until",
                                         "X-PowerMTA-BounceCategory" };

    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        if (g_ascii_strcasecmp(name, names[i]) == 0)
            return TRUE;
    }
    return FALSE;
}

/* dsn_recipient_done - keep a recipient that names an address. */
static void
dsn_recipient_done(BounceReport *report, BounceRecipient **rcpt, char **original)
{
    BounceRecipient *r = *rcpt;

    if (r != NULL && r->addr[0] == '\0' && *original != NULL)
        bounce_recipient_set(&r->addr, *original);
    if (r != NULL && r->addr[0] != '\0' && report->recipients->len < BOUNCE_MAX_RECIPIENTS)
        g_ptr_array_add(report->recipients, r);
    else
        bounce_recipient_free(r);
    *rcpt = NULL;
    g_clear_pointer(original, g_free);
}

/* A block of fields between blank lines. */
typedef struct {
    guint first;              /* index of its first field */
    guint finals, originals;  /* its Final- and Original-Recipient fields */
    guint actuals;            /* its X-Actual-Recipient fields */
} DsnBlock;

/* bounce_dsn_read_text - read DSN fields from text: blank lines separate
 * the per-message block from the per-recipient blocks, and a recipient's
 * fields may come in any order within its block (RFC 3464 2.3). Broken
 * reports omit the blank lines, so within one block a new recipient also
 * starts at each Final-Recipient (or at an Original-Recipient that comes
 * before one). */
void
bounce_dsn_read_text(BounceReport *report, const char *text, gsize len)
{
    g_autoptr(BounceFields) fields = bounce_fields_new();
    g_autoptr(GArray) blocks = g_array_new(FALSE, TRUE, sizeof(DsnBlock));
    BounceRecipient *rcpt = NULL;
    char *original = NULL;
    gboolean have_final = FALSE;
    gsize pos = 0;
    guint b = 0;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        gsize line_end = nl != NULL ? (gsize)(nl - text) : len;
        gsize k = pos;
        gsize used;

        while (k < line_end && (text[k] == ' ' || text[k] == '\t'))
            k++;
        if (k == line_end) {        /* blank line between blocks */
            pos = line_end + 1;
            continue;
        }
        {
            DsnBlock block = { fields->fields->len, 0, 0, 0 };

            used = bounce_fields_parse(fields, text + pos, len - pos, TRUE);
            for (guint i = block.first; i < fields->fields->len; i++) {
                const BounceField *f = &g_array_index(fields->fields, BounceField, i);

                block.finals += bounce_field_is(f, "Final-Recipient");
                block.originals += bounce_field_is(f, "Original-Recipient");
                block.actuals += bounce_field_is(f, "X-Actual-Recipient");
            }
            if (fields->fields->len > block.first)
                g_array_append_val(blocks, block);
        }
        pos = used == 0 ? line_end + 1 : pos + used;
    }

    for (guint i = 0; i < fields->fields->len; i++) {
        const BounceField *f = &g_array_index(fields->fields, BounceField, i);
        const char *v = bounce_field_value(f);
        const DsnBlock *block;

        while (b + 1 < blocks->len && g_array_index(blocks, DsnBlock, b + 1).first <= i)
            b++;
        block = &g_array_index(blocks, DsnBlock, b);
        /* A block that names a recipient is a new one, whatever the order
         * of its fields. */
        if (i == block->first && block->finals + block->originals + block->actuals > 0 && rcpt != NULL
            && (have_final || original != NULL || rcpt->addr[0] != '\0')) {
            dsn_recipient_done(report, &rcpt, &original);
            have_final = FALSE;
        }
        if (bounce_field_is(f, "Final-Recipient")
            || bounce_field_is(f, "X-Actual-Recipient")) {
            g_autofree char *addr = dsn_recipient_address(v);
            gboolean actual = bounce_field_is(f, "X-Actual-Recipient");

            if (actual) {
                /* Postfix adds the address after alias expansion; the
                 * Final-Recipient stays the one that was sent to. A
                 * report that lost its Final-Recipient still names the
                 * recipient by it: a recipient of its own then, which a
                 * Final-Recipient after it in the block renames. */
                if (rcpt == NULL && addr != NULL) {
                    rcpt = bounce_recipient_new();
                    have_final = FALSE;
                }
                if (rcpt != NULL && rcpt->addr[0] == '\0' && addr != NULL)
                    bounce_recipient_set(&rcpt->addr, addr);
                continue;
            }
            if (rcpt != NULL && have_final)
                dsn_recipient_done(report, &rcpt, &original);
            if (rcpt == NULL)
                rcpt = bounce_recipient_new();
            have_final = TRUE;
            if (addr != NULL)
                bounce_recipient_set(&rcpt->addr, addr);
        } else if (bounce_field_is(f, "Original-Recipient")) {
            g_autofree char *addr = dsn_recipient_address(v);

            /* Original-Recipient may come before or after Final-Recipient;
             * in a block of several recipients it starts the next one once
             * this one is complete. */
            if (rcpt != NULL && (block->finals > 1 || block->originals > 1)
                && (original != NULL || (have_final && rcpt->status[0] != '\0'))) {
                dsn_recipient_done(report, &rcpt, &original);
                have_final = FALSE;
            }
            if (rcpt == NULL) {
                rcpt = bounce_recipient_new();
                have_final = FALSE;
            }
            g_free(original);
            original = g_steal_pointer(&addr);
        } else if (bounce_field_is(f, "Reporting-MTA")) {
            if (report->reporting_mta == NULL)
                report->reporting_mta = g_strdup(strip_type(v));
        } else if (bounce_field_is(f, "Arrival-Date")) {
            if (report->arrival_date == NULL)
                report->arrival_date = g_strdup(v);
        } else if (rcpt == NULL && !dsn_is_recipient_field(f->name)) {
            continue;       /* a per-message field we do not keep */
        } else if (rcpt == NULL) {
            /* Some MTAs (Facebook) write Final-Recipient last: start the
             * recipient at its first field. */
            rcpt = bounce_recipient_new();
            have_final = FALSE;
            i--;
            continue;
        } else if (bounce_field_is(f, "Action")) {
            g_free(rcpt->action);
            rcpt->action = dsn_action(v);
            /* "Action: expired" (SendGrid) is no RFC 3464 action but says
             * why: the time to deliver ran out, whatever the last
             * attempt's answer was. */
            if (g_ascii_strncasecmp(v, "expire", 6) == 0 && rcpt->reason[0] == '\0') {
                bounce_recipient_set(&rcpt->reason, "expired");
                bounce_recipient_set(&rcpt->rule, "dsn-action-expired");
            }
        } else if (bounce_field_is(f, "Status")) {
            g_free(rcpt->status);
            rcpt->status = dsn_status(v);
            /* "Status: 553 Exceeded maximum inbound message size": an
             * MTA that wrote the server's reply where the code belongs.
             * The reply is what the recipient has to say, unless a
             * Diagnostic-Code says it too. */
            if (rcpt->status[0] == '\0' && rcpt->diagnostic[0] == '\0' && dsn_is_reply(v))
                bounce_recipient_set(&rcpt->diagnostic, v);
        } else if (bounce_field_is(f, "Diagnostic-Code")) {
            const char *semi = strchr(v, ';');

            if (semi != NULL && semi - v < 20) {
                g_free(rcpt->diagnostic_type);
                rcpt->diagnostic_type = g_ascii_strup(v, semi - v);
                g_strstrip(rcpt->diagnostic_type);
            }
            bounce_recipient_set(&rcpt->diagnostic, strip_type(v));
        } else if (bounce_field_is(f, "Remote-MTA")) {
            bounce_recipient_set(&rcpt->remote_mta, strip_type(v));
        } else if (bounce_field_is(f, "Last-Attempt-Date")) {
            bounce_recipient_set(&rcpt->last_attempt_date, v);
        } else if (bounce_field_is(f, "Will-Retry-Until")) {
            bounce_recipient_set(&rcpt->will_retry_until, v);
        } else if (bounce_field_is(f, "X-PowerMTA-BounceCategory")) {
            const char *reason = dsn_category_reason(v);

            /* the sending MTA's own verdict, as bounce_mta_preset() gives */
            if (reason != NULL) {
                bounce_recipient_set(&rcpt->reason, reason);
                bounce_recipient_set(&rcpt->rule, "dsn-pmta-category");
            }
        }
    }
    dsn_recipient_done(report, &rcpt, &original);
}

void
bounce_dsn_read(BounceReport *report, const BounceParts *parts)
{
    bounce_dsn_read_text(report, parts->report->str, parts->report->len);
}
