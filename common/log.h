/* log.h - one key=value line per event, to stderr or a file.
 *
 *   log_info("sid=%s from=<%s> result=%s", ...);
 *
 * Thread-safe; SIGHUP handling calls log_reopen() so logrotate can move the
 * file away. */
#ifndef BOUNCER_LOG_H
#define BOUNCER_LOG_H

#include <glib.h>

typedef enum {
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARNING,
    LOG_LEVEL_ERROR,
} LogLevel;

/* log_open - send lines to path (NULL or "" means stderr). */
gboolean log_open(const char *path, LogLevel min_level, GError **error);
/* log_reopen - reopen the same path; on failure keep the old stream. */
void log_reopen(void);
void log_close(void);
gboolean log_level_from_string(const char *name, LogLevel *level_out);

void log_msg(LogLevel level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#define log_debug(...)   log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_error(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
