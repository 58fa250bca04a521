/* lmtp_server.h - the socket and thread layer of the LMTP server.
 *
 * Listens on TCP and unix sockets at once, one thread per session (sessions
 * block in the database while committing, and threads keep that simple),
 * enforces timeouts, and on stop lets transactions in DATA finish within a
 * grace period. All protocol logic lives in lmtp_session. */
#ifndef BOUNCER_LMTP_SERVER_H
#define BOUNCER_LMTP_SERVER_H

#include <glib.h>

#include "common/lmtp_session.h"

typedef struct {
    LmtpLimits                limits;
    const LmtpSessionHandler *handler;          /* (transfer none) */
    gpointer                  ctx;
    guint                     command_timeout;  /* seconds to complete a command */
    guint                     data_timeout;     /* seconds for the whole DATA phase */
    guint                     max_sessions;
} LmtpServerOptions;

typedef struct LmtpServer LmtpServer;

/* lmtp_server_new - copies options (the hostname string is borrowed). (transfer full) */
LmtpServer *lmtp_server_new(const LmtpServerOptions *options);
/* lmtp_server_listen_tcp - "127.0.0.1:2424", "[::1]:2424", ":2424" (all). */
gboolean lmtp_server_listen_tcp(LmtpServer *server, const char *host_port, GError **error);
/* lmtp_server_listen_unix - a stale socket file at path is replaced. */
gboolean lmtp_server_listen_unix(LmtpServer *server, const char *path, guint mode,
                                 const char *owner, GError **error);
/* lmtp_server_bound_port - the port of the first TCP listener (after ":0"). */
guint lmtp_server_bound_port(LmtpServer *server);
/* lmtp_server_start - start accepting in a thread of its own. */
void lmtp_server_start(LmtpServer *server);
/* lmtp_server_stop - stop accepting, close idle sessions with 421, give
 * sessions in DATA up to grace_seconds, then cut the rest off. */
void lmtp_server_stop(LmtpServer *server, guint grace_seconds);
guint lmtp_server_active_sessions(LmtpServer *server);
void lmtp_server_free(LmtpServer *server);

#endif
