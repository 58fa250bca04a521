/* autoreply_text.c - text, addresses and message ids that may be written
 * back into a message: nothing read from the original may start a new
 * header line or end the header block. */
#include <string.h>

#include "autoreply/autoreply_private.h"

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

char *
autoreply_address_clean(const char *text)
{
    g_autofree char *addr = mime_compose_address_unwrap(text);
    char *at;
    gsize len;

    if (addr == NULL)
        return NULL;
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
    if (!mime_compose_address_survives(addr))
        return NULL;
    return g_steal_pointer(&addr);
}

/* msgid_atext - RFC 5322 atext, or '.' (dots are not checked for place:
 * "a..b" and "a." occur in the wild and harm no reader). */
static gboolean
msgid_atext(char c)
{
    return g_ascii_isalnum(c) || c == '.' || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

gboolean
autoreply_msgid_ok(const char *id)
{
    const char *at, *p;
    gsize len;

    if (id == NULL)
        return FALSE;
    len = strlen(id);
    if (len < 3 || len > AUTOREPLY_MSGID_MAX)
        return FALSE;
    at = strchr(id, '@');
    if (at == NULL || at == id || at[1] == '\0')
        return FALSE;
    /* id-left: dot-atom-text. Anything else ('(', '"', ',', ';' ...) makes
     * some readers drop the id and every one after it in References. */
    for (p = id; p < at; p++) {
        if (!msgid_atext(*p))
            return FALSE;
    }
    /* id-right: dot-atom-text, or a no-fold-literal "[" *dtext "]" */
    if (at[1] == '[') {
        for (p = at + 2; *p != '\0' && *p != ']'; p++) {
            if (*p <= 0x20 || *p >= 0x7f || *p == '[' || *p == '\\')
                return FALSE;
        }
        return *p == ']' && p[1] == '\0';
    }
    for (p = at + 1; *p != '\0'; p++) {
        if (!msgid_atext(*p))
            return FALSE;
    }
    return TRUE;
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
