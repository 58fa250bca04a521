/* autoreply_compose.c - the reply itself, written with GMime (RFC 3834 §3).
 *
 * What comes from the original (subject, ids, address) is folded to one
 * line or checked first; GMime writes the message, and the Subject's RFC
 * 2047 words are ours (mime_compose_set_subject()), so no value can start
 * a header or end the header block. */
#include <string.h>

#include "autoreply/autoreply_private.h"
#include "common/gmime_autoptr.h"

/* RFC 3834 §3.1: the suggested subject prefix. */
#define AUTOREPLY_SUBJECT_PREFIX "Auto:"

/* reply_subject - "Auto: <original>", the prefix not doubled on a reply
 * to a reply. (transfer full) */
static char *
reply_subject(const char *original)
{
    g_autofree char *subject = mime_compose_fold(original, -1, AUTOREPLY_SUBJECT_MAX);

    if (g_ascii_strncasecmp(subject, AUTOREPLY_SUBJECT_PREFIX,
                            strlen(AUTOREPLY_SUBJECT_PREFIX)) == 0)
        return g_steal_pointer(&subject);
    if (*subject == '\0')
        return g_strdup(AUTOREPLY_SUBJECT_PREFIX " (no subject)");
    return g_strconcat(AUTOREPLY_SUBJECT_PREFIX " ", subject, NULL);
}

/* ids_add - append id unless it is unusable or already there. */
static void
ids_add(GPtrArray *ids, GHashTable *seen, const char *id)
{
    char *copy;

    if (!autoreply_msgid_ok(id) || g_hash_table_contains(seen, id))
        return;
    copy = g_strdup(id);
    g_ptr_array_add(ids, copy);
    g_hash_table_add(seen, copy);
}

/* ids_parse - the "<id>" in a References or In-Reply-To value, in order.
 * Anything else (phrases, comments, a broken id) is skipped and does not
 * end the list, as it would in a strict parser. One pass. */
static void
ids_parse(GPtrArray *ids, GHashTable *seen, const char *text)
{
    const char *open = text != NULL ? strchr(text, '<') : NULL;

    while (open != NULL) {
        const char *p = strpbrk(open + 1, "<>");

        if (p == NULL)
            break;
        if (*p == '<') {
            open = p;                 /* "<a <b@c>": the inner one */
            continue;
        }
        {
            g_autofree char *id = g_strndup(open + 1, p - open - 1);

            ids_add(ids, seen, id);
        }
        open = strchr(p + 1, '<');
    }
}

/* reply_references - RFC 5322 §3.6.4: the parent's References (or its
 * In-Reply-To when that names one id and there are no References), then
 * the parent's Message-ID; trimmed to the first and the latest ids.
 * NULL when there is none. (transfer full) */
static char *
reply_references(const AutoreplyDecision *d)
{
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    GString *out;

    ids_parse(ids, seen, d->references);
    if (ids->len == 0) {
        g_autoptr(GPtrArray) parent = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GHashTable) parent_seen = g_hash_table_new(g_str_hash, g_str_equal);

        ids_parse(parent, parent_seen, d->in_reply_to);
        if (parent->len == 1)
            ids_add(ids, seen, g_ptr_array_index(parent, 0));
    }
    ids_add(ids, seen, d->message_id);
    if (ids->len == 0)
        return NULL;
    if (ids->len > AUTOREPLY_REFERENCES_MAX)
        g_ptr_array_remove_range(ids, 1, ids->len - AUTOREPLY_REFERENCES_MAX);
    out = g_string_new(NULL);
    for (guint i = 0; i < ids->len; i++)
        g_string_append_printf(out, "%s<%s>", i > 0 ? " " : "", (char *)g_ptr_array_index(ids, i));
    return g_string_free(out, FALSE);
}

/* id_domain_pick - the domain for our Message-ID: the one asked for when
 * it is a host name, else the reply mailbox's. (transfer none) */
static const char *
id_domain_pick(const char *message_id_domain, const char *from)
{
    if (message_id_domain != NULL) {
        g_autofree char *probe = g_strconcat("id@", message_id_domain, NULL);
        g_autofree char *clean = autoreply_address_clean(probe);

        if (clean != NULL)
            return message_id_domain;
    }
    return strrchr(from, '@') + 1;
}

char *
autoreply_compose(const AutoreplyTemplate *tpl, const AutoreplyDecision *decision,
                  const char *from_mailbox, const char *org_name, const char *org_reply_to,
                  const char *message_id_domain, gsize *len_out)
{
    g_autofree char *to = NULL;
    g_autofree char *from = NULL;
    g_autofree char *known_reply_to = NULL;
    g_autofree char *subject = NULL;
    g_autofree char *references = NULL;
    g_autofree char *body = NULL;
    g_autoptr(GMimeMessage) message = NULL;
    g_autoptr(GMimePart) part = NULL;
    GMimeObject *object;
    const char *id_domain;

    if (len_out != NULL)
        *len_out = 0;
    g_return_val_if_fail(tpl != NULL && decision != NULL, NULL);
    g_return_val_if_fail(from_mailbox != NULL, NULL);
    from = autoreply_address_clean(from_mailbox);
    g_return_val_if_fail(from != NULL, NULL);

    /* RFC 3834 §4: to the envelope sender; nothing if there is none. */
    to = autoreply_address_clean(decision->reply_to);
    if (to == NULL)
        return NULL;
    /* An organisation address we cannot write is no address to give. */
    known_reply_to = autoreply_address_clean(org_reply_to);
    id_domain = id_domain_pick(message_id_domain, from);

    subject = reply_subject(decision->subject);
    message = mime_compose_message_new(from, to, subject, id_domain);
    object = GMIME_OBJECT(message);

    /* RFC 3834 §3.1: thread the reply under the original. */
    if (autoreply_msgid_ok(decision->message_id)) {
        g_autofree char *parent = g_strdup_printf("<%s>", decision->message_id);

        g_mime_object_set_header(object, "In-Reply-To", parent, NULL);
    }
    references = reply_references(decision);
    if (references != NULL)
        g_mime_object_set_header(object, "References", references, NULL);

    /* RFC 3834 §3.1; the other two keep Exchange and the older
     * responders from answering us. */
    g_mime_object_set_header(object, "Auto-Submitted", "auto-replied", NULL);
    g_mime_object_set_header(object, "X-Auto-Response-Suppress", "All", NULL);
    g_mime_object_set_header(object, "Precedence", "auto_reply", NULL);

    body = autoreply_render(tpl, decision->subject, org_name, known_reply_to);
    part = mime_compose_text_part(body);
    g_mime_message_set_mime_part(message, GMIME_OBJECT(part));
    return mime_compose_to_crlf(object, len_out);
}
