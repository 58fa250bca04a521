/* testutil.c - small helpers shared by the test programs. */
#include "tests/unit/testutil.h"
#include "bouncer/bounce_report.h"

#include <string.h>

const char *
testutil_source_dir(void)
{
    const char *dir = g_getenv("BOUNCER_SRCDIR");

    return dir != NULL ? dir : ".";
}

GBytes *
testutil_read_file(const char *relative_path)
{
    g_autofree char *path = g_build_filename(testutil_source_dir(), relative_path, NULL);
    g_autoptr(GError) error = NULL;
    char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, &error))
        g_error("cannot read %s: %s", path, error->message);
    return g_bytes_new_take(data, len);
}

static int
fixture_compare(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *
testutil_fixture_paths(void)
{
    static const char *const dirs[] = { "tests/fixtures/bounces", "tests/fixtures/formats" };
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);

    for (gsize d = 0; d < G_N_ELEMENTS(dirs); d++) {
        g_autofree char *dir_path = g_build_filename(testutil_source_dir(), dirs[d], NULL);
        g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
        const char *name;

        g_assert_nonnull(dir);
        while ((name = g_dir_read_name(dir)) != NULL) {
            if (g_str_has_suffix(name, ".eml"))
                g_ptr_array_add(names, g_build_filename(dirs[d], name, NULL));
        }
    }
    g_ptr_array_sort(names, fixture_compare);
    return names;
}

void
testutil_add_fixture_tests(const char *prefix, GTestDataFunc func)
{
    GPtrArray *names = testutil_fixture_paths();

    /* The names live as long as the tests: only the array is freed. */
    g_ptr_array_set_free_func(names, NULL);
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        g_autofree char *path = g_strconcat(prefix, "/", n + strlen("tests/fixtures/"), NULL);

        g_test_add_data_func(path, n, func);
    }
    g_ptr_array_unref(names);
}

const char *
testutil_pg_conninfo(void)
{
    const char *conninfo = g_getenv("BOUNCER_TEST_CONNINFO");

    return conninfo != NULL && *conninfo != '\0' ? conninfo : NULL;
}

GPtrArray *
testutil_parse_each(const char *data, gsize len)
{
    g_autoptr(GPtrArray) messages = bounce_split_mbox(data, len);
    GPtrArray *reports = g_ptr_array_new_with_free_func((GDestroyNotify)bounce_report_free);

    for (guint i = 0; i < messages->len; i++) {
        gsize mlen = 0;
        const char *mdata = g_bytes_get_data(g_ptr_array_index(messages, i), &mlen);

        g_ptr_array_add(reports, bounce_report_parse(mdata, mlen));
    }
    return reports;
}
