/* autoreply_template.c - the two reply texts: built in, or read from
 * files, and filled in. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "autoreply/autoreply_private.h"

/* The built-in texts; docs/templates/autoreply-{known,general}.txt hold
 * the same words (test_autoreply checks), as a start for your own. */
static const char default_known[] =
    "Hello,\n"
    "\n"
    "Thank you for your email \"{original_subject}\".\n"
    "\n"
    "This address only sends emails such as invoices and statements on behalf\n"
    "of {org_name}. Nobody reads the messages that come back to it, so your\n"
    "email has not been passed on to anyone.\n"
    "\n"
    "To reach {org_name}, please write to them directly at:\n"
    "\n"
    "    {reply_to}\n"
    "\n"
    "This is an automatic reply; there is no need to answer it.\n";

static const char default_general[] =
    "Hello,\n"
    "\n"
    "Thank you for your email \"{original_subject}\".\n"
    "\n"
    "This address only sends emails such as invoices and statements on behalf\n"
    "of the businesses that use our service. Nobody reads the messages that\n"
    "come back to it, so your email has not been passed on to anyone.\n"
    "\n"
    "To reach the business that sent you an email from this address, please\n"
    "use the contact details given in that email or on your invoice.\n"
    "\n"
    "This is an automatic reply; there is no need to answer it.\n";

/* What {org_name} reads when the organisation's name is not known. */
#define TEMPLATE_ORG_FALLBACK     "the sender"
/* What {original_subject} reads when the original had none. */
#define TEMPLATE_SUBJECT_FALLBACK "(no subject)"

static const char *const placeholders[] = { "org_name", "reply_to", "original_subject" };

struct AutoreplyTemplate {
    char *known;
    char *general;
};

/* placeholder_at - length of the placeholder name at p ("{name}" with
 * name of [a-z_]), 0 when p starts no placeholder. */
static gsize
placeholder_at(const char *p)
{
    gsize n = 0;

    if (*p != '{')
        return 0;
    while (g_ascii_islower(p[1 + n]) || p[1 + n] == '_')
        n++;
    return n > 0 && p[1 + n] == '}' ? n : 0;
}

/* placeholder_known - name (n bytes) is one of ours. */
static gboolean
placeholder_known(const char *name, gsize n)
{
    for (gsize i = 0; i < G_N_ELEMENTS(placeholders); i++) {
        if (strlen(placeholders[i]) == n && memcmp(placeholders[i], name, n) == 0)
            return TRUE;
    }
    return FALSE;
}

/* template_check - a template text (LF line ends) we can use: UTF-8, no
 * control character but tab and LF, not blank, only our placeholders. */
static gboolean
template_check(const char *text, gsize len, GError **error)
{
    const char *end = NULL;
    guint line = 1;
    gboolean blank = TRUE;

    if (!g_utf8_validate(text, len, &end)) {
        /* A NUL byte stops validation too. */
        g_set_error(error, AUTOREPLY_ERROR, AUTOREPLY_ERROR_TEMPLATE,
                    "not UTF-8 text (byte %" G_GSIZE_FORMAT ")", (gsize)(end - text));
        return FALSE;
    }
    for (const char *p = text; p < text + len; p++) {
        gsize n;

        if (*p == '\n') {
            line++;
            continue;
        }
        if ((guchar)*p < 0x20 && *p != '\t') {
            g_set_error(error, AUTOREPLY_ERROR, AUTOREPLY_ERROR_TEMPLATE,
                        "line %u: control character 0x%02x", line, (guchar)*p);
            return FALSE;
        }
        if (!g_ascii_isspace(*p))
            blank = FALSE;
        n = placeholder_at(p);
        if (n > 0 && !placeholder_known(p + 1, n)) {
            g_set_error(error, AUTOREPLY_ERROR, AUTOREPLY_ERROR_TEMPLATE,
                        "line %u: unknown placeholder {%.*s} (known: {org_name}, "
                        "{reply_to}, {original_subject})", line, (int)n, p + 1);
            return FALSE;
        }
    }
    if (blank) {
        g_set_error_literal(error, AUTOREPLY_ERROR, AUTOREPLY_ERROR_TEMPLATE,
                            "the template is empty");
        return FALSE;
    }
    return TRUE;
}

/* template_read - one template file: a regular file of at most
 * AUTOREPLY_TEMPLATE_MAX_SIZE bytes, BOM dropped, line ends made LF,
 * checked. (transfer full) */
static char *
template_read(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    GStatBuf st;
    gsize len = 0, n = 0;
    gsize start = 0;

    if (g_stat(path, &st) != 0) {
        int saved = errno;

        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s",
                    path, g_strerror(saved));
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > AUTOREPLY_TEMPLATE_MAX_SIZE) {
        g_set_error(error, AUTOREPLY_ERROR, AUTOREPLY_ERROR_TEMPLATE,
                    "%s: not a regular file of at most %d bytes", path,
                    AUTOREPLY_TEMPLATE_MAX_SIZE);
        return NULL;
    }
    if (!g_file_get_contents(path, &data, &len, error))
        return NULL;
    if (len > AUTOREPLY_TEMPLATE_MAX_SIZE) {
        g_set_error(error, AUTOREPLY_ERROR, AUTOREPLY_ERROR_TEMPLATE,
                    "%s: not a regular file of at most %d bytes", path,
                    AUTOREPLY_TEMPLATE_MAX_SIZE);
        return NULL;
    }
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        start = 3;
    /* CR LF and lone CR become LF, in place. */
    for (gsize i = start; i < len; i++) {
        if (data[i] == '\r') {
            data[n++] = '\n';
            if (i + 1 < len && data[i + 1] == '\n')
                i++;
        } else {
            data[n++] = data[i];
        }
    }
    data[n] = '\0';
    if (!template_check(data, n, error)) {
        g_prefix_error(error, "%s: ", path);
        return NULL;
    }
    return g_steal_pointer(&data);
}

AutoreplyTemplate *
autoreply_template_new_default(void)
{
    AutoreplyTemplate *tpl = g_new0(AutoreplyTemplate, 1);

    tpl->known = g_strdup(default_known);
    tpl->general = g_strdup(default_general);
    return tpl;
}

AutoreplyTemplate *
autoreply_template_load(const char *known_path, const char *general_path, GError **error)
{
    g_autoptr(AutoreplyTemplate) tpl = autoreply_template_new_default();

    if (known_path != NULL && *known_path != '\0') {
        char *text = template_read(known_path, error);

        if (text == NULL) {
            g_prefix_error(error, "template_known: ");
            return NULL;
        }
        g_free(tpl->known);
        tpl->known = text;
    }
    if (general_path != NULL && *general_path != '\0') {
        char *text = template_read(general_path, error);

        if (text == NULL) {
            g_prefix_error(error, "template_general: ");
            return NULL;
        }
        g_free(tpl->general);
        tpl->general = text;
    }
    return g_steal_pointer(&tpl);
}

void
autoreply_template_free(AutoreplyTemplate *tpl)
{
    if (tpl == NULL)
        return;
    g_free(tpl->known);
    g_free(tpl->general);
    g_free(tpl);
}

const char *
autoreply_template_text(const AutoreplyTemplate *tpl, gboolean known)
{
    g_return_val_if_fail(tpl != NULL, NULL);
    return known ? tpl->known : tpl->general;
}

char *
autoreply_render(const AutoreplyTemplate *tpl, const char *original_subject,
                 const char *org_name, const char *org_reply_to)
{
    g_autofree char *reply_to = autoreply_text_fold(org_reply_to, -1, AUTOREPLY_VALUE_MAX);
    g_autofree char *name = autoreply_text_fold(org_name, -1, AUTOREPLY_VALUE_MAX);
    g_autofree char *subject = autoreply_text_fold(original_subject, -1, AUTOREPLY_VALUE_MAX);
    const char *values[G_N_ELEMENTS(placeholders)];
    gboolean known = *reply_to != '\0';
    const char *text;
    GString *out;

    g_return_val_if_fail(tpl != NULL, NULL);
    text = known ? tpl->known : tpl->general;
    values[0] = *name != '\0' ? name : TEMPLATE_ORG_FALLBACK;
    values[1] = reply_to;
    values[2] = *subject != '\0' ? subject : TEMPLATE_SUBJECT_FALLBACK;

    out = g_string_sized_new(strlen(text) + 256);
    for (const char *p = text; *p != '\0'; p++) {
        gsize n = placeholder_at(p);
        gsize i;

        for (i = 0; n > 0 && i < G_N_ELEMENTS(placeholders); i++) {
            if (strlen(placeholders[i]) == n && memcmp(placeholders[i], p + 1, n) == 0)
                break;
        }
        if (n > 0 && i < G_N_ELEMENTS(placeholders)) {
            g_string_append(out, values[i]);
            p += n + 1;
        } else {
            g_string_append_c(out, *p);
        }
    }
    if (out->len == 0 || out->str[out->len - 1] != '\n')
        g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}
