/* net_listen.h - a listening TCP socket from "host:port", for every
 * listener the daemon has (LMTP, metrics). */
#ifndef BOUNCER_NET_LISTEN_H
#define BOUNCER_NET_LISTEN_H

#include <glib.h>

/* net_listen_tcp - "127.0.0.1:2424", "[::1]:2424", ":2424" (all
 * addresses), port 0 for any free one. Returns a listening, close-on-exec
 * socket with SO_REUSEADDR, and its bound port in *port_out (may be NULL);
 * -1 with a G_IO_ERROR naming host_port on failure. */
int net_listen_tcp(const char *host_port, int backlog, guint *port_out, GError **error);

#endif
