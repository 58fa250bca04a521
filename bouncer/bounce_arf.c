/* bounce_arf.c - feedback reports (RFC 5965 §3.1, §3.2) into one recipient
 * per complained-about address. */
#include <string.h>

#include "bouncer/bounce_private.h"

/* arf_add - one complaint recipient; addr may be "" when the report does
 * not say who complained (redacted reports). */
static void
arf_add(BounceReport *report, const char *addr, const char *feedback_type)
{
    BounceRecipient *r = bounce_recipient_new();

    bounce_recipient_set(&r->addr, addr);
    r->feedbacktype = g_strdup(feedback_type);
    g_ptr_array_add(report->recipients, r);
}

/* arf_add_list - every address of a header value such as To. */
static guint
arf_add_list(BounceReport *report, const char *value, const char *feedback_type)
{
    g_auto(GStrv) items = NULL;
    guint added = 0;

    if (value == NULL)
        return 0;
    items = g_strsplit(value, ",", 64);
    for (guint i = 0; items[i] != NULL; i++) {
        g_autofree char *addr = bounce_addr_clean(items[i]);

        if (addr != NULL) {
            arf_add(report, addr, feedback_type);
            added++;
        }
    }
    return added;
}

void
bounce_arf_read(BounceReport *report, const BounceParts *parts)
{
    g_autoptr(BounceFields) fields = bounce_fields_new();
    const char *text = parts->report->str;
    gsize len = parts->report->len, pos = 0;
    const char *type;
    g_autofree char *ftype = NULL;
    guint added = 0;

    while (pos < len) {
        gsize used = bounce_fields_parse(fields, text + pos, len - pos, TRUE);

        pos += used + 1;
    }
    type = bounce_fields_get(fields, "Feedback-Type");
    ftype = g_ascii_strdown(type != NULL && *type != '\0' ? type : "abuse", -1);
    /* The type is one token; a comment after it ("abuse (user clicked
     * spam)") is not part of it. */
    ftype[strcspn(ftype, " \t(")] = '\0';
    if (ftype[0] == '\0') {
        g_free(ftype);
        ftype = g_strdup("abuse");
    }
    report->feedback_type = g_strdup(ftype);
    report->original_mail_from = bounce_addr_clean(bounce_fields_get(fields, "Original-Mail-From"));
    report->source_ip = g_strdup(bounce_fields_get(fields, "Source-IP"));
    report->user_agent = g_strdup(bounce_fields_get(fields, "User-Agent"));
    if (report->arrival_date == NULL)
        report->arrival_date = g_strdup(bounce_fields_get(fields, "Arrival-Date"));
    /* RFC 5965 §3.2: "Reporting-MTA: dns; mail.example.net", optional. */
    if (report->reporting_mta == NULL && bounce_fields_get(fields, "Reporting-MTA") != NULL) {
        const char *mta = bounce_fields_get(fields, "Reporting-MTA");
        const char *semi = strchr(mta, ';');

        report->reporting_mta = g_strstrip(g_strdup(semi != NULL ? semi + 1 : mta));
    }

    for (guint i = 0; i < fields->fields->len && report->recipients->len < BOUNCE_MAX_RECIPIENTS; i++) {
        const BounceField *f = &g_array_index(fields->fields, BounceField, i);

        if (bounce_field_is(f, "Original-Rcpt-To")
            || bounce_field_is(f, "Removal-Recipient"))
            added += arf_add_list(report, bounce_field_value(f), ftype);
    }
    /* Reports that omit Original-Rcpt-To: the complainer is whom the
     * returned original was addressed to; Outlook.com redacts that To:
     * and names the complainer in a header of its own. */
    if (added == 0 && parts->original != NULL)
        added = arf_add_list(report, bounce_fields_get(parts->original, "X-HmXmrOriginalRecipient"),
                             ftype);
    if (added == 0 && parts->original != NULL)
        added = arf_add_list(report, bounce_fields_get(parts->original, "To"), ftype);
    if (added == 0)
        arf_add(report, "", ftype);
}

gboolean
bounce_arf_read_headers(BounceReport *report, const BounceParts *parts)
{
    const char *subject = parts->subject_bare;
    BounceMatch m;
    guint added = 0;

    const char *unsub = bounce_fields_get(parts->headers, "X-Apple-Unsubscribe");

    if (unsub != NULL && g_ascii_strncasecmp(unsub, "true", 4) == 0) {
        /* Apple Mail's unsubscribe button: an opt-out from the sender. */
        g_autofree char *addr = bounce_addr_clean(bounce_fields_get(parts->headers, "From"));

        report->feedback_type = g_strdup("opt-out");
        arf_add(report, addr != NULL ? addr : "", "opt-out");
        return TRUE;
    }
    if (subject == NULL || parts->original == NULL
        || !bounce_rules_first(BOUNCE_TABLE_COMPLAINT_SUBJECT, subject, strlen(subject), &m))
        return FALSE;
    report->feedback_type = g_strdup("abuse");
    added = arf_add_list(report, bounce_fields_get(parts->original, "X-HmXmrOriginalRecipient"), "abuse");
    if (added == 0)
        added = arf_add_list(report, bounce_fields_get(parts->original, "To"), "abuse");
    if (added == 0)
        arf_add(report, "", "abuse");
    return TRUE;
}
