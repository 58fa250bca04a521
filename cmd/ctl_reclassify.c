/* ctl_reclassify.c - `bouncerctl reclassify`: read the stored reports again
 * with today's parser and rules, and correct the bounces rows whose
 * classification changed.
 *
 *   bouncerctl reclassify [--since WHEN] [--dry-run]
 *
 * Examined: messages to the bounce, postmaster and fbl mailboxes whose
 * bytes are still stored (retention purges them). A recipient of the new
 * parse is matched to the bounces row of that message with the same
 * address (the n-th occurrence to the n-th row). When its status, reason,
 * hard, bounce_type, bounce_subtype or rule differ, the row is updated and
 * a 'bounce.reclassified' event (bounce_id, old, new) is written in the
 * same transaction; the update only applies if the row still holds what
 * was read. Suppressions and forwards already made are left alone: the
 * event tells the app. Rows the parser no longer finds, and recipients it
 * finds now that were never recorded, are counted, not changed.
 *
 * Exit status: 0 ok, 1 failure, 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/bounce_report.h"
#include "bouncer/bounce_store.h"
#include "cmd/ctl.h"
#include "cmd/ctl_support.h"
#include "common/db.h"

#define CTL_RECLASSIFY_PAGE "500"

/* The classification, in the order of the SQL below. */
enum {
    CTL_FIELD_STATUS, CTL_FIELD_REASON, CTL_FIELD_HARD, CTL_FIELD_TYPE, CTL_FIELD_SUBTYPE,
    CTL_FIELD_RULE, CTL_N_FIELDS,
};
static const char *const ctl_reclassify_fields[CTL_N_FIELDS] = {
    "status", "reason", "hard", "bounce_type", "bounce_subtype", "rule",
};

/* Stored reports after $1 (id order), received at or after $2. */
static const char ctl_reclassify_sql_page[] =
    "SELECT id FROM inbound_messages"
    " WHERE raw IS NOT NULL AND mailbox IN ('bounce', 'postmaster', 'fbl')"
    "   AND id > $1::bigint AND ($2::timestamptz IS NULL OR received_at >= $2::timestamptz)"
    " ORDER BY id LIMIT " CTL_RECLASSIFY_PAGE;

static const char ctl_reclassify_sql_raw[] =
    "SELECT raw FROM inbound_messages WHERE id = $1::bigint AND raw IS NOT NULL";

static const char ctl_reclassify_sql_rows[] =
    "SELECT id, recipient, status, reason, CASE WHEN hard THEN 't' ELSE 'f' END,"
    "       bounce_type, bounce_subtype, rule"
    "  FROM bounces WHERE inbound_id = $1::bigint ORDER BY id";

/* $1 bounce id, $2..$7 new, $8..$13 old: updated only when unchanged since
 * read, and the event in the same statement. */
static const char ctl_reclassify_sql_update[] =
    "WITH u AS ("
    "  UPDATE bounces SET status = $2, reason = $3, hard = $4::boolean, bounce_type = $5,"
    "         bounce_subtype = $6, rule = $7"
    "   WHERE id = $1::bigint AND status = $8 AND reason = $9 AND hard = $10::boolean"
    "     AND bounce_type = $11 AND bounce_subtype = $12 AND rule = $13"
    "  RETURNING id, org_id, message_id, recipient, inbound_id)"
    " INSERT INTO events (type, org_id, payload)"
    " SELECT 'bounce.reclassified', u.org_id, jsonb_build_object("
    "        'type', 'bounce.reclassified', 'time', now(), 'org_id', u.org_id,"
    "        'message_id', u.message_id, 'recipient', u.recipient, 'inbound_id', u.inbound_id,"
    "        'bounce_id', u.id,"
    "        'old', jsonb_build_object('status', $8::text, 'reason', $9::text,"
    "               'hard', $10::boolean, 'bounce_type', $11::text, 'bounce_subtype', $12::text,"
    "               'rule', $13::text),"
    "        'new', jsonb_build_object('status', $2::text, 'reason', $3::text,"
    "               'hard', $4::boolean, 'bounce_type', $5::text, 'bounce_subtype', $6::text,"
    "               'rule', $7::text))"
    "   FROM u"
    " RETURNING id";

typedef struct {
    gint64   messages;    /* reports read again */
    gint64   rows;        /* bounces rows of those */
    gint64   changed;     /* rows updated (or, dry run, that would be) */
    gint64   raced;       /* rows changed by someone else meanwhile: left */
    gint64   unmatched;   /* rows the new parse no longer names */
    gint64   unrecorded;  /* recipients the new parse names without a row */
} CtlReclassifyCounts;

typedef struct {
    gboolean            dry_run;
    CtlReclassifyCounts counts;     /* committed (or, dry run, found) */
    CtlReclassifyCounts pending;    /* of the message in hand, until its COMMIT */
    GString            *lines;      /* what to print once the message is committed */
} CtlReclassify;

/* ctl_reclassify_new_fields - what the row would hold now. */
static void
ctl_reclassify_new_fields(const BounceRecipient *r, const char *fields[CTL_N_FIELDS])
{
    fields[CTL_FIELD_STATUS] = r->status != NULL ? r->status : "";
    fields[CTL_FIELD_REASON] = r->reason != NULL ? r->reason : "";
    fields[CTL_FIELD_HARD] = r->hard ? "t" : "f";
    fields[CTL_FIELD_TYPE] = r->bounce_type != NULL ? r->bounce_type : "";
    fields[CTL_FIELD_SUBTYPE] = r->bounce_subtype != NULL ? r->bounce_subtype : "";
    fields[CTL_FIELD_RULE] = r->rule != NULL ? r->rule : "";
}

static const char *
ctl_reclassify_shown(int field, const char *value)
{
    if (field == CTL_FIELD_HARD)
        return strcmp(value, "t") == 0 ? "yes" : "no";
    return value[0] != '\0' ? value : "''";
}

/* ctl_reclassify_apply - one changed row: update and event, or in a dry
 * run only the line saying so. */
static gboolean
ctl_reclassify_apply(CtlReclassify *rc, PGconn *conn, PGresult *rows, int row,
                     const char *message_id, const char *fields[CTL_N_FIELDS], GError **error)
{
    g_autoptr(GString) what = g_string_new(NULL);
    g_autofree char *recipient = ctl_printable(PQgetvalue(rows, row, 1));
    const char *bounce_id = PQgetvalue(rows, row, 0);

    for (int f = 0; f < CTL_N_FIELDS; f++) {
        const char *old = PQgetvalue(rows, row, 2 + f);
        g_autofree char *old_shown = NULL;
        g_autofree char *new_shown = NULL;

        if (strcmp(old, fields[f]) == 0)
            continue;
        old_shown = ctl_printable(ctl_reclassify_shown(f, old));
        new_shown = ctl_printable(ctl_reclassify_shown(f, fields[f]));
        g_string_append_printf(what, "%s%s %s -> %s", what->len > 0 ? ", " : "",
                               ctl_reclassify_fields[f], old_shown, new_shown);
    }
    if (!rc->dry_run) {
        const char *params[13] = { bounce_id };
        g_autoptr(PGresult) res = NULL;

        for (int f = 0; f < CTL_N_FIELDS; f++) {
            params[1 + f] = fields[f];
            params[1 + CTL_N_FIELDS + f] = PQgetvalue(rows, row, 2 + f);
        }
        res = ctl_support_exec(conn, ctl_reclassify_sql_update, 13, params, error);
        if (res == NULL) {
            g_prefix_error(error, "bounce %s: ", bounce_id);
            return FALSE;
        }
        if (PQntuples(res) == 0) {
            g_string_append_printf(rc->lines, "left bounce %s (message %s) %s: changed by "
                                   "someone else meanwhile\n", bounce_id, message_id, recipient);
            rc->pending.raced++;
            return TRUE;
        }
    }
    g_string_append_printf(rc->lines, "%s bounce %s (message %s) %s: %s\n",
                           rc->dry_run ? "would change" : "changed", bounce_id, message_id,
                           recipient, what->str);
    rc->pending.changed++;
    return TRUE;
}

/* ctl_reclassify_message - parse one stored report again and compare it
 * with its rows; the changes of one message in one transaction. */
static gboolean
ctl_reclassify_message(CtlReclassify *rc, PGconn *conn, const char *id, GError **error)
{
    const char *params[] = { id };
    g_autoptr(PGresult) raw = PQexecParams(conn, ctl_reclassify_sql_raw, 1, NULL, params, NULL,
                                           NULL, 1);
    g_autoptr(PGresult) rows = NULL;
    g_autoptr(BounceReport) report = NULL;
    g_autoptr(GPtrArray) recipients = g_ptr_array_new();
    g_autofree gboolean *matched = NULL;
    g_autofree char *sender = NULL;
    BounceRecipient autoreply = { 0 };
    int n_rows;

    if (PQresultStatus(raw) != PGRES_TUPLES_OK) {
        ctl_support_db_error(conn, raw, error);
        return FALSE;
    }
    if (PQntuples(raw) == 0)
        return TRUE;                    /* purged since the page was read */
    report = bounce_report_parse(PQgetvalue(raw, 0, 0), PQgetlength(raw, 0, 0));
    g_clear_pointer(&raw, PQclear);

    /* The recipients bounce_store records rows for: none for ordinary mail,
     * unreadable mail and complaints (those are complaints rows). */
    if (report->kind == BOUNCE_KIND_AUTOREPLY && report->recipients->len == 0) {
        sender = bounce_store_sender_address(report->from);
        autoreply = (BounceRecipient){ .addr = sender, .action = "", .reason = "vacation",
                                       .rule = "autoreply" };
        g_ptr_array_add(recipients, &autoreply);
    } else if (report->kind != BOUNCE_KIND_NOTBOUNCE && report->kind != BOUNCE_KIND_UNPARSEABLE &&
               report->kind != BOUNCE_KIND_ARF) {
        for (guint i = 0; i < report->recipients->len; i++)
            g_ptr_array_add(recipients, g_ptr_array_index(report->recipients, i));
    }

    rows = ctl_support_exec(conn, ctl_reclassify_sql_rows, 1, params, error);
    if (rows == NULL)
        return FALSE;
    n_rows = PQntuples(rows);
    rc->pending = (CtlReclassifyCounts){ .messages = 1, .rows = n_rows };
    g_string_truncate(rc->lines, 0);
    matched = g_new0(gboolean, n_rows + 1);
    if (!rc->dry_run && !db_exec_ok(conn, "BEGIN", error))
        return FALSE;
    for (guint i = 0; i < recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(recipients, i);
        g_autofree char *addr = g_utf8_strdown(r->addr != NULL ? r->addr : "", -1);
        const char *fields[CTL_N_FIELDS];
        int row = -1;

        for (int k = 0; k < n_rows && row < 0; k++) {
            g_autofree char *stored = g_utf8_strdown(PQgetvalue(rows, k, 1), -1);

            if (!matched[k] && strcmp(stored, addr) == 0)
                row = k;
        }
        if (row < 0) {
            rc->pending.unrecorded++;
            continue;
        }
        matched[row] = TRUE;
        ctl_reclassify_new_fields(r, fields);
        for (int f = 0; f < CTL_N_FIELDS; f++) {
            if (strcmp(PQgetvalue(rows, row, 2 + f), fields[f]) != 0) {
                if (!ctl_reclassify_apply(rc, conn, rows, row, id, fields, error)) {
                    db_exec_ok(conn, "ROLLBACK", NULL);
                    return FALSE;
                }
                break;
            }
        }
    }
    for (int k = 0; k < n_rows; k++)
        rc->pending.unmatched += !matched[k];
    if (!rc->dry_run && !db_commit(conn, error)) {
        g_prefix_error(error, "message %s: ", id);
        return FALSE;
    }
    /* Said only once it holds. */
    fputs(rc->lines->str, stdout);
    rc->counts.messages += rc->pending.messages;
    rc->counts.rows += rc->pending.rows;
    rc->counts.changed += rc->pending.changed;
    rc->counts.raced += rc->pending.raced;
    rc->counts.unmatched += rc->pending.unmatched;
    rc->counts.unrecorded += rc->pending.unrecorded;
    return TRUE;
}

/* ctl_reclassify_run - page through the stored reports in id order. */
static gboolean
ctl_reclassify_run(CtlReclassify *rc, PGconn *conn, const char *since, GError **error)
{
    g_autofree char *after = g_strdup("0");

    for (;;) {
        const char *params[] = { after, since };
        g_autoptr(PGresult) page = ctl_support_exec(conn, ctl_reclassify_sql_page, 2, params,
                                                    error);
        int n;

        if (page == NULL)
            return FALSE;
        n = PQntuples(page);
        for (int i = 0; i < n; i++) {
            if (!ctl_reclassify_message(rc, conn, PQgetvalue(page, i, 0), error))
                return FALSE;
        }
        fflush(stdout);
        if (n < atoi(CTL_RECLASSIFY_PAGE))
            return TRUE;
        g_free(after);
        after = g_strdup(PQgetvalue(page, n - 1, 0));
    }
}

int
ctl_reclassify_main(int argc, char **argv)
{
    g_autofree char *config = NULL;
    g_autofree char *conninfo = NULL;
    g_autofree char *since_text = NULL;
    g_autofree char *since = NULL;
    g_autoptr(GOptionContext) context = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(PGconn) conn = NULL;
    g_autoptr(GString) notes = g_string_new(NULL);
    g_autoptr(GString) lines = g_string_new(NULL);
    CtlReclassify rc = { .lines = lines };
    GOptionEntry entries[] = {
        { "since", 's', 0, G_OPTION_ARG_STRING, &since_text,
          "only reports received at or after WHEN (2h, 7d, 2026-03-01, ...)", "WHEN" },
        { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &rc.dry_run,
          "change nothing; print what would change", NULL },
        CTL_DB_OPTIONS(&config, &conninfo),
        { NULL },
    };
    const CtlReclassifyCounts *c = &rc.counts;

    context = g_option_context_new("- classify the stored bounces again with today's rules");
    g_option_context_set_description(context,
        "Reads again every report to the bounce, postmaster and fbl mailboxes\n"
        "whose bytes are still stored, and updates the bounces rows whose status,\n"
        "reason, hard, bounce_type, bounce_subtype or rule changed, writing a\n"
        "'bounce.reclassified' event (bounce_id, old, new) for each. Suppressions\n"
        "and forwards already made stay as they are. Prints one line per change\n"
        "and a summary.\n"
        "WHEN is an age (90m, 2h, 7d, 4w) or an ISO 8601 date or time.\n"
        "Exit status: 0 ok, 1 failure, 2 usage.");
    g_option_context_add_main_entries(context, entries, NULL);
    g_set_prgname("bouncerctl reclassify");
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerctl reclassify: %s\n", error->message);
        return 2;
    }
    if (argc > 1) {
        fprintf(stderr, "bouncerctl reclassify: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (since_text != NULL && !ctl_support_parse_when("--since", since_text, &since, &error)) {
        fprintf(stderr, "bouncerctl reclassify: %s\n", error->message);
        return 2;
    }
    conn = ctl_connect(config, conninfo, &error);
    if (conn == NULL || !ctl_reclassify_run(&rc, conn, since, &error)) {
        fprintf(stderr, "bouncerctl reclassify: %s\n", error->message);
        if (c->changed > 0 && !rc.dry_run)
            fprintf(stderr, "bouncerctl reclassify: %" G_GINT64_FORMAT " row(s) were changed "
                    "before the failure and stay changed\n", c->changed);
        return 1;
    }
    if (c->raced > 0)
        g_string_append_printf(notes, ", %" G_GINT64_FORMAT " left (changed meanwhile)", c->raced);
    if (c->unmatched > 0)
        g_string_append_printf(notes, ", %" G_GINT64_FORMAT " row(s) the parser no longer "
                               "finds (left as they are)", c->unmatched);
    if (c->unrecorded > 0)
        g_string_append_printf(notes, ", %" G_GINT64_FORMAT " recipient(s) found now that were "
                               "never recorded (not added)", c->unrecorded);
    printf("examined %" G_GINT64_FORMAT " message(s) with %" G_GINT64_FORMAT " bounce row(s): "
           "%" G_GINT64_FORMAT " %s%s\n", c->messages, c->rows, c->changed,
           rc.dry_run ? "would change (dry run: nothing written)" : "changed", notes->str);
    return 0;
}
