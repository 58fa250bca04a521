/* bounce_ses.c - Amazon SES notifications mailed through SNS: a JSON
 * object (notificationType Bounce, Complaint or Delivery; or, from a
 * configuration set's event publishing, eventType, which adds
 * DeliveryDelay) as the body. */
#include <json-c/json.h>
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
    if (*p != '{' || (strstr(p, "notificationType") == NULL && strstr(p, "eventType") == NULL))
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_tokener, json_tokener_free)

/* ses_member - o's member name of the given type, or NULL. (transfer none) */
static json_object *
ses_member(json_object *o, const char *name, json_type type)
{
    json_object *v = NULL;

    if (o == NULL || !json_object_is_type(o, json_type_object)
        || !json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, type))
        return NULL;
    return v;
}

/* ses_str - a string member or NULL. (transfer none) */
static const char *
ses_str(json_object *o, const char *name)
{
    json_object *v = ses_member(o, name, json_type_string);

    return v != NULL ? json_object_get_string(v) : NULL;
}

/* ses_obj - an object member or NULL. (transfer none) */
static json_object *
ses_obj(json_object *o, const char *name)
{
    return ses_member(o, name, json_type_object);
}

/* ses_arr - an array member or NULL. (transfer none) */
static json_object *
ses_arr(json_object *o, const char *name)
{
    return ses_member(o, name, json_type_array);
}

/* ses_add - one recipient with the SES fields that apply. */
static BounceRecipient *
ses_add(BounceReport *report, const char *addr)
{
    g_autofree char *clean = bounce_addr_clean(addr);
    BounceRecipient *r;

    /* U+FFFD is what json-c made of a broken escape (a lone surrogate):
     * not an address anyone has, so not one to report as failed. */
    if (clean == NULL || strstr(clean, "\xEF\xBF\xBD") != NULL
        || report->recipients->len >= BOUNCE_MAX_RECIPIENTS)
        return NULL;
    r = bounce_recipient_new();
    bounce_recipient_set(&r->addr, clean);
    g_ptr_array_add(report->recipients, r);
    return r;
}

/* An SES notification nests objects and arrays five or six deep. json-c
 * reads without recursion and refuses anything deeper than it is told. */
#define SES_MAX_DEPTH 64

/* ses_parse - the JSON object that is all of text[0..len) (blanks around
 * it allowed), or NULL: not JSON, not an object, too deep, or followed by
 * something else. (transfer full) */
static json_object *
ses_parse(const char *text, gsize len)
{
    g_autoptr(json_tokener) tok = json_tokener_new_ex(SES_MAX_DEPTH);
    g_autoptr(json_object) root = NULL;
    const char *rest;

    if (tok == NULL || len > G_MAXINT)
        return NULL;
    /* Not strict: a notification with comments, single quotes or a
     * trailing comma is still read (a reader takes what it can); an
     * invalid escape ("\o") is not. The text is valid UTF-8 already
     * (bounce_text_to_utf8); an escaped lone surrogate becomes U+FFFD. */
    json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, text, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success
        || !json_object_is_type(root, json_type_object))
        return NULL;
    for (rest = text + json_tokener_get_parse_end(tok); rest < text + len; rest++) {
        if (*rest != ' ' && *rest != '\t' && *rest != '\r' && *rest != '\n')
            return NULL;
    }
    return g_steal_pointer(&root);
}

/* ses_type - the notification's type: SNS's notificationType, or the
 * eventType of a configuration set's event publishing. (transfer none) */
static const char *
ses_type(json_object *o)
{
    const char *type = ses_str(o, "notificationType");

    return type != NULL ? type : ses_str(o, "eventType");
}

/* ses_reporting_mta - the report's reporting MTA from a bounce's or a
 * delay's reportingMTA ("dsn; a27-1.smtp-out.example.com"), unless one is
 * known. */
static void
ses_reporting_mta(BounceReport *report, json_object *body)
{
    const char *mta = ses_str(body, "reportingMTA");
    const char *semi;

    if (report->reporting_mta != NULL || mta == NULL)
        return;
    semi = strchr(mta, ';');
    report->reporting_mta = g_strstrip(g_strdup(semi != NULL ? semi + 1 : mta));
}

/* ses_answer - a recipient's status and diagnostic from its entry, the
 * diagnostic without its type ("smtp; 550 ..."). */
static void
ses_answer(BounceRecipient *r, json_object *o)
{
    const char *diag = ses_str(o, "diagnosticCode");

    if (ses_str(o, "status") != NULL)
        bounce_recipient_set(&r->status, ses_str(o, "status"));
    if (diag != NULL) {
        const char *semi = strchr(diag, ';');

        if (semi != NULL && semi - diag < 20)
            diag = semi + 1;
        g_free(r->diagnostic);
        r->diagnostic = bounce_fold(diag, strlen(diag));
    }
}

gboolean
bounce_ses_read(BounceReport *report, const BounceParts *parts)
{
    g_autofree char *json = ses_json_text(parts->text);
    g_autoptr(json_object) root = NULL;
    json_object *top, *body;
    const char *type;

    if (json == NULL || (root = ses_parse(json, strlen(json))) == NULL)
        return FALSE;
    top = root;
    if (ses_type(top) == NULL && ses_str(top, "Message") != NULL) {
        /* The SNS envelope: the notification is a JSON string inside. */
        const char *message = ses_str(top, "Message");
        /* Up to a NUL an escape put in it (\u0000), as a C string reads. */
        json_object *inner = ses_parse(message, strlen(message));

        if (inner == NULL)
            return FALSE;
        json_object_put(root);
        root = inner;
        top = root;
    }
    type = ses_type(top);
    if (type == NULL)
        return FALSE;

    if (g_ascii_strcasecmp(type, "Bounce") == 0) {
        json_object *list;

        body = ses_obj(top, "bounce");
        list = ses_arr(body, "bouncedRecipients");
        ses_reporting_mta(report, body);
        for (guint i = 0; list != NULL && i < json_object_array_length(list); i++) {
            json_object *o = json_object_array_get_idx(list, i);
            BounceRecipient *r = ses_add(report, ses_str(o, "emailAddress"));

            if (r == NULL)
                continue;
            bounce_recipient_set(&r->action, ses_str(o, "action"));
            ses_answer(r, o);
            bounce_recipient_set(&r->bounce_type, ses_str(body, "bounceType"));
            bounce_recipient_set(&r->bounce_subtype, ses_str(body, "bounceSubType"));
        }
        report->kind = BOUNCE_KIND_NONSTANDARD;
    } else if (g_ascii_strcasecmp(type, "Complaint") == 0) {
        json_object *list;
        const char *ftype;

        body = ses_obj(top, "complaint");
        list = ses_arr(body, "complainedRecipients");
        ftype = ses_str(body, "complaintFeedbackType");
        for (guint i = 0; list != NULL && i < json_object_array_length(list); i++) {
            json_object *o = json_object_array_get_idx(list, i);
            BounceRecipient *r = ses_add(report, ses_str(o, "emailAddress"));

            if (r != NULL)
                r->feedbacktype = g_strdup(ftype != NULL ? ftype : "abuse");
        }
        report->feedback_type = g_strdup(ftype != NULL ? ftype : "abuse");
        report->user_agent = g_strdup(ses_str(body, "userAgent"));
        report->kind = BOUNCE_KIND_ARF;
    } else if (g_ascii_strcasecmp(type, "DeliveryDelay") == 0) {
        /* SES is still trying: each delayed recipient with its last
         * answer. Never a failure, whatever that answer's class. */
        json_object *list;

        body = ses_obj(top, "deliveryDelay");
        list = ses_arr(body, "delayedRecipients");
        for (guint i = 0; list != NULL && i < json_object_array_length(list); i++) {
            json_object *o = json_object_array_get_idx(list, i);
            BounceRecipient *r = ses_add(report, ses_str(o, "emailAddress"));

            if (r == NULL)
                continue;
            bounce_recipient_set(&r->action, "delayed");
            ses_answer(r, o);
        }
        ses_reporting_mta(report, body);
        report->kind = BOUNCE_KIND_NONSTANDARD;
    } else if (g_ascii_strcasecmp(type, "Delivery") == 0) {
        json_object *list;
        const char *smtp;

        body = ses_obj(top, "delivery");
        list = ses_arr(body, "recipients");
        smtp = ses_str(body, "smtpResponse");
        for (guint i = 0; list != NULL && i < json_object_array_length(list); i++) {
            json_object *n = json_object_array_get_idx(list, i);
            BounceRecipient *r;

            if (!json_object_is_type(n, json_type_string))
                continue;
            r = ses_add(report, json_object_get_string(n));
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
