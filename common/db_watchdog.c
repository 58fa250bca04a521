/* db_watchdog.c - one thread that shuts down the sockets of database
 * connections whose watch outlived its deadline (db_watchdog.h). */
#include "common/db_watchdog.h"

#include <sys/socket.h>

#include "common/log.h"
#include "common/metrics.h"

/* How often the thread looks when nothing is due sooner: a watch never
 * wakes it, so making and ending one costs a lock and no system call. */
#define DB_WATCHDOG_TICK_US (G_USEC_PER_SEC / 4)

struct DbWatch {
    int      fd;
    gint64   deadline;      /* monotonic microseconds */
    gboolean fired;
};

static GMutex watch_lock;
static GPtrArray *watches;          /* DbWatch*, under watch_lock */
static gint watch_seconds = DB_WATCHDOG_DEFAULT_SECONDS;

/* watchdog_thread - forever: shut down what is past its deadline. A
 * watch's entry exists only between db_watch() and db_unwatch(), while
 * its owner keeps the connection open, so the fd is still that
 * connection's when it is shut down here. */
static gpointer
watchdog_thread(gpointer data)
{
    for (;;) {
        gint64 now = g_get_monotonic_time();

        g_mutex_lock(&watch_lock);
        for (guint i = 0; i < watches->len; i++) {
            DbWatch *w = g_ptr_array_index(watches, i);

            if (w->fired || now < w->deadline)
                continue;
            w->fired = TRUE;
            shutdown(w->fd, SHUT_RDWR);
            metrics_counter_inc("bouncer_db_errors_total", NULL);
            log_warning("result=db-timeout reason=no-answer seconds=%d: the database "
                        "connection is closed, its messages are answered 451",
                        g_atomic_int_get(&watch_seconds));
        }
        g_mutex_unlock(&watch_lock);
        g_usleep(DB_WATCHDOG_TICK_US);
    }
    return data;
}

void
db_watchdog_set_timeout(guint seconds)
{
    g_atomic_int_set(&watch_seconds, seconds > 0 ? (gint)MIN(seconds, G_MAXINT / 2)
                                                 : DB_WATCHDOG_DEFAULT_SECONDS);
}

DbWatch *
db_watch(PGconn *conn)
{
    static gsize started;
    DbWatch *w = g_new0(DbWatch, 1);

    if (g_once_init_enter(&started)) {
        watches = g_ptr_array_new();
        g_thread_unref(g_thread_new("db-watchdog", watchdog_thread, NULL));
        g_once_init_leave(&started, 1);
    }
    w->fd = PQsocket(conn);
    w->deadline = g_get_monotonic_time()
                  + (gint64)g_atomic_int_get(&watch_seconds) * G_USEC_PER_SEC;
    if (w->fd < 0)
        return w;       /* nothing to shut down: libpq fails by itself */
    g_mutex_lock(&watch_lock);
    g_ptr_array_add(watches, w);
    g_mutex_unlock(&watch_lock);
    return w;
}

void
db_unwatch(DbWatch *watch)
{
    if (watch == NULL)
        return;
    g_mutex_lock(&watch_lock);
    if (watches != NULL)
        g_ptr_array_remove_fast(watches, watch);
    g_mutex_unlock(&watch_lock);
    g_free(watch);
}
