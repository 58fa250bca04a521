/* db_watchdog.h - a deadline on a stretch of work on a database connection.
 *
 * The server's statement and lock timeouts end a slow statement, but not a
 * backend that stopped running (a frozen process or virtual machine, a
 * storage stall with interrupts held) or a network that went silent while
 * data waited to be acknowledged: libpq then waits for an answer for as
 * long as it takes. A session must not: the message is answered 451 and the
 * MTA retries. While a connection is watched, a thread shuts its socket
 * down once the deadline passes; libpq sees the connection close, the
 * statement fails, and the connection is never used again. */
#ifndef BOUNCER_DB_WATCHDOG_H
#define BOUNCER_DB_WATCHDOG_H

#include <glib.h>
#include <libpq-fe.h>

/* The deadline of a watch unless set: longer than the server's own
 * statement timeout (60 s, db_connect()), so a statement that the server
 * will end is left to it. */
#define DB_WATCHDOG_DEFAULT_SECONDS 75

typedef struct DbWatch DbWatch;

/* db_watchdog_set_timeout - the deadline of the watches made from now on,
 * in seconds (0: the default). */
void db_watchdog_set_timeout(guint seconds);

/* db_watch - from now until db_unwatch(), conn's socket is shut down if
 * the watch outlives its deadline. Call db_unwatch() before the connection
 * is released or closed. (transfer full) */
DbWatch *db_watch(PGconn *conn);

/* db_unwatch - the watch ended (NULL is allowed). Whether it fired, the
 * caller learns as libpq does: the connection is closed. */
void db_unwatch(DbWatch *watch);

#endif
