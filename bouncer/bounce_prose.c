/* bounce_prose.c - bounces written for people (qmail, Exim, Sendmail
 * without DSN, Gmail, Yahoo, ...) and auto-replies, read with the rule
 * tables of bounce_tables.c rather than one function per MTA. */
#include <string.h>

#include "bouncer/bounce_private.h"

#define PROSE_MAX_DIAGNOSTIC_LINES 12

gboolean
bounce_from_daemon(const BounceParts *parts, const char **rule_out)
{
    g_autofree char *from = bounce_fields_get_text(parts->headers, "From");
    BounceMatch m;

    if (from == NULL || !bounce_rules_first(BOUNCE_TABLE_BOUNCE_FROM, from, strlen(from), &m))
        return FALSE;
    if (rule_out != NULL)
        *rule_out = m.rule->id;
    return TRUE;
}

/* subject_matches - the message's subject (decoded) matches a table,
 * with a gateway's tags before it or without. */
static gboolean
subject_matches(const BounceParts *parts, BounceTable table, BounceMatch *m)
{
    const char *s = parts->subject;

    if (s == NULL)
        return FALSE;
    return bounce_rules_first(table, s, strlen(s), m)
           || (parts->subject_bare != s
               && bounce_rules_first(table, parts->subject_bare, strlen(parts->subject_bare), m));
}

/* autoreply_header - the RFC 3834 header fields and their vendor cousins. */
static const char *
autoreply_header(const BounceParts *parts)
{
    const char *v;

    if ((v = bounce_fields_get(parts->headers, "X-Autoreply")) != NULL
        && g_ascii_strncasecmp(v, "no", 2) != 0)
        return "hdr-x-autoreply";
    if (bounce_fields_get(parts->headers, "X-Autorespond") != NULL)
        return "hdr-x-autorespond";
    if ((v = bounce_fields_get(parts->headers, "X-Apple-Action")) != NULL
        && g_ascii_strncasecmp(v, "vacation", 8) == 0)
        return "hdr-x-apple-action";
    if ((v = bounce_fields_get(parts->headers, "Precedence")) != NULL
        && g_ascii_strncasecmp(v, "auto_reply", 10) == 0)
        return "hdr-precedence";
    if ((v = bounce_fields_get(parts->headers, "Auto-Submitted")) != NULL
        && g_ascii_strncasecmp(v, "auto-replied", 12) == 0)
        return "hdr-auto-submitted";
    if (bounce_fields_get(parts->headers, "X-Ms-Exchange-Inbox-Rules-Loop") != NULL
        || ((v = bounce_fields_get(parts->headers, "X-Auto-Response-Suppress")) != NULL
            && strstr(v, "OOF") != NULL && bounce_fields_get(parts->headers, "Auto-Submitted") != NULL))
        return "hdr-exchange-oof";
    return NULL;
}

gboolean
bounce_autoreply_check(const BounceParts *parts, const char **rule_out)
{
    BounceMatch m;
    const char *rule = autoreply_header(parts);

    if (rule != NULL) {
        *rule_out = rule;
        return TRUE;
    }
    if (subject_matches(parts, BOUNCE_TABLE_AUTOREPLY_SUBJECT, &m)) {
        *rule_out = m.rule->id;
        return TRUE;
    }
    return FALSE;
}

gboolean
bounce_autoreply_generated(const BounceParts *parts, const char **rule_out)
{
    const char *v = bounce_fields_get(parts->headers, "Auto-Submitted");

    if (v == NULL || (g_ascii_strncasecmp(v, "auto-generated", 14) != 0
                      && g_ascii_strncasecmp(v, "auto-notified", 13) != 0))
        return FALSE;
    if (bounce_from_daemon(parts, NULL))
        return FALSE;
    *rule_out = "hdr-auto-generated";
    return TRUE;
}

const char *
bounce_mta_name(const BounceParts *parts)
{
    gsize count = 0;
    const BounceRule *rules = bounce_tables_get(BOUNCE_TABLE_MTA, &count);
    BounceMatch m;

    for (gsize i = 0; i < count; i++) {
        const char *header = rules[i].rhost;

        if (header == NULL) {
            if (bounce_rules_try_text(BOUNCE_TABLE_MTA, i, parts->text->str, parts->text->len, &m))
                return rules[i].value;
            continue;
        }
        for (guint k = 0; k < parts->headers->fields->len; k++) {
            const BounceField *f = &g_array_index(parts->headers->fields, BounceField, k);

            const char *value;

            if (!bounce_field_is(f, header))
                continue;
            /* The subject as the other subject rules read it: decoded,
             * and without a gateway's tags. */
            if (parts->subject_bare != NULL && g_ascii_strcasecmp(header, "Subject") == 0)
                value = parts->subject_bare;
            else
                value = bounce_field_value(f);
            if (bounce_rules_try(BOUNCE_TABLE_MTA, i, value, strlen(value), &m))
                return rules[i].value;
        }
    }
    return NULL;
}

void
bounce_mta_preset(BounceRecipient *r, const char *mta)
{
    BounceMatch m;
    gsize len = strlen(r->diagnostic);

    if (r->reason[0] != '\0' || mta == NULL || len == 0)
        return;
    bounce_mta_preset_from(r, mta, r->diagnostic);
    if (r->smtp_command == NULL
        && bounce_rules_first_rhost(BOUNCE_TABLE_MTA_COMMAND, mta, r->diagnostic, len, &m))
        r->smtp_command = g_strdup(m.rule->value);
}

void
bounce_mta_preset_from(BounceRecipient *r, const char *mta, const char *text)
{
    BounceMatch m;
    gsize len = strlen(text);

    if (r->reason[0] != '\0' || mta == NULL || len == 0)
        return;
    if (bounce_rules_first_rhost(BOUNCE_TABLE_MTA_REASON, mta, text, len, &m)) {
        bounce_recipient_set(&r->reason, m.rule->value);
        bounce_recipient_set(&r->rule, m.rule->id);
    }
}

/* prose_is_forward - someone forwarded what follows ("Fwd: Undelivered
 * Mail Returned to Sender"): its first "Forwarded message" line starts
 * the bounce, not the returned original. */
static gboolean
prose_is_forward(const BounceParts *parts)
{
    const char *s = parts->subject_bare;

    if (s == NULL)
        return FALSE;
    while (*s == ' ' || *s == '\t')
        s++;
    return g_ascii_strncasecmp(s, "fwd:", 4) == 0 || g_ascii_strncasecmp(s, "fw:", 3) == 0;
}

/* prose_mark_forwards - the mark m found is a "Forwarded message" line. */
static gboolean
prose_mark_forwards(const GString *text, const BounceMatch *m)
{
    g_autofree char *mark = g_ascii_strdown(text->str + m->match_start, m->match_end - m->match_start);

    return strstr(mark, "forwarded message") != NULL;
}

/* prose_signature_cut - end, or an earlier signature separator: a line
 * that is "-- " (RFC 3676 4.3). What follows one is a footer a server or
 * gateway signs with ("scanned for viruses and spam by ..."), never the
 * error. */
static gsize
prose_signature_cut(const GString *text, gsize end)
{
    const char *p = text->str;

    while ((p = memmem(p, end - (p - text->str), "\n-- ", 4)) != NULL) {
        const char *after = p + 4;

        if (after >= text->str + end || *after == '\n' || (*after == '\r' && after[1] == '\n'))
            return (gsize)(p - text->str) + 1;
        p = after;
    }
    return end;
}

/* prose_error_end - where the error text ends: at the first mark of the
 * returned original, which is also where its headers begin; in a
 * forward, at the first mark after its "Forwarded message" line. */
static gsize
prose_error_end(const BounceParts *parts, gsize *original_at)
{
    const GString *text = parts->text;
    BounceMatch m;

    *original_at = text->len;
    if (!bounce_rules_earliest(BOUNCE_TABLE_ORIGINAL_MARK, text->str, text->len, 0, &m))
        return prose_signature_cut(text, text->len);
    if (prose_is_forward(parts) && prose_mark_forwards(text, &m)
        && !bounce_rules_earliest(BOUNCE_TABLE_ORIGINAL_MARK, text->str, text->len, m.match_end, &m))
        return prose_signature_cut(text, text->len);
    *original_at = m.match_end;
    return prose_signature_cut(text, m.match_start);
}

/* prose_original_headers - the returned original's header block after the
 * mark, when MIME gave us none. */
static BounceFields *
prose_original_headers(const GString *text, gsize at)
{
    BounceFields *fields;

    /* skip the rest of the mark line and blank lines */
    while (at < text->len && text->str[at] != '\n')
        at++;
    while (at < text->len && (text->str[at] == '\n' || text->str[at] == ' ' || text->str[at] == '\t'))
        at++;
    if (at >= text->len)
        return NULL;
    fields = bounce_fields_new();
    bounce_fields_parse(fields, text->str + at, text->len - at, FALSE);
    if (fields->fields->len == 0) {
        bounce_fields_free(fields);
        return NULL;
    }
    return fields;
}

typedef struct {
    char *addr;
    gsize line_start;         /* where its recipient line starts */
    gsize diag_start;         /* where its diagnostic starts */
    const char *rule;
    gsize diag_end;           /* where it ends, 0: at the next recipient */
    gsize again_start;        /* its diagnostic where it is named again, */
    gsize again_end;          /* (Exchange's section for administrators); 0: not */
} ProseHit;

/* prose_transcript_block - Sendmail's transcript gives, per remote host,
 * "... while talking to HOST:", the commands sent (">>>"), the replies
 * ("<<<") and then one summary line per recipient ("554 <addr>... Remote
 * protocol error"). For a summary line at line_start, the start of the
 * exchange before it (after from), or -1 when there is none. */
static gssize
prose_transcript_block(const char *text, gsize from, gsize line_start)
{
    gssize block = -1;
    gboolean reply = FALSE;
    gsize pos = from;

    while (pos < line_start) {
        const char *nl = memchr(text + pos, '\n', line_start - pos);
        gsize end = nl != NULL ? (gsize)(nl - text) : line_start;
        gsize k = pos;

        while (k < end && (text[k] == ' ' || text[k] == '\t'))
            k++;
        if (end - k >= 16 && (g_ascii_strncasecmp(text + k, "while talking to", 16) == 0
                              || g_ascii_strncasecmp(text + k, "... while talking to", 20) == 0)) {
            block = (gssize)pos;
            reply = FALSE;
        } else if (end - k >= 4 && (memcmp(text + k, ">>> ", 4) == 0 || memcmp(text + k, "<<< ", 4) == 0)) {
            if (block < 0)
                block = (gssize)pos;
            reply = reply || text[k] == '<';
        }
        pos = end + 1;
    }
    return reply ? block : -1;
}

/* prose_is_own - an address that is the sender's, not a recipient's. */
static gboolean
prose_is_own(const BounceParts *parts, const char *addr)
{
    static const char *const names[] = { "To", "From", "Return-Path", "Reply-To", "Sender" };

    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *own = bounce_addr_clean(bounce_fields_get(parts->headers, names[i]));

        if (own != NULL && g_ascii_strcasecmp(own, addr) == 0)
            return TRUE;
        if (parts->original != NULL && (i == 2 || i == 1)) {
            g_autofree char *orig = bounce_addr_clean(bounce_fields_get(parts->original, names[i]));

            if (orig != NULL && g_ascii_strcasecmp(orig, addr) == 0)
                return TRUE;
        }
    }
    if (g_ascii_strncasecmp(addr, "mailer-daemon@", 14) == 0
        || g_ascii_strncasecmp(addr, "postmaster@", 11) == 0)
        return TRUE;
    return FALSE;
}

/* prose_is_id_line - a line whose address is an identifier, a trace or
 * the sender's, never a recipient: header lines of the returned message
 * without a mark before them (also where a forward quoted them, "> ..."),
 * and a notice's own "Sender Address:". */
static gboolean
prose_is_id_line(const char *line, gsize len)
{
    static const char *const names[] = {
        "message-id:", "references:", "in-reply-to:", "content-id:", "x-message-id:",
        "resent-message-id:", "return-path:", "errors-to:", "sender:", "sender address:",
        "envelope-from:", "list-unsubscribe:", "list-subscribe:", "list-post:", "list-help:",
        "list-owner:", "list-id:", "list-archive:", "dkim-signature:", "feedback-id:",
    };

    while (len > 0 && (*line == ' ' || *line == '\t' || *line == '>')) {
        line++;
        len--;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        gsize n = strlen(names[i]);

        if (len >= n && g_ascii_strncasecmp(line, names[i], n) == 0)
            return TRUE;
    }
    return FALSE;
}

/* prose_quote_len - the quote marks a forward put before a line ("> ",
 * "> > ", ">>"), which the shapes of recipient lines look past; a
 * Sendmail transcript's ">>> " before a command is no quote. */
static gsize
prose_quote_len(const char *line, gsize len)
{
    gsize n = 0;

    while (n < len && line[n] == '>') {
        if (len - n > 4 && memcmp(line + n, ">>> ", 4) == 0 && g_ascii_isalpha(line[n + 4]))
            break;
        n++;
        if (n < len && line[n] == ' ')
            n++;
    }
    return n;
}

/* prose_indent - the blanks a line starts with. */
static gsize
prose_indent(const char *line, gsize len)
{
    gsize n = 0;

    while (n < len && (line[n] == ' ' || line[n] == '\t'))
        n++;
    return n;
}

/* prose_hit_find - the hit for addr (compared without case), or
 * G_MAXUINT. */
static guint
prose_hit_find(GArray *hits, const char *addr)
{
    for (guint i = 0; i < hits->len; i++) {
        if (g_ascii_strcasecmp(g_array_index(hits, ProseHit, i).addr, addr) == 0)
            return i;
    }
    return G_MAXUINT;
}

/* prose_list_line - the addresses of a line that is nothing but two or
 * more of them in angle brackets ("<a@example.org>, <b@example.org>"),
 * or NULL. (transfer full) */
static GPtrArray *
prose_list_line(const char *line, gsize len)
{
    g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func(g_free);
    gsize i = 0;

    while (i < len) {
        const char *gt;
        char *addr;

        if (line[i] == ' ' || line[i] == '\t' || line[i] == ',' || line[i] == ';' || line[i] == '\r') {
            i++;
            continue;
        }
        if (line[i] != '<' || (gt = memchr(line + i, '>', len - i)) == NULL)
            return NULL;
        addr = g_strndup(line + i + 1, gt - (line + i + 1));
        if (strchr(addr, '@') == NULL || strpbrk(addr, " \t<") != NULL) {
            g_free(addr);
            return NULL;
        }
        g_ptr_array_add(addrs, addr);
        i = (gsize)(gt - line) + 1;
    }
    return addrs->len >= 2 ? g_steal_pointer(&addrs) : NULL;
}

/* prose_command_addrs - the addresses the text gives to an SMTP command
 * ("MAIL FROM:<a@example.org>": verb "mail", word "from"), cleaned. The
 * two words may be wrapped onto two lines, the second indented (a "From:"
 * header at a line start after a line ending in "mail" is no command). */
static void
prose_command_addrs(const char *text, gsize len, const char *verb, const char *word,
                    GPtrArray *out)
{
    const char *p = text, *end = text + len;
    gsize vn = strlen(verb), wn = strlen(word);

    while ((p = bounce_text_find_name(p, end, word)) != NULL) {
        const char *v = p, *a = p + wn + 1, *gt;

        p = a;
        while (v > text && (v[-1] == ' ' || v[-1] == '\t'))
            v--;
        if (v > text && v[-1] == '\n' && v < p - wn - 1) {
            /* wrapped: back over the line end to the end of the verb */
            v--;
            while (v > text && g_ascii_isspace(v[-1]))
                v--;
        }
        if (v == p - wn - 1 || (gsize)(v - text) < vn || g_ascii_strncasecmp(v - vn, verb, vn) != 0
            || (v - vn > text && g_ascii_isalnum(*(v - vn - 1))))
            continue;
        while (a < end && (*a == ' ' || *a == '\t'))
            a++;
        if (a < end && *a == '<' && (gt = memchr(a, '>', MIN((gsize)(end - a), 512))) != NULL) {
            g_autofree char *inside = g_strndup(a + 1, gt - a - 1);
            char *addr = strpbrk(inside, " \t\r\n") == NULL ? bounce_addr_clean(inside) : NULL;

            if (addr != NULL)
                g_ptr_array_add(out, addr);
        }
    }
}

/* prose_envelope_senders - the addresses the text gives to MAIL FROM and
 * never to RCPT TO: the envelope sender, which a reply to MAIL FROM may
 * quote in a line shaped like a recipient's ("<a@example.org>... Sender
 * refused"), wrapped or not. (transfer full) */
static GPtrArray *
prose_envelope_senders(const char *text, gsize len)
{
    GPtrArray *senders = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) rcpts = g_ptr_array_new_with_free_func(g_free);

    prose_command_addrs(text, len, "mail", "from", senders);
    if (senders->len == 0)
        return senders;
    prose_command_addrs(text, len, "rcpt", "to", rcpts);
    for (guint i = senders->len; i-- > 0;) {
        for (guint k = 0; k < rcpts->len; k++) {
            if (g_ascii_strcasecmp(g_ptr_array_index(senders, i), g_ptr_array_index(rcpts, k)) == 0) {
                g_ptr_array_remove_index(senders, i);
                break;
            }
        }
    }
    return senders;
}

/* prose_addr_in - addr is one of list (compared without case). */
static gboolean
prose_addr_in(const GPtrArray *list, const char *addr)
{
    for (guint i = 0; i < list->len; i++) {
        if (g_ascii_strcasecmp(g_ptr_array_index(list, i), addr) == 0)
            return TRUE;
    }
    return FALSE;
}

/* prose_scan - the recipient lines of the error text, line by line, by
 * the rules of table, added to hits; never senders. */
static void
prose_scan(const BounceParts *parts, const char *text, gsize len, BounceTable table,
           const GPtrArray *senders, GArray *hits)
{
    guint again = G_MAXUINT;    /* the hit named again on the last recipient line */
    gsize pos = 0;
    /* The lines that carry on the last recipient's own (indented deeper,
     * no blank line between: Postfix's and Exim's wrapped replies) quote
     * the remote server; an address new there is one it quoted, such as
     * the envelope sender it refused, not another recipient. */
    gsize block_indent = 0;
    gboolean in_block = FALSE;

    while (pos < len && hits->len < BOUNCE_MAX_RECIPIENTS) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        gsize line_end = nl != NULL ? (gsize)(nl - text) : len;
        gsize at = pos + prose_quote_len(text + pos, line_end - pos);    /* past "> " */
        BounceMatch m;
        g_autoptr(GPtrArray) list = NULL;
        gsize indent = prose_indent(text + at, line_end - at);
        gboolean carries_on = in_block && indent > block_indent;

        if (at + indent == line_end || !carries_on)
            in_block = FALSE;   /* a blank line, or one as far out: the block ends */

        /* Several recipients on one line: each is a recipient, and what
         * follows the line is said of them all. */
        if (line_end > at && text[at] != '\n'
            && (list = prose_list_line(text + at, line_end - at)) != NULL) {
            for (guint k = 0; k < list->len && hits->len < BOUNCE_MAX_RECIPIENTS; k++) {
                char *addr = bounce_addr_clean(g_ptr_array_index(list, k));

                if (addr == NULL || prose_hit_find(hits, addr) != G_MAXUINT) {
                    g_free(addr);
                    continue;
                }
                {
                    ProseHit hit = { addr, pos, MIN(line_end + 1, len), "rcpt-angle-list", 0 };

                    g_array_append_val(hits, hit);
                }
            }
            pos = line_end + 1;
            continue;
        }
        /* Every recipient rule captures an address: a line without '@'
         * cannot match, and most lines have none. */
        if (line_end > pos && memchr(text + pos, '@', line_end - pos) != NULL
            && !prose_is_id_line(text + pos, line_end - pos)
            && bounce_rules_first(table, text + at, line_end - at, &m)) {
            g_autofree char *span = g_strndup(text + at + m.start, m.end - m.start);
            g_autofree char *addr = bounce_addr_clean(span);

            /* Only a "sure" line shape (<addr>: ...) outweighs the address
             * being the sender's own. */
            gboolean sure = g_strcmp0(m.rule->value, "sure") == 0;
            guint seen;

            if (addr != NULL && (sure || !prose_is_own(parts, addr))
                && !prose_addr_in(senders, addr)) {
                /* A recipient line ends the text of the one named again
                 * before it. */
                if (again != G_MAXUINT && g_array_index(hits, ProseHit, again).again_end == 0)
                    g_array_index(hits, ProseHit, again).again_end = pos;
                again = G_MAXUINT;
                seen = prose_hit_find(hits, addr);
                if (seen != G_MAXUINT && g_array_index(hits, ProseHit, seen).again_start == 0) {
                    g_array_index(hits, ProseHit, seen).again_start
                        = m.match_start > 0 ? pos : at + m.match_end;
                    again = seen;
                }
                if (seen == G_MAXUINT && carries_on) {
                    pos = line_end + 1;
                    continue;
                }
                if (seen == G_MAXUINT) {
                    ProseHit hit = { g_steal_pointer(&addr), pos, at + m.match_end, m.rule->id, 0 };
                    gsize from = hits->len > 0 ? g_array_index(hits, ProseHit, hits->len - 1).line_start : 0;
                    gssize block = strcmp(m.rule->id, "rcpt-sendmail-dots") == 0
                        ? prose_transcript_block(text, from, pos) : -1;

                    /* A line that is only the address: the diagnostic is
                     * what follows it. Otherwise the whole line counts. */
                    if (m.match_start > 0 || table == BOUNCE_TABLE_RECIPIENT_LAST)
                        hit.diag_start = pos;
                    if (block >= 0) {
                        /* a transcript's summary line: the exchange
                         * before it says what failed */
                        hit.diag_start = (gsize)block;
                        hit.diag_end = line_end;
                    }
                    g_array_append_val(hits, hit);
                    in_block = TRUE;
                    block_indent = indent;
                }
            }
        }
        pos = line_end + 1;
    }
    if (again != G_MAXUINT && g_array_index(hits, ProseHit, again).again_end == 0)
        g_array_index(hits, ProseHit, again).again_end = len;
}

/* prose_find_recipients - the recipients the error text names: by the
 * shapes of recipient lines, else by the last resorts (a notice that only
 * quotes the refusal inside a sentence or a table). */
static GArray *
prose_find_recipients(const BounceParts *parts, const char *text, gsize len)
{
    GArray *hits = g_array_new(FALSE, TRUE, sizeof(ProseHit));
    g_autoptr(GPtrArray) senders = prose_envelope_senders(text, len);

    prose_scan(parts, text, len, BOUNCE_TABLE_RECIPIENT, senders, hits);
    if (hits->len == 0)
        prose_scan(parts, text, len, BOUNCE_TABLE_RECIPIENT_LAST, senders, hits);
    return hits;
}

/* prose_diagnostic - the text that explains one recipient: from its line to
 * the next recipient (or the end of the error text), at most a few lines
 * of a paragraph or two, without the quote marks of a forward. (transfer
 * full) */
static char *
prose_diagnostic(const char *text, gsize start, gsize end)
{
    gsize pos = start, lines = 0, blank = 0, taken_end = start;
    g_autoptr(GString) unquoted = NULL;

    while (pos < end && lines < PROSE_MAX_DIAGNOSTIC_LINES) {
        const char *nl = memchr(text + pos, '\n', end - pos);
        gsize line_end = nl != NULL ? (gsize)(nl - text) : end;
        gsize quote = prose_quote_len(text + pos, line_end - pos);
        gboolean is_blank = TRUE;

        for (gsize k = pos + quote; k < line_end; k++) {
            if (text[k] != ' ' && text[k] != '\t') {
                is_blank = FALSE;
                break;
            }
        }
        if (quote > 0 && unquoted == NULL) {
            /* the lines so far as they are, the rest without marks */
            unquoted = g_string_new_len(text + start, taken_end - start);
        }
        if (is_blank) {
            if (taken_end > start && ++blank >= 2)
                break;
        } else {
            blank = 0;
            lines++;
            if (unquoted != NULL) {
                g_string_append_c(unquoted, '\n');
                g_string_append_len(unquoted, text + pos + quote, line_end - pos - quote);
            }
            taken_end = line_end;
        }
        pos = line_end + 1;
    }
    if (unquoted != NULL)
        return bounce_fold(unquoted->str, unquoted->len);
    return bounce_fold(text + start, taken_end > start ? taken_end - start : 0);
}

/* prose_has_code - the text carries an SMTP reply or status code. */
static gboolean
prose_has_code(const char *text)
{
    char status[16], reply[8];

    bounce_rules_find_codes(text, status, reply);
    return status[0] != '\0' || (reply[0] == '4' || reply[0] == '5');
}

/* prose_hit_diagnostic - what the text says of hit i: from its line to the
 * next recipient's. Exchange names each recipient twice, for people and
 * then for administrators ("#550 5.1.1 RESOLVER.ADR.RecipNotFound"):
 * when only the second has a code, both count. (transfer full) */
static char *
prose_hit_diagnostic(const char *text, GArray *hits, guint i, gsize err_len)
{
    const ProseHit *hit = &g_array_index(hits, ProseHit, i);
    gsize end = hit->diag_end > 0 ? hit->diag_end
        : i + 1 < hits->len ? g_array_index(hits, ProseHit, i + 1).line_start : err_len;
    char *diag = prose_diagnostic(text, hit->diag_start, end);
    g_autofree char *again = NULL;

    if (hit->again_start == 0 || prose_has_code(diag))
        return diag;
    again = prose_diagnostic(text, hit->again_start, hit->again_end);
    if (!prose_has_code(again))
        return diag;
    if (diag[0] == '\0') {
        g_free(diag);
        return g_steal_pointer(&again);
    }
    {
        char *both = g_strconcat(diag, " ", again, NULL);

        g_free(diag);
        return both;
    }
}

/* prose_dsn_fields_at - where a block of DSN fields starts in text (a
 * line that starts with Reporting-MTA:, Final-Recipient: or
 * Original-Recipient:, any case), or len. */
static gsize
prose_dsn_fields_at(const char *text, gsize len)
{
    static const char *const names[] = { "reporting-mta", "final-recipient", "original-recipient" };
    gsize first = len;

    for (gsize n = 0; n < G_N_ELEMENTS(names); n++) {
        const char *p = text, *end = text + first;

        while ((p = bounce_text_find_name(p, end, names[n])) != NULL) {
            if (p == text || p[-1] == '\n') {
                first = (gsize)(p - text);
                break;
            }
            p++;
        }
    }
    return first;
}

/* prose_is_bounce - the message says it is a bounce: sender, subject or
 * wording; rule_out names what decided. */
static gboolean
prose_is_bounce(const BounceParts *parts, gsize err_len, const char **rule_out)
{
    BounceMatch m;

    if (bounce_rules_first(BOUNCE_TABLE_BOUNCE_BODY, parts->text->str, err_len, &m)) {
        *rule_out = m.rule->id;
        return TRUE;
    }
    if (subject_matches(parts, BOUNCE_TABLE_BOUNCE_SUBJECT, &m)) {
        *rule_out = m.rule->id;
        return TRUE;
    }
    return bounce_from_daemon(parts, rule_out);
}

gboolean
bounce_prose_read(BounceReport *report, BounceParts *parts)
{
    const GString *text = parts->text;
    gsize original_at, err_len;
    const char *why = NULL;
    g_autoptr(GArray) hits = NULL;
    const BounceFields *original = parts->original;
    const char *failed;

    err_len = prose_error_end(parts, &original_at);
    if (!prose_is_bounce(parts, err_len, &why))
        return FALSE;
    if (original == NULL && original_at < text->len) {
        parts->original = prose_original_headers(text, original_at);
        original = parts->original;
    }

    hits = prose_find_recipients(parts, text->str, err_len);
    /* Exim and Google list the failed recipients in a header; it speaks
     * when the text names none (Exim's pipe and file deliveries). */
    failed = hits->len == 0 ? bounce_fields_get(parts->headers, "X-Failed-Recipients") : NULL;
    if (failed != NULL) {
        g_auto(GStrv) items = g_strsplit(failed, ",", 256);

        for (guint k = 0; items[k] != NULL && report->recipients->len < BOUNCE_MAX_RECIPIENTS; k++) {
            g_autofree char *addr = bounce_addr_clean(items[k]);
            BounceRecipient *r;
            gboolean found = FALSE;

            if (addr == NULL)
                continue;
            r = bounce_recipient_new();
            bounce_recipient_set(&r->addr, addr);
            bounce_recipient_set(&r->rule, "hdr-x-failed-recipients");
            for (guint i = 0; i < hits->len && !found; i++) {
                ProseHit *hit = &g_array_index(hits, ProseHit, i);

                if (g_ascii_strcasecmp(hit->addr, addr) == 0) {
                    g_free(r->diagnostic);
                    r->diagnostic = prose_hit_diagnostic(text->str, hits, i, err_len);
                    found = TRUE;
                }
            }
            if (!found || r->diagnostic[0] == '\0') {
                g_free(r->diagnostic);
                r->diagnostic = prose_diagnostic(text->str, hits->len > 0 ? g_array_index(hits, ProseHit, 0).line_start : 0, err_len);
            }
            g_ptr_array_add(report->recipients, r);
        }
    }
    for (guint i = 0; i < hits->len; i++) {
        ProseHit *hit = &g_array_index(hits, ProseHit, i);
        BounceRecipient *r;

        if (report->recipients->len > 0 && failed != NULL) {
            g_free(hit->addr);
            continue;
        }
        r = bounce_recipient_new();
        bounce_recipient_set(&r->addr, hit->addr);
        g_free(r->diagnostic);
        r->diagnostic = prose_hit_diagnostic(text->str, hits, i, err_len);
        /* Addresses listed one under another with one error after the
         * last (Exim, when a host refused them together): the error is
         * theirs all. */
        for (guint j = i + 1; r->diagnostic[0] == '\0' && j < hits->len; j++) {
            g_free(r->diagnostic);
            r->diagnostic = prose_hit_diagnostic(text->str, hits, j, err_len);
        }
        if (r->diagnostic[0] == '\0') {
            /* The reason came before the address ("...: user unknown\n
             * <addr>"): take the text before the first recipient. */
            g_free(r->diagnostic);
            r->diagnostic = prose_diagnostic(text->str, 0, hits->len > 0
                                             ? g_array_index(hits, ProseHit, 0).line_start : err_len);
        }
        if (!prose_has_code(r->diagnostic) && g_array_index(hits, ProseHit, 0).line_start > 0) {
            /* Nothing after the address says what failed: the reason was
             * given before the list of recipients. */
            g_autofree char *pre = prose_diagnostic(text->str, 0, g_array_index(hits, ProseHit, 0).line_start);

            if (prose_has_code(pre)) {
                char *both = g_strconcat(pre, " ", r->diagnostic, NULL);

                g_free(r->diagnostic);
                r->diagnostic = both;
            }
        }
        bounce_recipient_set(&r->rule, hit->rule);
        g_ptr_array_add(report->recipients, r);
        g_free(hit->addr);
    }

    /* Bounces that never name the recipient: the returned original says
     * whom it was for. Not in a forward: its "original" is the forwarded
     * message, whose To: is whoever forwarded it (or our own address). */
    if (report->recipients->len == 0 && original != NULL && !prose_is_forward(parts)) {
        g_autofree char *addr = bounce_addr_clean(bounce_fields_get(original, "To"));

        if (addr != NULL) {
            BounceRecipient *r = bounce_recipient_new();

            bounce_recipient_set(&r->addr, addr);
            g_free(r->diagnostic);
            r->diagnostic = prose_diagnostic(text->str, 0, err_len);
            bounce_recipient_set(&r->rule, "rcpt-original-to");
            g_ptr_array_add(report->recipients, r);
        }
    }
    (void)why;
    if (report->recipients->len > 0) {
        const char *mta = bounce_mta_name(parts);
        gsize first = hits->len > 0 ? g_array_index(hits, ProseHit, 0).line_start : 0;
        g_autofree char *before = NULL;

        for (guint i = 0; i < report->recipients->len; i++) {
            BounceRecipient *r = g_ptr_array_index(report->recipients, i);

            bounce_mta_preset(r, mta);
            /* EZweb and others say why before they list the recipients
             * ("The user(s) account is temporarily over quota.\n\n<addr>"):
             * the MTA's own words there count when the recipient's own
             * text has none. */
            if (r->reason[0] != '\0' || mta == NULL || first == 0)
                continue;
            if (before == NULL)
                before = prose_diagnostic(text->str, 0, first);
            bounce_mta_preset_from(r, mta, before);
        }
    }
    return report->recipients->len > 0;
}

/* prose_dsn_line_names - line is a Final-Recipient or Original-Recipient
 * field naming addr (any case). */
static gboolean
prose_dsn_line_names(const char *line, gsize len, const char *addr)
{
    gsize alen = strlen(addr);

    if (!(len >= 16 && g_ascii_strncasecmp(line, "final-recipient:", 16) == 0)
        && !(len >= 19 && g_ascii_strncasecmp(line, "original-recipient:", 19) == 0))
        return FALSE;
    for (gsize at = 0; at + alen <= len; at++) {
        if (g_ascii_strncasecmp(line + at, addr, alen) == 0)
            return TRUE;
    }
    return FALSE;
}

/* prose_dsn_block_of - the block of DSN fields (blank lines around it) in
 * which a Final-Recipient or Original-Recipient line names addr, folded
 * into one line; NULL when none does. (transfer full) */
static char *
prose_dsn_block_of(const char *text, gsize len, const char *addr)
{
    gsize pos = 0, start = 0;
    gboolean found = FALSE;

    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        gsize line_end = nl != NULL ? (gsize)(nl - text) : len;
        gboolean blank = pos + prose_indent(text + pos, line_end - pos) == line_end;

        if (blank && found)
            break;              /* the end of the block that names addr */
        if (blank)
            start = line_end + 1;
        else
            found = found || prose_dsn_line_names(text + pos, line_end - pos, addr);
        pos = line_end + 1;
    }
    return found ? bounce_fold(text + start, MIN(pos, len) - start) : NULL;
}

/* prose_diagnostic_within - what the first err_len bytes of the text say of
 * addr (NULL: of the only recipient), or NULL. (transfer full) */
static char *
prose_diagnostic_within(const BounceParts *parts, const char *addr, gsize err_len)
{
    const GString *text = parts->text;
    g_autoptr(GArray) hits = prose_find_recipients(parts, text->str, err_len);
    char *diag = NULL;

    for (guint i = 0; i < hits->len; i++) {
        ProseHit *hit = &g_array_index(hits, ProseHit, i);

        if (diag == NULL && (addr == NULL || g_ascii_strcasecmp(hit->addr, addr) == 0))
            diag = prose_hit_diagnostic(text->str, hits, i, err_len);
        g_free(hit->addr);
    }
    if (diag == NULL && hits->len == 0 && addr != NULL && *addr != '\0') {
        /* No line has a recipient's shape ("pipe to |prog addr", "wasn't
         * delivered to addr because ..."): the paragraph naming the
         * address is what the text says of it. */
        gsize alen = strlen(addr);

        for (gsize at = 0; at + alen <= err_len; at++) {
            if (g_ascii_strncasecmp(text->str + at, addr, alen) != 0)
                continue;
            while (at > 0 && !(text->str[at - 1] == '\n' && at >= 2 && text->str[at - 2] == '\n'))
                at--;
            diag = prose_diagnostic(text->str, at, err_len);
            break;
        }
    }
    return diag;
}

char *
bounce_prose_diagnostic_for(const BounceParts *parts, const char *addr)
{
    const GString *text = parts->text;
    gsize original_at, err_len = prose_error_end(parts, &original_at);
    gsize fields_at = prose_dsn_fields_at(text->str, err_len);
    char *diag;

    if (fields_at == err_len)
        return prose_diagnostic_within(parts, addr, err_len);
    /* The report's own fields came as text (a delivery-status part
     * labelled text/plain): the human-readable part ends where they
     * start, and what it does not say of the recipient, its own block of
     * fields does, not the blocks of the others. */
    diag = prose_diagnostic_within(parts, addr, fields_at);
    if (diag == NULL && addr != NULL)
        diag = prose_dsn_block_of(text->str + fields_at, err_len - fields_at, addr);
    return diag;
}
