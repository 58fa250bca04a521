/* test_bounce_json.c - bounce_report_to_json() writes what json-glib's
 * generator wrote for the same report, byte for byte, compact and pretty,
 * whatever bytes the strings hold. The reference below builds the tree the
 * way bounce_json.c did before it wrote JSON itself. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "bouncer/bounce_private.h"
#include "tests/unit/testutil.h"

static void
ref_str(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, value != NULL ? value : "");
}

static void
ref_opt(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value != NULL)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

/* ref_json - the report through json-glib. (transfer full) */
static char *
ref_json(const BounceReport *report, const char *file, gboolean pretty)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    const BounceOriginal *o = &report->original;

    json_builder_begin_object(b);
    ref_opt(b, "file", file);
    ref_str(b, "kind", bounce_kind_to_string(report->kind));
    if (report->error != NULL)
        ref_str(b, "error", report->error);
    json_builder_set_member_name(b, "recipients");
    json_builder_begin_array(b);
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        json_builder_begin_object(b);
        ref_str(b, "addr", r->addr);
        ref_str(b, "status", r->status);
        ref_str(b, "replycode", r->replycode);
        ref_str(b, "reason", r->reason);
        json_builder_set_member_name(b, "hard");
        json_builder_add_boolean_value(b, r->hard);
        ref_str(b, "action", r->action);
        ref_str(b, "diagnostic", r->diagnostic);
        ref_str(b, "remote_mta", r->remote_mta);
        ref_str(b, "bounce_type", r->bounce_type);
        ref_str(b, "bounce_subtype", r->bounce_subtype);
        ref_opt(b, "feedbacktype", r->feedbacktype);
        ref_str(b, "rule", r->rule);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "original");
    json_builder_begin_object(b);
    ref_opt(b, "message_id", o->message_id);
    ref_opt(b, "return_path", o->return_path);
    ref_opt(b, "from", o->from);
    ref_opt(b, "to", o->to);
    ref_opt(b, "subject", o->subject);
    ref_opt(b, "in_reply_to", o->in_reply_to);
    ref_opt(b, "references", o->references);
    json_builder_end_object(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, pretty);
    return json_generator_to_data(gen, NULL);
}

/* json_glib_but_0x1f - json-glib's output with its one departure from
 * JSON undone: it leaves 0x1f unescaped, which only a string can hold.
 * (transfer full: json, consumed) */
static char *
json_glib_but_0x1f(char *json)
{
    g_auto(GStrv) parts = g_strsplit(json, "\x1f", -1);

    g_free(json);
    return g_strjoinv("\\u001f", parts);
}

/* random_text - a string of random bytes (no NUL), often with the
 * characters JSON escapes. (transfer full) */
static char *
random_text(GRand *rand)
{
    static const char special[] = "\"\\\b\f\n\r\t\x01\x1e\x1f\x7f /";
    gsize len = g_rand_int_range(rand, 0, 40);
    char *s = g_malloc(len + 1);

    for (gsize i = 0; i < len; i++) {
        switch (g_rand_int_range(rand, 0, 4)) {
        case 0:
            s[i] = special[g_rand_int_range(rand, 0, sizeof(special) - 1)];
            break;
        case 1:
            s[i] = (char)g_rand_int_range(rand, 1, 256);
            break;
        default:
            s[i] = (char)g_rand_int_range(rand, 'a', 'z' + 1);
            break;
        }
    }
    s[len] = '\0';
    return s;
}

static char *
maybe_text(GRand *rand)
{
    return g_rand_boolean(rand) ? random_text(rand) : NULL;
}

static void
test_json_like_json_glib(void)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(20240611);

    for (int round = 0; round < 2000; round++) {
        BounceReport *report = g_new0(BounceReport, 1);
        guint n = g_rand_int_range(rand, 0, 4);
        g_autofree char *file = maybe_text(rand);

        report->kind = g_rand_int_range(rand, 0, BOUNCE_KIND_UNPARSEABLE + 2);
        report->error = g_rand_int_range(rand, 0, 4) == 0 ? random_text(rand) : NULL;
        report->recipients = g_ptr_array_new_with_free_func((GDestroyNotify)bounce_recipient_free);
        for (guint i = 0; i < n; i++) {
            BounceRecipient *r = bounce_recipient_new();
            char **slots[] = { &r->addr, &r->status, &r->replycode, &r->reason, &r->action,
                               &r->diagnostic, &r->remote_mta, &r->bounce_type,
                               &r->bounce_subtype, &r->rule };

            for (gsize k = 0; k < G_N_ELEMENTS(slots); k++) {
                g_free(*slots[k]);
                *slots[k] = random_text(rand);
            }
            r->feedbacktype = maybe_text(rand);
            r->hard = g_rand_boolean(rand);
            g_ptr_array_add(report->recipients, r);
        }
        report->original.message_id = maybe_text(rand);
        report->original.return_path = maybe_text(rand);
        report->original.from = maybe_text(rand);
        report->original.to = maybe_text(rand);
        report->original.subject = maybe_text(rand);
        report->original.in_reply_to = maybe_text(rand);
        report->original.references = maybe_text(rand);

        for (int pretty = 0; pretty <= 1; pretty++) {
            g_autofree char *got = bounce_report_to_json(report, file, pretty);
            g_autofree char *want = json_glib_but_0x1f(ref_json(report, file, pretty));

            if (strcmp(got, want) != 0)
                g_error("round %d pretty %d: got\n%s\nwant\n%s", round, pretty, got, want);
            for (const char *c = got; !pretty && *c != '\0'; c++) {
                if ((unsigned char)*c < 0x20)
                    g_error("round %d: control character 0x%02x left in %s", round, *c, got);
            }
        }
        bounce_report_free(report);
    }
}

/* What bouncerd sends PostgreSQL: every control character escaped (its
 * json type refuses them raw), the rest as it is. */
static void
test_append_string(void)
{
    g_autoptr(GString) out = g_string_new("x");

    bounce_json_append_string(out, "a\"b\\c\x01\x1f\x7f\n\té/");
    bounce_json_append_string(out, NULL);
    g_assert_cmpstr(out->str, ==, "x\"a\\\"b\\\\c\\u0001\\u001f\\u007f\\n\\té/\"\"\"");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/json/like_json_glib", test_json_like_json_glib);
    g_test_add_func("/bounce/json/append-string", test_append_string);
    return g_test_run();
}
