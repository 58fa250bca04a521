/* gmime_guard.c - input GMime must not be given (gmime_guard.h). */
#include <string.h>

#include "common/gmime_guard.h"

/* guard_address_field - whether the line at p (up to end) starts one of
 * the fields GMime parses as addresses; *value_out is after its colon. */
static gboolean
guard_address_field(const char *p, const char *end, const char **value_out)
{
    static const char *const names[] = { "From", "Sender", "Reply-To", "To", "Cc", "Bcc" };
    const char *colon = memchr(p, ':', (gsize)(end - p));

    if (colon == NULL)
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        gsize n = strlen(names[i]);
        const char *q = p + n;

        if ((gsize)(colon - p) < n || g_ascii_strncasecmp(p, names[i], n) != 0)
            continue;
        while (q < colon && (*q == ' ' || *q == '\t'))
            q++;
        if (q == colon) {
            *value_out = colon + 1;
            return TRUE;
        }
    }
    return FALSE;
}

gboolean
gmime_guard_address_fields_ok(const char *data, gsize len)
{
    const char *p = data, *end = data + len;
    gboolean counting = FALSE;
    guint colons = 0;

    if (data == NULL)
        return TRUE;
    while (p < end) {
        const char *eol = p, *value = p;

        /* CR, LF or CRLF: the line ends GMime takes */
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        if (*p != ' ' && *p != '\t') {          /* a new field (or not one) */
            colons = 0;
            counting = guard_address_field(p, eol, &value);
        }
        for (const char *q = value; counting && q < eol; q++) {
            if (*q == ':' && ++colons > GMIME_GUARD_MAX_GROUPS)
                return FALSE;
        }
        p = eol + (eol + 1 < end && eol[0] == '\r' && eol[1] == '\n' ? 2 : 1);
    }
    return TRUE;
}
