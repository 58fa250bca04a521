/* ctl_outbox.c - `bouncerctl outbox`: the mail bouncer sends (forwards to
 * organisations, auto-replies) that has not gone out, and putting a failed
 * or held row back in the queue.
 *
 *   bouncerctl outbox [--failed] [--limit N] [--json]
 *   bouncerctl outbox retry ID
 *
 * Listing reads support.outbox (bouncer_support is enough); retry writes
 * the outbox table and needs bouncer's own database user.
 *
 * Exit status: 0 ok, 1 failure (database, nothing to retry), 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"
#include "cmd/ctl_support.h"
#include "common/db.h"

#define CTL_OUTBOX_DEFAULT_LIMIT 50
#define CTL_OUTBOX_MAX_LIMIT     1000000
/* How long a retried row may be tried before it fails again. */
#define CTL_OUTBOX_RETRY_HOURS   "48"

#define CTL_OUTBOX_TIME(col) "to_char(" col ", 'YYYY-MM-DD HH24:MI:SSOF')"

/* Not sent: queued, failed, held; $1 failed only; newest first, the order
 * of the outbox_unsent_created index. */
static const char ctl_outbox_sql_list[] =
    "SELECT id, " CTL_OUTBOX_TIME("created_at") ", kind, coalesce(org_id::text, '-'), rcpt_to,"
    "       state, attempts,"
    "       CASE WHEN state = 'queued' THEN " CTL_OUTBOX_TIME("next_attempt_at") " ELSE '-' END,"
    "       coalesce(nullif(CASE WHEN length(last_error) > 60 THEN left(last_error, 59) || '…'"
    "                            ELSE last_error END, ''), '-'),"
    "       json_build_object('id', id, 'created_at', created_at, 'kind', kind,"
    "           'org_id', org_id, 'org_name', org_name, 'inbound_id', inbound_id,"
    "           'mail_from', mail_from, 'rcpt_to', rcpt_to, 'state', state,"
    "           'attempts', attempts, 'next_attempt_at', next_attempt_at,"
    "           'expires_at', expires_at, 'last_error', last_error, 'size', size)"
    "  FROM support.outbox"
    " WHERE state <> 'sent' AND (NOT $1::boolean OR state = 'failed')"
    " ORDER BY created_at DESC"
    " LIMIT $2::bigint";

enum { CTL_OUTBOX_COLUMNS = 9, CTL_OUTBOX_JSON = 9 };
static const char *const ctl_outbox_headers[CTL_OUTBOX_COLUMNS] = {
    "id", "created", "kind", "org", "to", "state", "attempts", "next_attempt", "last_error",
};

/* Back to the queue, due now; the expiry moves 48 hours past now (or past
 * the old expiry when that is later), so the sender does not fail it as
 * expired on its first attempt. The last error stays as the record of why
 * it stopped. */
static const char ctl_outbox_sql_retry[] =
    "WITH old AS (SELECT id, state FROM outbox WHERE id = $1::bigint FOR UPDATE)"
    " UPDATE outbox x SET state = 'queued', next_attempt_at = now(),"
    "        expires_at = greatest(x.expires_at, now()) + interval '" CTL_OUTBOX_RETRY_HOURS " hours'"
    "   FROM old"
    "  WHERE x.id = old.id AND old.state IN ('failed', 'held')"
    /* A forward is composed from the stored report when it is sent: once
     * retention has purged that, there is nothing left to send. */
    "    AND (x.message IS NOT NULL OR EXISTS (SELECT 1 FROM inbound_messages i"
    "                                          WHERE i.id = x.inbound_id AND i.raw IS NOT NULL))"
    " RETURNING old.state, " CTL_OUTBOX_TIME("x.expires_at") ", x.kind, x.rcpt_to,"
    "           coalesce(nullif(x.last_error, ''), '-')";

/* Why a row could not be retried. */
static const char ctl_outbox_sql_state[] =
    "SELECT state, coalesce(" CTL_OUTBOX_TIME("sent_at") ", '?'),"
    "       " CTL_OUTBOX_TIME("next_attempt_at") ","
    "       message IS NULL AND NOT EXISTS (SELECT 1 FROM inbound_messages i"
    "                                       WHERE i.id = o.inbound_id AND i.raw IS NOT NULL)"
    "  FROM outbox o WHERE id = $1::bigint";

/* ctl_outbox_list - the table or JSON lines. */
static int
ctl_outbox_list(PGconn *conn, gboolean failed, gint64 limit, gboolean json, GError **error)
{
    g_autofree char *limit_text = g_strdup_printf("%" G_GINT64_FORMAT, json ? limit : limit + 1);
    const char *params[] = { failed ? "true" : "false", limit_text };
    g_autoptr(PGresult) res = NULL;
    int rows;

    if (json)
        return ctl_support_print_json_lines(conn, ctl_outbox_sql_list, 2, params, CTL_OUTBOX_JSON,
                                            NULL, error) ? 0 : 1;
    res = ctl_support_exec(conn, ctl_outbox_sql_list, 2, params, error);
    if (res == NULL)
        return 1;
    rows = PQntuples(res);
    if (rows == 0) {
        printf(failed ? "no failed outbox rows\n" : "nothing waiting, failed or held in the outbox\n");
        return 0;
    }
    ctl_support_print_table(res, (int)MIN(rows, limit), CTL_OUTBOX_COLUMNS, ctl_outbox_headers,
                            "rlllllrll", "");
    if (rows > limit)
        fprintf(stderr, "bouncerctl outbox: the newest %" G_GINT64_FORMAT " shown; there are "
                "more (raise --limit)\n", limit);
    return 0;
}

/* ctl_outbox_retry - one row back to queued, or why not. */
static int
ctl_outbox_retry(PGconn *conn, const char *id, GError **error)
{
    const char *params[] = { id };
    g_autoptr(PGresult) res = ctl_support_exec(conn, ctl_outbox_sql_retry, 1, params, error);
    g_autoptr(PGresult) state = NULL;
    const char *now;

    if (res == NULL)
        return 1;
    if (PQntuples(res) == 1) {
        g_autofree char *to = ctl_printable(PQgetvalue(res, 0, 3));
        g_autofree char *last = ctl_printable(PQgetvalue(res, 0, 4));

        printf("outbox %s (%s to %s): %s -> queued; next attempt now, expires %s; "
               "last error kept: %s\n", id, PQgetvalue(res, 0, 2), to, PQgetvalue(res, 0, 0),
               PQgetvalue(res, 0, 1), last);
        return 0;
    }
    state = ctl_support_exec(conn, ctl_outbox_sql_state, 1, params, error);
    if (state == NULL)
        return 1;
    if (PQntuples(state) == 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "no outbox row %s", id);
        return 1;
    }
    now = PQgetvalue(state, 0, 0);
    if (strcmp(PQgetvalue(state, 0, 3), "t") == 0 && strcmp(now, "sent") != 0
        && strcmp(now, "queued") != 0)
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "outbox %s (%s) is a forward of a report whose stored copy was deleted after"
                    " the retention period: nothing left to send", id, now);
    else if (strcmp(now, "sent") == 0)
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "outbox %s was sent at %s: nothing to retry", id, PQgetvalue(state, 0, 1));
    else
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "outbox %s is already queued (next attempt %s): nothing to retry", id,
                    PQgetvalue(state, 0, 2));
    return 1;
}

int
ctl_outbox_main(int argc, char **argv)
{
    g_autofree char *config = NULL;
    g_autofree char *conninfo = NULL;
    g_autofree char *limit_text = NULL;
    g_autofree char *prgname = NULL;
    gboolean failed = FALSE;
    gboolean json = FALSE;
    gboolean retry;
    gint64 limit = CTL_OUTBOX_DEFAULT_LIMIT;
    g_autoptr(GOptionContext) context = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = NULL;
    int status;
    GOptionEntry common[] = {
        CTL_DB_OPTIONS(&config, &conninfo),
        { NULL },
    };
    GOptionEntry list_entries[] = {
        { "failed", 'f', 0, G_OPTION_ARG_NONE, &failed, "only rows that were given up", NULL },
        { "limit", 'n', 0, G_OPTION_ARG_STRING, &limit_text,
          "at most N rows, the newest (default " G_STRINGIFY(CTL_OUTBOX_DEFAULT_LIMIT) ")", "N" },
        { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "print JSON lines, every field", NULL },
        { NULL },
    };
    const char *name;

    retry = argc >= 2 && strcmp(argv[1], "retry") == 0;
    name = retry ? "outbox retry" : "outbox";
    if (retry) {
        context = g_option_context_new("ID - put a failed or held outbox row back in the queue");
        g_option_context_set_description(context,
            "The row is due at once and expires 48 hours from now (or from its old\n"
            "expiry when that is later); attempts and the last error are kept.\n"
            "Exit status: 0 queued, 1 failure (no such row, sent or already\n"
            "queued), 2 usage.");
        argc--;
        argv++;
    } else {
        context = g_option_context_new("[retry ID] - outbox rows not sent: queued, failed, held");
        g_option_context_set_description(context,
            "Newest first. 'bouncerctl outbox retry ID' puts a failed or held row\n"
            "back in the queue (see 'bouncerctl outbox retry --help').\n"
            "Exit status: 0 ok (also when the list is empty), 1 failure, 2 usage.");
        g_option_context_add_main_entries(context, list_entries, NULL);
    }
    g_option_context_add_main_entries(context, common, NULL);
    prgname = g_strdup_printf("bouncerctl %s", name);
    g_set_prgname(prgname);
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerctl %s: %s\n", name, error->message);
        return 2;
    }
    if (retry && argc != 2) {
        fprintf(stderr, "bouncerctl outbox retry: %s\n",
                argc < 2 ? "give the outbox row ID" : "one ID at a time");
        return 2;
    }
    if (!retry && argc > 1) {
        fprintf(stderr, "bouncerctl outbox: unknown action '%s' (the only one is retry)\n",
                argv[1]);
        return 2;
    }
    if ((retry && !ctl_support_check_count("outbox ID", argv[1], G_MAXINT64, NULL, &error)) ||
        !ctl_support_check_count("--limit", limit_text, CTL_OUTBOX_MAX_LIMIT, &limit, &error)) {
        fprintf(stderr, "bouncerctl %s: %s\n", name, error->message);
        return 2;
    }
    conn = ctl_connect(config, conninfo, &error);
    if (conn == NULL) {
        fprintf(stderr, "bouncerctl %s: %s\n", name, error->message);
        return 1;
    }
    status = retry ? ctl_outbox_retry(conn, argv[1], &error)
                   : ctl_outbox_list(conn, failed, limit, json, &error);
    if (status != 0)
        fprintf(stderr, "bouncerctl %s: %s\n", name, error->message);
    return status;
}
