/* lmtp_server.c - the socket and thread layer of the LMTP server. */
#include "common/lmtp_server.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/net_listen.h"
#include "common/metrics.h"

#define LMTP_READ_SIZE 65536
/* How long a session waits in recv before it looks at its deadline and
 * at a stop: a stop reaches an idle session within this. */
#define LMTP_TICK_MS 250
#define LMTP_MAX_LISTENERS 16

struct LmtpServer {
    LmtpServerOptions options;
    int               listeners[LMTP_MAX_LISTENERS];
    char             *unix_paths[LMTP_MAX_LISTENERS];
    guint             n_listeners;
    guint             bound_port;
    int               wake[2];        /* written once on stop: wakes the accept loop */
    GThread          *accept_thread;

    GMutex            lock;
    GCond             idle;           /* signalled when a session ends */
    GHashTable       *session_fds;    /* fd -> fd of every open session */
    guint             active;
    gboolean          stopping;
    guint64           next_sid;
    gint64            buffered;       /* message bytes the sessions hold */
};

typedef struct {
    LmtpServer *server;
    int         fd;
    char       *peer;
} LmtpConnection;

static gboolean
lmtp_server_errno(GError **error, const char *what, const char *where)
{
    int saved = errno;

    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s %s: %s", what, where,
                g_strerror(saved));
    return FALSE;
}

LmtpServer *
lmtp_server_new(const LmtpServerOptions *options)
{
    LmtpServer *server = g_new0(LmtpServer, 1);

    server->options = *options;
    if (options->limits.max_buffered > 0)
        server->options.limits.buffered = &server->buffered;
    server->session_fds = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_mutex_init(&server->lock);
    g_cond_init(&server->idle);
    if (pipe2(server->wake, O_CLOEXEC) != 0)
        g_error("pipe: %s", g_strerror(errno));
    server->next_sid = (guint64)g_random_int() << 20;
    return server;
}

/* lmtp_server_add_listener - remember a listening socket. */
static gboolean
lmtp_server_add_listener(LmtpServer *server, int fd, const char *unix_path, GError **error)
{
    if (server->n_listeners >= LMTP_MAX_LISTENERS) {
        close(fd);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "too many listeners");
        return FALSE;
    }
    server->unix_paths[server->n_listeners] = g_strdup(unix_path);
    server->listeners[server->n_listeners++] = fd;
    return TRUE;
}

gboolean
lmtp_server_listen_tcp(LmtpServer *server, const char *host_port, GError **error)
{
    guint port = 0;
    int fd = net_listen_tcp(host_port, 256, &port, error);

    if (fd < 0)
        return FALSE;
    if (server->bound_port == 0)
        server->bound_port = port;
    return lmtp_server_add_listener(server, fd, NULL, error);
}

/* lmtp_server_chown - "user" or "user:group" for the socket file. */
static gboolean
lmtp_server_chown(const char *path, const char *owner, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(owner, ":", 2);
    struct passwd *pw = getpwnam(parts[0]);
    gid_t gid;

    if (pw == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "socket owner: no user '%s'",
                    parts[0]);
        return FALSE;
    }
    gid = pw->pw_gid;
    if (parts[1] != NULL) {
        struct group *gr = getgrnam(parts[1]);

        if (gr == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "socket owner: no group '%s'",
                        parts[1]);
            return FALSE;
        }
        gid = gr->gr_gid;
    }
    if (chown(path, pw->pw_uid, gid) != 0)
        return lmtp_server_errno(error, "cannot chown", path);
    return TRUE;
}

gboolean
lmtp_server_listen_unix(LmtpServer *server, const char *path, guint mode, const char *owner,
                        GError **error)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    g_autofree char *dir = g_path_get_dirname(path);
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof sun.sun_path) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "socket path too long: %s",
                    path);
        return FALSE;
    }
    strcpy(sun.sun_path, path);
    if (g_mkdir_with_parents(dir, 0755) != 0)
        return lmtp_server_errno(error, "cannot create directory", dir);
    /* A socket left by a previous run that did not clean up. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lmtp_server_errno(error, "cannot create socket", path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 || listen(fd, 256) != 0) {
        lmtp_server_errno(error, "cannot listen on", path);
        close(fd);
        return FALSE;
    }
    if (chmod(path, mode) != 0) {
        lmtp_server_errno(error, "cannot chmod", path);
        close(fd);
        return FALSE;
    }
    if (owner != NULL && owner[0] != '\0' && !lmtp_server_chown(path, owner, error)) {
        close(fd);
        return FALSE;
    }
    return lmtp_server_add_listener(server, fd, path, error);
}

guint
lmtp_server_bound_port(LmtpServer *server)
{
    return server->bound_port;
}

/* lmtp_connection_send - write the session's pending replies. FALSE when
 * the client went away or stopped reading (SO_SNDTIMEO). */
static gboolean
lmtp_connection_send(LmtpConnection *conn, GString *out)
{
    gsize done = 0;

    while (done < out->len) {
        ssize_t n = send(conn->fd, out->str + done, out->len - done, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            g_string_truncate(out, 0);
            return FALSE;
        }
        done += (gsize)n;
    }
    g_string_truncate(out, 0);
    return TRUE;
}

/* lmtp_connection_run - the session loop: read (a tick at a time), feed, send, with a
 * deadline per command and one for the whole DATA phase, so a client
 * sending a byte a minute is still cut off. */
static void
lmtp_connection_run(LmtpConnection *conn, const char *sid)
{
    LmtpServer *server = conn->server;
    const LmtpServerOptions *opt = &server->options;
    g_autoptr(LmtpSession) session = lmtp_session_new(sid, &opt->limits, opt->handler, opt->ctx);
    g_autofree char *buf = g_malloc(LMTP_READ_SIZE);
    gint64 deadline = g_get_monotonic_time() + (gint64)opt->command_timeout * G_USEC_PER_SEC;
    struct timeval tv = { .tv_sec = opt->command_timeout };
    /* recv waits at most a tick, so a deadline or a stop is seen in time
     * without a poll before every read: one system call a read instead of
     * two, which is a fifth of a session's system calls. */
    struct timeval tick = { .tv_usec = LMTP_TICK_MS * 1000 };

    setsockopt(conn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(conn->fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
    log_info("sid=%s connect from=%s", sid, conn->peer);
    if (!lmtp_connection_send(conn, lmtp_session_output(session)))
        return;

    for (;;) {
        LmtpState state = lmtp_session_state(session);
        gboolean stopping = g_atomic_int_get(&server->stopping);
        ssize_t n;

        if (state == LMTP_STATE_CLOSED)
            break;
        /* On stop, a transaction still receiving its data may finish;
         * everyone else is told to come back later. */
        if (stopping && state != LMTP_STATE_DATA) {
            lmtp_session_close(session, "421 4.3.2 Service shutting down, try again later");
            lmtp_connection_send(conn, lmtp_session_output(session));
            break;
        }
        if (g_get_monotonic_time() >= deadline) {
            log_info("sid=%s result=disconnect reason=timeout state=%s", sid, lmtp_state_name(state));
            lmtp_session_close(session, "421 4.4.2 Timeout exceeded, closing connection");
            lmtp_connection_send(conn, lmtp_session_output(session));
            break;
        }
        n = recv(conn->fd, buf, LMTP_READ_SIZE, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0) {
            if (state != LMTP_STATE_READY && state != LMTP_STATE_INIT)
                log_info("sid=%s result=disconnect reason=client-closed state=%s", sid,
                         lmtp_state_name(state));
            break;
        }
        lmtp_session_feed(session, buf, (gsize)n);
        if (lmtp_session_output(session)->len > 0) {
            /* A reply means a command completed: its successor gets a fresh
             * deadline; entering DATA gets the data deadline. */
            guint seconds = lmtp_session_state(session) == LMTP_STATE_DATA ? opt->data_timeout
                                                                          : opt->command_timeout;

            deadline = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
            if (!lmtp_connection_send(conn, lmtp_session_output(session)))
                break;
        }
    }
    log_info("sid=%s disconnect", sid);
}

static gpointer
lmtp_connection_thread(gpointer data)
{
    LmtpConnection *conn = data;
    LmtpServer *server = conn->server;
    g_autofree char *sid = NULL;

    g_mutex_lock(&server->lock);
    sid = g_strdup_printf("%010" G_GINT64_MODIFIER "x", server->next_sid++);
    g_mutex_unlock(&server->lock);

    lmtp_connection_run(conn, sid);

    g_mutex_lock(&server->lock);
    g_hash_table_remove(server->session_fds, GINT_TO_POINTER(conn->fd));
    close(conn->fd);
    server->active--;
    g_cond_broadcast(&server->idle);
    g_mutex_unlock(&server->lock);
    g_free(conn->peer);
    g_free(conn);
    return NULL;
}

/* lmtp_peer_name - "127.0.0.1:53211" or "unix". */
static char *
lmtp_peer_name(const struct sockaddr_storage *ss)
{
    char host[NI_MAXHOST], port[NI_MAXSERV];

    if (ss->ss_family == AF_UNIX)
        return g_strdup("unix");
    if (getnameinfo((const struct sockaddr *)ss, sizeof *ss, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return g_strdup("unknown");
    return g_strdup_printf("%s:%s", host, port);
}

/* lmtp_server_accept - one new connection: a thread, or 421 when full. */
static void
lmtp_server_accept(LmtpServer *server, int listener)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    g_autoptr(GError) error = NULL;
    LmtpConnection *conn;
    GThread *thread;
    int fd = accept4(listener, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            log_warning("accept failed: %s", g_strerror(errno));
        /* EMFILE and friends: do not spin. */
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            g_usleep(100 * 1000);
        return;
    }
    g_mutex_lock(&server->lock);
    if (server->active >= server->options.max_sessions) {
        static const char busy[] = "421 4.3.2 Too many sessions, try again later\r\n";

        g_mutex_unlock(&server->lock);
        log_warning("result=refused reason=too-many-sessions max=%u", server->options.max_sessions);
        if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            log_debug("cannot send 421: %s", g_strerror(errno));
        close(fd);
        return;
    }
    server->active++;
    g_hash_table_add(server->session_fds, GINT_TO_POINTER(fd));
    g_mutex_unlock(&server->lock);
    metrics_counter_inc("bouncer_lmtp_sessions_total", NULL);

    conn = g_new0(LmtpConnection, 1);
    conn->server = server;
    conn->fd = fd;
    conn->peer = lmtp_peer_name(&ss);
    thread = g_thread_try_new("lmtp-session", lmtp_connection_thread, conn, &error);
    if (thread == NULL) {
        static const char busy[] = "421 4.3.2 Cannot start a session, try again later\r\n";

        log_warning("result=refused reason=no-thread error=\"%s\"", error->message);
        if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            log_debug("cannot send 421: %s", g_strerror(errno));
        g_mutex_lock(&server->lock);
        g_hash_table_remove(server->session_fds, GINT_TO_POINTER(fd));
        server->active--;
        g_mutex_unlock(&server->lock);
        close(fd);
        g_free(conn->peer);
        g_free(conn);
        return;
    }
    g_thread_unref(thread);
}

static gpointer
lmtp_server_accept_thread(gpointer data)
{
    LmtpServer *server = data;
    struct pollfd fds[LMTP_MAX_LISTENERS + 1];

    for (guint i = 0; i < server->n_listeners; i++)
        fds[i] = (struct pollfd){ .fd = server->listeners[i], .events = POLLIN };
    fds[server->n_listeners] = (struct pollfd){ .fd = server->wake[0], .events = POLLIN };

    while (!g_atomic_int_get(&server->stopping)) {
        int rc = poll(fds, server->n_listeners + 1, -1);

        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll on listeners failed: %s", g_strerror(errno));
            break;
        }
        for (guint i = 0; i < server->n_listeners; i++) {
            if (fds[i].revents & POLLIN)
                lmtp_server_accept(server, server->listeners[i]);
        }
    }
    return NULL;
}

void
lmtp_server_start(LmtpServer *server)
{
    server->accept_thread = g_thread_new("lmtp-accept", lmtp_server_accept_thread, server);
}

guint
lmtp_server_active_sessions(LmtpServer *server)
{
    guint active;

    g_mutex_lock(&server->lock);
    active = server->active;
    g_mutex_unlock(&server->lock);
    return active;
}

void
lmtp_server_stop(LmtpServer *server, guint grace_seconds)
{
    gint64 until = g_get_monotonic_time() + (gint64)grace_seconds * G_USEC_PER_SEC;
    GHashTableIter iter;
    gpointer key;

    if (server->accept_thread == NULL)
        return;
    g_atomic_int_set(&server->stopping, TRUE);
    if (write(server->wake[1], "x", 1) != 1)
        log_warning("cannot wake the accept loop: %s", g_strerror(errno));
    g_thread_join(server->accept_thread);
    server->accept_thread = NULL;
    for (guint i = 0; i < server->n_listeners; i++) {
        close(server->listeners[i]);
        if (server->unix_paths[i] != NULL)
            unlink(server->unix_paths[i]);
    }
    server->n_listeners = 0;

    g_mutex_lock(&server->lock);
    while (server->active > 0 && g_cond_wait_until(&server->idle, &server->lock, until))
        ;
    if (server->active > 0) {
        log_warning("shutdown: cutting off %u session(s) after %us", server->active, grace_seconds);
        g_hash_table_iter_init(&iter, server->session_fds);
        while (g_hash_table_iter_next(&iter, &key, NULL))
            shutdown(GPOINTER_TO_INT(key), SHUT_RDWR);
        until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
        while (server->active > 0 && g_cond_wait_until(&server->idle, &server->lock, until))
            ;
    }
    g_mutex_unlock(&server->lock);
}

void
lmtp_server_free(LmtpServer *server)
{
    if (server == NULL)
        return;
    lmtp_server_stop(server, 0);
    for (guint i = 0; i < server->n_listeners; i++) {
        close(server->listeners[i]);
        if (server->unix_paths[i] != NULL)
            unlink(server->unix_paths[i]);
    }
    for (guint i = 0; i < LMTP_MAX_LISTENERS; i++)
        g_free(server->unix_paths[i]);
    /* Sessions still running hold the server: leave it to process exit. */
    if (lmtp_server_active_sessions(server) > 0)
        return;
    close(server->wake[0]);
    close(server->wake[1]);
    g_hash_table_unref(server->session_fds);
    g_mutex_clear(&server->lock);
    g_cond_clear(&server->idle);
    g_free(server);
}
