/* ctl_parse.c - `bouncerctl parse FILE...|DIR|-`: read bounces, print one
 * JSON object per file (no database, no configuration). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bouncer/bounce_report.h"
#include "cmd/ctl.h"

static void
ctl_parse_usage(FILE *out)
{
    fprintf(out,
            "usage: bouncerctl parse [--pretty] FILE...|DIR|-\n"
            "  Parse each file (a directory: its files, sorted; -: standard input)\n"
            "  and print one JSON object per file, one per line. An mbox file holding\n"
            "  several messages gives one object with the recipients of them all\n"
            "  and \"messages\": N.\n");
}

/* parse_print - one JSON object per input file, as the corpus format
 * wants: an mbox file holding several messages gives one object whose
 * recipients are those of every message, in order, with "messages": N. */
static void
parse_print(const char *name, const char *data, gsize len, gboolean pretty)
{
    g_autoptr(GPtrArray) messages = bounce_split_mbox(data, len);
    g_autoptr(BounceReport) first = NULL;
    g_autofree char *json = NULL;

    for (guint i = 0; i < messages->len; i++) {
        gsize mlen = 0;
        const char *mdata = g_bytes_get_data(g_ptr_array_index(messages, i), &mlen);
        g_autoptr(BounceReport) report = bounce_report_parse(mdata, mlen);

        if (first == NULL) {
            first = g_steal_pointer(&report);
            continue;
        }
        while (report->recipients->len > 0)
            g_ptr_array_add(first->recipients, g_ptr_array_steal_index(report->recipients, 0));
    }
    if (first == NULL)
        first = bounce_report_parse("", 0);
    json = bounce_report_to_json(first, name, pretty);
    if (messages->len > 1 && json[0] == '{')
        printf("{\"messages\":%u,%s\n", messages->len, json + 1);
    else
        printf("%s\n", json);
}

/* parse_read - the whole file into buf (reused from file to file: a
 * corpus is hundreds of small files). FALSE when it cannot be read. */
static gboolean
parse_read(const char *path, GByteArray *buf)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    gsize len = 0;

    if (fd < 0)
        return FALSE;
    for (;;) {
        ssize_t n;

        if (buf->len < len + 65536 + 1)
            g_byte_array_set_size(buf, len + 65536 + 1);
        n = read(fd, buf->data + len, buf->len - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return FALSE;
        }
        if (n == 0)
            break;
        len += (gsize)n;
    }
    close(fd);
    buf->data[len] = '\0';
    g_byte_array_set_size(buf, len);
    return TRUE;
}

/* parse_file - read and print one file; FALSE when it cannot be read. */
static gboolean
parse_file(const char *path, gboolean pretty)
{
    static GByteArray *buf;
    g_autoptr(GError) error = NULL;
    g_autofree char *data = NULL;
    gsize len = 0;

    if (buf == NULL)
        buf = g_byte_array_new();
    if (parse_read(path, buf)) {
        parse_print(path, (const char *)buf->data, buf->len, pretty);
        return TRUE;
    }
    /* GLib says what went wrong, in the words users know. */
    if (!g_file_get_contents(path, &data, &len, &error)) {
        fprintf(stderr, "bouncerctl parse: %s\n", error->message);
        return FALSE;
    }
    parse_print(path, data, len, pretty);
    return TRUE;
}

/* parse_stdin - all of standard input as one buffer. */
static gboolean
parse_stdin(gboolean pretty)
{
    g_autoptr(GByteArray) buf = g_byte_array_new();
    guint8 chunk[65536];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        g_byte_array_append(buf, chunk, n);
    if (ferror(stdin)) {
        fprintf(stderr, "bouncerctl parse: cannot read standard input\n");
        return FALSE;
    }
    parse_print("-", (const char *)buf->data, buf->len, pretty);
    return TRUE;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* parse_dir - the regular files of a directory, in name order (not
 * recursive: a corpus directory is flat). The directory entry says what
 * most entries are; only links and unknown types cost a stat. */
static gboolean
parse_dir(const char *path, gboolean pretty)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) regular = g_hash_table_new(g_str_hash, g_str_equal);
    DIR *dir = opendir(path);
    struct dirent *entry;
    gboolean ok = TRUE;

    if (dir == NULL) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) gdir = g_dir_open(path, 0, &error);

        fprintf(stderr, "bouncerctl parse: %s\n",
                error != NULL ? error->message : "cannot read directory");
        return FALSE;
    }
    while ((entry = readdir(dir)) != NULL) {
        char *name;

        if (entry->d_name[0] == '.' || (entry->d_type != DT_REG && entry->d_type != DT_LNK
                                        && entry->d_type != DT_UNKNOWN))
            continue;
        name = g_strdup(entry->d_name);
        g_ptr_array_add(names, name);
        if (entry->d_type == DT_REG)
            g_hash_table_add(regular, name);
    }
    closedir(dir);
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        g_autofree char *child = g_build_filename(path, name, NULL);

        if ((g_hash_table_contains(regular, name) || g_file_test(child, G_FILE_TEST_IS_REGULAR))
            && !parse_file(child, pretty))
            ok = FALSE;
    }
    return ok;
}

int
ctl_parse_main(int argc, char **argv)
{
    gboolean pretty = FALSE, ok = TRUE;
    int first = 1, paths = 0;

    for (; first < argc; first++) {
        if (strcmp(argv[first], "--pretty") == 0) {
            pretty = TRUE;
        } else if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
            ctl_parse_usage(stdout);
            return 0;
        } else if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        } else if (argv[first][0] == '-' && argv[first][1] != '\0') {
            fprintf(stderr, "bouncerctl parse: unknown option '%s'\n", argv[first]);
            ctl_parse_usage(stderr);
            return 2;
        } else {
            break;
        }
    }
    for (int i = first; i < argc; i++) {
        const char *path = argv[i];

        if (strcmp(path, "--pretty") == 0) {
            pretty = TRUE;
            continue;
        }
        paths++;
        if (strcmp(path, "-") == 0)
            ok = parse_stdin(pretty) && ok;
        else if (g_file_test(path, G_FILE_TEST_IS_DIR))
            ok = parse_dir(path, pretty) && ok;
        else
            ok = parse_file(path, pretty) && ok;
    }
    if (paths == 0) {
        ctl_parse_usage(stderr);
        return 2;
    }
    fflush(stdout);
    return ok ? 0 : 1;
}
