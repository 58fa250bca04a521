/* log.c - one key=value line per event, to stderr or a file. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static GMutex    log_lock;
static FILE     *log_stream;      /* NULL means stderr */
static char     *log_path;
static LogLevel  log_min_level = LOG_LEVEL_INFO;

static const char *const log_level_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_WARNING] = "warning",
    [LOG_LEVEL_ERROR] = "error",
};

/* log_level_from_string - "debug", "info", "warning" or "error". */
gboolean
log_level_from_string(const char *name, LogLevel *level_out)
{
    for (gsize i = 0; i < G_N_ELEMENTS(log_level_names); i++) {
        if (g_ascii_strcasecmp(name, log_level_names[i]) == 0) {
            *level_out = (LogLevel)i;
            return TRUE;
        }
    }
    return FALSE;
}

/* log_open - choose the destination; a file is opened for appending. */
gboolean
log_open(const char *path, LogLevel min_level, GError **error)
{
    FILE *stream = NULL;

    if (path != NULL && *path != '\0') {
        stream = fopen(path, "a");
        if (stream == NULL) {
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                        "cannot open log file %s: %s", path, g_strerror(errno));
            return FALSE;
        }
        setvbuf(stream, NULL, _IOLBF, 0);
    }
    g_mutex_lock(&log_lock);
    if (log_stream != NULL)
        fclose(log_stream);
    log_stream = stream;
    g_free(log_path);
    log_path = stream != NULL ? g_strdup(path) : NULL;
    log_min_level = min_level;
    g_mutex_unlock(&log_lock);
    return TRUE;
}

/* log_reopen - after logrotate moved the file; keep writing somewhere if
 * the new file cannot be opened. */
void
log_reopen(void)
{
    FILE *stream;

    int saved = 0;

    g_mutex_lock(&log_lock);
    if (log_path != NULL && (stream = fopen(log_path, "a")) != NULL) {
        setvbuf(stream, NULL, _IOLBF, 0);
        fclose(log_stream);
        log_stream = stream;
    } else if (log_path != NULL) {
        saved = errno;
    }
    g_mutex_unlock(&log_lock);
    /* After dropping privileges the log directory must be writable by the
     * daemon's user; say so where the lines still go. */
    if (saved != 0)
        log_warning("cannot reopen log file %s: %s; still writing to the old one", log_path,
                    g_strerror(saved));
}

/* log_close - back to stderr. */
void
log_close(void)
{
    g_mutex_lock(&log_lock);
    if (log_stream != NULL)
        fclose(log_stream);
    log_stream = NULL;
    g_clear_pointer(&log_path, g_free);
    g_mutex_unlock(&log_lock);
}

/* log_char_is_layout - a valid character that would break or reorder a
 * line for a reader that knows Unicode: C1 controls (U+0085 is a line
 * break), the line and paragraph separators, and the bidirectional
 * marks, embeddings, overrides and isolates, which make text read in
 * another order than it was written. */
static gboolean
log_char_is_layout(gunichar c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0x200e ||
           c == 0x200f || c == 0x061c || (c >= 0x202a && c <= 0x202e) ||
           (c >= 0x2066 && c <= 0x2069);
}

/* log_msg - one line: time, level, then the caller's key=value pairs.
 * Control characters from the message are escaped so a client cannot forge
 * log lines; callers pass text as it came, unescaped. */
void
log_msg(LogLevel level, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    g_autoptr(GDateTime) now = NULL;
    g_autofree char *stamp = NULL;
    GString *line;
    va_list ap;

    if (level < log_min_level)
        return;
    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    now = g_date_time_new_now_utc();
    stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
    line = g_string_sized_new(128 + strlen(text));
    /* %f gives microseconds; milliseconds are enough. */
    g_string_append_len(line, stamp, 23);
    g_string_append_printf(line, "Z level=%s ", log_level_names[level]);
    for (const char *p = text; *p != '\0';) {
        gunichar c = (unsigned char)*p < 0x80 ? (gunichar)*p
                                              : g_utf8_get_char_validated(p, -1);

        if ((unsigned char)*p >= 0x80 && c != (gunichar)-1 && c != (gunichar)-2) {
            /* A whole, valid UTF-8 character. */
            const char *next = g_utf8_next_char(p);

            if (log_char_is_layout(c))
                g_string_append_printf(line, "\\u%04x", c);
            else
                g_string_append_len(line, p, next - p);
            p = next;
            continue;
        }
        /* Control characters and bytes that are not UTF-8 are escaped: the
         * log stays one valid line per event, whatever a client sent. A
         * backslash is doubled, so a client's own "\x0a" or "\u202e" reads
         * as the characters it sent, never as one we escaped. */
        if (*p == '\\')
            g_string_append(line, "\\\\");
        else if ((unsigned char)*p < 0x20 || *p == 0x7f || (unsigned char)*p >= 0x80)
            g_string_append_printf(line, "\\x%02x", (unsigned char)*p);
        else
            g_string_append_c(line, *p);
        p++;
    }
    g_string_append_c(line, '\n');

    g_mutex_lock(&log_lock);
    fwrite(line->str, 1, line->len, log_stream != NULL ? log_stream : stderr);
    g_mutex_unlock(&log_lock);
    g_string_free(line, TRUE);
}
