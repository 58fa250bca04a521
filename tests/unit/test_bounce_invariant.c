/* test_bounce_invariant.c - changes a message may go through on its way
 * that must not change what it says: every fixture of tests/fixtures/bounces
 * and tests/fixtures/formats, changed so, gives the same kind and the same
 * recipients (address, action, status, reply code, reason, hard/soft).
 *
 *   names    header and DSN field names in lower case ("final-recipient:"):
 *            they are case-insensitive (RFC 5322 2.2, RFC 3464 2.1)
 *   blanks   two blanks at the end of every line, as a transport may add;
 *            in quoted-printable text a decoder deletes them (RFC 2045 6.7)
 *   case     every recipient's address in upper case where the text gives it
 *   footer   a gateway's signature ("-- " and a line about viruses and spam)
 *            at the end of a message of one text part, not encoded
 *   tag      "[EXTERNAL] " put before the subject, as gateways mark mail
 *   order    the fields of each DSN recipient block in reverse order (a
 *            block of one Final-Recipient; RFC 3464 sets no order)
 *   html     a message of one plain text part sent as HTML instead: each
 *            line ended by <br>, blanks and &<>" as entities
 *
 * Line ends (CRLF, CR) are held to the same answer by test_bounce_golden. */
#include <string.h>

#include "bouncer/bounce_report.h"
#include "tests/unit/testutil.h"

typedef GByteArray *(*InvariantChange)(const char *data, gsize len, const GPtrArray *addrs);

/* invariant_summary - what must not change: one line per recipient;
 * their addresses added to addrs when it is not NULL. */
static char *
invariant_summary(const char *data, gsize len, GPtrArray *addrs)
{
    g_autoptr(GPtrArray) reports = testutil_parse_each(data, len);
    GString *out = g_string_new(NULL);

    for (guint m = 0; m < reports->len; m++) {
        const BounceReport *report = g_ptr_array_index(reports, m);

        g_string_append_printf(out, "kind %s\n", bounce_kind_to_string(report->kind));
        for (guint i = 0; i < report->recipients->len; i++) {
            const BounceRecipient *r = g_ptr_array_index(report->recipients, i);
            g_autofree char *addr = g_ascii_strdown(r->addr, -1);

            g_string_append_printf(out, "  %s %s %s %s %s %s\n", addr, r->action, r->status,
                                   r->replycode, r->reason, r->hard ? "hard" : "soft");
            if (addrs != NULL)
                g_ptr_array_add(addrs, g_strdup(r->addr));
        }
    }
    return g_string_free(out, FALSE);
}

/* change_names - "Name:" at a line start in lower case. */
static GByteArray *
change_names(const char *data, gsize len, const GPtrArray *addrs)
{
    GByteArray *out = g_byte_array_sized_new(len);

    g_byte_array_append(out, (const guint8 *)data, len);
    for (gsize i = 0; i < len; i++) {
        gsize k = i;

        if (i > 0 && data[i - 1] != '\n')
            continue;
        while (k < len && (g_ascii_isalnum(data[k]) || data[k] == '-'))
            k++;
        if (k > i && k < len && data[k] == ':' && g_ascii_isalpha(data[i])) {
            for (gsize j = i; j < k; j++)
                out->data[j] = g_ascii_tolower(data[j]);
        }
    }
    return out;
}

/* change_blanks - two blanks before every line end of a line with text. */
static GByteArray *
change_blanks(const char *data, gsize len, const GPtrArray *addrs)
{
    GByteArray *out = g_byte_array_sized_new(len + len / 8);

    for (gsize i = 0; i < len; i++) {
        gboolean end = data[i] == '\n' && !(i > 0 && data[i - 1] == '\r');

        end = end || data[i] == '\r';
        if (end && i > 0 && data[i - 1] != '\n' && data[i - 1] != '\r')
            g_byte_array_append(out, (const guint8 *)"  ", 2);
        g_byte_array_append(out, (const guint8 *)&data[i], 1);
    }
    return out;
}

/* change_case - each recipient's address, where the text gives it as the
 * report does, in upper case. */
static GByteArray *
change_case(const char *data, gsize len, const GPtrArray *addrs)
{
    GByteArray *out = g_byte_array_sized_new(len);

    g_byte_array_append(out, (const guint8 *)data, len);
    for (guint i = 0; i < addrs->len; i++) {
        const char *addr = g_ptr_array_index(addrs, i);
        gsize n = strlen(addr);

        for (gsize at = 0; n > 0 && at + n <= len; at++) {
            if (g_ascii_strncasecmp(data + at, addr, n) != 0)
                continue;
            for (gsize j = 0; j < n; j++)
                out->data[at + j] = g_ascii_toupper(data[at + j]);
            at += n - 1;
        }
    }
    return out;
}

/* change_footer - a signed footer at the end of a single, unencoded part. */
static GByteArray *
change_footer(const char *data, gsize len, const GPtrArray *addrs)
{
    static const char footer[] = "\n-- \nThis message was scanned for viruses and spam by the"
                                 " Example Mail Gateway.\n";
    const char *body = g_strstr_len(data, len, "\n\n");
    g_autofree char *head = g_ascii_strdown(data, body != NULL ? body - data : (gssize)len);
    GByteArray *out = g_byte_array_sized_new(len + sizeof(footer));

    g_byte_array_append(out, (const guint8 *)data, len);
    if (body != NULL && strstr(head, "multipart/") == NULL && strstr(head, "base64") == NULL
        && strstr(head, "quoted-printable") == NULL)
        g_byte_array_append(out, (const guint8 *)footer, sizeof(footer) - 1);
    return out;
}

/* change_tag - "[EXTERNAL] " before the first Subject's value. */
static GByteArray *
change_tag(const char *data, gsize len, const GPtrArray *addrs)
{
    GByteArray *out = g_byte_array_sized_new(len + 16);

    for (gsize i = 0; i + 8 <= len; i++) {
        if ((i == 0 || data[i - 1] == '\n') && g_ascii_strncasecmp(data + i, "subject:", 8) == 0) {
            gsize at = i + 8;

            while (at < len && (data[at] == ' ' || data[at] == '\t'))
                at++;
            g_byte_array_append(out, (const guint8 *)data, at);
            g_byte_array_append(out, (const guint8 *)"[EXTERNAL] ", 11);
            g_byte_array_append(out, (const guint8 *)data + at, len - at);
            return out;
        }
    }
    g_byte_array_append(out, (const guint8 *)data, len);
    return out;
}

/* relabel_dsn - each "Content-Type: message/delivery-status" (or
 * global-delivery-status) at a line start given the type label instead. */
static GByteArray *
relabel_dsn(const char *data, gsize len, const char *label)
{
    static const char *const types[] = { "message/delivery-status",
                                         "message/global-delivery-status" };
    GByteArray *out = g_byte_array_sized_new(len);
    gsize from = 0;

    for (gsize i = 0; i + 13 <= len; i++) {
        gsize at = i + 13;

        if ((i > 0 && data[i - 1] != '\n') || g_ascii_strncasecmp(data + i, "content-type:", 13) != 0)
            continue;
        while (at < len && (data[at] == ' ' || data[at] == '\t'))
            at++;
        for (gsize t = 0; t < G_N_ELEMENTS(types); t++) {
            gsize n = strlen(types[t]);

            if (len - at >= n && g_ascii_strncasecmp(data + at, types[t], n) == 0) {
                g_byte_array_append(out, (const guint8 *)data + from, at - from);
                g_byte_array_append(out, (const guint8 *)label, strlen(label));
                from = at + n;
                break;
            }
        }
    }
    g_byte_array_append(out, (const guint8 *)data + from, len - from);
    return out;
}

/* change_dsn_type - a delivery-status part labelled text/plain, as some
 * gateways pass it on. */
static GByteArray *
change_dsn_type(const char *data, gsize len, const GPtrArray *addrs)
{
    return relabel_dsn(data, len, "text/plain");
}

/* change_dsn_octet - a delivery-status part labelled
 * application/octet-stream, as other gateways pass it on. */
static GByteArray *
change_dsn_octet(const char *data, gsize len, const GPtrArray *addrs)
{
    return relabel_dsn(data, len, "application/octet-stream");
}

/* order_block - the lines [from, to) of a block of one recipient's DSN
 * fields, appended to out with its fields in reverse order; FALSE (and
 * nothing appended) when it is not such a block. */
static gboolean
order_block(const char *data, gsize from, gsize to, GByteArray *out)
{
    g_autoptr(GArray) starts = g_array_new(FALSE, FALSE, sizeof(gsize));
    guint finals = 0;

    for (gsize at = from; at < to;) {
        const char *nl = memchr(data + at, '\n', to - at);
        gsize end = nl != NULL ? (gsize)(nl - data) + 1 : to;
        gsize k = at;

        if (data[at] != ' ' && data[at] != '\t') {
            while (k < end && (g_ascii_isalnum(data[k]) || data[k] == '-'))
                k++;
            if (k == at || k == end || data[k] != ':')
                return FALSE;
            finals += g_ascii_strncasecmp(data + at, "Final-Recipient:", 16) == 0;
            g_array_append_val(starts, at);
        } else if (starts->len == 0) {
            return FALSE;
        }
        at = end;
    }
    if (finals != 1 || starts->len < 2 || data[to - 1] != '\n')
        return FALSE;
    for (guint i = starts->len; i-- > 0;) {
        gsize a = g_array_index(starts, gsize, i);
        gsize b = i + 1 < starts->len ? g_array_index(starts, gsize, i + 1) : to;

        g_byte_array_append(out, (const guint8 *)data + a, b - a);
    }
    return TRUE;
}

/* change_order - every DSN recipient block with its fields reversed. */
static GByteArray *
change_order(const char *data, gsize len, const GPtrArray *addrs)
{
    GByteArray *out = g_byte_array_sized_new(len);
    gsize at = 0;

    while (at < len) {
        gsize end = at;

        /* a block: lines up to a blank one */
        while (end < len) {
            const char *nl = memchr(data + end, '\n', len - end);
            gsize next = nl != NULL ? (gsize)(nl - data) + 1 : len;

            if (next - end <= 1 || (next - end == 2 && data[end] == '\r'))
                break;
            end = next;
        }
        if (end == at) {
            const char *nl = memchr(data + at, '\n', len - at);

            end = nl != NULL ? (gsize)(nl - data) + 1 : len;
            g_byte_array_append(out, (const guint8 *)data + at, end - at);
        } else if (!order_block(data, at, end, out)) {
            g_byte_array_append(out, (const guint8 *)data + at, end - at);
        }
        at = end;
    }
    return out;
}

/* append_str - a string's bytes at the end of out. */
static void
append_str(GByteArray *out, const char *text)
{
    g_byte_array_append(out, (const guint8 *)text, strlen(text));
}

/* change_html - a message that is one unencoded text/plain part (not an
 * mbox, no escape-sequence charset) as text/html. */
static GByteArray *
change_html(const char *data, gsize len, const GPtrArray *addrs)
{
    const char *body = g_strstr_len(data, len, "\n\n");
    g_autofree char *head = body != NULL ? g_ascii_strdown(data, body - data) : NULL;
    const char *ct = head != NULL ? strstr(head, "\ncontent-type:") : NULL;
    GByteArray *out = g_byte_array_sized_new(len * 2);

    if (body == NULL || g_str_has_prefix(data, "From ") || memchr(data, 0x1b, len) != NULL
        || (ct != NULL && !g_str_has_prefix(ct + 14 + strspn(ct + 14, " \t"), "text/plain"))
        || strstr(head, "base64") != NULL || strstr(head, "quoted-printable") != NULL) {
        g_byte_array_append(out, (const guint8 *)data, len);
        return out;
    }
    /* the header, its Content-Type made text/html */
    if (ct != NULL) {
        gsize at = ct - head + 1, end = at;

        while (end < (gsize)(body - data) && data[end] != '\n')
            end++;
        g_byte_array_append(out, (const guint8 *)data, at);
        append_str(out, "Content-Type: text/html");
        for (const char *semi = memchr(data + at, ';', end - at); semi != NULL; semi = NULL)
            g_byte_array_append(out, (const guint8 *)semi, data + end - semi);
        g_byte_array_append(out, (const guint8 *)data + end, body - (data + end));
    } else {
        g_byte_array_append(out, (const guint8 *)data, body - data);
        append_str(out, "\nContent-Type: text/html");
    }
    append_str(out, "\n\n<html><body>\n");
    for (const char *p = body + 2; p < data + len; p++) {
        const char *entity = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;"
                             : *p == '"' ? "&quot;" : *p == '\n' ? "<br>\n" : NULL;

        if (*p == ' ' && p + 1 < data + len && p[1] == ' ')
            entity = "&nbsp;";
        if (entity != NULL)
            append_str(out, entity);
        else
            g_byte_array_append(out, (const guint8 *)p, 1);
    }
    append_str(out, "</body></html>\n");
    return out;
}

typedef struct {
    const char *name;
    InvariantChange change;
} Invariant;

static const Invariant invariants[] = {
    { "names", change_names },
    { "blanks", change_blanks },
    { "case", change_case },
    { "footer", change_footer },
    { "tag", change_tag },
    { "order", change_order },
    { "html", change_html },
    { "dsn-type", change_dsn_type },
    { "dsn-octet", change_dsn_octet },
};

static void
test_invariant_one(gconstpointer user_data)
{
    const char *eml_rel = user_data;
    g_autoptr(GBytes) eml = testutil_read_file(eml_rel);
    gsize len = 0;
    const char *data = g_bytes_get_data(eml, &len);
    g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *want = invariant_summary(data, len, addrs);

    for (gsize v = 0; v < G_N_ELEMENTS(invariants); v++) {
        g_autoptr(GByteArray) changed = invariants[v].change(data, len, addrs);
        g_autofree char *got = invariant_summary((const char *)changed->data, changed->len, NULL);

        if (strcmp(got, want) != 0) {
            g_test_message("%s, %s:\n got\n%s want\n%s", eml_rel, invariants[v].name, got, want);
            g_test_fail();
        }
    }
}

/* The changes themselves, so that a test that passes has changed
 * something. */
static void
test_invariant_changes(void)
{
    static const char msg[] = "Final-Recipient: rfc822; Ann@Example.org\nAction: failed\n\nbody";
    g_autoptr(GPtrArray) addrs = g_ptr_array_new();
    g_autoptr(GByteArray) names = change_names(msg, sizeof(msg) - 1, addrs);
    g_autoptr(GByteArray) blanks = change_blanks(msg, sizeof(msg) - 1, addrs);
    g_autoptr(GByteArray) upper = NULL;

    g_ptr_array_add(addrs, (gpointer)"ann@example.org");
    upper = change_case(msg, sizeof(msg) - 1, addrs);
    g_assert_cmpmem(names->data, names->len,
                    "final-recipient: rfc822; Ann@Example.org\naction: failed\n\nbody", 61);
    g_assert_cmpmem(blanks->data, blanks->len,
                    "Final-Recipient: rfc822; Ann@Example.org  \nAction: failed  \n\nbody", 65);
    g_assert_cmpmem(upper->data, upper->len,
                    "Final-Recipient: rfc822; ANN@EXAMPLE.ORG\nAction: failed\n\nbody", 61);
    {
        static const char subj[] = "From: a@b\nSubject:  Returned mail\n\nx";
        g_autoptr(GByteArray) tagged = change_tag(subj, sizeof(subj) - 1, addrs);

        g_assert_cmpmem(tagged->data, tagged->len,
                        "From: a@b\nSubject:  [EXTERNAL] Returned mail\n\nx", 47);
    }
    {
        static const char dsn[] = "Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; x@y\n"
                                  "Action: failed\nDiagnostic-Code: smtp; 550\n  gone\n\nz";
        static const char want[] = "Reporting-MTA: dns; a\n\nDiagnostic-Code: smtp; 550\n  gone\n"
                                   "Action: failed\nFinal-Recipient: rfc822; x@y\n\nz";
        g_autoptr(GByteArray) ordered = change_order(dsn, sizeof(dsn) - 1, addrs);

        g_assert_cmpmem(ordered->data, ordered->len, want, sizeof(want) - 1);
    }
    {
        static const char text[] = "From: a@b\nContent-Type: text/plain; charset=utf-8\n\n"
                                   "<x@y>:  gone & \"lost\"\n";
        static const char want[] = "From: a@b\nContent-Type: text/html; charset=utf-8\n\n"
                                   "<html><body>\n&lt;x@y&gt;:&nbsp; gone &amp; &quot;lost&quot;"
                                   "<br>\n</body></html>\n";
        g_autoptr(GByteArray) html = change_html(text, sizeof(text) - 1, addrs);

        g_assert_cmpmem(html->data, html->len, want, sizeof(want) - 1);
    }
    {
        static const char parts[] = "--b\nContent-Type:  message/delivery-status\n\nx\n";
        static const char want[] = "--b\nContent-Type:  text/plain\n\nx\n";
        g_autoptr(GByteArray) typed = change_dsn_type(parts, sizeof(parts) - 1, addrs);

        g_assert_cmpmem(typed->data, typed->len, want, sizeof(want) - 1);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/invariant/changes", test_invariant_changes);
    testutil_add_fixture_tests("/bounce/invariant", test_invariant_one);
    return g_test_run();
}
