/* bounce_mime.c - take one message apart: its own headers, the
 * machine-readable report part, the human-readable text and the returned
 * original's headers. The common shapes are read by bounce_split.c; GMime
 * reads the rest. Both hand their leaf parts to the same code here. */
#include <string.h>

#include "bouncer/bounce_private.h"
#include "common/gmime_autoptr.h"
#include "common/gmime_guard.h"

GByteArray *
bounce_mime_normalize(const char *data, gsize len)
{
    GByteArray *out = g_byte_array_sized_new(len + 1);
    const char *end;
    guint8 *dst;
    gsize n = 0;

    g_byte_array_set_size(out, len + 1);
    dst = out->data;
    if (len == 0) {
        dst[0] = '\0';           /* data may be NULL: an empty GMime part */
        g_byte_array_set_size(out, 0);
        return out;
    }
    end = data + len;
    while (data < end) {
        const char *cr = memchr(data, '\r', end - data);
        const char *stop = cr != NULL ? cr : end;
        const char *nul;

        /* Copy the run up to the next CR, NUL bytes made spaces. */
        while ((nul = memchr(data, '\0', stop - data)) != NULL) {
            memcpy(dst + n, data, nul - data);
            n += nul - data;
            dst[n++] = ' ';
            data = nul + 1;
        }
        memcpy(dst + n, data, stop - data);
        n += stop - data;
        data = stop;
        if (cr == NULL)
            break;
        /* "\r\r\n" is a CRLF converted twice, not a blank line; else
         * each bare CR ends a line (old Mac files). */
        {
            const char *j = data + 1;

            while (j < end && *j == '\r')
                j++;
            if (j < end && *j == '\n') {
                dst[n++] = '\n';
                data = j + 1;
            } else {
                memset(dst + n, '\n', j - data);
                n += j - data;
                data = j;
            }
        }
    }
    dst[n] = '\0';          /* callers may treat it as a string */
    g_byte_array_set_size(out, n);
    return out;
}

/* charset_is_wide - a charset of 16- or 32-bit units, whose text has NUL
 * bytes in it (hMailServer and some Windows tools write UTF-16). */
static gboolean
charset_is_wide(const char *charset)
{
    return charset != NULL
        && (g_ascii_strncasecmp(charset, "utf-16", 6) == 0 || g_ascii_strncasecmp(charset, "utf-32", 6) == 0
            || g_ascii_strncasecmp(charset, "utf16", 5) == 0 || g_ascii_strncasecmp(charset, "utf32", 5) == 0
            || g_ascii_strncasecmp(charset, "ucs-2", 5) == 0 || g_ascii_strncasecmp(charset, "ucs-4", 5) == 0);
}

/* charset_is_utf8_compatible - charsets whose bytes we can take as they are
 * (after UTF-8 validation). */
static gboolean
charset_is_utf8_compatible(const char *charset)
{
    return charset == NULL || g_ascii_strcasecmp(charset, "utf-8") == 0
        || g_ascii_strcasecmp(charset, "utf8") == 0
        || g_ascii_strcasecmp(charset, "us-ascii") == 0
        || g_ascii_strcasecmp(charset, "ascii") == 0;
}

/* plain_ascii - bytes 1..127 only: valid UTF-8 as they are. */
static gboolean
plain_ascii(const char *data, gsize len)
{
    const guchar *p = (const guchar *)data;
    guint64 high = 0;
    gsize i = 0;

    for (; i + 8 <= len; i += 8) {
        guint64 w;

        memcpy(&w, p + i, 8);
        /* a byte with its top bit set, or a zero byte */
        high |= (w | ((w - G_GUINT64_CONSTANT(0x0101010101010101)) & ~w))
            & G_GUINT64_CONSTANT(0x8080808080808080);
    }
    for (; i < len; i++)
        high |= (p[i] & 0x80) | (p[i] == 0 ? 0x80 : 0);
    return high == 0;
}

/* The 8-bit charsets most mail is written in map every byte to one code
 * point, so they need no iconv: glibc loads a module for each on first use
 * (a dlopen under its lock) and g_convert_with_iconv() costs more than the
 * table. What each of the three gives for 0x80..0xFF, 0 where iconv
 * refuses the byte (then so do we: the caller's fallback is the same). */
typedef enum { LATIN_NONE, LATIN_1, LATIN_9, LATIN_CP1252 } LatinCharset;

static const gunichar2 cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* latin_charset - which of the three an iconv name is, if any. */
static LatinCharset
latin_charset(const char *name)
{
    static const struct { const char *name; LatinCharset set; } names[] = {
        { "iso-8859-1", LATIN_1 }, { "iso8859-1", LATIN_1 }, { "iso_8859-1", LATIN_1 },
        { "latin1", LATIN_1 }, { "l1", LATIN_1 },
        { "iso-8859-15", LATIN_9 }, { "iso8859-15", LATIN_9 }, { "iso_8859-15", LATIN_9 },
        { "latin-9", LATIN_9 }, { "latin9", LATIN_9 },
        { "cp1252", LATIN_CP1252 }, { "windows-1252", LATIN_CP1252 },
    };

    for (gsize i = 0; name != NULL && i < G_N_ELEMENTS(names); i++) {
        if (g_ascii_strcasecmp(name, names[i].name) == 0)
            return names[i].set;
    }
    return LATIN_NONE;
}

/* latin_code_point - byte c (0x80..0xFF) in set; 0 when set has none. */
static gunichar
latin_code_point(LatinCharset set, guchar c)
{
    if (set == LATIN_CP1252 && c < 0xA0)
        return cp1252_high[c - 0x80];
    if (set == LATIN_9) {
        switch (c) {
        case 0xA4: return 0x20AC;
        case 0xA6: return 0x0160;
        case 0xA8: return 0x0161;
        case 0xB4: return 0x017D;
        case 0xB8: return 0x017E;
        case 0xBC: return 0x0152;
        case 0xBD: return 0x0153;
        case 0xBE: return 0x0178;
        default: break;
        }
    }
    return c;
}

/* latin_convert - data in set as UTF-8; NULL when a byte has no
 * character there. (transfer full) */
static char *
latin_convert(const char *data, gsize len, LatinCharset set)
{
    GString *out = g_string_sized_new(len + len / 8 + 1);

    for (gsize i = 0; i < len; i++) {
        guchar c = (guchar)data[i];
        gunichar u;

        if (c < 0x80) {
            g_string_append_c(out, (char)c);
            continue;
        }
        u = latin_code_point(set, c);
        if (u == 0) {
            g_string_free(out, TRUE);
            return NULL;
        }
        g_string_append_unichar(out, u);
    }
    return g_string_free(out, FALSE);
}

/* Converters are kept per thread, by charset: g_convert() opens one and
 * closes it each time, and glibc's iconv_open() looks the conversion up
 * under one process-wide lock, on which two parsing threads were queuing.
 * At most TEXT_CONVERTERS_MAX charsets per thread are kept (a message may
 * name any); past that, a converter is opened for the call. */
#define TEXT_CONVERTERS_MAX 32

static void
text_converter_close(gpointer cd)
{
    if (cd != NULL)
        g_iconv_close((GIConv)cd);
}

static void
text_converters_free(gpointer table)
{
    g_hash_table_destroy(table);
}

/* text_convert - data in charset as UTF-8, or NULL when it cannot be
 * converted. (transfer full) */
static char *
text_convert(const char *data, gsize len, const char *charset)
{
    static GPrivate key = G_PRIVATE_INIT(text_converters_free);
    GHashTable *converters = g_private_get(&key);
    gpointer cd = NULL;
    gsize written = 0;
    char *out;
    LatinCharset latin = latin_charset(charset);

    if (latin != LATIN_NONE)
        return latin_convert(data, len, latin);
    if (converters == NULL) {
        converters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, text_converter_close);
        g_private_set(&key, converters);
    }
    if (!g_hash_table_lookup_extended(converters, charset, NULL, &cd)) {
        GIConv opened = g_iconv_open("UTF-8", charset);

        cd = opened == (GIConv)-1 ? NULL : (gpointer)opened;
        if (g_hash_table_size(converters) >= TEXT_CONVERTERS_MAX) {
            out = cd != NULL ? g_convert_with_iconv(data, len, (GIConv)cd, NULL, &written, NULL)
                             : NULL;
            text_converter_close(cd);
            return out;
        }
        g_hash_table_insert(converters, g_strdup(charset), cd);  /* NULL: unknown, remembered */
    }
    if (cd == NULL)
        return NULL;
    /* Back to the initial state: a conversion that failed half-way may
     * have left a stateful one (ISO-2022-JP) in the middle of a shift. */
    g_iconv((GIConv)cd, NULL, NULL, NULL, NULL);
    return g_convert_with_iconv(data, len, (GIConv)cd, NULL, &written, NULL);
}

char *
bounce_text_to_utf8(const char *data, gsize len, const char *charset)
{
    if (!charset_is_utf8_compatible(charset)) {
        char *conv = text_convert(data, len, g_mime_charset_iconv_name(charset));

        if (conv != NULL)
            return conv;
    }
    if (plain_ascii(data, len) || g_utf8_validate(data, len, NULL))
        return g_strndup(data, len);
    /* Unknown 8-bit text: Latin-1 reads every byte and keeps the ASCII
     * wording the rules look for intact. */
    {
        char *conv = text_convert(data, len, "ISO-8859-1");

        return conv != NULL ? conv : g_utf8_make_valid(data, len);
    }
}

/* html_tag_name - the name of the tag that starts at tag (after '<'),
 * with its '/' when closing, in lower case: "/p" for "/P class=x". ""
 * when it is longer than a tag we know. */
static const char *
html_tag_name(const char *tag, gsize len, char name[12])
{
    gsize n = 0;

    if (len > 0 && *tag == '/')
        name[n++] = '/';
    while (n < len && n < 11 && g_ascii_isalnum(tag[n])) {
        name[n] = g_ascii_tolower(tag[n]);
        n++;
    }
    if (n < len && g_ascii_isalnum(tag[n]))
        n = 0;
    name[n] = '\0';
    return name;
}

/* html_break - the line breaks a block's tag stands for in text: 2 for a
 * paragraph, 1 for the other blocks, 0 for the rest (<br> is a line end
 * of its own: html_to_text). */
static guint
html_break(const char *name)
{
    static const char *const lines[] = { "div", "tr", "li", "table", "ul", "ol",
                                         "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                                         "pre", "hr", "dt", "dd" };

    if (*name == '/')
        name++;
    if (strcmp(name, "p") == 0)
        return 2;
    for (gsize i = 0; i < G_N_ELEMENTS(lines); i++) {
        if (name[0] == lines[i][0] && strcmp(name, lines[i]) == 0)
            return 1;
    }
    return 0;
}

/* html_newlines - end the text with at least n line ends (none at its
 * start), without the blanks before them. */
static void
html_newlines(GString *out, gsize from, guint n)
{
    guint have = 0;

    while (out->len > from && out->str[out->len - 1] == ' ')
        g_string_truncate(out, out->len - 1);
    if (out->len == from)
        return;
    for (gsize k = out->len; k > from && out->str[k - 1] == '\n' && have < n; k--)
        have++;
    for (; have < n; have++)
        g_string_append_c(out, '\n');
}

/* html_entity - the character an entity at html stands for, appended to
 * out; its length, or 0 when it is none we know. */
static gsize
html_entity(GString *out, const char *html, gsize len)
{
    static const struct { const char *entity; const char *text; } entities[] = {
        { "&lt;", "<" }, { "&gt;", ">" }, { "&amp;", "&" }, { "&nbsp;", " " },
        { "&quot;", "\"" }, { "&apos;", "'" },
    };
    const char *semi = memchr(html, ';', MIN(len, 12));

    if (semi == NULL)
        return 0;
    if (html[1] == '#') {
        gboolean hex = html[2] == 'x' || html[2] == 'X';
        const char *digits = html + (hex ? 3 : 2);
        char *stop = NULL;
        guint64 c = g_ascii_strtoull(digits, &stop, hex ? 16 : 10);

        if (stop != semi || stop == digits || c == 0 || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        g_string_append_unichar(out, c == 0xA0 ? ' ' : (gunichar)c);
        return (gsize)(semi - html) + 1;
    }
    for (gsize e = 0; e < G_N_ELEMENTS(entities); e++) {
        gsize elen = strlen(entities[e].entity);

        if ((gsize)(semi - html) + 1 == elen && g_ascii_strncasecmp(html, entities[e].entity, elen) == 0) {
            g_string_append(out, entities[e].text);
            return elen;
        }
    }
    return 0;
}

/* html_is_address - what follows a '<' is an address and its '>'
 * ("user@example.org>"), which no tag is. */
static gboolean
html_is_address(const char *p, gsize len)
{
    guint ats = 0;

    for (gsize k = 0; k < len && k < 320; k++) {
        if (p[k] == '>')
            return ats == 1 && p[0] != '@' && p[k - 1] != '@';
        if (p[k] == '@')
            ats++;
        else if (g_ascii_isspace(p[k]) || strchr("<\"'=/", p[k]) != NULL)
            return FALSE;
    }
    return FALSE;
}

/* html_to_text - the text of an HTML part as a reader sees it: tags
 * dropped (and what <style>, <script> and <head> hold), runs of white
 * space one blank as HTML has them except inside <pre>, a line end for
 * <br> and each block, a blank line for each paragraph, entities
 * decoded. */
static void
html_to_text(GString *out, const char *html, gsize len)
{
    gsize from = out->len, i = 0;
    guint pre = 0;

    while (i < len) {
        char c = html[i];

        if (c == '<' && html_is_address(html + i + 1, len - i - 1)) {
            /* "<user@example.org>" written unescaped: text, not a tag */
            g_string_append_c(out, c);
            i++;
            continue;
        }
        if (c == '<') {
            const char *end = memchr(html + i, '>', len - i);
            gsize tag_len = end != NULL ? (gsize)(end - (html + i)) - 1 : len - i - 1;
            char buf[12];
            const char *name = html_tag_name(html + i + 1, tag_len, buf);
            guint breaks = html_break(name);

            /* what these hold is not text */
            if (strcmp(name, "style") == 0 || strcmp(name, "script") == 0 || strcmp(name, "head") == 0) {
                char close[12] = "</";
                gsize n, k = i + 1;

                g_strlcat(close, name, sizeof(close));
                n = strlen(close);
                while (k + n <= len && g_ascii_strncasecmp(html + k, close, n) != 0) {
                    const char *lt = memchr(html + k + 1, '<', len - k - 1);

                    k = lt != NULL ? (gsize)(lt - html) : len;
                }
                end = k + n <= len ? memchr(html + k, '>', len - k) : NULL;
                tag_len = end != NULL ? (gsize)(end - (html + i)) - 1 : len - i - 1;
                breaks = 1;
            }
            if (strcmp(name, "pre") == 0)
                pre++;
            else if (strcmp(name, "/pre") == 0 && pre > 0)
                pre--;
            if (strcmp(name, "br") == 0) {
                /* each <br> is a line end of its own: two make a blank line */
                html_newlines(out, from, 0);
                if (out->len > from)
                    g_string_append_c(out, '\n');
            } else if (breaks > 0) {
                html_newlines(out, from, breaks);
            } else if (out->len > from && out->str[out->len - 1] != '\n'
                       && (strcmp(name, "td") == 0 || strcmp(name, "th") == 0)) {
                /* cells of a row apart, by a tab as in a text table: a
                 * row that starts with an address names a recipient */
                if (out->str[out->len - 1] == ' ')
                    g_string_truncate(out, out->len - 1);
                if (out->len > from && out->str[out->len - 1] != '\t')
                    g_string_append_c(out, '\t');
            }
            i += tag_len + 2;
            continue;
        }
        if (c == '&') {
            gsize used = html_entity(out, html + i, len - i);

            if (used > 0) {
                i += used;
                continue;
            }
        }
        if (pre == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            if (out->len > from && out->str[out->len - 1] != ' ' && out->str[out->len - 1] != '\n')
                g_string_append_c(out, ' ');
            i++;
            continue;
        }
        {
            /* the run of ordinary text up to the next tag, entity or blank */
            gsize run = i + 1;

            while (run < len && html[run] != '<' && html[run] != '&'
                   && (pre > 0 || (html[run] != ' ' && html[run] != '\t' && html[run] != '\n'
                                   && html[run] != '\r')))
                run++;
            g_string_append_len(out, html + i, run - i);
            i = run;
        }
    }
    html_newlines(out, from, 1);
}

/* append_text - add a text part, converted to UTF-8 with LF line ends. */
static void
append_text(BounceParts *parts, GString *dest, const guint8 *data, gsize len, const char *charset,
            gboolean html)
{
    g_autoptr(GByteArray) norm = NULL;
    g_autofree char *utf8 = NULL;

    if (dest->len >= BOUNCE_MAX_TEXT) {
        parts->truncated = TRUE;
        return;
    }
    if (len > BOUNCE_MAX_TEXT - dest->len)
        len = BOUNCE_MAX_TEXT - dest->len;
    /* Decoded base64/QP may bring back CRs (or NULs) the outer
     * normalisation never saw; text that has none is already normal. */
    if (len == 0) {
        data = (const guint8 *)"";      /* an empty GMime part has no buffer */
    } else if (charset_is_wide(charset)) {
        /* UTF-16 and UTF-32 put a NUL byte beside every ASCII letter:
         * converted first, then made normal. */
        utf8 = bounce_text_to_utf8((const char *)data, len, charset);
        if (strchr(utf8, '\r') != NULL) {
            norm = bounce_mime_normalize(utf8, strlen(utf8));
            g_free(utf8);
            utf8 = g_strndup((const char *)norm->data, norm->len);
        }
    } else if (memchr(data, '\r', len) != NULL || memchr(data, '\0', len) != NULL) {
        norm = bounce_mime_normalize((const char *)data, len);
        data = norm->data;
        len = norm->len;
    }
    if (utf8 == NULL)
        utf8 = bounce_text_to_utf8((const char *)data, len, charset);
    if (html)
        html_to_text(dest, utf8, strlen(utf8));
    else
        g_string_append(dest, utf8);
    if (dest->len > 0 && dest->str[dest->len - 1] != '\n')
        g_string_append_c(dest, '\n');
}

/* span_is - a (type, length) span is the word, ignoring case. */
static gboolean
span_is(const char *span, gsize len, const char *word)
{
    return strlen(word) == len && g_ascii_strncasecmp(span, word, len) == 0;
}

/* mime_names_address - the text has an '@': whether a plain text can
 * name a recipient, or an HTML part's text could where it does not. */
static gboolean
mime_names_address(const GString *text)
{
    return memchr(text->str, '@', text->len) != NULL;
}

BounceLeafKind
bounce_mime_leaf_kind(const BounceParts *parts, const char *type, gsize type_len, const char *subtype,
                      gsize subtype_len)
{
    if (span_is(type, type_len, "message")) {
        /* "xdelivery-status": an old experimental label some MTAs
         * still write for the same fields. */
        if (span_is(subtype, subtype_len, "delivery-status")
            || span_is(subtype, subtype_len, "global-delivery-status")
            || span_is(subtype, subtype_len, "xdelivery-status"))
            /* Every one: a report may give its recipients in a second
             * part (the first holding only the per-message fields). */
            return parts->report_type != BOUNCE_REPORT_ARF ? BOUNCE_LEAF_DSN : BOUNCE_LEAF_IGNORE;
        if (span_is(subtype, subtype_len, "feedback-report"))
            return parts->report_type == BOUNCE_REPORT_NONE ? BOUNCE_LEAF_ARF : BOUNCE_LEAF_IGNORE;
        /* message/rfc822 reaches here only as a leaf: transfer-encoded,
         * so GMime did not read it as a message. */
        if (span_is(subtype, subtype_len, "global-headers") || span_is(subtype, subtype_len, "rfc822"))
            return parts->original == NULL ? BOUNCE_LEAF_HEADERS : BOUNCE_LEAF_IGNORE;
        return BOUNCE_LEAF_IGNORE;
    }
    if (span_is(type, type_len, "application") && span_is(subtype, subtype_len, "octet-stream"))
        return parts->report_type != BOUNCE_REPORT_ARF ? BOUNCE_LEAF_MAYBE_DSN : BOUNCE_LEAF_IGNORE;
    if (span_is(type, type_len, "text")) {
        if (span_is(subtype, subtype_len, "rfc822-headers"))
            return parts->original == NULL ? BOUNCE_LEAF_HEADERS : BOUNCE_LEAF_IGNORE;
        if (!span_is(subtype, subtype_len, "html"))
            return BOUNCE_LEAF_TEXT;
        /* An HTML part's text is read only when the message has no other
         * or its text names no address (bounce_mime_read): once a text
         * part with an address was kept, another HTML part need not be
         * decoded and converted at all. */
        return parts->text == NULL || !mime_names_address(parts->text) ? BOUNCE_LEAF_HTML
                                                                      : BOUNCE_LEAF_IGNORE;
    }
    return BOUNCE_LEAF_IGNORE;
}

/* leaf_is_field - the line [line, end) opens with a field name and its
 * colon (blanks allowed before the colon); *name_len is the name's length. */
static gboolean
leaf_is_field(const char *line, const char *end, gsize *name_len)
{
    const char *q = line;

    while (q < end && *q > ' ' && *q < 127 && *q != ':')
        q++;
    *name_len = (gsize)(q - line);
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    return *name_len > 0 && q < end && *q == ':';
}

/* leaf_is_dsn_fields - content that reads as a delivery-status part: it
 * opens (after blank lines) with a header field, as the per-message
 * block does (whatever its first field: Reporting-MTA, or an MTA's own
 * X- field), and holds nothing but fields (and their continuation and
 * blank lines) up to a line that names a recipient, as RFC 3464 requires
 * of each recipient's block. A message saved as a file and attached
 * (a person forwarding a bounce as "Undelivered.eml") opens with fields
 * too and names a recipient further on, in its report part, but a body
 * comes between: its boundary lines and text are no fields. One pass,
 * each line looked at once. */
static gboolean
leaf_is_dsn_fields(const guint8 *data, gsize len)
{
    const char *p = (const char *)data, *end;
    gboolean field_seen = FALSE;

    /* An empty part has no bytes and may have no buffer either: NULL
     * plus 0 is no pointer to compare. */
    if (data == NULL || len == 0)
        return FALSE;
    end = p + len;
    for (const char *line = p; line < end;) {
        const char *nl = memchr(line, '\n', (gsize)(end - line));
        const char *stop = nl != NULL ? nl : end;
        const char *q = line;
        gsize n;

        while (q < stop && (*q == '\r' || *q == ' ' || *q == '\t'))
            q++;
        if (q == stop) {
            /* a blank line: blocks stand apart */
        } else if (q != line) {
            if (!field_seen)             /* a continuation of no field */
                return FALSE;
        } else if (leaf_is_field(line, stop, &n)) {
            if ((n == 15 && g_ascii_strncasecmp(line, "Final-Recipient", n) == 0)
                || (n == 18 && g_ascii_strncasecmp(line, "Original-Recipient", n) == 0)
                || (n == 18 && g_ascii_strncasecmp(line, "X-Actual-Recipient", n) == 0))
                return TRUE;
            field_seen = TRUE;
        } else {
            return FALSE;
        }
        line = stop < end ? stop + 1 : end;
    }
    return FALSE;
}

void
bounce_mime_leaf_take(BounceMimeWalk *walk, BounceLeafKind kind, const guint8 *data, gsize len,
                      const char *charset)
{
    BounceParts *parts = walk->parts;

    if (kind == BOUNCE_LEAF_MAYBE_DSN) {
        if (!leaf_is_dsn_fields(data, len))
            return;
        kind = BOUNCE_LEAF_DSN;
    }
    switch (kind) {
    case BOUNCE_LEAF_DSN:
    case BOUNCE_LEAF_ARF:
        parts->report_type = kind == BOUNCE_LEAF_DSN ? BOUNCE_REPORT_DSN : BOUNCE_REPORT_ARF;
        if (parts->report->len > 0)
            g_string_append(parts->report, "\n\n");   /* the next part's blocks stand apart */
        append_text(parts, parts->report, data, len, "utf-8", FALSE);
        break;
    case BOUNCE_LEAF_HEADERS: {
        g_autoptr(GByteArray) norm = bounce_mime_normalize((const char *)data, len);

        parts->original = bounce_fields_new();
        bounce_fields_parse(parts->original, (const char *)norm->data, norm->len, TRUE);
        break;
    }
    case BOUNCE_LEAF_TEXT:
    case BOUNCE_LEAF_HTML:
        append_text(parts, kind == BOUNCE_LEAF_HTML ? walk->html : parts->text, data, len, charset,
                    kind == BOUNCE_LEAF_HTML);
        break;
    case BOUNCE_LEAF_IGNORE:
    case BOUNCE_LEAF_MAYBE_DSN:
        break;
    }
}

/* mime_qp_unpad - quoted-printable content without the blanks at the end
 * of its lines: an encoder writes a line's own trailing blank as =20, so
 * blanks there were added on the way and a decoder deletes them (RFC 2045
 * 6.7 (3)); left in, "=  " is no soft line break. NULL when there are
 * none. (transfer full) */
static char *
mime_qp_unpad(const char *p, gsize len, gsize *len_out)
{
    char *out = NULL, *o = NULL;
    gsize from = 0, pos = 0;

    /* Line by line: only the bytes before a line end are looked at. */
    while (pos <= len) {
        const char *nl = pos < len ? memchr(p + pos, '\n', len - pos) : NULL;
        gsize end = nl != NULL ? (gsize)(nl - p) : len;
        gsize cut = end;

        if (cut > pos && p[cut - 1] == '\r')
            cut--;
        if (cut > pos && (p[cut - 1] == ' ' || p[cut - 1] == '\t')) {
            gsize blank = cut;

            while (blank > pos && (p[blank - 1] == ' ' || p[blank - 1] == '\t'))
                blank--;
            if (out == NULL)
                o = out = g_malloc(len);
            memcpy(o, p + from, blank - from);
            o += blank - from;
            from = cut;
        }
        pos = end + 1;
    }
    if (out == NULL)
        return NULL;
    memcpy(o, p + from, len - from);
    *len_out = (gsize)(o - out) + (len - from);
    return out;
}

guint8 *
bounce_mime_decode(const char *p, gsize len, gboolean base64, gsize *len_out)
{
    g_autofree char *unpadded = NULL;
    GMimeEncoding enc;
    guint8 *out;
    gsize n;

    if (!base64 && (unpadded = mime_qp_unpad(p, len, &len)) != NULL)
        p = unpadded;
    g_mime_encoding_init_decode(&enc, base64 ? GMIME_CONTENT_ENCODING_BASE64
                                             : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    out = g_malloc(g_mime_encoding_outlen(&enc, len) + 8);
    n = g_mime_encoding_step(&enc, p, len, (char *)out);
    n += g_mime_encoding_flush(&enc, "", 0, (char *)out + n);
    *len_out = n;
    return out;
}


/* part_content - the decoded (transfer encoding undone) bytes of a leaf.
 * Quoted-printable is decoded here, not by the data wrapper, so that its
 * blanks at line ends go first, as on the splitter's path: GMime's decoder
 * keeps them. */
static GByteArray *
part_content(GMimePart *part)
{
    GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
    GByteArray *bytes = g_byte_array_new();
    g_autoptr(GMimeStream) stream = NULL;
    GMimeStream *encoded;
    guint8 *decoded;
    gsize len;

    if (wrapper == NULL)
        return bytes;
    stream = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    if (g_mime_data_wrapper_get_encoding(wrapper) != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
        g_mime_data_wrapper_write_to_stream(wrapper, stream);
        return bytes;
    }
    /* the encoded bytes as they are, then decoded as the splitter does */
    encoded = g_mime_data_wrapper_get_stream(wrapper);
    g_mime_stream_reset(encoded);
    g_mime_stream_write_to_stream(encoded, stream);
    decoded = bounce_mime_decode((const char *)bytes->data, bytes->len, FALSE, &len);
    g_byte_array_set_size(bytes, 0);
    g_byte_array_append(bytes, decoded, len);
    g_free(decoded);
    return bytes;
}

/* fields_from_gmime - copy a GMime header list into our field list. */
static BounceFields *
fields_from_gmime(GMimeObject *object)
{
    GMimeHeaderList *list = g_mime_object_get_header_list(object);
    BounceFields *fields = bounce_fields_new();
    int count = list != NULL ? g_mime_header_list_get_count(list) : 0;

    for (int i = 0; i < count && i < BOUNCE_MAX_FIELDS; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
        const char *name = g_mime_header_get_name(h);
        const char *value = g_mime_header_get_raw_value(h);

        if (name == NULL || value == NULL)
            continue;
        bounce_fields_add(fields, name, strlen(name), value, strlen(value));
    }
    return fields;
}

static void mime_walk(BounceMimeWalk *walk, GMimeObject *object, guint depth);

/* mime_leaf - one leaf part: keep what the readers need from it. */
static void
mime_leaf(BounceMimeWalk *walk, GMimePart *part)
{
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    const char *type = ct != NULL ? g_mime_content_type_get_media_type(ct) : "text";
    const char *sub = ct != NULL ? g_mime_content_type_get_media_subtype(ct) : "plain";
    const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    g_autoptr(GByteArray) body = NULL;
    BounceLeafKind kind;

    if (type == NULL || sub == NULL)
        return;
    kind = bounce_mime_leaf_kind(walk->parts, type, strlen(type), sub, strlen(sub));
    if (kind == BOUNCE_LEAF_IGNORE)
        return;
    body = part_content(part);
    bounce_mime_leaf_take(walk, kind, body->data, body->len, charset);
}

/* mime_walk - depth-first over the tree, bounded in depth and in parts. */
static void
mime_walk(BounceMimeWalk *walk, GMimeObject *object, guint depth)
{
    if (object == NULL || depth > BOUNCE_MAX_MIME_DEPTH || walk->seen >= BOUNCE_MAX_PARTS) {
        walk->parts->truncated = TRUE;
        return;
    }
    walk->seen++;
    if (GMIME_IS_MULTIPART(object)) {
        GMimeMultipart *mp = GMIME_MULTIPART(object);
        int count = g_mime_multipart_get_count(mp);

        for (int i = 0; i < count; i++)
            mime_walk(walk, g_mime_multipart_get_part(mp, i), depth + 1);
        return;
    }
    if (GMIME_IS_MESSAGE_PART(object)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));

        if (inner == NULL)
            return;
        if (walk->parts->original == NULL) {
            /* The returned original: its headers, never its text (that
             * is what was sent, not what went wrong). */
            walk->parts->original = fields_from_gmime(GMIME_OBJECT(inner));
            return;
        }
        return;
    }
    if (GMIME_IS_PART(object))
        mime_leaf(walk, GMIME_PART(object));
}

/* GMime builds every part of a message before we walk the first
 * BOUNCE_MAX_PARTS of them, some 1.4 KB of memory each: 8 MB of empty
 * parts took 2.2 GB. Past this many lines that could be boundaries, the
 * rest of the message is not given to it. */
#define MIME_GMIME_MAX_BOUNDARIES (16 * BOUNCE_MAX_PARTS)

/* mime_boundary_cut - where the message stops for GMime: the start of its
 * MIME_GMIME_MAX_BOUNDARIES-th line that starts with "--", or its length. */
static gsize
mime_boundary_cut(const char *data, gsize len)
{
    const char *p = data, *end = data + len;
    guint lines = 0;

    while (p < end && (p = memmem(p, end - p, "\n--", 3)) != NULL) {
        if (++lines >= MIME_GMIME_MAX_BOUNDARIES)
            return (gsize)(p - data) + 1;
        p += 3;
    }
    return len;
}

/* mime_read_gmime - the parts of the message through GMime's parser. */
static gboolean
mime_read_gmime(const char *data, gsize len, BounceMimeWalk *walk, const char **error_out)
{
    BounceParts *parts = walk->parts;
    g_autoptr(GMimeStream) stream = NULL;
    g_autoptr(GMimeParser) parser = NULL;
    g_autoptr(GMimeMessage) message = NULL;
    GMimeContentType *ct;

    gsize cut = mime_boundary_cut(data, len);

    if (!gmime_guard_address_fields_ok(data, cut)) {
        *error_out = "an address field with more groups than GMime can read";
        return FALSE;
    }

    /* A copy of its own: the message may be the caller's buffer. */
    stream = g_mime_stream_mem_new_with_buffer(data, len);
    if (cut < len) {
        GMimeStream *head = g_mime_stream_substream(stream, 0, (gint64)cut);

        g_object_unref(stream);
        stream = head;
        parts->truncated = TRUE;
    }
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    message = g_mime_parser_construct_message(parser, NULL);
    if (message == NULL) {
        *error_out = "MIME structure unreadable";
        return FALSE;
    }
    ct = g_mime_object_get_content_type(GMIME_OBJECT(message));
    if (ct != NULL) {
        g_autofree char *mime = g_mime_content_type_get_mime_type(ct);

        parts->content_type = g_ascii_strdown(mime != NULL ? mime : "text/plain", -1);
    } else {
        parts->content_type = g_strdup("text/plain");
    }
    mime_walk(walk, g_mime_message_get_mime_part(message), 0);
    return TRUE;
}

/* header_block_end - offset of the body: after the first blank line. */
static gsize
header_block_end(const char *data, gsize len)
{
    const char *p = data;

    if (len > 0 && data[0] == '\n')
        return 1;
    while ((p = memchr(p, '\n', len - (p - data))) != NULL) {
        if ((gsize)(p - data) + 1 < len && p[1] == '\n')
            return (p - data) + 2;
        p++;
    }
    return len;
}

/* param_value - a parameter of a header value ("charset" of a
 * Content-Type), unquoted, or NULL. (transfer full) */
static char *
param_value(const char *value, const char *name)
{
    gsize nlen = strlen(name);

    for (const char *p = value; p != NULL && *p != '\0'; p++) {
        const char *q;

        if (g_ascii_strncasecmp(p, name, nlen) != 0 || p[nlen] != '=' || (p > value && g_ascii_isalnum(p[-1])))
            continue;
        p += nlen + 1;
        if (*p == '"') {
            q = strchr(++p, '"');
            return q != NULL ? g_strndup(p, q - p) : g_strdup(p);
        }
        for (q = p; *q != '\0' && *q != ';' && *q != ' ' && *q != '\t'; q++)
            ;
        return g_strndup(p, q - p);
    }
    return NULL;
}

/* mime_read_simple - a message that is one text part in 7/8-bit needs no
 * MIME parser: its body is its text. TRUE when it was such a message. */
static gboolean
mime_read_simple(const char *data, gsize len, BounceParts *parts)
{
    const char *ctype = bounce_fields_get(parts->headers, "Content-Type");
    const char *cte = bounce_fields_get(parts->headers, "Content-Transfer-Encoding");
    g_autofree char *charset = NULL;
    gboolean html;
    gsize body_at;

    if (ctype != NULL && g_ascii_strncasecmp(ctype, "text/", 5) != 0)
        return FALSE;
    if (cte != NULL && g_ascii_strncasecmp(cte, "7bit", 4) != 0 && g_ascii_strncasecmp(cte, "8bit", 4) != 0
        && g_ascii_strncasecmp(cte, "binary", 6) != 0)
        return FALSE;
    html = ctype != NULL && g_ascii_strncasecmp(ctype, "text/html", 9) == 0;
    if (ctype != NULL && !html && g_ascii_strncasecmp(ctype, "text/plain", 10) != 0)
        return FALSE;
    charset = ctype != NULL ? param_value(ctype, "charset") : NULL;
    parts->content_type = g_strdup(html ? "text/html" : "text/plain");
    body_at = header_block_end(data, len);
    if (body_at < len)
        append_text(parts, parts->text, (const guint8 *)data + body_at, len - body_at, charset, html);
    return TRUE;
}

/* mime_subject_bare - subject past the tags a gateway or filter puts in
 * front of it: "[EXTERNAL] ", "[SPAM] [ext] ", "***SPAM*** " (a tag is at
 * most 40 bytes). subject itself when there are none, or nothing after
 * them. (transfer none) */
static const char *
mime_subject_bare(const char *subject)
{
    const char *s = subject;

    if (subject == NULL)
        return NULL;
    for (;;) {
        const char *close = NULL;

        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '[')
            close = memchr(s + 1, ']', strnlen(s + 1, 40));
        else if (s[0] == '*' && s[1] == '*') {
            const char *word = s + strspn(s, "*");
            const char *end = memchr(word, '*', strnlen(word, 40));

            close = end != NULL && end > word ? end + strspn(end, "*") - 1 : NULL;
        }
        if (close == NULL)
            break;
        s = close + 1;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    return *s != '\0' ? s : subject;
}

/* parts_reset - forget what a declined split left in parts (the top-level
 * headers stay). */
static void
parts_reset(BounceMimeWalk *walk)
{
    BounceParts *parts = walk->parts;

    g_clear_pointer(&parts->content_type, g_free);
    g_clear_pointer(&parts->original, bounce_fields_free);
    parts->report_type = BOUNCE_REPORT_NONE;
    parts->truncated = FALSE;
    g_string_truncate(parts->report, 0);
    g_string_truncate(parts->text, 0);
    g_string_truncate(walk->html, 0);
    walk->seen = 0;
}

gboolean
bounce_mime_read(const char *data, gsize len, BounceParts *parts, BounceMimeMode mode,
                 const char **error_out)
{
    BounceMimeWalk walk = { parts, NULL, 0 };
    gboolean ok = TRUE;
    gsize body_at;

    /* Even when GMime reads nothing here: callers use it after a parse
     * (bounce_forward_compose()) and count on it being set up. */
    gmime_init_once();
    memset(parts, 0, sizeof(*parts));
    parts->report = g_string_new(NULL);
    parts->text = g_string_new(NULL);
    parts->headers = bounce_fields_new();

    bounce_fields_parse(parts->headers, data, len, FALSE);
    if (parts->headers->fields->len == 0) {
        *error_out = "no header fields";
        return FALSE;
    }
    /* Decoded once: the subject rules, the forward check and the report
     * all read it. */
    parts->subject = bounce_fields_get_text(parts->headers, "Subject");
    parts->subject_bare = mime_subject_bare(parts->subject);

    if (mime_read_simple(data, len, parts))
        return TRUE;

    walk.html = g_string_new(NULL);
    if (mode == BOUNCE_MIME_GMIME || !bounce_split_read(data, len, &walk)) {
        if (mode == BOUNCE_MIME_SPLIT) {
            *error_out = "declined";
            ok = FALSE;
        } else {
            parts_reset(&walk);
            ok = mime_read_gmime(data, len, &walk, error_out);
        }
    }
    /* The HTML's text stands in for a plain text that is missing, or that
     * names no address where the HTML does: a "see the HTML part" stub,
     * or a notice whose recipients and errors are only in its HTML
     * table. */
    if (ok && walk.html->len > 0
        && (parts->text->len == 0
            || (!mime_names_address(parts->text) && mime_names_address(walk.html)))) {
        g_string_truncate(parts->text, 0);
        g_string_append_len(parts->text, walk.html->str, walk.html->len);
    }
    g_string_free(walk.html, TRUE);
    if (!ok)
        return FALSE;

    /* Broken MIME (a boundary that never appears, a lying Content-Type):
     * read the raw body as text rather than nothing. */
    body_at = header_block_end(data, len);
    if (parts->text->len == 0 && parts->report->len == 0 && body_at < len)
        append_text(parts, parts->text, (const guint8 *)data + body_at, len - body_at, NULL, FALSE);
    return TRUE;
}

/* bounce_parts_clear - free what bounce_mime_read filled in. */
void
bounce_parts_clear(BounceParts *parts)
{
    bounce_fields_free(parts->headers);
    bounce_fields_free(parts->original);
    if (parts->report != NULL)
        g_string_free(parts->report, TRUE);
    if (parts->text != NULL)
        g_string_free(parts->text, TRUE);
    if (parts->original_body != NULL)
        g_string_free(parts->original_body, TRUE);
    g_free(parts->content_type);
    g_free(parts->subject);
    memset(parts, 0, sizeof(*parts));
}
