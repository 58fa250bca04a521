/* test_event_json.c - the JSON frame of an event: the stored payload, as
 * PostgreSQL prints jsonb, with its seq put in first. */
#include <glib.h>
#include <json-glib/json-glib.h>

#include "common/event_publisher.h"

static void
check(gint64 seq, const char *payload, const char *want)
{
    g_autoptr(GString) out = g_string_new("left over from the last event");
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;

    event_json_with_seq(out, seq, payload);
    g_assert_cmpstr(out->str, ==, want);
    g_assert_true(json_parser_load_from_data(parser, out->str, (gssize)out->len, &error));
    g_assert_no_error(error);
    g_assert_cmpint(json_object_get_int_member(json_node_get_object(json_parser_get_root(parser)), "seq"),
                    ==, seq);
}

static void
test_seq_first(void)
{
    check(1042, "{\"hard\": true, \"type\": \"bounce.hard\", \"org_id\": 42}",
          "{\"seq\": 1042, \"hard\": true, \"type\": \"bounce.hard\", \"org_id\": 42}");
    /* Nested objects and braces inside strings are left alone. */
    check(7, "{\"new\": {\"hard\": true}, \"old\": {\"reason\": \"}{\"}}",
          "{\"seq\": 7, \"new\": {\"hard\": true}, \"old\": {\"reason\": \"}{\"}}");
    check(G_MAXINT64, "{\"a\": 1}", "{\"seq\": 9223372036854775807, \"a\": 1}");
}

static void
test_empty_payload(void)
{
    check(1, "{}", "{\"seq\": 1}");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/event-json/seq-first", test_seq_first);
    g_test_add_func("/event-json/empty-payload", test_empty_payload);
    return g_test_run();
}
