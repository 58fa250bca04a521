/* ctl_common.c - what several bouncerctl subcommands share. */
#include "cmd/ctl.h"

#include <string.h>

#include "common/config.h"
#include "common/db.h"

PGconn *
ctl_connect(const char *config_path, const char *conninfo, GError **error)
{
    g_autoptr(BouncerConfig) config = NULL;

    if (conninfo != NULL)
        return db_connect(conninfo, error);
    if (config_path != NULL) {
        config = config_load(config_path, error);
        if (config == NULL)
            return NULL;
        return db_connect(config->conninfo, error);
    }
    return db_connect("dbname=bouncer", error);
}

char *
ctl_printable(const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    GString *out = g_string_sized_new(strlen(valid));

    for (const char *p = valid; *p != '\0'; p++) {
        switch (*p) {
        case '\r': g_string_append(out, "\\r"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if ((guchar)*p < 0x20 || *p == 0x7f)
                g_string_append_printf(out, "\\x%02x", (guchar)*p);
            else
                g_string_append_c(out, *p);
        }
    }
    return g_string_free(out, FALSE);
}

gboolean
ctl_check_org_id(const char *option, const char *text, gint64 *id_out, GError **error)
{
    gint64 id = 0;

    if (text == NULL)
        return TRUE;
    if (!g_ascii_string_to_signed(text, 10, 1, G_MAXINT64, &id, NULL)) {
        g_autofree char *shown = ctl_printable(text);

        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s '%s' is not a whole number from 1 to %" G_GINT64_FORMAT,
                    option, shown, G_MAXINT64);
        return FALSE;
    }
    if (id_out != NULL)
        *id_out = id;
    return TRUE;
}

gboolean
ctl_check_one_line(const char *option, const char *text, gboolean required, GError **error)
{
    gboolean blank = TRUE;

    if (text == NULL && !required)
        return TRUE;
    if (text == NULL || !g_utf8_validate(text, -1, NULL)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s is %s", option,
                    text == NULL ? "required" : "not valid UTF-8");
        return FALSE;
    }
    for (const char *p = text; *p != '\0'; p++) {
        if ((guchar)*p < 0x20 || *p == 0x7f) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "%s contains a line break, tab or other control character", option);
            return FALSE;
        }
        blank = blank && *p == ' ';
    }
    if (required && blank) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s is empty", option);
        return FALSE;
    }
    return TRUE;
}

gboolean
ctl_check_address(const char *option, const char *addr, GError **error)
{
    const char *at = strchr(addr, '@');
    const char *domain = at != NULL ? at + 1 : "";
    g_autofree char *why = NULL;
    g_autofree char *shown = NULL;

    if (!g_utf8_validate(addr, -1, NULL))
        why = g_strdup("not valid UTF-8");
    for (const char *p = addr; *p != '\0' && why == NULL; p++) {
        if (*p == '\r' || *p == '\n')
            why = g_strdup("it contains a line break");
        else if (*p == ' ' || *p == '\t')
            why = g_strdup("it contains a space");
        else if ((guchar)*p < 0x20 || *p == 0x7f)
            why = g_strdup("it contains a control character");
        else if (strchr("<>,;\"\\()[]", *p) != NULL)
            why = g_strdup_printf("it contains '%c' (give the bare address, one only)", *p);
    }
    if (why == NULL) {
        if (at == NULL)
            why = g_strdup("it has no '@'");
        else if (strchr(domain, '@') != NULL)
            why = g_strdup("it has more than one '@'");
        else if (at == addr)
            why = g_strdup("nothing before the '@'");
        else if (domain[0] == '\0')
            why = g_strdup("no domain after the '@'");
        else if (domain[0] == '.' || domain[strlen(domain) - 1] == '.' || strstr(domain, "..") != NULL)
            why = g_strdup_printf("the domain '%s' has an empty label", domain);
    }
    if (why == NULL)
        return TRUE;
    shown = ctl_printable(addr);
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s \"%s\" is not an email address: %s", option, shown, why);
    return FALSE;
}
