/* ctl_show.c - `bouncerctl show ID`: one received message, its envelope
 * and what was recorded from it (bounces, complaints, auto-reply
 * decisions, outbox rows), or with --raw its stored bytes.
 *
 *   bouncerctl show ID [--json]
 *   bouncerctl show ID --raw > message.eml
 *
 * Without --raw it reads the support views (bouncer_support is enough);
 * --raw reads inbound_messages.raw, which that role may not.
 *
 * Exit status: 0 ok, 1 failure (database, no such message, bytes purged),
 * 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"
#include "cmd/ctl_support.h"
#include "common/db.h"

#define CTL_SHOW_TIME(col) "to_char(" col ", 'YYYY-MM-DD HH24:MI:SSOF')"

static const char ctl_show_sql_message[] =
    "SELECT id, " CTL_SHOW_TIME("received_at") ", session_id,"
    "       CASE WHEN mail_from = '' THEN '<>' ELSE mail_from END, rcpt_to, mailbox, kind,"
    "       size || ' bytes', sha256,"
    "       CASE WHEN stored THEN 'stored' || coalesce(', purged after '"
    "                 || " CTL_SHOW_TIME("purge_after") ", '')"
    "            ELSE 'purged' || coalesce(' ' || " CTL_SHOW_TIME("purged_at") ", '') END"
    "  FROM support.messages WHERE id = $1::bigint";
static const char *const ctl_show_keys[] = {
    "id", "received_at", "session", "mail_from", "rcpt_to", "mailbox", "kind", "size", "sha256",
    "raw",
};

static const char ctl_show_sql_bounces[] =
    "SELECT id, coalesce(org_id::text, '-'), recipient, coalesce(nullif(action, ''), '-'),"
    "       coalesce(nullif(status, ''), '-'), coalesce(nullif(reason, ''), '-'),"
    "       CASE WHEN hard THEN 'yes' ELSE 'no' END, coalesce(nullif(rule, ''), '-'),"
    "       coalesce(nullif(diagnostic, ''), '-')"
    "  FROM support.recent_bounces WHERE inbound_id = $1::bigint ORDER BY id";
static const char *const ctl_show_bounce_headers[] = {
    "id", "org", "recipient", "action", "status", "reason", "hard", "rule", "diagnostic",
};

static const char ctl_show_sql_complaints[] =
    "SELECT ref_id, coalesce(org_id::text, '-'), address, coalesce(nullif(reason, ''), '-'),"
    "       detail"
    "  FROM support.address_history"
    " WHERE inbound_id = $1::bigint AND what = 'complaint' ORDER BY ref_id";
static const char *const ctl_show_complaint_headers[] = {
    "id", "org", "recipient", "feedback_type", "detail",
};

static const char ctl_show_sql_autoreplies[] =
    "SELECT id, coalesce(org_id::text, '-'), sender, decision, coalesce(nullif(rule, ''), '-'),"
    "       coalesce(outbox_id::text, '-')"
    "  FROM support.autoreply_decisions WHERE inbound_id = $1::bigint ORDER BY id";
static const char *const ctl_show_autoreply_headers[] = {
    "id", "org", "sender", "decision", "rule", "outbox",
};

static const char ctl_show_sql_outbox[] =
    "SELECT id, " CTL_SHOW_TIME("created_at") ", kind, coalesce(org_id::text, '-'), rcpt_to,"
    "       state, attempts, coalesce(nullif(last_error, ''), '-')"
    "  FROM support.outbox WHERE inbound_id = $1::bigint ORDER BY id";
static const char *const ctl_show_outbox_headers[] = {
    "id", "created", "kind", "org", "to", "state", "attempts", "last_error",
};

/* The message and every row made from it, whole, in one object. */
static const char ctl_show_sql_json[] =
    "SELECT jsonb_build_object('message', to_jsonb(m),"
    "    'bounces', coalesce((SELECT jsonb_agg(b ORDER BY b.id) FROM support.recent_bounces b"
    "                          WHERE b.inbound_id = m.id), '[]'::jsonb),"
    "    'complaints', coalesce((SELECT jsonb_agg(jsonb_build_object('id', h.ref_id,"
    "                                'received_at', h.at, 'org_id', h.org_id,"
    "                                'org_name', h.org_name, 'message_id', h.message_id,"
    "                                'recipient', h.address, 'feedback_type', h.reason)"
    "                                ORDER BY h.ref_id)"
    "                             FROM support.address_history h"
    "                            WHERE h.inbound_id = m.id AND h.what = 'complaint'), '[]'::jsonb),"
    "    'autoreplies', coalesce((SELECT jsonb_agg(a ORDER BY a.id)"
    "                              FROM support.autoreply_decisions a"
    "                             WHERE a.inbound_id = m.id), '[]'::jsonb),"
    "    'outbox', coalesce((SELECT jsonb_agg(x ORDER BY x.id) FROM support.outbox x"
    "                         WHERE x.inbound_id = m.id), '[]'::jsonb))"
    "  FROM support.messages m WHERE m.id = $1::bigint";

/* ctl_show_section - "bounces: none" or the count and a table. */
static gboolean
ctl_show_section(PGconn *conn, const char *title, const char *sql, const char *id,
                 const char *const *headers, const char *align, GError **error)
{
    const char *params[] = { id };
    g_autoptr(PGresult) res = ctl_support_exec(conn, sql, 1, params, error);

    if (res == NULL)
        return FALSE;
    if (PQntuples(res) == 0) {
        printf("\n%s: none\n", title);
        return TRUE;
    }
    printf("\n%s: %d\n", title, PQntuples(res));
    ctl_support_print_table(res, -1, (int)strlen(align), headers, align, "  ");
    return TRUE;
}

/* ctl_show_text - "key: value" lines, then one table per kind of row. */
static int
ctl_show_text(PGconn *conn, const char *id, GError **error)
{
    const char *params[] = { id };
    g_autoptr(PGresult) res = ctl_support_exec(conn, ctl_show_sql_message, 1, params, error);
    int width = 0;

    if (res == NULL)
        return 1;
    if (PQntuples(res) == 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "no message %s", id);
        return 1;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(ctl_show_keys); i++)
        width = MAX(width, (int)strlen(ctl_show_keys[i]) + 1);
    for (gsize i = 0; i < G_N_ELEMENTS(ctl_show_keys); i++) {
        g_autofree char *key = g_strconcat(ctl_show_keys[i], ":", NULL);
        g_autofree char *value = ctl_printable(PQgetvalue(res, 0, (int)i));

        printf("%-*s %s\n", width, key, value);
    }
    if (!ctl_show_section(conn, "bounces", ctl_show_sql_bounces, id, ctl_show_bounce_headers,
                          "rllllllll", error) ||
        !ctl_show_section(conn, "complaints", ctl_show_sql_complaints, id,
                          ctl_show_complaint_headers, "rllll", error) ||
        !ctl_show_section(conn, "auto-reply decisions", ctl_show_sql_autoreplies, id,
                          ctl_show_autoreply_headers, "rlllll", error) ||
        !ctl_show_section(conn, "outbox", ctl_show_sql_outbox, id, ctl_show_outbox_headers,
                          "rlllllrl", error))
        return 1;
    return 0;
}

/* ctl_show_raw - the stored bytes, exactly, to stdout (binary result, no
 * escaping on the way). */
static int
ctl_show_raw(PGconn *conn, const char *id, GError **error)
{
    const char *params[] = { id };
    g_autoptr(PGresult) res = PQexecParams(conn,
        "SELECT raw, coalesce(to_char(purged_at, 'YYYY-MM-DD HH24:MI:SSOF'), '')"
        "  FROM inbound_messages WHERE id = $1::bigint", 1, NULL, params, NULL, NULL, 1);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_support_db_error(conn, res, error);
        return 1;
    }
    if (PQntuples(res) == 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "no message %s", id);
        return 1;
    }
    if (PQgetisnull(res, 0, 0)) {
        g_autofree char *when = g_strndup(PQgetvalue(res, 0, 1), PQgetlength(res, 0, 1));

        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "message %s was purged%s%s: its bytes are no longer stored", id,
                    when[0] != '\0' ? " at " : "", when);
        return 1;
    }
    if (fwrite(PQgetvalue(res, 0, 0), 1, PQgetlength(res, 0, 0), stdout) != (size_t)PQgetlength(res, 0, 0) ||
        fflush(stdout) != 0) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "cannot write to stdout");
        return 1;
    }
    return 0;
}

int
ctl_show_main(int argc, char **argv)
{
    g_autofree char *config = NULL;
    g_autofree char *conninfo = NULL;
    gboolean json = FALSE;
    gboolean raw = FALSE;
    g_autoptr(GOptionContext) context = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = NULL;
    int status;
    GOptionEntry entries[] = {
        { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "print one JSON object, every field", NULL },
        { "raw", 'r', 0, G_OPTION_ARG_NONE, &raw, "print the stored message itself", NULL },
        CTL_DB_OPTIONS(&config, &conninfo),
        { NULL },
    };

    context = g_option_context_new("ID - one received message and what was recorded from it");
    g_option_context_set_description(context,
        "ID is the inbound message id (inbound_id in bounces, events and the\n"
        "outbox; id in 'bouncerctl bounces --json'). --raw prints the bytes as\n"
        "received, while they are kept (see [retention] in bouncer.conf).\n"
        "Exit status: 0 ok, 1 failure (no such message, bytes purged), 2 usage.");
    g_option_context_add_main_entries(context, entries, NULL);
    g_set_prgname("bouncerctl show");
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerctl show: %s\n", error->message);
        return 2;
    }
    if (argc != 2) {
        fprintf(stderr, "bouncerctl show: %s\n",
                argc < 2 ? "give the message ID" : "one message ID at a time");
        return 2;
    }
    if (json && raw) {
        fprintf(stderr, "bouncerctl show: --json and --raw exclude each other\n");
        return 2;
    }
    if (!ctl_support_check_count("message ID", argv[1], G_MAXINT64, NULL, &error)) {
        fprintf(stderr, "bouncerctl show: %s\n", error->message);
        return 2;
    }
    conn = ctl_connect(config, conninfo, &error);
    if (conn == NULL) {
        fprintf(stderr, "bouncerctl show: %s\n", error->message);
        return 1;
    }
    if (raw) {
        status = ctl_show_raw(conn, argv[1], &error);
    } else if (json) {
        const char *params[] = { argv[1] };
        g_autoptr(PGresult) res = ctl_support_exec(conn, ctl_show_sql_json, 1, params, &error);

        status = 1;
        if (res != NULL && PQntuples(res) == 0)
            g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "no message %s", argv[1]);
        else if (res != NULL) {
            printf("%s\n", PQgetvalue(res, 0, 0));
            status = 0;
        }
    } else {
        status = ctl_show_text(conn, argv[1], &error);
    }
    if (status != 0)
        fprintf(stderr, "bouncerctl show: %s\n", error->message);
    return status;
}
