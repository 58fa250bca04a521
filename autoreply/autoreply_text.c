/* autoreply_text.c - text, addresses and message ids that may be written
 * back into a message: nothing read from the original may start a new
 * header line or end the header block. */
#include <string.h>

#include "autoreply/autoreply_private.h"
#include "common/gmime_autoptr.h"

/* text_char_is_break - characters that must never reach a header: the C0
 * and C1 controls (CR, LF and NUL among them), DEL, and the Unicode line
 * and paragraph separators. */
static gboolean
text_char_is_break(gunichar c)
{
    return g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029;
}

char *
autoreply_text_fold(const char *text, gssize len, gsize max_chars)
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

        if (text_char_is_break(c) || g_unichar_isspace(c)) {
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

/* Header lines are folded before this column (RFC 5322 §2.1.1). */
#define HEADER_FOLD_AT      78
/* UTF-8 bytes per encoded word: "=?UTF-8?B?" + 60 base64 + "?=" is 72,
 * under RFC 2047's 75. */
#define HEADER_WORD_BYTES   45
/* A longer word is encoded, so no line nears RFC 5322's 998 octets. */
#define HEADER_PLAIN_MAX    900

/* word_is_plain - printable ASCII that cannot be read as an encoded word,
 * short enough for one line. */
static gboolean
word_is_plain(const char *word, gsize len)
{
    if (len > HEADER_PLAIN_MAX)
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
    if (out->len > 0 && *column + 1 + len > HEADER_FOLD_AT) {
        g_string_append(out, "\n");
        *column = 0;
    }
    g_string_append_c(out, ' ');
    g_string_append_len(out, word, len);
    *column += 1 + len;
}

char *
autoreply_header_raw(const char *name, const char *text)
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

        while (*q != '\0' && (gsize)(g_utf8_next_char(q) - p) <= HEADER_WORD_BYTES)
            q = g_utf8_next_char(q);
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

/* address_local_char_ok - RFC 5322 atext, and '.' between atoms. */
static gboolean
address_local_char_ok(char c)
{
    return g_ascii_isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

/* address_domain_ok - a host name: letters, digits, '-' and '.', no empty
 * label. Address literals ("[192.0.2.1]") are not taken: nobody who
 * writes to an invoice mailbox uses one. */
static gboolean
address_domain_ok(const char *domain)
{
    gsize label = 0;

    if (*domain == '\0')
        return FALSE;
    for (const char *p = domain; *p != '\0'; p++) {
        if (*p == '.') {
            if (label == 0)
                return FALSE;
            label = 0;
        } else if (g_ascii_isalnum(*p) || *p == '-') {
            if (++label > 63)
                return FALSE;
        } else {
            return FALSE;
        }
    }
    return label > 0;
}

/* address_survives_gmime - GMime writes a mailbox in its IDNA form; a
 * domain with a bogus "xn--" label comes out as another domain (or an
 * empty label), which would send the reply somewhere else. */
static gboolean
address_survives_gmime(const char *addr)
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

char *
autoreply_address_clean(const char *text)
{
    g_autofree char *addr = NULL;
    char *at;
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
    len = strlen(addr);
    at = strrchr(addr, '@');
    if (len == 0 || len > AUTOREPLY_ADDRESS_MAX || at == NULL || at == addr
        || (gsize)(at - addr) > AUTOREPLY_LOCAL_PART_MAX)
        return NULL;
    for (const char *p = addr; p < at; p++) {
        if (!address_local_char_ok(*p))
            return NULL;
    }
    /* dot-atom: no leading, trailing or doubled dot */
    if (addr[0] == '.' || at[-1] == '.' || g_strstr_len(addr, at - addr, "..") != NULL)
        return NULL;
    if (!address_domain_ok(at + 1))
        return NULL;
    for (char *p = at + 1; *p != '\0'; p++)
        *p = g_ascii_tolower(*p);
    if (!address_survives_gmime(addr))
        return NULL;
    return g_steal_pointer(&addr);
}

gboolean
autoreply_msgid_ok(const char *id)
{
    const char *at;
    gsize len;

    if (id == NULL)
        return FALSE;
    len = strlen(id);
    if (len < 3 || len > AUTOREPLY_MSGID_MAX)
        return FALSE;
    for (const char *p = id; *p != '\0'; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>')
            return FALSE;
    }
    at = strchr(id, '@');
    return at != NULL && at != id && at[1] != '\0' && strchr(at + 1, '@') == NULL;
}

/* local_squeeze - lower case without '.', '-' and '_', so "No_Reply",
 * "no.reply" and "do-not-reply" compare as "noreply" and "donotreply". */
static char *
local_squeeze(const char *local)
{
    GString *out = g_string_sized_new(strlen(local));

    for (const char *p = local; *p != '\0'; p++) {
        if (*p != '.' && *p != '-' && *p != '_')
            g_string_append_c(out, g_ascii_tolower(*p));
    }
    return g_string_free(out, FALSE);
}

const char *
autoreply_system_local_part(const char *local_part)
{
    /* Exact names (after any +detail is dropped). */
    static const char *const exact[] = {
        "mailer-daemon", "postmaster", "listserv", "majordomo",
    };
    /* Squeezed substrings: noreply@, no-reply@, do_not_reply@,
     * notifications-noreply@, DoNotReply@ ... */
    static const struct {
        const char *text;
        const char *name;
    } squeezed[] = {
        { "noreply", "noreply" },
        { "donotreply", "noreply" },
        { "dontreply", "noreply" },
        { "mailerdaemon", "mailer-daemon" },
    };
    g_autofree char *lower = NULL;
    g_autofree char *squeeze = NULL;
    char *plus;
    gsize len;

    if (local_part == NULL || *local_part == '\0')
        return NULL;
    lower = g_ascii_strdown(local_part, -1);
    g_strdelimit(lower, "\"", ' ');
    g_strstrip(lower);
    plus = strchr(lower, '+');
    if (plus != NULL && plus != lower)
        *plus = '\0';
    len = strlen(lower);

    for (gsize i = 0; i < G_N_ELEMENTS(exact); i++) {
        if (strcmp(lower, exact[i]) == 0)
            return exact[i];
    }
    if (g_str_has_prefix(lower, "owner-"))
        return "owner-*";
    if (len > 6 && g_str_has_suffix(lower, "-owner"))
        return "*-owner";
    /* Dovecot's vacation looks for "-request" anywhere (list-request+cmd). */
    if (strstr(lower, "-request") != NULL)
        return "*-request";
    if (g_str_has_prefix(lower, "bounce"))
        return "bounce*";
    squeeze = local_squeeze(lower);
    for (gsize i = 0; i < G_N_ELEMENTS(squeezed); i++) {
        if (strstr(squeeze, squeezed[i].text) != NULL)
            return squeezed[i].name;
    }
    return NULL;
}
