/* ctl_parse.c - `bouncerctl parse FILE...|DIR|-`: read bounces, print one
 * JSON object per file (no database, no configuration). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bouncer/bounce_report.h"
#include "cmd/ctl.h"
#include "cmd/parse_memory.h"

static void
ctl_parse_usage(FILE *out)
{
    fprintf(out,
            "usage: bouncerctl parse [--pretty] [--jobs=N] FILE...|DIR|-\n"
            "  Parse each file (a directory: its files, sorted; -: standard input)\n"
            "  and print one JSON object per file, one per line. An mbox file holding\n"
            "  several messages gives one object with the recipients of them all\n"
            "  and \"messages\": N. Files are parsed by one thread per processor\n"
            "  (--jobs=N to choose) and printed in the order given. A file over\n"
            "  512 MiB, the most a message may be, is refused unread.\n");
}

/* parse_format - one JSON object per input file, as the corpus format
 * wants: an mbox file holding several messages gives one object whose
 * recipients are those of every message, in order, with "messages": N.
 * The line, newline included, is appended to out. */
static void
parse_format(const char *name, const char *data, gsize len, gboolean pretty, GString *out)
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
        g_string_append_printf(out, "{\"messages\":%u,%s\n", messages->len, json + 1);
    else
        g_string_append_printf(out, "%s\n", json);
}

/* parse_read - the whole file into buf (reused from file to file: a
 * corpus is hundreds of small files). FALSE when it cannot be read, errno
 * set; EFBIG for a file over BOUNCE_REPORT_MAX_SIZE, which is not read. */
static gboolean
parse_read(const char *path, GByteArray *buf)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    gsize len = 0;

    if (fd < 0)
        return FALSE;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (guint64)st.st_size > BOUNCE_REPORT_MAX_SIZE) {
        close(fd);
        errno = EFBIG;
        return FALSE;
    }
    for (;;) {
        ssize_t n;

        if (len > BOUNCE_REPORT_MAX_SIZE) {     /* a pipe or a device */
            close(fd);
            errno = EFBIG;
            return FALSE;
        }
        if (buf->len < len + 65536 + 1)
            g_byte_array_set_size(buf, len + 65536 + 1);
        n = read(fd, buf->data + len, buf->len - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;

            close(fd);
            errno = saved;
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

/* parse_too_large - why a file or input over BOUNCE_REPORT_MAX_SIZE is
 * not parsed. (transfer full) */
static char *
parse_too_large(const char *what)
{
    return g_strdup_printf("%s: larger than %" G_GSIZE_FORMAT " MiB, the most a message may be",
                           what, BOUNCE_REPORT_MAX_SIZE / (1024 * 1024));
}

/* parse_file - read and format one file into out (buf: the caller's
 * reusable read buffer); FALSE, with the reason in error_out, when it
 * cannot be read. */
static gboolean
parse_file(const char *path, gboolean pretty, GByteArray *buf, GString *out, char **error_out)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *data = NULL;
    gsize len = 0;

    if (parse_read(path, buf)) {
        parse_format(path, (const char *)buf->data, buf->len, pretty, out);
        return TRUE;
    }
    if (errno == EFBIG) {
        *error_out = parse_too_large(path);
        return FALSE;
    }
    /* GLib says what went wrong, in the words users know. */
    if (!g_file_get_contents(path, &data, &len, &error)) {
        *error_out = g_strdup(error->message);
        return FALSE;
    }
    parse_format(path, data, len, pretty, out);
    return TRUE;
}

/* parse_stdin - all of standard input as one buffer. */
static gboolean
parse_stdin(gboolean pretty)
{
    g_autoptr(GByteArray) buf = g_byte_array_new();
    g_autoptr(GString) out = g_string_new(NULL);
    guint8 chunk[65536];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (buf->len + n > BOUNCE_REPORT_MAX_SIZE) {
            g_autofree char *why = parse_too_large("standard input");

            fprintf(stderr, "bouncerctl parse: %s\n", why);
            return FALSE;
        }
        g_byte_array_append(buf, chunk, n);
    }
    if (ferror(stdin)) {
        fprintf(stderr, "bouncerctl parse: cannot read standard input\n");
        return FALSE;
    }
    parse_format("-", (const char *)buf->data, buf->len, pretty, out);
    fwrite(out->str, 1, out->len, stdout);
    return TRUE;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* parse_list_dir - add the regular files of a directory to files, in name
 * order (not recursive: a corpus directory is flat). The directory entry
 * says what most entries are; only links and unknown types cost a stat.
 * FALSE, with the reason in error_out, when it cannot be read. */
static gboolean
parse_list_dir(const char *path, GPtrArray *files, char **error_out)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) regular = g_hash_table_new(g_str_hash, g_str_equal);
    DIR *dir = opendir(path);
    struct dirent *entry;

    if (dir == NULL) {
        /* GLib says why, in the words users know. */
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) gdir = g_dir_open(path, 0, &error);

        *error_out = g_strdup(gdir == NULL && error != NULL ? error->message
                                                            : "cannot read directory");
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

        if (g_hash_table_contains(regular, name) || g_file_test(child, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(files, g_steal_pointer(&child));
    }
    return TRUE;
}

/* Files are parsed by a few threads and printed in their input order. A
 * worker takes the next file, formats its line into the file's slot, then
 * prints whatever run of slots is complete from the last one printed: the
 * output needs no thread of its own and nobody waits for it. A worker
 * does not run more than PARSE_AHEAD files past the last one printed, so
 * one slow file cannot make the process hold a corpus of answers.
 *
 * The helper threads start before the arguments are read and the
 * directories listed: a thread's first run on an idle processor can come
 * milliseconds after its creation (a parked core, a virtual CPU), and a
 * corpus takes only tens of them. Until the list is complete they wait,
 * first yielding the processor for up to PARSE_SPIN_US, then asleep.
 *
 * Each thread of a run keeps to a processor of its own: the main thread
 * to the one it is on, each helper (a plain POSIX thread, started there)
 * to one of the others. Left to itself, Linux puts a new thread on its
 * creator's processor unless another looks idle at that instant, and
 * wakes a thread that slept a moment (on a lock, a g_once) beside the one
 * that woke it; on a virtual machine the idle processor is then left idle
 * for whole ticks while the two threads take turns on one, 4 ms each. The
 * work is handed out a file at a time, so a thread whose processor is
 * busy with something else holds up only the file it has. The main
 * thread gets its own set back when the run ends. */
#define PARSE_AHEAD 256
#define PARSE_SPIN_US (50 * 1000)

typedef struct {
    GString *out;      /* the file's line; NULL until parsed */
    char *error;       /* why it could not be read, or NULL */
} ParseSlot;

typedef struct {
    GPtrArray *files;  /* filled by the main thread before listed is set */
    GHashTable *unlisted; /* index in files + 1 -> why that directory could
                           * not be listed; NULL when none */
    gboolean pretty;
    ParseSlot *slots;
    gint listed;       /* files complete: workers may start */
    guint next;        /* the next file a worker takes */
    guint printed;     /* files printed so far */
    gboolean ok;       /* every file could be read */
    guint waiting;     /* workers waiting for the printer to move on */
    GArray *threads;   /* pthread_t of the helpers */
    cpu_set_t cpus;    /* the main thread's processors, given back at the end */
    gboolean place;    /* each thread keeps to a processor of its own */
    GMutex lock;
    GCond drained;     /* printed moved on */
    GCond ready;       /* listed was set */
} ParseRun;

/* parse_flush - print the complete slots from run->printed on; called
 * with run->lock held. */
static void
parse_flush(ParseRun *run)
{
    guint from = run->printed;

    while (run->printed < run->files->len && run->slots[run->printed].out != NULL) {
        ParseSlot *slot = &run->slots[run->printed++];

        fwrite(slot->out->str, 1, slot->out->len, stdout);
        if (slot->error != NULL) {
            /* In place even when both streams go to one file: standard
             * output is buffered, standard error is not. */
            fflush(stdout);
            fprintf(stderr, "bouncerctl parse: %s\n", slot->error);
            run->ok = FALSE;
        }
        g_string_free(slot->out, TRUE);
        g_free(slot->error);
    }
    /* GLib's broadcast is a system call even with nobody waiting. */
    if (run->printed != from && run->waiting > 0)
        g_cond_broadcast(&run->drained);
}

/* parse_wait_listed - until the main thread has listed every file. */
static void
parse_wait_listed(ParseRun *run)
{
    gint64 until = g_get_monotonic_time() + PARSE_SPIN_US;

    while (!g_atomic_int_get(&run->listed) && g_get_monotonic_time() < until)
        g_thread_yield();
    g_mutex_lock(&run->lock);
    while (!g_atomic_int_get(&run->listed))
        g_cond_wait(&run->ready, &run->lock);
    g_mutex_unlock(&run->lock);
}

static gpointer parse_work(ParseRun *run);

/* parse_helper - a helper thread: set up, then work. */
static gpointer
parse_helper(gpointer data)
{
    ParseRun *run = data;

    /* While the main thread lists the files: the set-up the first parse
     * would otherwise do on the way, in one thread or the other. */
    parse_memory_reserve(PARSE_MEMORY_TABLES);
    bounce_report_warm_up();
    return parse_work(run);
}

/* parse_work - parse files until there are none left; the main thread
 * and every helper run this. */
static gpointer
parse_work(ParseRun *run)
{
    g_autoptr(GByteArray) buf = g_byte_array_new();
    GString *out = NULL;
    char *error = NULL;
    const char *why;
    guint done = G_MAXUINT;

    parse_wait_listed(run);
    if (run->files->len >= PARSE_MEMORY_MANY_FILES)
        parse_memory_reserve(PARSE_MEMORY_MANY);
    /* One critical section per file: hand in the last one, print what
     * can be printed, take the next. */
    for (;;) {
        guint i;

        g_mutex_lock(&run->lock);
        if (done != G_MAXUINT) {
            run->slots[done].out = out;
            run->slots[done].error = error;
            parse_flush(run);
        }
        while (run->next < run->files->len && run->next >= run->printed + PARSE_AHEAD) {
            run->waiting++;
            g_cond_wait(&run->drained, &run->lock);
            run->waiting--;
        }
        i = run->next < run->files->len ? run->next++ : G_MAXUINT;
        g_mutex_unlock(&run->lock);
        if (i == G_MAXUINT)
            return NULL;

        out = g_string_new(NULL);
        error = NULL;
        why = run->unlisted != NULL ? g_hash_table_lookup(run->unlisted, GUINT_TO_POINTER(i + 1))
                                    : NULL;
        if (why != NULL)
            error = g_strdup(why);
        else
            parse_file(g_ptr_array_index(run->files, i), run->pretty, buf, out, &error);
        done = i;
    }
}

/* parse_cpu_next - the processor of set after cpu, from the first again
 * past the last (set is not empty). */
static int
parse_cpu_next(const cpu_set_t *set, int cpu)
{
    for (int k = 1; k <= CPU_SETSIZE; k++) {
        int c = (cpu + k) % CPU_SETSIZE;

        if (CPU_ISSET(c, set))
            return c;
    }
    return cpu;
}

/* parse_pin - keep the caller, or the threads made with attr, to cpu. */
static gboolean
parse_pin(pthread_attr_t *attr, int cpu)
{
    cpu_set_t one;

    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return attr != NULL ? pthread_attr_setaffinity_np(attr, sizeof(one), &one) == 0
                        : pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
}

/* parse_run_start - a run with jobs threads in all (this one among them):
 * the helpers start now and wait for parse_run_finish. (transfer full) */
static ParseRun *
parse_run_start(gboolean pretty, guint jobs)
{
    ParseRun *run = g_new0(ParseRun, 1);
    int here, cpu;

    run->files = g_ptr_array_new_with_free_func(g_free);
    run->pretty = pretty;
    run->ok = TRUE;
    run->threads = g_array_new(FALSE, FALSE, sizeof(pthread_t));
    g_mutex_init(&run->lock);
    g_cond_init(&run->drained);
    g_cond_init(&run->ready);
    if (jobs < 2)
        return run;
    here = sched_getcpu();
    run->place = here >= 0 && here < CPU_SETSIZE
                 && pthread_getaffinity_np(pthread_self(), sizeof(run->cpus), &run->cpus) == 0
                 && CPU_ISSET(here, &run->cpus) && CPU_COUNT(&run->cpus) > 1;
    cpu = here;
    for (guint t = 1; t < jobs; t++) {
        pthread_attr_t attr;
        pthread_t thread;
        int rc;

        /* The processors after the main thread's in turn: with more
         * threads than processors, each takes as many. A mask the system
         * refuses (a processor gone since, a sandbox that forbids
         * affinity) must not cost the helper itself. */
        pthread_attr_init(&attr);
        if (run->place)
            cpu = parse_cpu_next(&run->cpus, cpu);
        rc = run->place && parse_pin(&attr, cpu) ? pthread_create(&thread, &attr, parse_helper, run)
                                                 : -1;
        if (rc != 0)
            rc = pthread_create(&thread, NULL, parse_helper, run);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            break;      /* fewer threads: the work still gets done */
        pthread_setname_np(thread, "parse");
        g_array_append_val(run->threads, thread);
    }
    if (run->place)
        run->place = parse_pin(NULL, here);
    return run;
}

/* parse_run_finish - parse and print the files added to run->files, free
 * the run; FALSE when one could not be read (each one said on stderr). */
static gboolean
parse_run_finish(ParseRun *run)
{
    gboolean ok;

    run->slots = g_new0(ParseSlot, run->files->len + 1);
    g_mutex_lock(&run->lock);
    g_atomic_int_set(&run->listed, TRUE);
    g_cond_broadcast(&run->ready);
    g_mutex_unlock(&run->lock);
    parse_work(run);
    for (guint t = 0; t < run->threads->len; t++)
        pthread_join(g_array_index(run->threads, pthread_t, t), NULL);
    if (run->place)
        (void)pthread_setaffinity_np(pthread_self(), sizeof(run->cpus), &run->cpus);
    ok = run->ok;
    g_array_free(run->threads, TRUE);
    g_ptr_array_free(run->files, TRUE);
    g_clear_pointer(&run->unlisted, g_hash_table_unref);
    g_mutex_clear(&run->lock);
    g_cond_clear(&run->drained);
    g_cond_clear(&run->ready);
    g_free(run->slots);
    g_free(run);
    return ok;
}

int
ctl_parse_main(int argc, char **argv)
{
    ParseRun *run = NULL;
    gboolean pretty = FALSE, ok = TRUE, options_ended = FALSE;
    int first = 1, paths = 0;
    guint jobs = 0;

    parse_memory_init();
    for (; first < argc; first++) {
        if (strcmp(argv[first], "--pretty") == 0) {
            pretty = TRUE;
        } else if (strncmp(argv[first], "--jobs=", 7) == 0) {
            guint64 n = 0;

            if (!g_ascii_string_to_unsigned(argv[first] + 7, 10, 1, 64, &n, NULL)) {
                fprintf(stderr, "bouncerctl parse: --jobs wants a number from 1 to 64\n");
                return 2;
            }
            jobs = (guint)n;
        } else if (strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0) {
            ctl_parse_usage(stdout);
            return 0;
        } else if (strcmp(argv[first], "--") == 0) {
            first++;
            options_ended = TRUE;
            break;
        } else if (argv[first][0] == '-' && argv[first][1] != '\0') {
            fprintf(stderr, "bouncerctl parse: unknown option '%s'\n", argv[first]);
            ctl_parse_usage(stderr);
            return 2;
        } else {
            break;
        }
    }
    for (int i = first; i < argc; i++)
        pretty = pretty || (!options_ended && strcmp(argv[i], "--pretty") == 0);
    /* One thread per processor, a few at most (the work is small and the
     * output one stream); one for a single file. */
    if (jobs == 0)
        jobs = argc - first == 1 && !g_file_test(argv[first], G_FILE_TEST_IS_DIR)
                   ? 1 : MAX(1, MIN(g_get_num_processors(), 8));

    /* Files and directories are listed first, in argument order, and
     * parsed together; standard input is read where it stands. */
    run = parse_run_start(pretty, jobs);
    for (int i = first; i < argc; i++) {
        const char *path = argv[i];

        if (!options_ended && strcmp(path, "--pretty") == 0)
            continue;
        paths++;
        if (strcmp(path, "-") == 0) {
            ok = parse_run_finish(run) && ok;
            ok = parse_stdin(pretty) && ok;
            run = parse_run_start(pretty, jobs);
        } else if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
            g_autofree char *why = NULL;

            /* A directory that cannot be listed is said in its place. */
            if (!parse_list_dir(path, run->files, &why)) {
                if (run->unlisted == NULL)
                    run->unlisted = g_hash_table_new_full(NULL, NULL, NULL, g_free);
                g_ptr_array_add(run->files, g_strdup(path));
                g_hash_table_insert(run->unlisted, GUINT_TO_POINTER(run->files->len),
                                    g_steal_pointer(&why));
            }
        } else {
            g_ptr_array_add(run->files, g_strdup(path));
        }
    }
    ok = parse_run_finish(run) && ok;
    if (paths == 0) {
        ctl_parse_usage(stderr);
        return 2;
    }
    /* Answers that never arrived are a failure too: a full disk, a
     * closed pipe. */
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "bouncerctl parse: cannot write the output: %s\n",
                errno != 0 ? g_strerror(errno) : "write error");
        return 1;
    }
    return ok ? 0 : 1;
}
