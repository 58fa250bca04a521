/* testutil.c - small helpers shared by the test programs. */
#include "tests/unit/testutil.h"

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

const char *
testutil_pg_conninfo(void)
{
    const char *conninfo = g_getenv("BOUNCER_TEST_CONNINFO");

    return conninfo != NULL && *conninfo != '\0' ? conninfo : NULL;
}
