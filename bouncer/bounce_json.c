/* bounce_json.c - a report as the JSON object `bouncerctl parse` prints.
 *
 * Written straight into one buffer: building a json-glib tree for every
 * message cost more than the rest of the output. The bytes are those
 * json-glib's generator gives (1.6: its escaping, its " : " and two-space
 * indent when pretty), which tests/unit/test_bounce_json.c holds it to. */
#include <string.h>

#include "bouncer/bounce_private.h"

typedef struct {
    GString *out;
    gboolean pretty;
    guint level;              /* nesting of the value being written */
    gboolean first;           /* no member or element yet at this level */
} JsonWriter;

/* json_escape - as json-glib's json_strescape(): quotes, backslashes,
 * control characters and DEL; all other bytes go out as they are. One
 * difference: json-glib leaves 0x1f as it is, which is not JSON (RFC 8259
 * section 7: every control character is escaped) and which PostgreSQL
 * refuses, so a diagnostic holding one could never be stored. */
#define J_ROW16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
/* json_plain - 1 for a byte that goes out as it is (not NUL, which ends
 * the string). */
static const guint8 json_plain[256] = {
    J_ROW16(0), J_ROW16(0),                                 /* 0x00-0x1f */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         /* 0x20-0x2f: '"' */
    J_ROW16(1), J_ROW16(1),                                 /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,         /* 0x50-0x5f: '\\' */
    J_ROW16(1),                                             /* 0x60-0x6f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,         /* 0x70-0x7f: DEL */
    J_ROW16(1), J_ROW16(1), J_ROW16(1), J_ROW16(1),         /* 0x80-0xff */
    J_ROW16(1), J_ROW16(1), J_ROW16(1), J_ROW16(1),
};
#undef J_ROW16

/* json_put - n bytes onto out: in place when they fit (every member of a
 * report is a few appends, and GLib's own append is a call that measures
 * and checks each one), else by GLib. */
static inline void
json_put(GString *out, const char *s, gsize n)
{
    if (G_LIKELY(out->len + n < out->allocated_len)) {
        memcpy(out->str + out->len, s, n);
        out->len += n;
        out->str[out->len] = '\0';
    } else {
        g_string_append_len(out, s, (gssize)n);
    }
}

/* json_puts - a string literal onto out. */
#define json_puts(out, lit) json_put((out), "" lit, sizeof(lit) - 1)

static void
json_escape(GString *out, const char *s)
{
    const char *run = s;

    for (const char *p = s;; p++) {
        unsigned char c;

        while (json_plain[(unsigned char)*p])
            p++;
        c = (unsigned char)*p;
        json_put(out, run, (gsize)(p - run));
        if (c == '\0')
            return;
        run = p + 1;
        switch (c) {
        case '\\': json_puts(out, "\\\\"); break;
        case '"': json_puts(out, "\\\""); break;
        case '\b': json_puts(out, "\\b"); break;
        case '\f': json_puts(out, "\\f"); break;
        case '\n': json_puts(out, "\\n"); break;
        case '\r': json_puts(out, "\\r"); break;
        case '\t': json_puts(out, "\\t"); break;
        default: g_string_append_printf(out, "\\u00%02x", c); break;
        }
    }
}

void
bounce_json_append_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    json_escape(out, s != NULL ? s : "");
    g_string_append_c(out, '"');
}

static void
json_indent(JsonWriter *w, guint level)
{
    if (w->pretty) {
        for (guint i = 0; i < level * 2; i++)
            g_string_append_c(w->out, ' ');
    }
}

/* json_member - the separator before a member, its indent and name. */
static void
json_member(JsonWriter *w, const char *name)
{
    if (!w->first)
        g_string_append_c(w->out, ',');
    if (w->pretty)
        g_string_append_c(w->out, '\n');
    w->first = FALSE;
    json_indent(w, w->level + 1);
    /* Member names are this file's own words: nothing to escape. */
    g_string_append_c(w->out, '"');
    json_put(w->out, name, strlen(name));
    if (w->pretty)
        json_puts(w->out, "\" : ");
    else
        json_puts(w->out, "\":");
}

/* json_open, json_close - an object's braces; members come between. */
static void
json_open(JsonWriter *w)
{
    g_string_append_c(w->out, '{');
    w->first = TRUE;
}

static void
json_close(JsonWriter *w)
{
    if (w->pretty && !w->first)
        g_string_append_c(w->out, '\n');
    json_indent(w, w->level);
    g_string_append_c(w->out, '}');
    w->first = FALSE;
}

static void
json_string(JsonWriter *w, const char *value)
{
    g_string_append_c(w->out, '"');
    json_escape(w->out, value);
    g_string_append_c(w->out, '"');
}

/* json_str - strings are never null in the recipient objects: "" instead,
 * so consumers need no null checks. */
static void
json_str(JsonWriter *w, const char *name, const char *value)
{
    json_member(w, name);
    json_string(w, value != NULL ? value : "");
}

/* json_opt - optional strings: null when absent. */
static void
json_opt(JsonWriter *w, const char *name, const char *value)
{
    json_member(w, name);
    if (value != NULL)
        json_string(w, value);
    else
        json_puts(w->out, "null");
}

/* json_recipient - one element of "recipients", at the writer's level. */
static void
json_recipient(JsonWriter *w, const BounceRecipient *r)
{
    json_open(w);
    json_str(w, "addr", r->addr);
    json_str(w, "status", r->status);
    json_str(w, "replycode", r->replycode);
    json_str(w, "reason", r->reason);
    json_member(w, "hard");
    if (r->hard)
        json_puts(w->out, "true");
    else
        json_puts(w->out, "false");
    json_str(w, "action", r->action);
    json_str(w, "diagnostic", r->diagnostic);
    json_str(w, "remote_mta", r->remote_mta);
    json_str(w, "bounce_type", r->bounce_type);
    json_str(w, "bounce_subtype", r->bounce_subtype);
    json_opt(w, "feedbacktype", r->feedbacktype);
    json_str(w, "rule", r->rule);
    json_close(w);
}

char *
bounce_report_to_json(const BounceReport *report, const char *file, gboolean pretty)
{
    JsonWriter w = { g_string_sized_new(1024), pretty, 0, TRUE };
    const BounceOriginal *o = &report->original;

    json_open(&w);
    json_opt(&w, "file", file);
    json_str(&w, "kind", bounce_kind_to_string(report->kind));
    if (report->error != NULL)
        json_str(&w, "error", report->error);

    json_member(&w, "recipients");
    g_string_append_c(w.out, '[');
    for (guint i = 0; i < report->recipients->len; i++) {
        if (i > 0)
            g_string_append_c(w.out, ',');
        if (pretty)
            g_string_append_c(w.out, '\n');
        w.level = 2;
        json_indent(&w, w.level);
        json_recipient(&w, g_ptr_array_index(report->recipients, i));
    }
    if (report->recipients->len > 0) {
        if (pretty)
            g_string_append_c(w.out, '\n');
        json_indent(&w, 1);
    }
    g_string_append_c(w.out, ']');

    w.level = 0;
    w.first = FALSE;
    json_member(&w, "original");
    w.level = 1;
    json_open(&w);
    json_opt(&w, "message_id", o->message_id);
    json_opt(&w, "return_path", o->return_path);
    json_opt(&w, "from", o->from);
    json_opt(&w, "to", o->to);
    json_opt(&w, "subject", o->subject);
    json_opt(&w, "in_reply_to", o->in_reply_to);
    json_opt(&w, "references", o->references);
    json_close(&w);

    w.level = 0;
    json_close(&w);
    return g_string_free(w.out, FALSE);
}
