/* mime_compose.c - text, header values, addresses and parts that are safe
 * to write into a message composed with GMime 3.2. */
#include <string.h>

#include "common/mime_compose.h"

/* char_is_break - characters that must never reach a header: the C0 and
 * C1 controls (CR, LF and NUL among them), DEL, and the Unicode line and
 * paragraph separators. */
static gboolean
char_is_break(gunichar c)
{
    return g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029;
}

/* mime_compose_fold - one line of at most max_chars characters. */
char *
mime_compose_fold(const char *text, gssize len, gsize max_chars)
{
    g_autofree char *valid = NULL;
    GString *out;
    gsize chars = 0;
    gboolean space = FALSE;

    if (text == NULL)
        return g_strdup("");
    if (len < 0)
        len = (gssize)strlen(text);
    /* A NUL inside len is an invalid sequence to g_utf8_make_valid(): it
     * becomes U+FFFD, never a string end. */
    valid = g_utf8_make_valid(text, len);
    out = g_string_sized_new(MIN((gsize)len, max_chars * 4) + 1);
    for (const char *p = valid; *p != '\0' && chars < max_chars; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (char_is_break(c) || g_unichar_isspace(c)) {
            space = out->len > 0;
            continue;
        }
        if (space) {
            g_string_append_c(out, ' ');
            chars++;
            space = FALSE;
            if (chars >= max_chars)
                break;
        }
        g_string_append_unichar(out, c);
        chars++;
    }
    return g_string_free(out, FALSE);
}

/* word_is_plain - printable ASCII that cannot be read as an encoded word,
 * short enough for one line. */
static gboolean
word_is_plain(const char *word, gsize len)
{
    if (len > MIME_COMPOSE_PLAIN_MAX)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        if (word[i] <= 0x20 || word[i] >= 0x7f)
            return FALSE;
        if (word[i] == '=' && i + 1 < len && word[i + 1] == '?')
            return FALSE;
    }
    return TRUE;
}

/* raw_append_word - one word, after a space or a fold. */
static void
raw_append_word(GString *out, gsize *column, const char *word, gsize len)
{
    if (out->len > 0 && *column + 1 + len > MIME_COMPOSE_FOLD_AT) {
        g_string_append(out, "\n");
        *column = 0;
    }
    g_string_append_c(out, ' ');
    g_string_append_len(out, word, len);
    *column += 1 + len;
}

/* raw_word_bytes - the UTF-8 bytes an encoded word may carry after a
 * space at column: its base64 (4 characters for 3 bytes) and the 12 of
 * "=?UTF-8?B?" and "?=" within MIME_COMPOSE_FOLD_AT. */
static gsize
raw_word_bytes(gsize column)
{
    gsize used = column + 1 + 12;

    if (used >= MIME_COMPOSE_FOLD_AT)
        return 0;
    return MIN((MIME_COMPOSE_FOLD_AT - used) / 4 * 3, MIME_COMPOSE_WORD_BYTES);
}

/* mime_compose_header_raw - plain words, then encoded words. */
char *
mime_compose_header_raw(const char *name, const char *text)
{
    GString *out = g_string_new(NULL);
    gsize column = strlen(name) + 1;
    const char *p = text;

    /* Plain words while they last: "Auto: Re: Rechnung" stays readable. */
    while (*p != '\0') {
        const char *end = strchr(p, ' ');
        gsize len = end != NULL ? (gsize)(end - p) : strlen(p);

        if (!word_is_plain(p, len))
            break;
        if (len > 0)
            raw_append_word(out, &column, p, len);
        p += len;
        if (*p == ' ')
            p++;
    }
    /* The rest, spaces included, as encoded words; white space between
     * two encoded words is not part of the text (RFC 2047 §6.2). */
    while (*p != '\0') {
        const char *q = p;
        g_autofree char *b64 = NULL;
        g_autofree char *word = NULL;
        const char *whole = NULL;
        gsize bytes = raw_word_bytes(column);

        /* A word that fits the rest of the line, else a fold first. 12
         * bytes always hold a run of whole characters whose length is a
         * multiple of 3 (three of 4 bytes at worst), so the word needs
         * no padding (below). */
        if (bytes < 12) {
            g_string_append(out, "\n");
            column = 0;
            bytes = raw_word_bytes(column);
        }
        while (*q != '\0' && (gsize)(g_utf8_next_char(q) - p) <= bytes) {
            q = g_utf8_next_char(q);
            if ((q - p) % 3 == 0)
                whole = q;
        }
        /* A word of a multiple of 3 bytes has no base64 padding: GMime
         * 3.2's decoder joins adjacent words and stops at the first '=',
         * so padding in any but the last word would cut the rest off. */
        if (*q != '\0' && whole != NULL)
            q = whole;
        if (q == p)
            q = g_utf8_next_char(p);
        b64 = g_base64_encode((const guchar *)p, q - p);
        word = g_strdup_printf("=?UTF-8?B?%s?=", b64);
        raw_append_word(out, &column, word, strlen(word));
        p = q;
    }
    g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

/* mime_compose_set_subject - set, then given our raw text. */
void
mime_compose_set_subject(GMimeMessage *message, const char *text)
{
    g_autofree char *raw = mime_compose_header_raw("Subject", text);
    GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(message));

    g_mime_message_set_subject(message, text, "utf-8");
    g_mime_header_set_raw_value(g_mime_header_list_get_header(list, "Subject"), raw);
}

/* compose_message - the header fields every message of ours has: Date
 * when (now when NULL), Message-ID id_left@id_domain (a new one when
 * id_left is NULL). */
static GMimeMessage *
compose_message(const char *from, const char *to, const char *subject, const char *id_domain,
                GDateTime *when, const char *id_left)
{
    GMimeMessage *message;
    g_autoptr(GDateTime) now = NULL;
    g_autofree char *message_id = NULL;

    gmime_init_once();
    message = g_mime_message_new(TRUE);
    g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_FROM, NULL, from);
    g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, to);
    mime_compose_set_subject(message, subject);
    if (when == NULL)
        when = now = g_date_time_new_now_local();
    g_mime_message_set_date(message, when);
    message_id = id_left != NULL ? g_strdup_printf("%s@%s", id_left, id_domain)
                                 : g_mime_utils_generate_message_id(id_domain);
    g_mime_message_set_message_id(message, message_id);
    return message;
}

GMimeMessage *
mime_compose_message_new(const char *from, const char *to, const char *subject,
                         const char *id_domain)
{
    return compose_message(from, to, subject, id_domain, NULL, NULL);
}

GMimeMessage *
mime_compose_message_new_at(const char *from, const char *to, const char *subject,
                            const char *id_domain, gint64 date, const char *id_left)
{
    g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(date);

    return compose_message(from, to, subject, id_domain, when, id_left);
}

/* mime_compose_address_unwrap - "  < a@b >  " -> "a@b". */
char *
mime_compose_address_unwrap(const char *text)
{
    char *addr;
    gsize len;

    if (text == NULL)
        return NULL;
    addr = g_strstrip(g_strdup(text));
    len = strlen(addr);
    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
        memmove(addr, addr + 1, len - 2);
        addr[len - 2] = '\0';
        g_strstrip(addr);
    }
    return addr;
}

/* mime_compose_address_survives - GMime's IDNA form is addr itself. */
gboolean
mime_compose_address_survives(const char *addr)
{
    InternetAddress *ia;
    gboolean same;

    gmime_init_once();
    ia = internet_address_mailbox_new(NULL, addr);
    same = g_strcmp0(internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia)),
                     addr) == 0;
    g_object_unref(ia);
    return same;
}

/* mime_compose_plain_address - the addr-spec of text, or NULL. */
char *
mime_compose_plain_address(const char *text)
{
    g_autofree char *addr = mime_compose_address_unwrap(text);
    const char *at;
    gsize len;

    if (addr == NULL)
        return NULL;
    len = strlen(addr);
    if (len == 0 || len > MIME_COMPOSE_ADDRESS_MAX)
        return NULL;
    for (const char *p = addr; *p != '\0'; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p) != NULL)
            return NULL;
    }
    at = strchr(addr, '@');
    if (at == NULL || at == addr || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return NULL;
    return mime_compose_address_survives(addr) ? g_steal_pointer(&addr) : NULL;
}

/* mime_compose_text_part - text/plain; charset=utf-8, 7bit or QP. */
GMimePart *
mime_compose_text_part(const char *text)
{
    GMimeTextPart *part;
    g_autoptr(GMimeStream) stream = NULL;
    g_autoptr(GMimeDataWrapper) content = NULL;
    GMimeContentEncoding encoding;

    gmime_init_once();
    part = g_mime_text_part_new_with_subtype("plain");
    stream = g_mime_stream_mem_new_with_buffer(text, strlen(text));
    content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(GMIME_PART(part), content);
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
    encoding = g_mime_part_get_best_content_encoding(GMIME_PART(part),
                                                     GMIME_ENCODING_CONSTRAINT_7BIT);
    if (encoding == GMIME_CONTENT_ENCODING_DEFAULT)
        encoding = GMIME_CONTENT_ENCODING_7BIT;         /* say so, not leave it implied */
    else if (encoding == GMIME_CONTENT_ENCODING_BASE64)
        encoding = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;    /* readable in any client */
    g_mime_part_set_content_encoding(GMIME_PART(part), encoding);
    return GMIME_PART(part);
}

/* mime_compose_to_crlf - the whole of object, CRLF line ends. */
char *
mime_compose_to_crlf(GMimeObject *object, gsize *len_out)
{
    g_autoptr(GMimeFormatOptions) options = g_mime_format_options_clone(NULL);
    char *text;

    g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
    text = g_mime_object_to_string(object, options);
    if (len_out != NULL)
        *len_out = strlen(text);
    return text;
}
