/* ctl_events.c - bouncerctl events: print published events as JSON lines,
 * for a consumer catching up on what it missed (--since) or tailing. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/ctl.h"
#include "cmd/ctl_support.h"
#include "common/db.h"
#include "common/event_publisher.h"

#define CTL_EVENTS_PAGE "1000"

/* ctl_events_print - one page after since; returns the last seq printed. */
static gboolean
ctl_events_print(PGconn *conn, gint64 *since, GError **error)
{
    g_autofree char *from = g_strdup_printf("%" G_GINT64_FORMAT, *since);
    const char *params[] = { from };
    g_autoptr(PGresult) res = NULL;
    g_autoptr(GString) line = g_string_new(NULL);

    do {
        g_clear_pointer(&res, PQclear);
        res = ctl_support_exec(conn,
                      "SELECT seq, payload::text FROM events"
                      " WHERE seq > $1 ORDER BY seq LIMIT " CTL_EVENTS_PAGE, 1, params, error);
        if (res == NULL)
            return FALSE;
        for (int i = 0; i < PQntuples(res); i++) {
            *since = g_ascii_strtoll(PQgetvalue(res, i, 0), NULL, 10);
            event_json_with_seq(line, *since, PQgetvalue(res, i, 1));
            printf("%s\n", line->str);
        }
        g_free(from);
        from = g_strdup_printf("%" G_GINT64_FORMAT, *since);
        params[0] = from;
    } while (PQntuples(res) == atoi(CTL_EVENTS_PAGE));
    fflush(stdout);
    return TRUE;
}

int
ctl_events_main(int argc, char **argv)
{
    g_autofree char *config_path = NULL;
    g_autofree char *conninfo = NULL;
    gint64 since = 0;
    gboolean follow = FALSE;
    GOptionEntry entries[] = {
        CTL_DB_OPTIONS(&config_path, &conninfo),
        { "since", 's', 0, G_OPTION_ARG_INT64, &since, "print events with seq greater than SEQ", "SEQ" },
        { "follow", 'f', 0, G_OPTION_ARG_NONE, &follow, "keep printing new events as they are published", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) options = g_option_context_new("- print events as JSON lines, in seq order");
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = NULL;

    g_option_context_add_main_entries(options, entries, NULL);
    if (!g_option_context_parse(options, &argc, &argv, &error) || argc > 1) {
        fprintf(stderr, "bouncerctl events: %s\n", error != NULL ? error->message : "unexpected argument");
        return 2;
    }
    conn = ctl_connect(config_path, conninfo, &error);
    if (conn == NULL) {
        fprintf(stderr, "bouncerctl events: %s\n", error->message);
        return 1;
    }
    do {
        if (!ctl_events_print(conn, &since, &error)) {
            fprintf(stderr, "bouncerctl events: %s\n", error->message);
            return 1;
        }
        if (follow)
            g_usleep(500 * 1000);
    } while (follow);
    return 0;
}
