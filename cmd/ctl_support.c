/* ctl_support.c - what the support subcommands share (cmd/ctl_support.h). */
#include "cmd/ctl_support.h"

#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"
#include "common/error.h"

/* ctl_support_check_count - digits only: g_ascii_string_to_signed() also
 * takes a sign, which a count never has. */
gboolean
ctl_support_check_count(const char *option, const char *text, gint64 max, gint64 *value_out,
                        GError **error)
{
    gint64 value = 0;

    if (text == NULL)
        return TRUE;
    if (!g_ascii_isdigit(text[0]) ||
        !g_ascii_string_to_signed(text, 10, 1, max, &value, NULL)) {
        g_autofree char *shown = ctl_printable(text);

        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s '%s' is not a whole number from 1 to %" G_GINT64_FORMAT, option, shown,
                    max);
        return FALSE;
    }
    if (value_out != NULL)
        *value_out = value;
    return TRUE;
}

/* Ages: a number and one unit letter. The limit keeps the arithmetic far
 * from overflow and any sane question inside it. */
#define CTL_SUPPORT_MAX_AGE_DAYS (100 * 366)

/* ctl_support_parse_age - "90m", "2h", "7d", "4w" before now; FALSE when
 * text is not of that shape (it may still be a date). */
static gboolean
ctl_support_parse_age(const char *text, GDateTime *now, GDateTime **when_out, gboolean *too_big)
{
    static const struct {
        char   unit;
        gint64 seconds;
    } units[] = {
        { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
    };
    gsize len = strlen(text);
    g_autofree char *digits = NULL;
    guint64 amount;

    *too_big = FALSE;
    if (len < 2 || len > 12)
        return FALSE;
    digits = g_strndup(text, len - 1);
    for (const char *p = digits; *p != '\0'; p++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
    }
    amount = g_ascii_strtoull(digits, NULL, 10);
    for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
        if (g_ascii_tolower(text[len - 1]) != units[i].unit)
            continue;
        if (amount > (guint64)CTL_SUPPORT_MAX_AGE_DAYS * 86400 / (guint64)units[i].seconds) {
            *too_big = TRUE;
            return FALSE;
        }
        *when_out = g_date_time_add_seconds(now, -(gdouble)(amount * (guint64)units[i].seconds));
        return *when_out != NULL;
    }
    return FALSE;
}

/* ctl_support_parse_iso - the ISO 8601 shapes people type: a date, or a
 * date and a time (T or a space between, seconds optional) with an
 * optional offset. GLib's parser wants seconds and a time, so the text is
 * completed first and GLib checks the ranges. */
static GDateTime *
ctl_support_parse_iso(const char *text)
{
    g_autoptr(GRegex) re = g_regex_new(
        "^(\\d{4}-\\d{2}-\\d{2})"
        "(?:[T ](\\d{2}:\\d{2})(:\\d{2}(?:\\.\\d{1,6})?)?"
        "(Z|[+-]\\d{2}(?::?\\d{2})?)?)?$", G_REGEX_CASELESS, 0, NULL);
    g_autoptr(GMatchInfo) match = NULL;
    g_autoptr(GTimeZone) local = g_time_zone_new_local();
    g_autofree char *date = NULL;
    g_autofree char *hm = NULL;
    g_autofree char *sec = NULL;
    g_autofree char *zone = NULL;
    g_autofree char *full = NULL;
    g_autofree char *offset = NULL;

    if (!g_regex_match(re, text, 0, &match))
        return NULL;
    date = g_match_info_fetch(match, 1);
    hm = g_match_info_fetch(match, 2);
    sec = g_match_info_fetch(match, 3);
    zone = g_match_info_fetch(match, 4);
    if (zone != NULL && (zone[0] == '+' || zone[0] == '-')) {
        /* +01, +0100, +01:00 -> +01:00 */
        const char *mm = strlen(zone) == 3 ? "00" : zone + strlen(zone) - 2;

        offset = g_strdup_printf("%.3s:%s", zone, mm);
    } else if (zone != NULL && zone[0] != '\0') {
        offset = g_strdup("Z");
    }
    full = g_strdup_printf("%sT%s%s%s", date, hm != NULL && hm[0] != '\0' ? hm : "00:00",
                           sec != NULL && sec[0] != '\0' ? sec : ":00",
                           offset != NULL ? offset : "");
    return g_date_time_new_from_iso8601(full, local);
}

gboolean
ctl_support_parse_when(const char *option, const char *text, char **iso_out, GError **error)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autoptr(GDateTime) when = NULL;
    g_autofree char *shown = NULL;
    gboolean too_big = FALSE;

    if (text != NULL && !ctl_support_parse_age(text, now, &when, &too_big) && !too_big)
        when = ctl_support_parse_iso(text);
    if (when != NULL) {
        *iso_out = g_date_time_format(when, "%Y-%m-%dT%H:%M:%S.%f%:z");
        return TRUE;
    }
    shown = ctl_printable(text != NULL ? text : "");
    if (too_big)
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s '%s' reaches back more than %d days", option, shown,
                    CTL_SUPPORT_MAX_AGE_DAYS);
    else
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s '%s' is neither an age (90m, 2h, 7d, 4w) nor an ISO 8601 date or time "
                    "(2026-03-01, 2026-03-01T09:30, '2026-03-01 09:30:00+01:00')", option, shown);
    return FALSE;
}

void
ctl_support_print_table(PGresult *res, int n_rows, int n_columns, const char *const *headers,
                        const char *align, const char *indent)
{
    int rows = n_rows < 0 ? PQntuples(res) : MIN(n_rows, PQntuples(res));
    g_autofree glong *width = g_new0(glong, n_columns);
    g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func(g_free);

    g_return_if_fail(n_columns <= PQnfields(res) && strlen(align) == (gsize)n_columns);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < n_columns; c++)
            g_ptr_array_add(cells, ctl_printable(PQgetvalue(res, r, c)));
    }
    for (int c = 0; c < n_columns; c++) {
        width[c] = g_utf8_strlen(headers[c], -1);
        for (int r = 0; r < rows; r++)
            width[c] = MAX(width[c], g_utf8_strlen(g_ptr_array_index(cells, r * n_columns + c), -1));
    }
    for (int r = -1; r < rows; r++) {
        g_autoptr(GString) line = g_string_new(indent);

        for (int c = 0; c < n_columns; c++) {
            const char *value = r < 0 ? headers[c] : g_ptr_array_index(cells, r * n_columns + c);
            glong pad = width[c] - g_utf8_strlen(value, -1);

            if (c > 0)
                g_string_append(line, "  ");
            if (align[c] == 'r')
                for (glong i = 0; i < pad; i++)
                    g_string_append_c(line, ' ');
            g_string_append(line, value);
            if (align[c] != 'r' && c + 1 < n_columns)
                for (glong i = 0; i < pad; i++)
                    g_string_append_c(line, ' ');
        }
        g_strchomp(line->str);
        printf("%s\n", line->str);
    }
}

void
ctl_support_db_error(PGconn *conn, const PGresult *res, GError **error)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    g_autofree char *message = g_strchomp(g_strdup(primary != NULL ? primary : PQerrorMessage(conn)));

    if (g_strcmp0(state, "42501") == 0) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                    "database: %s (as role %s; the bouncer_support role reads only the views in "
                    "schema support: this needs the rights of bouncer's own database user)",
                    message, PQuser(conn));
        return;
    }
    if (g_strcmp0(state, "42P01") == 0 || g_strcmp0(state, "3F000") == 0) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY,
                    "database: %s (run 'bouncerctl migrate': the schema is older than this "
                    "bouncerctl)", message);
        return;
    }
    g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database: %s", message);
}

PGresult *
ctl_support_exec(PGconn *conn, const char *sql, int n_params, const char *const *params,
                 GError **error)
{
    PGresult *res = PQexecParams(conn, sql, n_params, NULL, params, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);

    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    ctl_support_db_error(conn, res, error);
    PQclear(res);
    return NULL;
}

gboolean
ctl_support_print_json_lines(PGconn *conn, const char *sql, int n_params,
                             const char *const *params, int json_column, gint64 *rows_out,
                             GError **error)
{
    PGresult *res;
    gboolean ok = TRUE;
    gint64 rows = 0;

    if (!PQsendQueryParams(conn, sql, n_params, NULL, params, NULL, NULL, 0) ||
        !PQsetSingleRowMode(conn)) {
        ctl_support_db_error(conn, NULL, error);
        return FALSE;
    }
    /* Read every result, also after an error, so the connection is idle. */
    while ((res = PQgetResult(conn)) != NULL) {
        ExecStatusType status = PQresultStatus(res);

        if (status == PGRES_SINGLE_TUPLE) {
            printf("%s\n", PQgetvalue(res, 0, json_column));
            rows++;
        } else if (status != PGRES_TUPLES_OK && ok) {
            ctl_support_db_error(conn, res, error);
            ok = FALSE;
        }
        PQclear(res);
    }
    if (rows_out != NULL)
        *rows_out = rows;
    return ok;
}
