/* bounce_json.c - a report as the JSON object `bouncerctl parse` prints. */
#include <json-glib/json-glib.h>

#include "bouncer/bounce_private.h"

/* json_str - strings are never null in the recipient objects: "" instead,
 * so consumers need no null checks. */
static void
json_str(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, value != NULL ? value : "");
}

/* json_opt - optional strings: null when absent. */
static void
json_opt(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value != NULL)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

/* json_recipient - one element of "recipients". */
static void
json_recipient(JsonBuilder *b, const BounceRecipient *r)
{
    json_builder_begin_object(b);
    json_str(b, "addr", r->addr);
    json_str(b, "status", r->status);
    json_str(b, "replycode", r->replycode);
    json_str(b, "reason", r->reason);
    json_builder_set_member_name(b, "hard");
    json_builder_add_boolean_value(b, r->hard);
    json_str(b, "action", r->action);
    json_str(b, "diagnostic", r->diagnostic);
    json_str(b, "remote_mta", r->remote_mta);
    json_str(b, "bounce_type", r->bounce_type);
    json_str(b, "bounce_subtype", r->bounce_subtype);
    json_opt(b, "feedbacktype", r->feedbacktype);
    json_str(b, "rule", r->rule);
    json_builder_end_object(b);
}

char *
bounce_report_to_json(const BounceReport *report, const char *file, gboolean pretty)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    const BounceOriginal *o = &report->original;

    json_builder_begin_object(b);
    json_opt(b, "file", file);
    json_str(b, "kind", bounce_kind_to_string(report->kind));
    if (report->error != NULL)
        json_str(b, "error", report->error);
    json_builder_set_member_name(b, "recipients");
    json_builder_begin_array(b);
    for (guint i = 0; i < report->recipients->len; i++)
        json_recipient(b, g_ptr_array_index(report->recipients, i));
    json_builder_end_array(b);
    json_builder_set_member_name(b, "original");
    json_builder_begin_object(b);
    json_opt(b, "message_id", o->message_id);
    json_opt(b, "return_path", o->return_path);
    json_opt(b, "from", o->from);
    json_opt(b, "to", o->to);
    json_opt(b, "subject", o->subject);
    json_opt(b, "in_reply_to", o->in_reply_to);
    json_opt(b, "references", o->references);
    json_builder_end_object(b);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, pretty);
    return json_generator_to_data(gen, NULL);
}
