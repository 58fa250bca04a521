/* test_bounce_golden.c - every NAME.eml of tests/fixtures/bounces (the
 * shapes and wordings the parser handles) and tests/fixtures/formats (one
 * or two bounces of each MTA and provider we know the format of) parsed
 * gives NAME.json beside it (one JSON line per message, "file" =
 * NAME.eml), with LF, CRLF and CR line ends alike.
 *
 * BOUNCER_UPDATE_GOLDEN=1 rewrites the .json files from the current parser
 * (review the diff before committing it). */
#include <string.h>

#include "bouncer/bounce_report.h"
#include "tests/unit/testutil.h"

/* golden_render - what `bouncerctl parse` would print for the buffer. */
static char *
golden_render(const char *name, const char *data, gsize len)
{
    g_autoptr(GPtrArray) reports = testutil_parse_each(data, len);
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < reports->len; i++) {
        g_autofree char *json = bounce_report_to_json(g_ptr_array_index(reports, i), name, FALSE);

        g_string_append(out, json);
        g_string_append_c(out, '\n');
    }
    return g_string_free(out, FALSE);
}

/* golden_line_ends - the buffer with every LF (or CRLF) made ending. */
static GByteArray *
golden_line_ends(const char *data, gsize len, const char *ending)
{
    GByteArray *out = g_byte_array_sized_new(len + len / 16);

    for (gsize i = 0; i < len; i++) {
        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
            continue;
        if (data[i] == '\n')
            g_byte_array_append(out, (const guint8 *)ending, strlen(ending));
        else
            g_byte_array_append(out, (const guint8 *)&data[i], 1);
    }
    return out;
}

static void
test_golden_one(gconstpointer user_data)
{
    const char *eml_rel = user_data;     /* tests/fixtures/DIR/NAME.eml */
    g_autofree char *name = g_path_get_basename(eml_rel);
    g_autofree char *base = g_strndup(eml_rel, strlen(eml_rel) - 4);
    g_autofree char *json_rel = g_strconcat(base, ".json", NULL);
    g_autofree char *json_name = g_path_get_basename(json_rel);
    g_autofree char *json_path = g_build_filename(testutil_source_dir(), json_rel, NULL);
    g_autoptr(GBytes) eml = testutil_read_file(eml_rel);
    gsize len = 0;
    const char *data = g_bytes_get_data(eml, &len);
    g_autofree char *got = golden_render(name, data, len);
    g_autofree char *want = NULL;
    g_autoptr(GError) error = NULL;

    if (g_getenv("BOUNCER_UPDATE_GOLDEN") != NULL) {
        g_assert_true(g_file_set_contents(json_path, got, -1, &error));
        return;
    }
    /* A mismatch fails this case and the run goes on: one changed rule
     * shows every fixture it moves, not just the first. */
    if (!g_file_get_contents(json_path, &want, NULL, &error)) {
        g_test_message("%s: %s (run with BOUNCER_UPDATE_GOLDEN=1 to create it)", json_name,
                       error->message);
        g_test_fail();
        return;
    }
    if (strcmp(got, want) != 0) {
        g_test_message("%s:\n got  %s\n want %s", name, got, want);
        g_test_fail();
        return;
    }

    for (int v = 0; v < 2; v++) {
        g_autoptr(GByteArray) other = golden_line_ends(data, len, v == 0 ? "\r\n" : "\r");
        g_autofree char *other_got = golden_render(name, (const char *)other->data, other->len);

        if (strcmp(other_got, want) != 0) {
            g_test_message("%s with %s line ends:\n got  %s\n want %s", name,
                           v == 0 ? "CRLF" : "CR", other_got, want);
            g_test_fail();
        }
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    testutil_add_fixture_tests("/bounce/golden", test_golden_one);
    return g_test_run();
}
