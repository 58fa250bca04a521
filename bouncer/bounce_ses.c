/* bounce_ses.c - Amazon SES notifications mailed through SNS: a JSON
 * object (notificationType Bounce, Complaint or Delivery) as the body. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "bouncer/bounce_private.h"

/* ses_blanks - past the blanks from p. */
static const char *
ses_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* ses_signature - the "--" line SNS puts after the JSON (blanks a
 * transport added after it allowed), or NULL. */
static const char *
ses_signature(const char *p, const char *end)
{
    while ((p = memmem(p, end - p, "\n--", 3)) != NULL) {
        const char *after = ses_blanks(p + 3, end);

        if (after == end || *after == '\n')
            return p;
        p += 3;
    }
    return NULL;
}

/* ses_json_text - the JSON object of the body, with the "!\n " that
 * sendmail inserts into lines over 990 octets (and plain line ends)
 * taken out. NULL when the body does not start with '{'. (transfer full) */
static char *
ses_json_text(const GString *text)
{
    const char *p = text->str;
    const char *end;
    GString *out;

    while (*p == ' ' || *p == '\n' || *p == '\t')
        p++;
    if (*p != '{' || strstr(p, "notificationType") == NULL)
        return NULL;
    end = ses_signature(p, text->str + text->len);
    if (end == NULL)
        end = text->str + text->len;
    out = g_string_sized_new(end - p);
    for (const char *q = p; q < end; q++) {
        const char *nl = q[0] == '!' ? ses_blanks(q + 1, end) : NULL;

        if (nl != NULL && nl + 1 < end && nl[0] == '\n' && nl[1] == ' ') {
            q = nl + 1;
            continue;
        }
        if (*q == '\n')
            continue;
        g_string_append_c(out, *q);
    }
    return g_string_free(out, FALSE);
}

/* ses_str - a string member or NULL. (transfer none) */
static const char *
ses_str(JsonObject *o, const char *name)
{
    JsonNode *n;

    if (o == NULL || !json_object_has_member(o, name))
        return NULL;
    n = json_object_get_member(o, name);
    if (n == NULL || JSON_NODE_TYPE(n) != JSON_NODE_VALUE || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

/* ses_obj - an object member or NULL. (transfer none) */
static JsonObject *
ses_obj(JsonObject *o, const char *name)
{
    JsonNode *n;

    if (o == NULL || !json_object_has_member(o, name))
        return NULL;
    n = json_object_get_member(o, name);
    return n != NULL && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* ses_arr - an array member or NULL. (transfer none) */
static JsonArray *
ses_arr(JsonObject *o, const char *name)
{
    JsonNode *n;

    if (o == NULL || !json_object_has_member(o, name))
        return NULL;
    n = json_object_get_member(o, name);
    return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* ses_add - one recipient with the SES fields that apply. */
static BounceRecipient *
ses_add(BounceReport *report, const char *addr)
{
    g_autofree char *clean = bounce_addr_clean(addr);
    BounceRecipient *r;

    if (clean == NULL || report->recipients->len >= BOUNCE_MAX_RECIPIENTS)
        return NULL;
    r = bounce_recipient_new();
    bounce_recipient_set(&r->addr, clean);
    g_ptr_array_add(report->recipients, r);
    return r;
}

/* An SES notification nests objects and arrays five or six deep. */
#define SES_MAX_DEPTH 64

/* ses_shallow - json nests objects and arrays at most SES_MAX_DEPTH deep.
 * json-glib's parser calls itself once per level, with no limit: 100 KB
 * of '[' overflowed a thread's stack and took the process down. Brackets
 * inside strings do not count. */
static gboolean
ses_shallow(const char *json)
{
    guint depth = 0;
    gboolean in_string = FALSE;

    for (const char *p = json; *p != '\0'; p++) {
        if (in_string) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '"')
                in_string = FALSE;
        } else if (*p == '"') {
            in_string = TRUE;
        } else if (*p == '[' || *p == '{') {
            if (++depth > SES_MAX_DEPTH)
                return FALSE;
        } else if ((*p == ']' || *p == '}') && depth > 0) {
            depth--;
        }
    }
    return TRUE;
}

gboolean
bounce_ses_read(BounceReport *report, const BounceParts *parts)
{
    g_autofree char *json = ses_json_text(parts->text);
    g_autoptr(JsonParser) parser = NULL;
    JsonNode *root;
    JsonObject *top, *body;
    const char *type;

    if (json == NULL || !ses_shallow(json))
        return FALSE;
    parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, json, -1, NULL))
        return FALSE;
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
        return FALSE;
    top = json_node_get_object(root);
    if (ses_str(top, "notificationType") == NULL && ses_str(top, "Message") != NULL) {
        /* The SNS envelope: the notification is a JSON string inside. */
        JsonParser *inner;

        if (!ses_shallow(ses_str(top, "Message")))
            return FALSE;
        inner = json_parser_new_immutable();
        if (!json_parser_load_from_data(inner, ses_str(top, "Message"), -1, NULL)
            || json_parser_get_root(inner) == NULL
            || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(inner))) {
            g_object_unref(inner);
            return FALSE;
        }
        g_object_unref(parser);
        parser = inner;
        top = json_node_get_object(json_parser_get_root(parser));
    }
    type = ses_str(top, "notificationType");
    if (type == NULL)
        return FALSE;

    if (g_ascii_strcasecmp(type, "Bounce") == 0) {
        JsonArray *list;

        body = ses_obj(top, "bounce");
        list = ses_arr(body, "bouncedRecipients");
        if (report->reporting_mta == NULL && ses_str(body, "reportingMTA") != NULL) {
            const char *mta = ses_str(body, "reportingMTA");
            const char *semi = strchr(mta, ';');

            report->reporting_mta = g_strstrip(g_strdup(semi != NULL ? semi + 1 : mta));
        }
        for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
            JsonNode *n = json_array_get_element(list, i);
            JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
            BounceRecipient *r = ses_add(report, ses_str(o, "emailAddress"));
            const char *diag;

            if (r == NULL)
                continue;
            bounce_recipient_set(&r->action, ses_str(o, "action"));
            if (ses_str(o, "status") != NULL)
                bounce_recipient_set(&r->status, ses_str(o, "status"));
            diag = ses_str(o, "diagnosticCode");
            if (diag != NULL) {
                const char *semi = strchr(diag, ';');

                if (semi != NULL && semi - diag < 20)
                    diag = semi + 1;
                g_free(r->diagnostic);
                r->diagnostic = bounce_fold(diag, strlen(diag));
            }
            bounce_recipient_set(&r->bounce_type, ses_str(body, "bounceType"));
            bounce_recipient_set(&r->bounce_subtype, ses_str(body, "bounceSubType"));
        }
        report->kind = BOUNCE_KIND_NONSTANDARD;
    } else if (g_ascii_strcasecmp(type, "Complaint") == 0) {
        JsonArray *list;
        const char *ftype;

        body = ses_obj(top, "complaint");
        list = ses_arr(body, "complainedRecipients");
        ftype = ses_str(body, "complaintFeedbackType");
        for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
            JsonNode *n = json_array_get_element(list, i);
            JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
            BounceRecipient *r = ses_add(report, ses_str(o, "emailAddress"));

            if (r != NULL)
                r->feedbacktype = g_strdup(ftype != NULL ? ftype : "abuse");
        }
        report->feedback_type = g_strdup(ftype != NULL ? ftype : "abuse");
        report->user_agent = g_strdup(ses_str(body, "userAgent"));
        report->kind = BOUNCE_KIND_ARF;
    } else if (g_ascii_strcasecmp(type, "Delivery") == 0) {
        JsonArray *list;
        const char *smtp;

        body = ses_obj(top, "delivery");
        list = ses_arr(body, "recipients");
        smtp = ses_str(body, "smtpResponse");
        for (guint i = 0; list != NULL && i < json_array_get_length(list); i++) {
            JsonNode *n = json_array_get_element(list, i);
            BounceRecipient *r;

            if (JSON_NODE_TYPE(n) != JSON_NODE_VALUE || json_node_get_value_type(n) != G_TYPE_STRING)
                continue;
            r = ses_add(report, json_node_get_string(n));
            if (r == NULL)
                continue;
            bounce_recipient_set(&r->action, "delivered");
            if (smtp != NULL) {
                g_free(r->diagnostic);
                r->diagnostic = bounce_fold(smtp, strlen(smtp));
            }
            bounce_recipient_set(&r->remote_mta, ses_str(body, "remoteMtaIp"));
        }
        report->kind = BOUNCE_KIND_DELIVERED;
    } else {
        return FALSE;
    }
    return report->recipients->len > 0;
}
