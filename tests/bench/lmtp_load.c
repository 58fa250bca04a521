/* lmtp_load.c - an LMTP load generator for `make bench`.
 *
 * Sessions (one thread each) deliver the .eml files of a directory over
 * and over, the way Postfix's lmtp client does: MAIL (SIZE= when the
 * server announced it), RCPT and DATA in one write (PIPELINING), the three
 * replies, then the message and its final dot, then one reply per
 * recipient. Every reply is checked; anything but the
 * expected code counts as an error and is printed (the first few in full).
 *
 * Each message gets a fresh recipient, written into its To: header and
 * wherever else the fixture names its To: address (a transcript's MAIL
 * FROM, the returned original's Return-Path), as in a real bounce:
 *   --key ID:HEX     a signed VERP token address b{token}@--domain, minted
 *                    with token_encode() (bouncerd's RCPT check passes)
 *   --plain PATTERN  "user%d@bench.test": %d runs over --mailboxes mailboxes
 *                    (for other LMTP servers, e.g. Dovecot)
 * With --vary-recipients the failed addresses a fixture reports (the
 * "addr" values of the .json beside it) get a per-message suffix before
 * the '@' wherever they appear in the text, so every bounce is about a
 * different address, as in real traffic, instead of thousands of bounces
 * for thirty addresses.
 *
 * The latency of a message is from the moment its final dot was written to
 * the socket to the moment its reply was read. The result is one line of
 * key=value pairs on standard output:
 *
 *   sessions=16 seconds=20.003 messages=9000 acked=9000 errors=0
 *   msg_per_s=449.9 p50_ms=31.2 p99_ms=80.4 max_ms=120.3 ...
 *
 * --idle SECONDS opens every session and sends LHLO, waits that long with
 * all of them idle, and only then lets them all send (a memory test).
 * --counts FILE writes how many messages of each fixture were acknowledged;
 * --dump DIR writes one message per fixture as it would be sent, and exits.
 * The exit status is 1 when any message or session failed. */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib.h>

#include "common/token.h"

#define LOAD_READ_SIZE     8192
#define LOAD_REPLY_MAX     1024     /* longest reply line we keep */
#define LOAD_IO_TIMEOUT_S  120      /* a server silent this long is an error */
#define LOAD_ERRORS_SHOWN  20

/* An edit of a fixture's text made for each message: replace [start, end)
 * with the To: header or with the recipient's address, or insert the
 * per-message suffix at start. */
typedef enum { EDIT_TO_HEADER, EDIT_RCPT, EDIT_SUFFIX } EditKind;

typedef struct {
    gsize    start;
    gsize    end;
    EditKind kind;
} Edit;

typedef struct {
    char    *name;
    GString *text;          /* CRLF line ends, dot-stuffed, no final dot */
    GArray  *edits;         /* Edit, by start */
    guint    recipients;    /* recipients the .json beside it reports */
    guint    varied;        /* addresses found and varied in the text */
    gint     acked;         /* messages of this fixture answered 250 */
} Fixture;

typedef struct {
    /* options */
    char         *connect;
    char         *unix_path;
    int           sessions;
    double        seconds;
    int           messages;
    char         *fixtures_dir;
    char         *key;
    char         *domain;
    char         *plain;
    int           mailboxes;
    gboolean      vary;
    double        idle;
    char         *lhlo;
    char         *counts_file;
    char         *dump_dir;
    gboolean      verbose;

    /* derived */
    TokenKeyring *keyring;
    guint16       today;
    char         *plain_head;    /* the pattern before %d */
    char         *plain_tail;    /* and after it */
    GPtrArray    *fixtures;      /* Fixture* */
    guint64       run_id;        /* makes suffixes and message ids unique per run */

    /* the start line: sessions wait here until every one has said LHLO */
    GMutex        lock;
    GCond         cond;
    int           ready;
    int           failed_setup;
    gboolean      go;
    gint64        start_us;
    gint64        deadline_us;

    gint          next_message;  /* atomic: message numbers handed out */
    gint          errors_shown;  /* atomic */
} Load;

typedef struct {
    Load    *load;
    int      index;
    int      fd;
    char     buf[LOAD_READ_SIZE];
    gsize    buf_len;
    gsize    buf_pos;
    char     reply[LOAD_REPLY_MAX];
    GString *out;
    GString *message;
    gboolean size_ok;            /* the server announced SIZE */

    /* results */
    guint64  sent;
    guint64  acked;
    guint64  errors;
    guint64  bytes;
    guint64  rows_expected;
    GArray  *latencies_us;       /* gint64 */
    gint64   finished_us;
} Session;

/* load_error - print one of the first LOAD_ERRORS_SHOWN errors of the run;
 * the caller counts it. */
static void G_GNUC_PRINTF(2, 3)
load_error(Session *s, const char *fmt, ...)
{
    va_list ap;

    if (g_atomic_int_add(&s->load->errors_shown, 1) >= LOAD_ERRORS_SHOWN)
        return;
    va_start(ap, fmt);
    fprintf(stderr, "lmtp_load: session=%d ", s->index);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* --- fixtures ------------------------------------------------------------ */

static gint
edit_compare(gconstpointer a, gconstpointer b)
{
    const Edit *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/* fixture_normalise - CRLF line ends and a leading dot doubled (RFC 5321
 * §4.5.2), as an MTA sends the message; the final dot is added per send. */
static GString *
fixture_normalise(const char *data, gsize len)
{
    GString *text = g_string_sized_new(len + len / 20 + 4);
    gsize i = 0;

    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        gsize end = nl != NULL ? (gsize)(nl - data) : len;
        gsize line_end = end;

        if (line_end > i && data[line_end - 1] == '\r')
            line_end--;
        if (line_end > i && data[i] == '.')
            g_string_append_c(text, '.');
        g_string_append_len(text, data + i, line_end - i);
        g_string_append(text, "\r\n");
        i = nl != NULL ? end + 1 : len;
    }
    return text;
}

/* fixture_find_to - the top-level To: header with its continuation lines,
 * or an insertion point at the very start when there is none. */
static Edit
fixture_find_to(const GString *text)
{
    Edit edit = { 0, 0, EDIT_TO_HEADER };
    gsize pos = 0;

    while (pos < text->len) {
        const char *eol = strstr(text->str + pos, "\r\n");
        gsize next = eol != NULL ? (gsize)(eol - text->str) + 2 : text->len;

        if (next - pos == 2)         /* the empty line: end of the header */
            break;
        if (g_ascii_strncasecmp(text->str + pos, "To:", 3) == 0) {
            edit.start = pos;
            edit.end = next;
            while (edit.end < text->len &&
                   (text->str[edit.end] == ' ' || text->str[edit.end] == '\t')) {
                eol = strstr(text->str + edit.end, "\r\n");
                edit.end = eol != NULL ? (gsize)(eol - text->str) + 2 : text->len;
            }
            return edit;
        }
        pos = next;
    }
    return edit;
}

static gboolean
fixture_address_char(char c)
{
    return c != '\0' && (g_ascii_isalnum(c) || strchr(".-_+=", c) != NULL);
}

/* fixture_find_address - every occurrence of addr (case-insensitive,
 * whole address only) outside the text edits already replace: for each, a
 * replacement by the recipient (EDIT_RCPT) or an insertion point before
 * its '@' (EDIT_SUFFIX). */
static guint
fixture_find_address(Fixture *f, const char *addr, EditKind kind)
{
    gsize alen = strlen(addr);
    const char *at = strchr(addr, '@');
    guint found = 0;

    if (at == NULL || alen < 3)
        return 0;
    for (gsize i = 0; i + alen <= f->text->len; i++) {
        const char *p = f->text->str + i;
        gboolean inside = FALSE;

        if (g_ascii_strncasecmp(p, addr, alen) != 0)
            continue;
        if ((i > 0 && fixture_address_char(p[-1])) ||
            (i + alen < f->text->len && (g_ascii_isalnum(p[alen]) || p[alen] == '-')))
            continue;
        for (guint e = 0; e < f->edits->len; e++) {
            const Edit *edit = &g_array_index(f->edits, Edit, e);

            if (edit->kind != EDIT_SUFFIX && i < edit->end && i + alen > edit->start)
                inside = TRUE;
        }
        if (inside)
            continue;
        if (kind == EDIT_RCPT)
            g_array_append_val(f->edits, ((Edit){ i, i + alen, EDIT_RCPT }));
        else
            g_array_append_val(f->edits, ((Edit){ i + (gsize)(at - addr), 0, EDIT_SUFFIX }));
        found++;
    }
    return found;
}

/* fixture_to_address - the address of the To: header edit, lower case,
 * or NULL. (transfer full) */
static char *
fixture_to_address(const Fixture *f, const Edit *to)
{
    g_autofree char *value = NULL;
    char *lt, *gt, *end;

    if (to->end <= to->start + 3)
        return NULL;
    value = g_strndup(f->text->str + to->start + 3, to->end - to->start - 3);
    lt = strchr(value, '<');
    gt = lt != NULL ? strchr(lt, '>') : NULL;
    if (gt != NULL) {
        *gt = '\0';
        memmove(value, lt + 1, strlen(lt + 1) + 1);
    }
    g_strstrip(value);
    end = value + strcspn(value, " \t\r\n,;");
    *end = '\0';
    if (strchr(value, '@') == NULL)
        return NULL;
    return g_ascii_strdown(value, -1);
}

/* fixture_read_json - the "addr" values of the parser's expected output
 * beside the fixture: how many recipients (bounce rows) it reports, and
 * which addresses to vary. No JSON library: the files are ours and flat. */
static GPtrArray *
fixture_read_json(const char *path, guint *count_out)
{
    g_autofree char *json = NULL;
    GPtrArray *addrs = g_ptr_array_new_with_free_func(g_free);
    const char *p;

    *count_out = 0;
    if (!g_file_get_contents(path, &json, NULL, NULL))
        return addrs;
    for (p = strstr(json, "\"addr\":"); p != NULL; p = strstr(p, "\"addr\":")) {
        const char *q;

        p += strlen("\"addr\":");
        (*count_out)++;
        if (*p != '"')
            continue;
        q = strchr(p + 1, '"');
        if (q == NULL)
            break;
        g_ptr_array_add(addrs, g_ascii_strdown(p + 1, q - p - 1));
        p = q;
    }
    return addrs;
}

static void
fixture_free(gpointer data)
{
    Fixture *f = data;

    g_free(f->name);
    g_string_free(f->text, TRUE);
    g_array_unref(f->edits);
    g_free(f);
}

static gint
name_compare(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* load_read_fixtures - every *.eml of the directory, by name. */
static gboolean
load_read_fixtures(Load *load, GError **error)
{
    g_autoptr(GDir) dir = g_dir_open(load->fixtures_dir, 0, error);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    if (dir == NULL)
        return FALSE;
    while ((name = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(name, ".eml"))
            g_ptr_array_add(names, g_strdup(name));
    }
    g_ptr_array_sort(names, name_compare);
    load->fixtures = g_ptr_array_new_with_free_func(fixture_free);
    for (guint i = 0; i < names->len; i++) {
        const char *file = g_ptr_array_index(names, i);
        g_autofree char *path = g_build_filename(load->fixtures_dir, file, NULL);
        g_autofree char *stem = g_strndup(file, strlen(file) - 4);
        g_autofree char *json_path = g_strdup_printf("%s/%s.json", load->fixtures_dir, stem);
        g_autofree char *data = NULL;
        g_autoptr(GPtrArray) addrs = NULL;
        g_autofree char *to_addr = NULL;
        Fixture *f;
        Edit to;
        gsize len;

        if (!g_file_get_contents(path, &data, &len, error))
            return FALSE;
        f = g_new0(Fixture, 1);
        f->name = g_strdup(file);
        f->text = fixture_normalise(data, len);
        f->edits = g_array_new(FALSE, FALSE, sizeof(Edit));
        to = fixture_find_to(f->text);
        g_array_append_val(f->edits, to);
        /* The returned message names the address it came back to in more
         * places (a transcript's MAIL FROM, the original's Return-Path):
         * it is the recipient there too, as in real bounces to VERP. */
        to_addr = fixture_to_address(f, &to);
        if (to_addr != NULL)
            fixture_find_address(f, to_addr, EDIT_RCPT);
        addrs = fixture_read_json(json_path, &f->recipients);
        for (guint a = 0; load->vary && a < addrs->len; a++) {
            gboolean seen = FALSE;

            for (guint b = 0; b < a; b++)
                seen = seen || strcmp(g_ptr_array_index(addrs, a), g_ptr_array_index(addrs, b)) == 0;
            if (!seen)
                f->varied += fixture_find_address(f, g_ptr_array_index(addrs, a), EDIT_SUFFIX);
        }
        g_array_sort(f->edits, edit_compare);
        if (load->verbose)
            fprintf(stderr, "lmtp_load: fixture %s bytes=%zu recipients=%u varied=%u\n", f->name,
                    f->text->len, f->recipients, f->varied);
        g_ptr_array_add(load->fixtures, f);
    }
    if (load->fixtures->len == 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no .eml file in %s",
                    load->fixtures_dir);
        return FALSE;
    }
    return TRUE;
}

/* --- one message ---------------------------------------------------------- */

/* load_recipient - message n's envelope recipient. (transfer full) */
static char *
load_recipient(Load *load, guint64 n, GError **error)
{
    if (load->keyring != NULL) {
        guint64 org = 1 + n % 100;
        guint64 message = (load->run_id << 32) | (n & 0xffffffffu);
        g_autofree char *token = token_encode(load->keyring, org, message, load->today, error);

        return token != NULL ? g_strdup_printf("%s@%s", token, load->domain) : NULL;
    }
    return g_strdup_printf("%s%" G_GUINT64_FORMAT "%s", load->plain_head,
                           n % (guint64)load->mailboxes, load->plain_tail);
}

/* load_build_message - the fixture with its edits applied, the final dot
 * appended. */
static void
load_build_message(Load *load, const Fixture *f, const char *rcpt, guint64 n, GString *out)
{
    char suffix[32];
    gsize pos = 0;

    g_snprintf(suffix, sizeof suffix, "-%06" G_GINT64_MODIFIER "x%" G_GINT64_MODIFIER "x",
               load->run_id, n);
    g_string_truncate(out, 0);
    for (guint e = 0; e < f->edits->len; e++) {
        const Edit *edit = &g_array_index(f->edits, Edit, e);

        g_string_append_len(out, f->text->str + pos, edit->start - pos);
        if (edit->kind == EDIT_TO_HEADER) {
            g_string_append_printf(out, "To: <%s>\r\n", rcpt);
            pos = edit->end;
        } else if (edit->kind == EDIT_RCPT) {
            g_string_append(out, rcpt);
            pos = edit->end;
        } else {
            g_string_append(out, suffix);
            pos = edit->start;
        }
    }
    g_string_append_len(out, f->text->str + pos, f->text->len - pos);
    g_string_append(out, ".\r\n");
}

/* --- the socket ----------------------------------------------------------- */

static int
load_connect(Load *load, GError **error)
{
    struct timeval tv = { .tv_sec = LOAD_IO_TIMEOUT_S };
    int fd;

    if (load->unix_path != NULL) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };

        if (strlen(load->unix_path) >= sizeof sun.sun_path) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "socket path too long");
            return -1;
        }
        strcpy(sun.sun_path, load->unix_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "connect %s: %s",
                        load->unix_path, g_strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
    } else {
        g_autofree char *host = NULL;
        const char *colon = strrchr(load->connect, ':');
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
        struct addrinfo *res = NULL;
        int one = 1, rc;

        if (colon == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--connect HOST:PORT");
            return -1;
        }
        host = g_strndup(load->connect, colon - load->connect);
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
            memmove(host, host + 1, strlen(host) - 2);
            host[strlen(host) - 2] = '\0';
        }
        rc = getaddrinfo(host, colon + 1, &hints, &res);
        if (rc != 0) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", load->connect,
                        gai_strerror(rc));
            return -1;
        }
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
            g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "connect %s: %s",
                        load->connect, g_strerror(errno));
            if (fd >= 0)
                close(fd);
            freeaddrinfo(res);
            return -1;
        }
        freeaddrinfo(res);
        /* The client must not add latency of its own (Nagle). */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static gboolean
session_write(Session *s, const char *data, gsize len)
{
    gsize done = 0;

    while (done < len) {
        ssize_t n = send(s->fd, data + done, len - done, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        done += (gsize)n;
    }
    return TRUE;
}

/* session_read_line - one line into s->reply without its CRLF; FALSE on
 * EOF, timeout or error. A longer line is cut (its rest is skipped). */
static gboolean
session_read_line(Session *s)
{
    gsize len = 0;

    for (;;) {
        while (s->buf_pos < s->buf_len) {
            char c = s->buf[s->buf_pos++];

            if (c == '\n') {
                if (len > 0 && s->reply[len - 1] == '\r')
                    len--;
                s->reply[len] = '\0';
                return TRUE;
            }
            if (len < sizeof s->reply - 1)
                s->reply[len++] = c;
        }
        ssize_t n = recv(s->fd, s->buf, sizeof s->buf, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        s->buf_len = (gsize)n;
        s->buf_pos = 0;
    }
}

/* session_read_reply - a whole reply (its last line stays in s->reply);
 * the code, or -1 when the connection failed. */
static int
session_read_reply(Session *s)
{
    for (;;) {
        if (!session_read_line(s)) {
            g_strlcpy(s->reply, errno == EAGAIN ? "(timeout)" : "(connection closed)",
                      sizeof s->reply);
            return -1;
        }
        if (strlen(s->reply) < 3 || !g_ascii_isdigit(s->reply[0]))
            return 0;
        if (s->reply[3] != '-')
            return atoi(s->reply);
    }
}

/* session_setup - connect, greeting, LHLO. Failures are counted by the
 * caller (setup_failures). */
static gboolean
session_setup(Session *s)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *lhlo = NULL;

    s->fd = load_connect(s->load, &error);
    if (s->fd < 0) {
        load_error(s, "stage=connect error=\"%s\"", error->message);
        return FALSE;
    }
    if (session_read_reply(s) != 220) {
        load_error(s, "stage=greeting reply=\"%s\"", s->reply);
        return FALSE;
    }
    lhlo = g_strdup_printf("LHLO %s\r\n", s->load->lhlo);
    if (!session_write(s, lhlo, strlen(lhlo))) {
        load_error(s, "stage=lhlo error=\"%s\"", g_strerror(errno));
        return FALSE;
    }
    /* Like Postfix, send SIZE= only to a server that announced it. */
    for (;;) {
        if (!session_read_line(s) || strncmp(s->reply, "250", 3) != 0) {
            load_error(s, "stage=lhlo reply=\"%s\"", s->reply);
            return FALSE;
        }
        if (strlen(s->reply) >= 8 && g_ascii_strncasecmp(s->reply + 4, "SIZE", 4) == 0 &&
            (s->reply[8] == '\0' || s->reply[8] == ' '))
            s->size_ok = TRUE;
        if (s->reply[3] != '-')
            return TRUE;
    }
}

/* session_claim - the next message number, or FALSE when the run is over. */
static gboolean
session_claim(Session *s, guint64 *n_out)
{
    Load *load = s->load;

    if (load->messages > 0) {
        int n = g_atomic_int_add(&load->next_message, 1);

        *n_out = (guint64)n;
        return n < load->messages;
    }
    if (g_get_monotonic_time() >= load->deadline_us)
        return FALSE;
    *n_out = (guint64)g_atomic_int_add(&load->next_message, 1);
    return TRUE;
}

/* session_deliver - one transaction as Postfix pipelines it: MAIL, RCPT
 * and DATA in one write, their three replies, the message with its final
 * dot, its reply. A message with any unexpected reply is one error.
 * FALSE when the connection is no longer usable. */
static gboolean
session_deliver(Session *s, guint64 n)
{
    Load *load = s->load;
    Fixture *f = g_ptr_array_index(load->fixtures, n % load->fixtures->len);
    g_autoptr(GError) error = NULL;
    g_autofree char *rcpt = load_recipient(load, n, &error);
    static const char *const stages[] = { "mail", "rcpt", "data" };
    static const int wanted[] = { 250, 250, 354 };
    gboolean failed = FALSE;
    gint64 t0, t1;
    int code = 0;

    if (rcpt == NULL) {
        s->errors++;
        load_error(s, "stage=token error=\"%s\"", error->message);
        return FALSE;
    }
    load_build_message(load, f, rcpt, n, s->message);
    g_string_assign(s->out, "MAIL FROM:<>");
    if (s->size_ok)
        g_string_append_printf(s->out, " SIZE=%zu", s->message->len);
    g_string_append_printf(s->out, "\r\nRCPT TO:<%s>\r\nDATA\r\n", rcpt);
    s->sent++;
    if (!session_write(s, s->out->str, s->out->len)) {
        s->errors++;
        load_error(s, "stage=mail error=\"%s\"", g_strerror(errno));
        return FALSE;
    }
    for (guint i = 0; i < G_N_ELEMENTS(stages); i++) {
        code = session_read_reply(s);
        if (code == wanted[i])
            continue;
        if (!failed)
            load_error(s, "stage=%s fixture=%s rcpt=<%s> reply=\"%s\"", stages[i], f->name, rcpt,
                       s->reply);
        failed = TRUE;
        if (code < 0) {
            s->errors++;
            return FALSE;
        }
    }
    if (failed) {
        s->errors++;
        /* A 354 after a refused MAIL or RCPT: the only way out of DATA
         * without sending a message is to hang up. */
        if (code == 354)
            return FALSE;
        return session_write(s, "RSET\r\n", 6) && session_read_reply(s) >= 0;
    }
    if (!session_write(s, s->message->str, s->message->len)) {
        s->errors++;
        load_error(s, "stage=message error=\"%s\"", g_strerror(errno));
        return FALSE;
    }
    t0 = g_get_monotonic_time();
    code = session_read_reply(s);
    t1 = g_get_monotonic_time();
    s->bytes += s->message->len;
    if (code != 250) {
        s->errors++;
        load_error(s, "stage=dot fixture=%s rcpt=<%s> reply=\"%s\"", f->name, rcpt, s->reply);
        return code >= 0;
    }
    s->acked++;
    s->rows_expected += f->recipients;
    g_atomic_int_inc(&f->acked);
    g_array_append_val(s->latencies_us, ((gint64){ t1 - t0 }));
    return TRUE;
}

static gpointer
session_thread(gpointer data)
{
    Session *s = data;
    Load *load = s->load;
    gboolean ok = session_setup(s);
    guint64 n;

    g_mutex_lock(&load->lock);
    load->ready++;
    if (!ok)
        load->failed_setup++;
    g_cond_broadcast(&load->cond);
    while (!load->go)
        g_cond_wait(&load->cond, &load->lock);
    g_mutex_unlock(&load->lock);

    while (ok && session_claim(s, &n))
        ok = session_deliver(s, n);
    s->finished_us = g_get_monotonic_time();
    if (ok && session_write(s, "QUIT\r\n", 6))
        session_read_reply(s);
    if (s->fd >= 0)
        close(s->fd);
    return NULL;
}

/* --- results -------------------------------------------------------------- */

static gint
us_compare(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y ? 1 : 0;
}

/* percentile_ms - nearest rank over sorted microseconds. */
static double
percentile_ms(const GArray *sorted, double p)
{
    gsize rank;

    if (sorted->len == 0)
        return 0.0;
    rank = (gsize)ceil(p / 100.0 * sorted->len);
    rank = CLAMP(rank, 1, sorted->len);
    return g_array_index(sorted, gint64, rank - 1) / 1000.0;
}

static gboolean
load_write_counts(Load *load, GError **error)
{
    g_autoptr(GString) text = g_string_new(NULL);

    for (guint i = 0; i < load->fixtures->len; i++) {
        const Fixture *f = g_ptr_array_index(load->fixtures, i);

        g_string_append_printf(text, "%s %d %u\n", f->name, g_atomic_int_get(&f->acked),
                               f->recipients);
    }
    return g_file_set_contents(load->counts_file, text->str, text->len, error);
}

/* load_dump - message n of each fixture as it goes on the wire (with its
 * final dot), to check what the rewriting does. */
static gboolean
load_dump(Load *load, GError **error)
{
    g_autoptr(GString) message = g_string_new(NULL);

    for (guint n = 0; n < load->fixtures->len; n++) {
        const Fixture *f = g_ptr_array_index(load->fixtures, n);
        g_autofree char *rcpt = load_recipient(load, n, error);
        g_autofree char *path = g_build_filename(load->dump_dir, f->name, NULL);

        if (rcpt == NULL)
            return FALSE;
        load_build_message(load, f, rcpt, n, message);
        if (!g_file_set_contents(path, message->str, (gssize)message->len, error))
            return FALSE;
    }
    return TRUE;
}

/* load_parse_options - GLib's option parser; the checks it cannot do. */
static gboolean
load_parse_options(Load *load, int *argc, char ***argv, GError **error)
{
    GOptionEntry entries[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &load->connect,
          "LMTP server address", "HOST:PORT" },
        { "unix", 'u', 0, G_OPTION_ARG_FILENAME, &load->unix_path,
          "LMTP server unix socket", "PATH" },
        { "sessions", 's', 0, G_OPTION_ARG_INT, &load->sessions,
          "concurrent sessions, one thread each (1)", "N" },
        { "seconds", 't', 0, G_OPTION_ARG_DOUBLE, &load->seconds,
          "send for this long (10)", "S" },
        { "messages", 'n', 0, G_OPTION_ARG_INT, &load->messages,
          "send this many messages in all instead", "N" },
        { "fixtures", 'f', 0, G_OPTION_ARG_FILENAME, &load->fixtures_dir,
          "directory of .eml messages (required)", "DIR" },
        { "key", 'k', 0, G_OPTION_ARG_STRING, &load->key,
          "token key: recipients are signed VERP addresses", "ID:HEX" },
        { "domain", 'd', 0, G_OPTION_ARG_STRING, &load->domain,
          "domain of the token addresses (notifications.example.com)", "DOMAIN" },
        { "plain", 'p', 0, G_OPTION_ARG_STRING, &load->plain,
          "plain recipients, e.g. user%d@bench.test", "PATTERN" },
        { "mailboxes", 'm', 0, G_OPTION_ARG_INT, &load->mailboxes,
          "values of %d in --plain (1000)", "N" },
        { "vary-recipients", 'V', 0, G_OPTION_ARG_NONE, &load->vary,
          "a per-message suffix on the failed addresses of the .json", NULL },
        { "idle", 'i', 0, G_OPTION_ARG_DOUBLE, &load->idle,
          "open every session, LHLO, stay idle this long, then all send", "S" },
        { "lhlo", 0, 0, G_OPTION_ARG_STRING, &load->lhlo,
          "LHLO name (bench.test)", "NAME" },
        { "counts", 0, 0, G_OPTION_ARG_FILENAME, &load->counts_file,
          "write \"fixture acked recipients\" lines here", "FILE" },
        { "dump", 0, 0, G_OPTION_ARG_FILENAME, &load->dump_dir,
          "write the first message built from each fixture here and exit", "DIR" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &load->verbose,
          "describe the fixtures on standard error", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) context = g_option_context_new("- LMTP load generator");
    const char *mark;

    g_option_context_add_main_entries(context, entries, NULL);
    if (!g_option_context_parse(context, argc, argv, error))
        return FALSE;
    if ((load->connect == NULL) == (load->unix_path == NULL) && load->dump_dir == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "give one of --connect and --unix");
        return FALSE;
    }
    if (load->fixtures_dir == NULL || (load->key == NULL) == (load->plain == NULL)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--fixtures and one of --key and --plain are required");
        return FALSE;
    }
    if (load->sessions < 1 || load->sessions > 10000 || load->mailboxes < 1 ||
        load->messages < 0 || load->seconds <= 0 || load->idle < 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "a number is out of range");
        return FALSE;
    }
    if (load->plain != NULL) {
        mark = strstr(load->plain, "%d");
        if (mark == NULL || strstr(mark + 2, "%") != NULL || strchr(load->plain, '%') != mark) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "--plain needs exactly one %%d");
            return FALSE;
        }
        load->plain_head = g_strndup(load->plain, mark - load->plain);
        load->plain_tail = g_strdup(mark + 2);
    }
    if (load->key != NULL) {
        load->keyring = token_keyring_new();
        if (!token_keyring_add_key_spec(load->keyring, load->key, error))
            return FALSE;
        load->today = token_today();
    }
    return TRUE;
}

int
main(int argc, char **argv)
{
    Load load = {
        .sessions = 1, .seconds = 10, .mailboxes = 1000,
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(gint64));
    Session *sessions;
    GThread **threads;
    guint64 sent = 0, acked = 0, errors = 0, bytes = 0, rows = 0;
    gint64 end_us = 0;
    double elapsed;

    if (!load_parse_options(&load, &argc, &argv, &error)) {
        fprintf(stderr, "lmtp_load: %s\n", error->message);
        return 2;
    }
    if (load.domain == NULL)
        load.domain = g_strdup("notifications.example.com");
    if (load.lhlo == NULL)
        load.lhlo = g_strdup("bench.test");
    if (!load_read_fixtures(&load, &error)) {
        fprintf(stderr, "lmtp_load: %s\n", error->message);
        return 2;
    }
    /* Suffixes and message ids differ from one run to the next, so a
     * second run against the same database is not a redelivery. */
    load.run_id = ((guint64)time(NULL) ^ ((guint64)getpid() << 12)) & 0x7fffffu;
    if (load.dump_dir != NULL) {
        if (load_dump(&load, &error))
            return 0;
        fprintf(stderr, "lmtp_load: %s\n", error->message);
        return 2;
    }
    g_mutex_init(&load.lock);
    g_cond_init(&load.cond);

    sessions = g_new0(Session, load.sessions);
    threads = g_new0(GThread *, load.sessions);
    for (int i = 0; i < load.sessions; i++) {
        Session *s = &sessions[i];

        s->load = &load;
        s->index = i;
        s->fd = -1;
        s->out = g_string_new(NULL);
        s->message = g_string_new(NULL);
        s->latencies_us = g_array_new(FALSE, FALSE, sizeof(gint64));
        threads[i] = g_thread_new("lmtp-load", session_thread, s);
    }

    /* Everyone has said LHLO (or failed to): start them together. */
    g_mutex_lock(&load.lock);
    while (load.ready < load.sessions)
        g_cond_wait(&load.cond, &load.lock);
    g_mutex_unlock(&load.lock);
    if (load.idle > 0)
        g_usleep((gulong)(load.idle * G_USEC_PER_SEC));
    g_mutex_lock(&load.lock);
    load.start_us = g_get_monotonic_time();
    load.deadline_us = load.start_us + (gint64)(load.seconds * G_USEC_PER_SEC);
    load.go = TRUE;
    g_cond_broadcast(&load.cond);
    g_mutex_unlock(&load.lock);

    for (int i = 0; i < load.sessions; i++) {
        Session *s = &sessions[i];

        g_thread_join(threads[i]);
        sent += s->sent;
        acked += s->acked;
        errors += s->errors;
        bytes += s->bytes;
        rows += s->rows_expected;
        end_us = MAX(end_us, s->finished_us);
        g_array_append_vals(all, s->latencies_us->data, s->latencies_us->len);
    }
    g_array_sort(all, us_compare);
    elapsed = (end_us - load.start_us) / (double)G_USEC_PER_SEC;
    if (load.counts_file != NULL && !load_write_counts(&load, &error)) {
        fprintf(stderr, "lmtp_load: %s\n", error->message);
        return 2;
    }
    if (errors > LOAD_ERRORS_SHOWN)
        fprintf(stderr, "lmtp_load: %" G_GUINT64_FORMAT " errors in all (first %d shown)\n",
                errors, LOAD_ERRORS_SHOWN);

    printf("sessions=%d seconds=%.3f messages=%" G_GUINT64_FORMAT " acked=%" G_GUINT64_FORMAT
           " errors=%" G_GUINT64_FORMAT " setup_failures=%d msg_per_s=%.1f p50_ms=%.2f"
           " p99_ms=%.2f max_ms=%.2f bytes=%" G_GUINT64_FORMAT " rows_expected=%" G_GUINT64_FORMAT
           " fixtures=%u\n",
           load.sessions, elapsed, sent, acked, errors, load.failed_setup,
           elapsed > 0 ? acked / elapsed : 0.0, percentile_ms(all, 50), percentile_ms(all, 99),
           all->len > 0 ? g_array_index(all, gint64, all->len - 1) / 1000.0 : 0.0, bytes, rows,
           load.fixtures->len);
    fflush(stdout);

    for (int i = 0; i < load.sessions; i++) {
        g_string_free(sessions[i].out, TRUE);
        g_string_free(sessions[i].message, TRUE);
        g_array_unref(sessions[i].latencies_us);
    }
    g_free(sessions);
    g_free(threads);
    g_ptr_array_unref(load.fixtures);
    token_keyring_free(load.keyring);
    return errors > 0 || load.failed_setup > 0 ? 1 : 0;
}
