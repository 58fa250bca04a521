/* replay_main.c - run a libFuzzer target over saved inputs without libFuzzer.
 *
 * Every fuzz target is linked with this main() as well, so `make test`
 * replays each saved corpus file (and every crash once kept as a regression
 * seed) through the same code, sanitizers included when built with them.
 * Output is TAP, one test per file. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
replay_collect(const char *path, GPtrArray *files)
{
    g_autoptr(GDir) dir = NULL;
    const char *name;

    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_ptr_array_add(files, g_strdup(path));
        return;
    }
    dir = g_dir_open(path, 0, NULL);
    if (dir == NULL)
        return;
    while ((name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        replay_collect(child, files);
    }
}

static int
replay_compare(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    int failures = 0;

    for (int i = 1; i < argc; i++)
        replay_collect(argv[i], files);
    g_ptr_array_sort(files, replay_compare);

    printf("1..%u\n", files->len);
    for (guint i = 0; i < files->len; i++) {
        const char *file = g_ptr_array_index(files, i);
        g_autofree char *data = NULL;
        gsize len = 0;

        if (!g_file_get_contents(file, &data, &len, NULL)) {
            printf("not ok %u - %s (unreadable)\n", i + 1, file);
            failures++;
            continue;
        }
        /* A crash or sanitizer report ends the process: the runner counts
         * the non-zero exit as a failure. */
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        printf("ok %u - %s\n", i + 1, file);
        fflush(stdout);
    }
    return failures > 0;
}
