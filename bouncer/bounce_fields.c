/* bounce_fields.c - "Name: value" blocks (delivery-status, feedback-report,
 * returned headers in prose), addresses and whitespace folding. */
#include <gmime/gmime.h>
#include <string.h>

#include "bouncer/bounce_private.h"

/* bounce_fields_new - an empty field list. (transfer full) */
BounceFields *
bounce_fields_new(void)
{
    BounceFields *fields = g_new0(BounceFields, 1);

    /* Room for a typical block up front: grown from one field, a list of
     * two dozen was copied five times over. */
    fields->fields = g_array_sized_new(FALSE, FALSE, sizeof(BounceField), 32);
    /* A header block's names and values in a few blocks, not an
     * allocation each: a message has dozens of fields. */
    fields->text = g_string_chunk_new(2048);
    return fields;
}

/* bounce_fields_free - free the list and its strings; NULL is fine. */
void
bounce_fields_free(BounceFields *fields)
{
    if (fields == NULL)
        return;
    for (guint i = 0; i < fields->fields->len; i++) {
        BounceField *f = &g_array_index(fields->fields, BounceField, i);

        g_free(f->value);
    }
    g_array_free(fields->fields, TRUE);
    g_string_chunk_free(fields->text);
    g_free(fields);
}

/* bounce_fields_add - append one field: its name and raw value, kept with
 * the list's other strings; the value is folded and made valid UTF-8 when
 * it is read (bounce_field_value), so every reader gets clean text. */
void
bounce_fields_add(BounceFields *fields, const char *name, gsize name_len,
                  const char *value, gsize value_len)
{
    BounceField f;

    if (fields->fields->len >= BOUNCE_MAX_FIELDS)
        return;
    /* No more is ever folded (bounce_fold caps what it reads). */
    value_len = MIN(value_len, BOUNCE_MAX_DIAGNOSTIC * 4);
    f.name = g_string_chunk_insert_len(fields->text, name, (gssize)name_len);
    f.raw = g_string_chunk_insert_len(fields->text, value, (gssize)value_len);
    f.raw_len = value_len;
    f.value = NULL;
    g_array_append_val(fields->fields, f);
}

const char *
bounce_field_value(const BounceField *field)
{
    BounceField *f = (BounceField *)field;     /* the fold is a cache */

    if (f->value == NULL)
        f->value = bounce_fold(f->raw, f->raw_len);
    return f->value;
}

/* fields_add_read - the field just read: its value where it stands in
 * the text (span), or as joined in value when it was not one run. */
static void
fields_add_read(BounceFields *fields, const char *name, gsize name_len, const char *span,
                gsize span_len, const GString *value)
{
    if (span != NULL)
        bounce_fields_add(fields, name, name_len, span, span_len);
    else
        bounce_fields_add(fields, name, name_len, value->str, value->len);
}

/* field_name_len - length of a field name at the start of line, 0 when the
 * line is not "Name:" (RFC 5322 ftext: printable ASCII but colon). */
static gsize
field_name_len(const char *line, gsize len)
{
    gsize i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];

        if (c == ':')
            return i > 0 ? i : 0;
        if (c <= 32 || c >= 127)
            return 0;
    }
    return 0;
}

gsize
bounce_fields_parse(BounceFields *fields, const char *text, gsize len, gboolean lenient)
{
    gsize pos = 0;
    const char *name = NULL;
    gsize name_len = 0;
    /* A field's value is read where it stands, its continuation lines
     * with it (the line ends between them, which bounce_fold makes
     * spaces as it does the space joined in their place): most fields
     * are one line, and copying each into a buffer first cost more than
     * the rest of the parse. Only a continuation after a skipped line is
     * joined in value, as before. */
    const char *span = NULL;
    gsize span_len = 0;
    GString *value = NULL;

    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        gsize line_len = nl != NULL ? (gsize)(nl - line) : len - pos;
        gsize next = pos + line_len + (nl != NULL ? 1 : 0);
        gsize nlen;

        if (line_len == 0 || (line_len == 1 && line[0] == '\r'))
            break;          /* a blank line ends the block */
        if ((line[0] == ' ' || line[0] == '\t') && name != NULL) {
            if (span != NULL && span + span_len + 1 == line) {
                span_len += 1 + line_len;
            } else {
                if (span != NULL) {
                    if (value == NULL)
                        value = g_string_new(NULL);
                    g_string_truncate(value, 0);
                    g_string_append_len(value, span, span_len);
                    span = NULL;
                }
                g_string_append_c(value, ' ');
                g_string_append_len(value, line, line_len);
            }
            pos = next;
            continue;
        }
        nlen = field_name_len(line, line_len);
        if (nlen == 0) {
            if (!lenient)
                break;
            pos = next;
            continue;
        }
        if (name != NULL)
            fields_add_read(fields, name, name_len, span, span_len, value);
        name = line;
        name_len = nlen;
        span = line + nlen + 1;
        span_len = line_len - nlen - 1;
        pos = next;
    }
    if (name != NULL)
        fields_add_read(fields, name, name_len, span, span_len, value);
    if (value != NULL)
        g_string_free(value, TRUE);
    return pos;
}

const char *
bounce_fields_get(const BounceFields *fields, const char *name)
{
    if (fields == NULL)
        return NULL;
    for (guint i = 0; i < fields->fields->len; i++) {
        const BounceField *f = &g_array_index(fields->fields, BounceField, i);

        if (bounce_field_is(f, name))
            return bounce_field_value(f);
    }
    return NULL;
}

const char *
bounce_text_find_name(const char *p, const char *end, const char *name)
{
    gsize n = strlen(name);
    const char *c = p + n;

    while (c < end && (c = memchr(c, ':', end - c)) != NULL) {
        if (g_ascii_strncasecmp(c - n, name, n) == 0)
            return c - n;
        c++;
    }
    return NULL;
}

/* fold_blank - the bytes bounce_fold turns into one space: blanks, line
 * ends and NUL. */
static const guint8 fold_blank[256] = { [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, [0] = 1 };

/* fold_has_high_byte - a byte of the n at s is above 0x7F; eight at a time. */
static gboolean
fold_has_high_byte(const char *s, gsize n)
{
    guint64 any = 0;
    gsize i = 0;

    for (; n - i >= 8; i += 8) {
        guint64 w;

        memcpy(&w, s + i, 8);
        any |= w;
    }
    for (; i < n; i++)
        any |= (unsigned char)s[i];
    return (any & G_GUINT64_CONSTANT(0x8080808080808080)) != 0;
}

char *
bounce_fold(const char *text, gsize len)
{
    char *out, *o;
    char *valid;

    if (text == NULL)
        return g_strdup("");
    if (len > BOUNCE_MAX_DIAGNOSTIC * 4)
        len = BOUNCE_MAX_DIAGNOSTIC * 4;
    /* Folding never lengthens the text: one buffer of its size will do.
     * Word by word: the blanks before it become one space (none at the
     * start), its bytes are copied as they are. */
    out = o = g_malloc(len + 1);
    for (gsize i = 0; i < len;) {
        gsize start;

        while (i < len && fold_blank[(unsigned char)text[i]])
            i++;
        if (i == len)
            break;
        if (o > out)
            *o++ = ' ';
        start = i;
        /* Eight bytes at a time: the first below '!' (a blank or another
         * control byte) is the lowest flagged one (bytes read little
         * end first); a control byte that is no blank is part of the
         * word, and the search goes on past it. */
        while (len - i >= 8) {
            guint64 w, below;

            memcpy(&w, text + i, 8);
            w = GUINT64_FROM_LE(w);
            below = (w - G_GUINT64_CONSTANT(0x2121212121212121)) & ~w
                    & G_GUINT64_CONSTANT(0x8080808080808080);
            if (below == 0) {
                i += 8;
                continue;
            }
            i += (gsize)__builtin_ctzll(below) / 8;
            if (fold_blank[(unsigned char)text[i]])
                break;
            i++;
        }
        while (i < len && !fold_blank[(unsigned char)text[i]])
            i++;
        memcpy(o, text + start, i - start);
        o += i - start;
    }
    if (o - out > BOUNCE_MAX_DIAGNOSTIC) {
        /* Cut on a character boundary. */
        gsize cut = BOUNCE_MAX_DIAGNOSTIC;

        while (cut > 0 && ((unsigned char)out[cut] & 0xC0) == 0x80)
            cut--;
        o = out + cut;
    }
    *o = '\0';
    /* Only text with a byte above 0x7F can be invalid UTF-8. */
    if (!fold_has_high_byte(out, (gsize)(o - out)) || g_utf8_validate(out, o - out, NULL))
        return out;
    valid = g_utf8_make_valid(out, o - out);
    g_free(out);
    return valid;
}

/* addr_char - may appear in the address we pick out of free text. */
static gboolean
addr_char(unsigned char c)
{
    return c > 32 && c != '<' && c != '>' && c != '(' && c != ')' && c != ',' && c != ';'
        && c != ':' && c != '"' && c != '[' && c != ']' && c != '\\' && c != 127;
}

/* Punctuation outside ASCII that text runs into an address with no ASCII
 * between: CJK ("宛先：user@example.jp"), quotation marks of other
 * languages (“x@y”, «x@y», „x@y“), a sentence's end (x@y。, x@y…) and a
 * no-break space. None is ever part of an address we could send to. */
static const char *const addr_wide_stops[] = {
    "\xEF\xBC\x9A",   /* ： */
    "\xE3\x80\x80",   /* ideographic space */
    "\xEF\xBC\x9C", "\xEF\xBC\x9E",   /* ＜ ＞ */
    "\xEF\xBC\x88", "\xEF\xBC\x89",   /* （ ） */
    "\xE3\x80\x8C", "\xE3\x80\x8D", "\xE3\x80\x90", "\xE3\x80\x91",  /* 「」【】 */
    "\xE3\x80\x82", "\xEF\xBC\x8C", "\xE3\x80\x81",   /* 。，、 */
    "\xE2\x80\x9C", "\xE2\x80\x9D", "\xE2\x80\x9E",   /* “ ” „ */
    "\xE2\x80\xB9", "\xE2\x80\xBA", "\xE2\x80\xA6",   /* ‹ › … */
    "\xC2\xAB", "\xC2\xBB", "\xC2\xA0",                 /* « » no-break space */
    "\xE2\x80\x8B", "\xEF\xBB\xBF",                      /* zero-width spaces */
};

/* addr_wide_stop_at - the length of the stop starting at p, or 0. */
static gsize
addr_wide_stop_at(const char *p, const char *end)
{
    for (gsize k = 0; k < G_N_ELEMENTS(addr_wide_stops); k++) {
        gsize n = strlen(addr_wide_stops[k]);

        if ((gsize)(end - p) >= n && memcmp(p, addr_wide_stops[k], n) == 0)
            return n;
    }
    return 0;
}

/* addr_after_wide_stop - start moved past the last wide stop before at. */
static const char *
addr_after_wide_stop(const char *start, const char *at)
{
    for (const char *p = at; p - start >= 2; p--) {
        for (gsize n = 2; n <= 3 && (gsize)(p - start) >= n; n++) {
            if ((unsigned char)p[-(gssize)n] >= 0xC2 && addr_wide_stop_at(p - n, p) == n)
                return p;
        }
    }
    return start;
}

/* addr_before_wide_stop - end moved back to the first wide stop after at. */
static const char *
addr_before_wide_stop(const char *at, const char *end)
{
    for (const char *p = at + 1; end - p >= 2; p++) {
        if ((unsigned char)*p >= 0xC2 && addr_wide_stop_at(p, end) > 0)
            return p;
    }
    return end;
}

/* addr_domain_end - where the domain starting at dom ends: host names are
 * letters, digits, dots and hyphens (and bytes of an IDN), so anything
 * else ASCII after them is the text's ("x@y.com!", a mailto link's
 * "?subject=", "`x@y`"). A domain literal ("[192.0.2.1]") is kept whole. */
static const char *
addr_domain_end(const char *dom, const char *end)
{
    const char *p = dom, *label = dom;     /* label: where the current label starts */

    if (p < end && *p == '[')
        return end;             /* a literal, already bounded by the caller */
    while (p < end && ((unsigned char)*p >= 0x80 || g_ascii_isalnum(*p) || *p == '.' || *p == '-'
                       || *p == '_')) {
        /* General punctuation (U+2000-U+207F: quotation marks, dashes,
         * an ellipsis, zero-width spaces) is the text's, never a host's. */
        if ((unsigned char)*p == 0xE2 && p + 1 < end
            && ((unsigned char)p[1] == 0x80 || (unsigned char)p[1] == 0x81))
            break;
        /* A label begun in Latin letters does not go on in CJK, kana or
         * hangul (three-byte UTF-8): those are the sentence's, written
         * without a space ("x@example.com에게", "x@example.jpに"). */
        if ((unsigned char)*p >= 0xE0 && p > label && (unsigned char)*label < 0x80)
            break;
        if (*p == '.')
            label = p + 1;
        p++;
    }
    return p;
}

/* How far an address is looked for around its '@': past these, the text
 * is no address (RFC 5321 allows 64 octets of local part and 255 of
 * domain), and every '@' costs a bounded walk however long the line. */
#define ADDR_MAX_LOCAL   256
#define ADDR_MAX_DOMAIN  255
#define ADDR_MAX_LITERAL 64     /* "[IPv6:" and the longest IPv6 form, "]" */

/* addr_literal_end - the end of a domain literal starting at p ("[" then
 * an IPv4 address or "IPv6:" and hex digits, colons and dots, then "]"),
 * or NULL when p starts none. */
static const char *
addr_literal_end(const char *p)
{
    const char *q = p + 1;

    if (g_ascii_strncasecmp(q, "IPv6:", 5) == 0)
        q += 5;
    for (; *q != '\0' && q - p < ADDR_MAX_LITERAL; q++) {
        if (*q == ']')
            return q > p + 1 ? q + 1 : NULL;
        if (!g_ascii_isxdigit(*q) && *q != '.' && *q != ':')
            return NULL;
    }
    return NULL;
}

char *
bounce_addr_clean(const char *value)
{
    const char *at, *start, *end;
    g_autofree char *addr = NULL;
    char *dom;

    if (value == NULL)
        return NULL;
    /* "rfc822;" / "utf-8;" address-type prefix (RFC 3464 §2.3.2) */
    start = strchr(value, ';');
    if (start != NULL && strchr(value, '@') > start)
        value = start + 1;
    at = strchr(value, '@');
    while (at != NULL) {
        start = at;
        while (start > value && addr_char((unsigned char)start[-1]) && start[-1] != '@'
               && at - start < ADDR_MAX_LOCAL)
            start--;
        end = at + 1;
        if (*end == '[') {
            /* a domain literal: only its brackets stop addr_char */
            const char *close = addr_literal_end(end);

            if (close != NULL)
                end = close;
        } else {
            while (*end != '\0' && *end != '@' && addr_char((unsigned char)*end)
                   && end - at <= ADDR_MAX_DOMAIN)
                end++;
        }
        end = addr_before_wide_stop(at, end);
        end = addr_domain_end(at + 1, end);
        while (end > at + 1 && (end[-1] == '.' || end[-1] == '-'))
            end--;
        start = addr_after_wide_stop(start, at);
        while (start < at && (*start == '\'' || *start == '.'))
            start++;
        /* A mark before the address that its end did not keep: quoted
         * ("`x@y`", "{x@y}", "‘x@y’"), not part of the local part. */
        if (start < at && (*start == '`' || *start == '{'))
            start++;
        else if (start < at && *start == '*' && *end == '*')
            start++;                    /* *x@y*, emphasis in plain text */
        if (at - start > 3 && memcmp(start, "\xE2\x80\x98", 3) == 0)   /* ‘ */
            start += 3;
        if (at > value + 1 && at[-1] == '"') {
            /* a quoted local part ("a..b"@example.com, RFC 5321 §4.1.2) */
            const char *q = at - 2;

            while (q >= value && *q != '"' && at - q < ADDR_MAX_LOCAL)
                q--;
            if (q >= value && *q == '"' && at - q > 2)
                start = q;
        }
        if (start < at && end > at + 1)
            break;
        at = strchr(at + 1, '@');
    }
    if (at == NULL)
        return NULL;
    addr = g_strndup(start, end - start);
    /* "mailto:" and SRS-ish decorations are not part of the address */
    if (g_ascii_strncasecmp(addr, "mailto:", 7) == 0)
        memmove(addr, addr + 7, strlen(addr + 7) + 1);
    if (!g_utf8_validate(addr, -1, NULL))
        return NULL;
    dom = strrchr(addr, '@');
    if (dom == NULL || dom == addr || dom[1] == '\0')
        return NULL;
    for (char *p = dom + 1; *p != '\0'; p++)
        *p = g_ascii_tolower(*p);
    return g_steal_pointer(&addr);
}

/* bounce_recipient_new - an empty recipient: every string "", as the JSON
 * shows them. (transfer full) */
BounceRecipient *
bounce_recipient_new(void)
{
    BounceRecipient *r = g_new0(BounceRecipient, 1);

    r->addr = g_strdup("");
    r->action = g_strdup("");
    r->status = g_strdup("");
    r->replycode = g_strdup("");
    r->diagnostic = g_strdup("");
    r->remote_mta = g_strdup("");
    r->reason = g_strdup("");
    r->bounce_type = g_strdup("");
    r->bounce_subtype = g_strdup("");
    r->rule = g_strdup("");
    return r;
}

/* bounce_recipient_free - NULL is fine. */
void
bounce_recipient_free(BounceRecipient *r)
{
    if (r == NULL)
        return;
    g_free(r->addr);
    g_free(r->action);
    g_free(r->status);
    g_free(r->replycode);
    g_free(r->diagnostic);
    g_free(r->remote_mta);
    g_free(r->reason);
    g_free(r->bounce_type);
    g_free(r->bounce_subtype);
    g_free(r->feedbacktype);
    g_free(r->rule);
    g_free(r->diagnostic_type);
    g_free(r->last_attempt_date);
    g_free(r->will_retry_until);
    g_free(r->smtp_command);
    g_free(r);
}

/* bounce_recipient_set - replace a string slot (NULL stores ""). */
void
bounce_recipient_set(char **slot, const char *value)
{
    char *copy = g_strdup(value != NULL ? value : "");

    g_free(*slot);
    *slot = copy;
}

char *
bounce_fields_get_text(const BounceFields *fields, const char *name)
{
    const char *value = fields != NULL ? bounce_fields_get(fields, name) : NULL;
    char *decoded;

    if (value == NULL)
        return NULL;
    if (strstr(value, "=?") == NULL)
        return g_strdup(value);
    decoded = g_mime_utils_header_decode_text(NULL, value);
    if (decoded != NULL && !g_utf8_validate(decoded, -1, NULL)) {
        char *valid = g_utf8_make_valid(decoded, -1);

        g_free(decoded);
        decoded = valid;
    }
    return decoded;
}
