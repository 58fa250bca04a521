/* bounce_report.c - one parse of one message: which reader applies, in
 * which order, and the report's own bookkeeping. */
#include <string.h>

#include "bouncer/bounce_private.h"
#include "common/gmime_autoptr.h"

static const char *const kind_names[] = {
    [BOUNCE_KIND_DSN] = "dsn",
    [BOUNCE_KIND_ARF] = "arf",
    [BOUNCE_KIND_AUTOREPLY] = "autoreply",
    [BOUNCE_KIND_NONSTANDARD] = "nonstandard",
    [BOUNCE_KIND_DELIVERED] = "delivered",
    [BOUNCE_KIND_NOTBOUNCE] = "notbounce",
    [BOUNCE_KIND_UNPARSEABLE] = "unparseable",
};

const char *
bounce_kind_to_string(BounceKind kind)
{
    if ((guint)kind >= G_N_ELEMENTS(kind_names))
        return "unparseable";
    return kind_names[kind];
}

gboolean
bounce_report_is_automated(const BounceReport *report)
{
    g_return_val_if_fail(report != NULL, FALSE);
    if (report->person_forward)
        return FALSE;
    return report->kind == BOUNCE_KIND_DSN || report->kind == BOUNCE_KIND_ARF
        || report->kind == BOUNCE_KIND_AUTOREPLY || report->kind == BOUNCE_KIND_NONSTANDARD
        || report->kind == BOUNCE_KIND_DELIVERED;
}

/* original_clear - free the strings of a BounceOriginal. */
static void
original_clear(BounceOriginal *o)
{
    g_free(o->message_id);
    g_free(o->return_path);
    g_free(o->from);
    g_free(o->to);
    g_free(o->subject);
    g_free(o->in_reply_to);
    g_free(o->references);
}

void
bounce_report_free(BounceReport *report)
{
    if (report == NULL)
        return;
    g_free(report->error);
    g_free(report->reporting_mta);
    g_free(report->arrival_date);
    g_free(report->feedback_type);
    g_free(report->original_mail_from);
    g_free(report->source_ip);
    g_free(report->user_agent);
    if (report->recipients != NULL)
        g_ptr_array_unref(report->recipients);
    original_clear(&report->original);
    g_free(report->subject);
    g_free(report->from);
    g_free(report->message_id);
    g_free(report->in_reply_to);
    g_free(report->references);
    g_free(report);
}

/* strip_angles - "<id@host>" -> "id@host". (transfer full) */
static char *
strip_angles(const char *value)
{
    const char *lt, *gt;

    if (value == NULL)
        return NULL;
    lt = strchr(value, '<');
    gt = lt != NULL ? strchr(lt, '>') : NULL;
    if (lt != NULL && gt != NULL)
        return g_strndup(lt + 1, gt - lt - 1);
    return g_strstrip(g_strdup(value));
}

/* report_headers - the message's own fields and the returned original's. */
static void
report_headers(BounceReport *report, const BounceParts *parts)
{
    const BounceFields *h = parts->headers;
    const BounceFields *o = parts->original;

    report->subject = g_strdup(parts->subject);
    report->from = bounce_fields_get_text(h, "From");
    report->message_id = strip_angles(bounce_fields_get(h, "Message-ID"));
    report->in_reply_to = g_strdup(bounce_fields_get(h, "In-Reply-To"));
    report->references = g_strdup(bounce_fields_get(h, "References"));
    if (o == NULL)
        return;
    report->original.message_id = strip_angles(bounce_fields_get(o, "Message-ID"));
    report->original.return_path = bounce_addr_clean(bounce_fields_get(o, "Return-Path"));
    report->original.from = bounce_fields_get_text(o, "From");
    report->original.to = bounce_fields_get_text(o, "To");
    report->original.subject = bounce_fields_get_text(o, "Subject");
    report->original.in_reply_to = g_strdup(bounce_fields_get(o, "In-Reply-To"));
    report->original.references = g_strdup(bounce_fields_get(o, "References"));
}

/* text_has_name - a field name (without its ':') somewhere in [p, end),
 * as a word of its own: at a line start or after blanks, in any case. */
static gboolean
text_has_name(const char *start, const char *p, const char *end, const char *name)
{
    while ((p = bounce_text_find_name(p, end, name)) != NULL) {
        if (p == start || g_ascii_isspace(p[-1]))
            return TRUE;
        p++;
    }
    return FALSE;
}

/* text_has_dsn_fields - DSN fields pasted into the text of a message that
 * is not a multipart/report (some MTAs, forwarded reports, a
 * delivery-status part labelled text/plain): a Final-, Original- or
 * X-Actual-Recipient line with an Action, a Status or a Reporting-MTA
 * (a truncated report may have lost the first two). Field names are
 * case-insensitive (RFC 3464 §2.1, after RFC 822). */
static gboolean
text_has_dsn_fields(const char *text, gsize len)
{
    const char *p = text, *end = text + len;

    while ((p = bounce_text_find_name(p, end, "recipient")) != NULL) {
        gsize before = (gsize)(p - text);
        /* Where the line would start: looked at, not walked back to (a
         * line of a thousand "recipient:" would be walked a thousand
         * times). */
        const char *line = before >= 6 && g_ascii_strncasecmp(p - 6, "Final-", 6) == 0 ? p - 6
                           : before >= 9 && g_ascii_strncasecmp(p - 9, "Original-", 9) == 0 ? p - 9
                           : before >= 9 && g_ascii_strncasecmp(p - 9, "X-Actual-", 9) == 0 ? p - 9
                           : NULL;

        if (line != NULL && (line == text || line[-1] == '\n'))
            return text_has_name(text, text, end, "action")
                   || text_has_name(text, text, end, "status")
                   || text_has_name(text, text, end, "reporting-mta");
        p += 10;
    }
    return FALSE;
}

/* report_returned_copy_at - where a mail system's own mark of the copy
 * it returns begins (qmail's "--- Below this line is a copy of the
 * message." and Exim's "This is a copy of the message"), or the text's
 * length when it has none. Those two return the message inline, in the
 * notice's own text: DSN fields past the mark are the returned message's
 * (our own forward of an older bounce), not this notice's. Other marks
 * are not used: a notice's "Below is a copy of the original message" may
 * stand before its own report part (relabelled text/plain), and a mail
 * client's "Forwarded message" line before the report a person pastes. */
static gsize
report_returned_copy_at(const GString *text)
{
    static const char *const marks[] = { "mark-qmail", "mark-exim" };
    gsize count = 0, at = text->len;
    const BounceRule *rules = bounce_tables_get(BOUNCE_TABLE_ORIGINAL_MARK, &count);
    BounceMatch m;

    /* Each of the two rules run once over the text: walking every mark
     * of the table in turn (bounce_rules_earliest from each one's end)
     * runs every rule again per mark, and a long quoted thread has
     * thousands of "Original message" lines. */
    for (gsize i = 0; i < count; i++) {
        for (gsize k = 0; k < G_N_ELEMENTS(marks); k++) {
            if (strcmp(rules[i].id, marks[k]) == 0
                && bounce_rules_try_text(BOUNCE_TABLE_ORIGINAL_MARK, i, text->str, text->len, &m)
                && m.match_start < at)
                at = m.match_start;
        }
    }
    return at;
}

/* diagnostic_is_bare_number - "Diagnostic-Code: X-Unix; 255": a local
 * program's exit status, which says nothing the notice's own line
 * ("554 5.3.0 unknown mailer error 255") does not say better. */
static gboolean
diagnostic_is_bare_number(const char *diag)
{
    const char *p = diag;

    while (*p == ' ')
        p++;
    if (!g_ascii_isdigit(*p))
        return FALSE;
    while (g_ascii_isdigit(*p))
        p++;
    while (*p == ' ')
        p++;
    return *p == '\0';
}

/* prose_last_reply - the last reply the text gives with a status code
 * ("550 5.0.0 <x@y>... Insufficient permission"), to its end: Sendmail
 * closes its transcript with its own line for the failure. What comes
 * before it is the program's output ("cannot connect to database:
 * connection refused"), a local matter, not the delivery's reason. */
static const char *
prose_last_reply(const char *text)
{
    const char *last = NULL;

    for (const char *p = text; *p != '\0'; p++) {
        const char *q;

        if ((p != text && p[-1] != ' ') || (p[0] != '4' && p[0] != '5') || !g_ascii_isdigit(p[1])
            || !g_ascii_isdigit(p[2]) || p[3] != ' ' || p[4] != p[0] || p[5] != '.')
            continue;
        q = p + 6;
        if (!g_ascii_isdigit(*q))
            continue;
        while (g_ascii_isdigit(*q))
            q++;
        if (*q != '.' || !g_ascii_isdigit(q[1]))
            continue;
        last = p;
    }
    return last;
}

/* dsn_fill_from_prose - a DSN recipient without a diagnostic takes the one
 * the human-readable part gives for it, so that the reporting MTA's own
 * words can be read (one with only a program's exit status takes the
 * MTA's closing reply line, when the text has one); then what those words
 * decide (bounce_mta_preset), whether the fields came in a delivery-status
 * part or pasted in text. */
static void
dsn_fill_from_prose(BounceReport *report, const BounceParts *parts)
{
    g_autoptr(BounceProseIndex) prose = NULL;
    const char *mta;

    for (guint i = 0; i < report->recipients->len; i++) {
        BounceRecipient *r = g_ptr_array_index(report->recipients, i);
        g_autofree char *diag = NULL;

        gboolean exit_status = diagnostic_is_bare_number(r->diagnostic);

        if (r->diagnostic[0] != '\0' && !exit_status)
            continue;
        /* Read once for all of them: the text is the same for each. */
        if (prose == NULL)
            prose = bounce_prose_index_new(parts);
        diag = bounce_prose_index_diagnostic_for(prose, r->addr);
        if (diag == NULL && report->recipients->len == 1)
            diag = bounce_prose_index_diagnostic_for(prose, NULL);
        if (diag != NULL && exit_status) {
            const char *reply = prose_last_reply(diag);

            if (reply != NULL)
                bounce_recipient_set(&r->diagnostic, reply);
        } else if (diag != NULL) {
            bounce_recipient_set(&r->diagnostic, diag);
        }
    }
    mta = bounce_mta_name(parts);
    for (guint i = 0; i < report->recipients->len; i++)
        bounce_mta_preset(g_ptr_array_index(report->recipients, i), mta);
}

/* report_kind_dsn - DELIVERED when every recipient was delivered: its
 * Action says so, or, with no Action that says otherwise, its Status.
 * "Action: failed" beside "Status: 2.0.0" is a failure (classify_codes). */
static BounceKind
report_kind_dsn(const BounceReport *report)
{
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (strcmp(r->action, "failed") == 0 || strcmp(r->action, "delayed") == 0)
            return BOUNCE_KIND_DSN;
        if (strcmp(r->action, "delivered") != 0 && strcmp(r->action, "relayed") != 0
            && strcmp(r->action, "expanded") != 0 && r->status[0] != '2')
            return BOUNCE_KIND_DSN;
    }
    return BOUNCE_KIND_DELIVERED;
}

/* report_gateway_bounce - a message marked as an auto-reply is a
 * gateway's bounce all the same (read into report) when its text has a
 * mail system's own words for one: Postfix's "This is the mail system at
 * host", Exim's, qmail's, Sendmail's or OpenSMTPD's banner, which no
 * person's auto-reply uses; or a notice's generic words ("your message
 * could not be delivered") with a recipient whose text has a code of its
 * own — an out-of-office says those words too ("... could not be
 * delivered to me until June 1st; write to deputy@..."), without a 550.
 * A list's or a group's letters (fml, Google Groups), which may come
 * marked auto-replied, are not among them. */
static gboolean
report_gateway_bounce(BounceReport *report, BounceParts *parts)
{
    static const char *const banners[] = { "body-postfix", "body-exim", "body-qmail",
                                           "body-sendmail", "body-opensmtpd" };
    static const char *const generic[] = { "body-generic", "body-generic-more" };
    gboolean banner = FALSE, words = FALSE;
    BounceMatch m;

    if (!bounce_rules_first(BOUNCE_TABLE_BOUNCE_BODY, parts->text->str, parts->text->len, &m))
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(banners); i++)
        banner = banner || strcmp(m.rule->id, banners[i]) == 0;
    for (gsize i = 0; i < G_N_ELEMENTS(generic); i++)
        words = words || strcmp(m.rule->id, generic[i]) == 0;
    if ((!banner && !words) || !bounce_prose_read(report, parts))
        return FALSE;
    if (banner)
        return TRUE;
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (bounce_text_has_code(r->diagnostic))
            return TRUE;
    }
    g_ptr_array_set_size(report->recipients, 0);
    return FALSE;
}

/* report_autoreply - the auto-reply's sender is the recipient it speaks of. */
static void
report_autoreply(BounceReport *report, const BounceParts *parts, const char *rule)
{
    BounceRecipient *r = bounce_recipient_new();
    g_autofree char *addr = bounce_addr_clean(bounce_fields_get(parts->headers, "From"));

    bounce_recipient_set(&r->addr, addr);
    bounce_recipient_set(&r->rule, rule);
    g_ptr_array_add(report->recipients, r);
    report->kind = BOUNCE_KIND_AUTOREPLY;
}

static gboolean report_person_reply(const BounceParts *parts);
static gboolean report_person_subject_only(const BounceReport *report, const BounceParts *parts);
static gboolean report_list_mail(const BounceParts *parts);

/* report_read - decide the kind and fill the recipients. */
static void
report_read(BounceReport *report, BounceParts *parts)
{
    const char *rule = NULL;

    if (parts->report_type == BOUNCE_REPORT_ARF) {
        bounce_arf_read(report, parts);
        report->kind = BOUNCE_KIND_ARF;
        return;
    }
    if (parts->report_type == BOUNCE_REPORT_DSN)
        bounce_dsn_read(report, parts);
    if (report->recipients->len == 0 && text_has_dsn_fields(parts->text->str, parts->text->len)) {
        gsize upto = report_returned_copy_at(parts->text);

        if (upto == parts->text->len || text_has_dsn_fields(parts->text->str, upto))
            bounce_dsn_read_text(report, parts->text->str, upto);
    }
    if (report->recipients->len > 0) {
        dsn_fill_from_prose(report, parts);
        report->kind = report_kind_dsn(report);
        return;
    }
    if (bounce_ses_read(report, parts))
        return;
    if (bounce_arf_read_headers(report, parts)) {
        report->kind = BOUNCE_KIND_ARF;
        return;
    }
    /* Explicit auto-reply headers win over the wording; a mailer-daemon
     * that marks its bounces auto-replied is caught by the From rule,
     * Exchange, which marks its non-delivery reports so too, says what
     * they are in a header of its own, and a gateway whose From is neither
     * is known by a mail system's words when they name a recipient. */
    if (bounce_autoreply_check(parts, &rule)) {
        if (bounce_fields_get(parts->headers, "X-MS-Exchange-Message-Is-Ndr") == NULL
            && !bounce_from_daemon(parts, NULL)
            && !report_gateway_bounce(report, parts)) {
            report_autoreply(report, parts, rule);
            return;
        }
        if (report->recipients->len > 0) {
            report->kind = BOUNCE_KIND_NONSTANDARD;
            return;
        }
    }
    if (!report_person_reply(parts) && !report_list_mail(parts) && bounce_prose_read(report, parts)) {
        if (report_person_subject_only(report, parts)) {
            g_ptr_array_set_size(report->recipients, 0);
        } else {
            report->kind = BOUNCE_KIND_NONSTANDARD;
            return;
        }
    }
    /* Not a bounce: an automatic answer all the same when it says it
     * was generated (a ticket system's acknowledgement). */
    if (bounce_autoreply_generated(parts, &rule)) {
        report_autoreply(report, parts, rule);
        return;
    }
    report->kind = BOUNCE_KIND_NOTBOUNCE;
}

void
bounce_report_warm_up(void)
{
    gmime_init_once();
    bounce_rules_warm_up();
}

/* report_transcript_commands - for each address a Sendmail-style session
 * transcript names (">>> RCPT To:<a@b>", "<<< 550 5.1.1 <a@b>... User
 * unknown"), lower-cased, the command sent last before its first such
 * line; one pass over the text. A transcript may hold several sessions
 * ("... while talking to host:"), each starting without a command, so a
 * recipient refused at RCPT does not take the MAIL of the next session.
 * (transfer full: the values are static strings) */
static GHashTable *
report_transcript_commands(const char *text, gsize len)
{
    GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const char *command = NULL;
    gsize pos = 0;

    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        gsize line_len = nl != NULL ? (gsize)(nl - line) : len - pos;
        gsize k = 0;

        pos += line_len + 1;
        while (k < line_len && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (line_len - k >= 4 && memcmp(line + k, "... ", 4) == 0) {
            command = NULL;           /* "... while talking to": a new session */
            continue;
        }
        if (line_len - k < 4 || (memcmp(line + k, ">>> ", 4) != 0 && memcmp(line + k, "<<< ", 4) != 0))
            continue;
        if (line[k] == '>') {
            /* ">>> RCPT To:<a@b>": the word up to a blank or a colon */
            gsize w = k + 4;

            while (w < line_len && line[w] != ' ' && line[w] != ':')
                w++;
            command = bounce_command_name(line + k + 4, w - k - 4);
        }
        for (const char *open = memchr(line + k, '<', line_len - k); open != NULL;) {
            const char *end = line + line_len;
            const char *close = memchr(open + 1, '>', end - open - 1);
            g_autofree char *addr = NULL;

            if (close == NULL)
                break;
            if (command != NULL && memchr(open + 1, '@', close - open - 1) != NULL) {
                addr = g_ascii_strdown(open + 1, close - open - 1);
                if (!g_hash_table_contains(out, addr))
                    g_hash_table_insert(out, g_steal_pointer(&addr), (gpointer)command);
            }
            open = close + 1 < end ? memchr(close + 1, '<', end - close - 1) : NULL;
        }
    }
    return out;
}

/* A notice naming more recipients than this is not cut into paragraphs:
 * each address is looked for in the whole text. */
#define REPORT_PARAGRAPH_MAX 64

typedef struct {
    gsize at;                 /* start of the line the address is on */
    guint who;                /* index into the distinct addresses */
} ReportMention;

static gint
report_mention_cmp(gconstpointer a, gconstpointer b)
{
    const ReportMention *x = a, *y = b;

    return x->at < y->at ? -1 : x->at > y->at ? 1 : (gint)x->who - (gint)y->who;
}

/* report_paragraph_commands - in a notice about several recipients, for
 * each one the text names, lower-cased, the SMTP command of its own
 * paragraphs: the text from the line it is named on to the next line
 * naming another ("<a@x>: ... said: 550 5.1.1 ... (in reply to RCPT TO
 * command)"), the last command there; BOUNCE_COMMAND_NONE when its
 * paragraphs name none. Without this, every recipient without a command
 * of its own took the notice's last one: another's "in reply to MAIL
 * FROM" made an unknown user a refused sender. Empty when fewer than two
 * recipients are named. (transfer full: the values are static strings) */
static GHashTable *
report_paragraph_commands(const char *text, gsize len, GPtrArray *recipients)
{
    GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) mentions = g_array_new(FALSE, FALSE, sizeof(ReportMention));
    g_autofree char *lower = NULL;
    g_autofree const char **found = NULL;
    guint named = 0;

    if (text == NULL || len == 0 || recipients->len < 2)
        return out;
    for (guint i = 0; i < recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(recipients, i);
        g_autofree char *addr = g_ascii_strdown(r->addr, -1);
        gboolean seen = addr[0] == '\0';

        for (guint k = 0; k < addrs->len && !seen; k++)
            seen = strcmp(g_ptr_array_index(addrs, k), addr) == 0;
        if (!seen)
            g_ptr_array_add(addrs, g_steal_pointer(&addr));
    }
    if (addrs->len < 2 || addrs->len > REPORT_PARAGRAPH_MAX)
        return out;
    lower = g_ascii_strdown(text, (gssize)len);
    for (guint k = 0; k < addrs->len; k++) {
        const char *addr = g_ptr_array_index(addrs, k);
        gsize alen = strlen(addr);
        const char *at = lower;
        gboolean any = FALSE;

        while ((at = memmem(at, len - (gsize)(at - lower), addr, alen)) != NULL) {
            ReportMention m = { (gsize)(at - lower), k };

            while (m.at > 0 && lower[m.at - 1] != '\n')
                m.at--;
            g_array_append_val(mentions, m);
            any = TRUE;
            at += alen;
        }
        named += any;
    }
    if (named < 2)
        return out;
    g_array_sort(mentions, report_mention_cmp);
    found = g_new0(const char *, addrs->len);
    /* One look per paragraph, however often it repeats its address: a
     * look per mention would read the rest of the paragraph each time. */
    for (guint i = 0, j; i < mentions->len; i = j) {
        const ReportMention *m = &g_array_index(mentions, ReportMention, i);
        gsize end = len;
        const char *name;

        for (j = i + 1; j < mentions->len; j++) {
            const ReportMention *next = &g_array_index(mentions, ReportMention, j);

            if (next->who != m->who) {
                end = next->at;
                break;
            }
        }
        if (found[m->who] == NULL)
            found[m->who] = BOUNCE_COMMAND_NONE;
        if (end > m->at && (name = bounce_command_last(text + m->at, end - m->at)) != NULL)
            found[m->who] = name;
    }
    for (guint k = 0; k < addrs->len; k++) {
        if (found[k] != NULL)
            g_hash_table_insert(out, g_strdup(g_ptr_array_index(addrs, k)), (gpointer)found[k]);
    }
    return out;
}

/* report_drop_repeats - a recipient named again with the same action (a
 * report listing "Ann@x" and "ann@x", or one address in two blocks) is
 * one recipient: stored, counted and published once. Differing actions
 * (delayed, then failed) are different news and stay. One pass with a
 * set: a report may name a thousand recipients. */
static void
report_drop_repeats(BounceReport *report)
{
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GHashTable) seen = NULL;

    if (report->recipients->len < 2)
        return;
    all = g_steal_pointer(&report->recipients);
    seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    report->recipients = g_ptr_array_new_full(all->len,
                                              (GDestroyNotify)bounce_recipient_free);
    for (guint i = 0; i < all->len; i++) {
        BounceRecipient *r = g_ptr_array_index(all, i);
        char *key = NULL;

        if (r->addr[0] != '\0') {
            g_autofree char *lower = g_ascii_strdown(r->addr, -1);

            key = g_strconcat(lower, "\n", r->action != NULL ? r->action : "", NULL);
        }
        if (key == NULL || g_hash_table_add(seen, key))
            g_ptr_array_add(report->recipients, g_steal_pointer(&all->pdata[i]));
    }
    /* What was moved is NULL in all now; the rest is freed with it. */
}

/* report_from_person - the message comes from a person: a sender that
 * is no mail system, a Return-Path that is not null, and no
 * Auto-Submitted other than "no" (RFC 3834 §5). */
static gboolean
report_from_person(const BounceParts *parts)
{
    const char *path = bounce_fields_get(parts->headers, "Return-Path");
    const char *auto_submitted = bounce_fields_get(parts->headers, "Auto-Submitted");
    g_autofree char *addr = bounce_addr_clean(path);

    if (bounce_from_daemon(parts, NULL) || addr == NULL)
        return FALSE;
    if (auto_submitted != NULL) {
        while (*auto_submitted == ' ' || *auto_submitted == '\t')
            auto_submitted++;
        if (g_ascii_strncasecmp(auto_submitted, "no", 2) != 0
            || g_ascii_isalnum(auto_submitted[2]) || auto_submitted[2] == '-')
            return FALSE;
    }
    return TRUE;
}

/* report_person_forward - a person forwarded the bounce ("Fwd:"), in a
 * message of their own: not a report part at its top, which is what an
 * ISP's feedback loop or a mail system sends under any subject. */
static gboolean
report_person_forward(const BounceParts *parts)
{
    return parts->report_type == BOUNCE_REPORT_NONE && bounce_subject_is_forward(parts)
        && report_from_person(parts);
}

/* report_role_sender - the sender's address is a system's, not a
 * person's: noreply@, mailer@, gateway@, notifications@ and the like (a
 * gateway that answers under the subject it was sent). */
static gboolean
report_role_sender(const BounceParts *parts)
{
    static const char *const roles[] = { "noreply", "no-reply", "donotreply", "do-not-reply",
                                         "mailer", "gateway", "notification", "notifications",
                                         "system", "mailadmin", "postoffice", "mail" };
    g_autofree char *from = bounce_addr_clean(bounce_fields_get(parts->headers, "From"));
    const char *at = from != NULL ? strrchr(from, '@') : NULL;

    if (at == NULL)
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(roles); i++) {
        if ((gsize)(at - from) == strlen(roles[i]) && g_ascii_strncasecmp(from, roles[i], at - from) == 0)
            return TRUE;
    }
    return FALSE;
}

/* report_quote_starts - line starts what a mail client quotes without
 * marks: Outlook's header block ("From: ...", "Von: ...", "De : ...")
 * or a separator ("-----Original Message-----", a rule of underscores). */
static gboolean
report_quote_starts(const char *line, gsize len)
{
    return (len >= 5 && (strncmp(line, "-----", 5) == 0 || strncmp(line, "_____", 5) == 0))
        || bounce_line_is_quoted_header(line, len);
}

/* report_unquoted - line without what stands between double quotes
 * (ASCII, or typographic: the English “…”, and the German, Polish and
 * Czech „…“ whose opening mark sits low), *open carrying a quotation
 * over to the next line of its paragraph. (transfer full) */
static char *
report_unquoted(const char *line, gsize len, gboolean *open)
{
    GString *out = g_string_sized_new(len);

    for (gsize i = 0; i < len; i++) {
        gsize quote = line[i] == '"' ? 1
                      : len - i >= 3 && (memcmp(line + i, "\xe2\x80\x9c", 3) == 0
                                         || memcmp(line + i, "\xe2\x80\x9d", 3) == 0
                                         || memcmp(line + i, "\xe2\x80\x9e", 3) == 0) ? 3 : 0;

        if (quote > 0) {
            *open = !*open;
            g_string_append_c(out, ' ');
            i += quote - 1;
        } else if (!*open) {
            g_string_append_c(out, line[i]);
        }
    }
    return g_string_free(out, FALSE);
}

/* report_text_has_own_code - a line of the person's own text (before a
 * line quoted with "> " or the start of what their client quotes
 * without marks) carries an SMTP reply or status code: a mail system's
 * words, not a person's who quotes them. What they put in double quotes
 * in a sentence ('I got "550 5.1.1 User unknown" from my old provider')
 * is quoted too, unless the words around the quotation are a mail
 * system's own ('Your message could not be delivered ... The remote
 * server answered: "550 5.1.1 ..."', a gateway answering under the
 * subject it was sent). */
static gboolean
report_text_has_own_code(const GString *text)
{
    /* a person's own words come first; the rest is what they quote */
    const char *p = text->str, *end = text->str + MIN(text->len, 32 * 1024);
    gboolean open = FALSE, quoted_code = FALSE;
    g_autoptr(GString) own = g_string_new(NULL);
    BounceMatch m;

    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        gsize len = nl != NULL ? (gsize)(nl - p) : (gsize)(end - p);

        if (report_quote_starts(p, len))
            break;
        if (len == 0)
            open = FALSE;       /* a quotation ends with its paragraph */
        if (len > 0 && *p != '>' && len < 1024) {
            g_autofree char *line = report_unquoted(p, len, &open);

            if (bounce_text_has_code(line))
                return TRUE;
            if (!quoted_code) {
                g_autofree char *raw = g_strndup(p, len);

                quoted_code = bounce_text_has_code(raw);
            }
            g_string_append(own, line);
            g_string_append_c(own, '\n');
        }
        p += len + 1;
    }
    return quoted_code && bounce_rules_first(BOUNCE_TABLE_BOUNCE_BODY, own->str, own->len, &m);
}

/* report_person_reply - a person answers ("Re: Undeliverable: ...", or
 * "Re: Invoice" quoting "could not deliver message to x"): whatever the
 * words, they are writing to us, and the addresses they name did not
 * fail. Not a report with a machine-readable part, not a system's
 * address, and no code of a mail system outside what they quote. */
static gboolean
report_person_reply(const BounceParts *parts)
{
    return parts->report_type == BOUNCE_REPORT_NONE && bounce_subject_is_reply(parts)
        && report_from_person(parts) && !report_role_sender(parts)
        && !report_text_has_own_code(parts->text);
}

/* report_list_mail - a mailing list's or a newsletter's post (List-Id or
 * List-Unsubscribe, RFC 2919/2369) from a sender that is no mail system:
 * whatever bounce it quotes or explains ("a hard bounce looks like this:
 * 550 5.1.1 <someone@example.com>"), it is not one. Not a report with a
 * machine-readable part, and not a text in a mail system's own words
 * ("This is the MAILER-DAEMON", "not a member of this list"): a list
 * also relays a bounce sent to its address under its own Return-Path and
 * List-Id, and a list manager's own refusal carries its List-Id too
 * (Mailman marks its notices so, with no Auto-Submitted). */
static gboolean
report_list_mail(const BounceParts *parts)
{
    BounceMatch m;

    return parts->report_type == BOUNCE_REPORT_NONE
        && (bounce_fields_get(parts->headers, "List-Id") != NULL
            || bounce_fields_get(parts->headers, "List-Unsubscribe") != NULL)
        && report_from_person(parts)
        && !bounce_rules_first(BOUNCE_TABLE_BOUNCE_BODY, parts->text->str, parts->text->len, &m);
}

/* report_original_is_ours - the attached message was sent by the one
 * this notice is addressed to: the notice's To: is the original's From:. */
static gboolean
report_original_is_ours(const BounceParts *parts)
{
    g_autofree char *to = NULL, *from = NULL;

    if (parts->original == NULL)
        return FALSE;
    to = bounce_addr_clean(bounce_fields_get(parts->headers, "To"));
    from = bounce_addr_clean(bounce_fields_get(parts->original, "From"));
    return to != NULL && from != NULL && g_ascii_strcasecmp(to, from) == 0;
}

/* report_person_subject_only - what a person wrote under a subject that
 * reads like a bounce's ("Delivery report for your order", "Returned
 * mail policy"): the subject was all that said bounce — no report part,
 * no mail system's wording, no reply or status code — and the text named
 * nobody in a recipient's shape, so the recipient would be the one
 * address it mentions, or the To: of a message it attaches. Those
 * addresses did not fail. */
static gboolean
report_person_subject_only(const BounceReport *report, const BounceParts *parts)
{
    BounceMatch m;

    /* the cheap tests first: most bounces name their recipients */
    if (parts->report_type != BOUNCE_REPORT_NONE)
        return FALSE;
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        /* "Name <x@y>" alone on a line is a person's signature as often */
        if ((strcmp(r->rule, "rcpt-single-address") != 0 && strcmp(r->rule, "rcpt-original-to") != 0
             && strcmp(r->rule, "rcpt-name-alone") != 0)
            || r->status[0] != '\0' || bounce_text_has_code(r->diagnostic))
            return FALSE;
        /* A message of ours attached is one coming back: a gateway's
         * notice, whatever its words and its Return-Path. */
        if (strcmp(r->rule, "rcpt-original-to") == 0 && report_original_is_ours(parts))
            return FALSE;
    }
    return report_from_person(parts) && !report_role_sender(parts)
           && !bounce_rules_first(BOUNCE_TABLE_BOUNCE_BODY, parts->text->str, parts->text->len, &m);
}

/* report_head_is_report - a message's header fields say it is a delivery
 * or feedback report (multipart/report of either type). */
static gboolean
report_head_is_report(const BounceFields *head)
{
    const char *type = bounce_fields_get(head, "Content-Type");
    g_autofree char *lower = type != NULL ? g_ascii_strdown(type, -1) : NULL;

    return lower != NULL && strstr(lower, "multipart/report") != NULL
        && (strstr(lower, "delivery-status") != NULL || strstr(lower, "feedback-report") != NULL);
}

/* report_inner_message - where, in the normalised message, its first
 * attached message (a message/rfc822 part) starts, past the part's own
 * header block; -1 when there is none. The readers keep only that
 * message's headers, so its bytes are found from the lines. One that was
 * transfer-encoded is not read here: parsed as it is, it has no header
 * fields and no recipients, and so is never adopted. */
static gssize
report_inner_message(const char *data, gsize len)
{
    const char *end = data + len;

    for (const char *p = data; p < end;) {
        const char *eol = memchr(p, '\n', end - p);
        const char *next = eol != NULL ? eol + 1 : end;

        if (next - p > 13 && g_ascii_strncasecmp(p, "Content-Type:", 13) == 0) {
            const char *v = p + 13;

            while (v < next && (*v == ' ' || *v == '\t'))
                v++;
            if (next - v >= 14 && g_ascii_strncasecmp(v, "message/rfc822", 14) == 0) {
                const char *body = g_strstr_len(p, end - p, "\n\n");

                return body != NULL ? body + 2 - data : -1;
            }
        }
        p = next;
    }
    return -1;
}

static BounceReport *report_parse(const char *data, gsize len, guint depth);

/* report_adopt_inner - a gateway that passes an MTA's report on as an
 * attachment: when the message holds no report of its own and its prose
 * decided nothing (what it named was the attachment's To:), the attached
 * report is the bounce. Its recipients and kind replace ours, and its
 * returned original when it has one; the message's own headers stay.
 * A complaint read from its subject (an abuse desk's ticket) is
 * replaced only by an attached feedback report, whatever it said itself:
 * that report names the complainer (Original-Rcpt-To), where the
 * attachment's To: is the desk's own address. */
static void
report_adopt_inner(BounceReport *report, const char *text, gsize text_len)
{
    gboolean complaint = report->kind == BOUNCE_KIND_ARF;
    gssize at;
    g_autoptr(BounceFields) head = NULL;
    g_autoptr(BounceReport) inner = NULL;

    /* What the notice itself said decides when it said anything: a
     * recipient with a status or a reason of its own. */
    for (guint i = 0; !complaint && i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (r->status[0] != '\0' || (strcmp(r->reason, "onhold") != 0
                                      && strcmp(r->reason, "undefined") != 0))
            return;
    }
    at = report_inner_message(text, text_len);
    if (at < 0)
        return;
    head = bounce_fields_new();
    bounce_fields_parse(head, text + at, text_len - at, TRUE);
    if (!report_head_is_report(head))
        return;
    inner = report_parse(text + at, text_len - at, 1);
    if (inner->recipients->len == 0 || (inner->kind != BOUNCE_KIND_DSN
                                        && inner->kind != BOUNCE_KIND_DELIVERED
                                        && inner->kind != BOUNCE_KIND_ARF)
        || (complaint && inner->kind != BOUNCE_KIND_ARF))
        return;
    report->kind = inner->kind;
    g_ptr_array_unref(report->recipients);
    report->recipients = g_steal_pointer(&inner->recipients);
    inner->recipients = g_ptr_array_new();
#define ADOPT(field) do { g_free(report->field); report->field = g_steal_pointer(&inner->field); } while (0)
    ADOPT(reporting_mta);
    ADOPT(arrival_date);
    ADOPT(feedback_type);
    ADOPT(original_mail_from);
    ADOPT(source_ip);
    ADOPT(user_agent);
#undef ADOPT
    if (inner->original.message_id != NULL || inner->original.return_path != NULL) {
        original_clear(&report->original);
        report->original = inner->original;
        memset(&inner->original, 0, sizeof(inner->original));
    }
}

BounceReport *
bounce_report_parse(const char *data, gsize len)
{
    return report_parse(data, len, 0);
}

/* report_parse - bounce_report_parse, depth: 1 for an attached report
 * (which is not looked into again). */
static BounceReport *
report_parse(const char *data, gsize len, guint depth)
{
    BounceReport *report = g_new0(BounceReport, 1);
    g_autoptr(GByteArray) norm = NULL;
    const char *text;
    gsize text_len;
    BounceParts parts;
    const char *error = NULL;
    g_autoptr(GHashTable) commands = NULL;
    g_autoptr(GHashTable) paragraphs = NULL;
    gsize context_len;

    report->recipients = g_ptr_array_new_with_free_func((GDestroyNotify)bounce_recipient_free);
    if (data == NULL || len == 0) {
        report->kind = BOUNCE_KIND_UNPARSEABLE;
        report->error = g_strdup("empty message");
        return report;
    }
    if (len > BOUNCE_REPORT_MAX_SIZE) {
        report->kind = BOUNCE_KIND_UNPARSEABLE;
        report->error = g_strdup_printf("message too large (%" G_GSIZE_FORMAT " bytes; at most %"
                                        G_GSIZE_FORMAT " are read)", len, BOUNCE_REPORT_MAX_SIZE);
        return report;
    }
    /* A message that has no CR and no NUL byte is in its normal form
     * already: it is read where it is, not copied first. */
    if (memchr(data, '\r', len) != NULL || memchr(data, '\0', len) != NULL) {
        norm = bounce_mime_normalize(data, len);
        text = (const char *)norm->data;
        text_len = norm->len;
    } else {
        text = data;
        text_len = len;
    }
    if (!bounce_mime_read(text, text_len, &parts, BOUNCE_MIME_AUTO, &error)) {
        bounce_parts_clear(&parts);
        report->kind = BOUNCE_KIND_UNPARSEABLE;
        report->error = g_strdup(error);
        return report;
    }
    report_read(report, &parts);
    report_headers(report, &parts);
    context_len = MIN(parts.text->len, BOUNCE_MAX_DIAGNOSTIC * 8);
    commands = report_transcript_commands(parts.text->str, context_len);
    paragraphs = report_paragraph_commands(parts.text->str, context_len, report->recipients);
    for (guint i = 0; i < report->recipients->len; i++) {
        BounceRecipient *r = g_ptr_array_index(report->recipients, i);
        g_autofree char *lower = g_ascii_strdown(r->addr, -1);
        const char *hint = g_hash_table_lookup(commands, lower);

        if (hint == NULL)
            hint = g_hash_table_lookup(paragraphs, lower);
        bounce_classify(r, report->kind, parts.text->str, context_len, hint, report->reporting_mta);
    }
    report_drop_repeats(report);
    if (depth == 0 && report->kind != BOUNCE_KIND_NOTBOUNCE && report->kind != BOUNCE_KIND_AUTOREPLY)
        report->person_forward = report_person_forward(&parts);
    /* Only a mail system passing a report on: a person who forwards a
     * bounce as an attachment is writing to us, not bouncing. An abuse
     * desk's complaint may attach a feedback report whatever its From
     * (postmaster@ as often as abuse@): complaint or not is what the
     * message was read as, not who sent it. */
    if (depth == 0 && parts.report_type == BOUNCE_REPORT_NONE && parts.original != NULL
        && (report->kind == BOUNCE_KIND_ARF || bounce_from_daemon(&parts, NULL)))
        report_adopt_inner(report, text, text_len);
    /* A notice in prose whose every recipient was delivered is a success
     * notice, as its DSN would have said. */
    if (report->kind == BOUNCE_KIND_NONSTANDARD && report_kind_dsn(report) == BOUNCE_KIND_DELIVERED)
        report->kind = BOUNCE_KIND_DELIVERED;
    bounce_parts_clear(&parts);
    return report;
}

/* mbox_is_separator - a "From " line that starts a message: at the start of
 * the buffer or after a blank line, and followed by more than a word. */
static gboolean
mbox_is_separator(const char *data, gsize len, gsize pos)
{
    if (len - pos < 6 || memcmp(data + pos, "From ", 5) != 0)
        return FALSE;
    if (pos == 0)
        return TRUE;
    /* previous line blank: "\n\n" or "\r\n\r\n" before pos */
    if (pos >= 2 && data[pos - 1] == '\n' && data[pos - 2] == '\n')
        return TRUE;
    if (pos >= 3 && data[pos - 1] == '\n') {
        gsize k = pos - 2;

        while (k > 0 && data[k] == '\r')
            k--;
        if (data[k] == '\n')
            return TRUE;    /* a blank line, whatever its CRs */
    }
    if (pos >= 2 && data[pos - 1] == '\r' && data[pos - 2] == '\r')
        return TRUE;
    return FALSE;
}

/* mbox_next_line - offset after the line at pos (LF, CRLF or CR ends). */
static gsize
mbox_next_line(const char *data, gsize len, gsize pos)
{
    while (pos < len && data[pos] != '\n' && data[pos] != '\r')
        pos++;
    if (pos >= len)
        return len;
    if (data[pos] == '\r') {
        gsize j = pos + 1;

        while (j < len && data[j] == '\r')
            j++;
        if (j < len && data[j] == '\n')
            return j + 1;   /* CRLF, or CRLF converted twice */
    }
    return pos + 1;
}

GPtrArray *
bounce_split_mbox(const char *data, gsize len)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    GBytes *all;
    gsize start = 0, pos = 0;
    gboolean have = FALSE;

    /* Views of the caller's buffer: copying every message cost a pass
     * over it for nothing. */
    all = g_bytes_new_static(data, len);
    if (len == 0 || !mbox_is_separator(data, len, 0)) {
        g_ptr_array_add(out, all);
        return out;
    }
    while (pos < len) {
        gsize next = mbox_next_line(data, len, pos);

        if (mbox_is_separator(data, len, pos)) {
            if (have && pos > start)
                g_ptr_array_add(out, g_bytes_new_from_bytes(all, start, pos - start));
            start = next;      /* the separator line is not part of the message */
            have = TRUE;
        }
        pos = next;
    }
    if (start < len)
        g_ptr_array_add(out, g_bytes_new_from_bytes(all, start, len - start));
    if (out->len == 0)
        g_ptr_array_add(out, g_bytes_ref(all));
    g_bytes_unref(all);
    return out;
}
