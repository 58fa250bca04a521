/* test_autoreply.c - the auto-reply decision (every rule, LF and CRLF
 * input), the composed reply (exactly the promised header fields, no
 * injection from the original), the "Auto:" prefix, References, and the
 * templates (placeholders, loading, load errors). */
#include <string.h>

#include <glib/gstdio.h>

#include "autoreply/autoreply.h"
#include "common/gmime_autoptr.h"
#include "tests/unit/testutil.h"

#define REPLY_MAILBOX "messageservice@post.example.com"

static const char *const own_domains[] = {
    "post.example.com", "notifications.example.com", NULL,
};
static const AutoreplyPolicy policy = { own_domains };

/* A person writing to the reply mailbox; rows add fields to it. */
#define BASE_FROM    "From: Anna Berg <anna@customer.example>\n"
#define BASE_REST \
    "To: \"Joe Bloggs Ltd\" <" REPLY_MAILBOX ">\n" \
    "Subject: Question about invoice 1234\n" \
    "Date: Tue, 6 Jan 2026 09:13:58 +0100\n" \
    "Message-ID: <m1@customer.example>\n"
#define BASE_BODY    "\nHello, is this paid?\n"

/* to_crlf - every LF made CRLF. (transfer full) */
static char *
to_crlf(const char *text)
{
    GString *out = g_string_new(NULL);

    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\n')
            g_string_append_c(out, '\r');
        g_string_append_c(out, *p);
    }
    return g_string_free(out, FALSE);
}

/* base_message - the person's message with extra fields (LF ends) and,
 * when from is not NULL, another From: line. (transfer full) */
static char *
base_message(const char *from, const char *extra)
{
    return g_strconcat(from != NULL ? from : BASE_FROM, BASE_REST, extra != NULL ? extra : "",
                       BASE_BODY, NULL);
}

/* --- decide: one row per rule and per near miss ----------------------- */

typedef struct {
    const char *name;
    const char *envelope;     /* MAIL FROM; NULL: unknown */
    const char *from;         /* From: line, NULL for BASE_FROM */
    const char *extra;        /* fields added after the base ones */
    gboolean    automated;
    const char *want_rule;    /* "reply" for a reply */
} DecideCase;

#define PERSON "anna@customer.example"

static const DecideCase decide_cases[] = {
    { "person",                  PERSON, NULL, NULL, FALSE, "reply" },
    { "person angle brackets",   "<" PERSON ">", NULL, NULL, FALSE, "reply" },
    { "person upper domain",     "anna@Customer.EXAMPLE", NULL, NULL, FALSE, "reply" },
    /* RFC 3834 §2: never the null sender */
    { "null sender empty",       "", NULL, NULL, FALSE, "null-sender" },
    { "null sender brackets",    "<>", NULL, NULL, FALSE, "null-sender" },
    { "null sender spaces",      "  <>  ", NULL, NULL, FALSE, "null-sender" },
    { "null sender beats list",  "<>", NULL, "List-Id: <x.lists.example>\n", TRUE, "null-sender" },
    /* our own domains and their subdomains */
    { "own reply domain",        "someone@post.example.com", NULL, NULL, FALSE, "own-domain" },
    { "own bounce domain",       "b123@Notifications.Example.COM", NULL, NULL, FALSE, "own-domain" },
    { "own subdomain",           "x@mx1.post.example.com", NULL, NULL, FALSE, "own-domain" },
    { "not own: suffix only",    "x@evilpost.example.com", NULL, NULL, FALSE, "reply" },
    { "not own: parent",         "x@example.com", NULL, NULL, FALSE, "reply" },
    /* Auto-Submitted and the older marks */
    { "auto-replied",            PERSON, NULL, "Auto-Submitted: auto-replied\n", FALSE, "auto-submitted" },
    { "auto-generated",          PERSON, NULL, "Auto-Submitted: auto-generated\n", FALSE, "auto-submitted" },
    { "auto-notified",           PERSON, NULL, "auto-submitted: Auto-Notified; owner-email=x@y\n", FALSE, "auto-submitted" },
    { "auto-submitted empty",    PERSON, NULL, "Auto-Submitted:\n", FALSE, "auto-submitted" },
    { "auto-submitted no",       PERSON, NULL, "Auto-Submitted: no\n", FALSE, "reply" },
    { "auto-submitted No comment", PERSON, NULL, "Auto-Submitted: No (typed by a person)\n", FALSE, "reply" },
    { "auto-submitted folded",   PERSON, NULL, "Auto-Submitted:\n auto-replied\n", FALSE, "auto-submitted" },
    { "second auto-submitted",   PERSON, NULL, "Auto-Submitted: no\nAuto-Submitted: auto-replied\n", FALSE, "auto-submitted" },
    { "x-autoreply",             PERSON, NULL, "X-Autoreply: yes\n", FALSE, "auto-submitted" },
    { "x-autorespond",           PERSON, NULL, "X-Autorespond: Out of office\n", FALSE, "auto-submitted" },
    { "x-mailer-daemon",         PERSON, NULL, "X-Mailer-Daemon: 1\n", FALSE, "auto-submitted" },
    /* Precedence */
    { "precedence bulk",         PERSON, NULL, "Precedence: bulk\n", FALSE, "precedence" },
    { "precedence junk",         PERSON, NULL, "Precedence: JUNK\n", FALSE, "precedence" },
    { "precedence list",         PERSON, NULL, "Precedence: list\n", FALSE, "precedence" },
    { "precedence auto_reply",   PERSON, NULL, "Precedence: auto_reply\n", FALSE, "precedence" },
    { "x-precedence bulk",       PERSON, NULL, "X-Precedence: bulk\n", FALSE, "precedence" },
    { "precedence first-class",  PERSON, NULL, "Precedence: first-class\n", FALSE, "reply" },
    { "precedence bulky",        PERSON, NULL, "Precedence: bulky\n", FALSE, "reply" },
    /* any List-* field (RFC 2369, RFC 2919) */
    { "list-id",                 PERSON, NULL, "List-Id: Accounts <accounts.lists.example>\n", FALSE, "list-header" },
    { "list-unsubscribe",        PERSON, NULL, "List-Unsubscribe: <mailto:leave@lists.example>\n", FALSE, "list-header" },
    { "list-post",               PERSON, NULL, "List-Post: <mailto:accounts@lists.example>\n", FALSE, "list-header" },
    { "list-help lower case",    PERSON, NULL, "list-help: <mailto:help@lists.example>\n", FALSE, "list-header" },
    { "list-archive",            PERSON, NULL, "List-Archive: <https://lists.example/a>\n", FALSE, "list-header" },
    { "mailing-list",            PERSON, NULL, "Mailing-List: contact accounts-help@lists.example\n", FALSE, "list-header" },
    { "x-mailing-list",          PERSON, NULL, "X-Mailing-List: accounts@lists.example\n", FALSE, "list-header" },
    { "listing is no list",      PERSON, NULL, "Listing: 4\n", FALSE, "reply" },
    /* [MS-OXCMAIL] X-Auto-Response-Suppress */
    { "suppress all",            PERSON, NULL, "X-Auto-Response-Suppress: All\n", FALSE, "suppress-header" },
    { "suppress oof",            PERSON, NULL, "X-Auto-Response-Suppress: OOF\n", FALSE, "suppress-header" },
    { "suppress list autoreply", PERSON, NULL, "X-Auto-Response-Suppress: DR, RN, NRN, AutoReply\n", FALSE, "suppress-header" },
    { "suppress dr ndr",         PERSON, NULL, "X-Auto-Response-Suppress: DR, NDR\n", FALSE, "reply" },
    { "suppress none",           PERSON, NULL, "X-Auto-Response-Suppress: None\n", FALSE, "reply" },
    /* programs as envelope senders */
    { "mailer-daemon",           "MAILER-DAEMON@mx.customer.example", NULL, NULL, FALSE, "system-sender" },
    { "postmaster",              "Postmaster@customer.example", NULL, NULL, FALSE, "system-sender" },
    { "owner-list",              "owner-accounts@lists.example", NULL, NULL, FALSE, "system-sender" },
    { "list-owner",              "accounts-owner@lists.example", NULL, NULL, FALSE, "system-sender" },
    { "list-request",            "accounts-request@lists.example", NULL, NULL, FALSE, "system-sender" },
    { "request with detail",     "accounts-request+join@lists.example", NULL, NULL, FALSE, "system-sender" },
    { "noreply",                 "noreply@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "no-reply",                "no-reply@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "no_reply with detail",    "No_Reply+42@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "do-not-reply",            "do-not-reply@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "DoNotReply",              "DoNotReply@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "donotreply",              "donotreply@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "notifications-noreply",   "notifications-noreply@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "bounce",                  "bounce@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "bounces plus",            "bounces+abc=x.example@shop.example", NULL, NULL, FALSE, "system-sender" },
    { "bounce-123",              "bounce-123-456@mailer.example", NULL, NULL, FALSE, "system-sender" },
    { "listserv",                "LISTSERV@lists.example", NULL, NULL, FALSE, "system-sender" },
    { "majordomo",               "majordomo@lists.example", NULL, NULL, FALSE, "system-sender" },
    { "reply is a person",       "reply@customer.example", NULL, NULL, FALSE, "reply" },
    { "owner is a person",       "owner@customer.example", NULL, NULL, FALSE, "reply" },
    { "norah is a person",       "norah@customer.example", NULL, NULL, FALSE, "reply" },
    /* ... or as From: */
    { "from noreply",            PERSON, "From: Shop <noreply@shop.example>\n", NULL, FALSE, "system-sender" },
    { "from mailer-daemon",      PERSON, "From: Mail Delivery System <MAILER-DAEMON@mx.example>\n", NULL, FALSE, "system-sender" },
    { "from quoted name",        PERSON, "From: \"Berg, \\\"Anna\\\"\" <anna@customer.example>\n", NULL, FALSE, "reply" },
    /* the bounce parser's verdict */
    { "automated",               PERSON, NULL, NULL, TRUE, "automated" },
    { "header rule before automated", PERSON, NULL, "Precedence: bulk\n", TRUE, "precedence" },
    /* senders we cannot answer */
    { "not an address",          "Anna Berg", NULL, NULL, FALSE, "no-sender" },
    { "two at signs",            "a@b@customer.example", NULL, NULL, FALSE, "no-sender" },
    { "address list",            "<a@customer.example>, b@customer.example", NULL, NULL, FALSE, "no-sender" },
    { "source route",            "<@relay.example:a@customer.example>", NULL, NULL, FALSE, "no-sender" },
    { "crlf in sender",          "a@customer.example\r\nBcc: victim@example.com", NULL, NULL, FALSE, "no-sender" },
    { "quoted local part",       "\"a b\"@customer.example", NULL, NULL, FALSE, "no-sender" },
    { "no domain",               "anna@", NULL, NULL, FALSE, "no-sender" },
    { "empty label",             "anna@customer..example", NULL, NULL, FALSE, "no-sender" },
    { "idna domain",             "a@xn--mnchen-3ya.de", NULL, NULL, FALSE, "reply" },
    /* GMime would write these as other domains */
    { "bogus punycode",          "anna@customer.xn--example", NULL, NULL, FALSE, "no-sender" },
    { "punycode to nothing",     "a@xn--a.com", NULL, NULL, FALSE, "no-sender" },
    { "local part too long",     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.example", NULL, NULL, FALSE, "no-sender" },
    /* envelope unknown: Return-Path decides */
    { "return-path",             NULL, NULL, "Return-Path: <anna@customer.example>\n", FALSE, "reply" },
    { "return-path null",        NULL, NULL, "Return-Path: <>\n", FALSE, "null-sender" },
    { "return-path own",         NULL, NULL, "Return-Path: <b1@notifications.example.com>\n", FALSE, "own-domain" },
    { "no return-path",          NULL, NULL, NULL, FALSE, "no-sender" },
};

/* decide_check - one decision against the row; "" when right, else what
 * is wrong. (transfer full) */
static char *
decide_check(const DecideCase *c, const char *data, gsize len, const char *form)
{
    g_autoptr(AutoreplyDecision) d = autoreply_decide(&policy, c->envelope, data, len,
                                                      c->automated);

    if (d == NULL || d->rule == NULL)
        return g_strdup_printf("%s: got no decision", form);
    if (strcmp(d->rule, c->want_rule) != 0)
        return g_strdup_printf("%s: got rule %s (%s), want %s", form, d->rule,
                               d->detail != NULL ? d->detail : "-", c->want_rule);
    if (d->reply != (strcmp(c->want_rule, "reply") == 0))
        return g_strdup_printf("%s: got reply=%d with rule %s", form, d->reply, d->rule);
    if (d->reply && (d->reply_to == NULL || d->detail != NULL))
        return g_strdup_printf("%s: a reply without reply_to, or with a detail", form);
    if (!d->reply && (d->detail == NULL || *d->detail == '\0'))
        return g_strdup_printf("%s: rule %s without a detail", form, d->rule);
    if (d->detail != NULL && strpbrk(d->detail, "\r\n") != NULL)
        return g_strdup_printf("%s: detail spans lines: %s", form, d->detail);
    return g_strdup("");
}

static void
test_decide_case(gconstpointer data)
{
    const DecideCase *c = data;
    g_autofree char *lf = base_message(c->from, c->extra);
    g_autofree char *crlf = to_crlf(lf);
    g_autofree char *got_lf = decide_check(c, lf, strlen(lf), "LF");
    g_autofree char *got_crlf = decide_check(c, crlf, strlen(crlf), "CRLF");

    if (*got_lf != '\0')
        g_test_fail_printf("%s: %s", c->name, got_lf);
    if (*got_crlf != '\0')
        g_test_fail_printf("%s: %s", c->name, got_crlf);
}

/* --- decide: real-looking messages from tests/fixtures/autoreply/ ------ */

typedef struct {
    const char *file;
    const char *envelope;
    gboolean    automated;   /* what the bounce parser says of it */
    const char *want_rule;
} FixtureCase;

static const FixtureCase fixture_cases[] = {
    { "customer-reply.eml",       "anna.berg@customer.example", FALSE, "reply" },
    { "outlook-oof.eml",          "carl@corp.example",          TRUE,  "auto-submitted" },
    { "mailman-list.eml",         "accounts-chat-bounces@lists.example", FALSE, "precedence" },
    { "newsletter.eml",           "news@shop.example",          FALSE, "list-header" },
    { "noreply-notification.eml", "orders@shop.example",        FALSE, "system-sender" },
    { "dsn.eml",                  "",                           TRUE,  "null-sender" },
    { "dsn.eml",                  "MAILER-DAEMON@mx.customer.example", TRUE, "system-sender" },
    { "dsn.eml",                  "relay@mx.customer.example",  TRUE,  "system-sender" },
};

static void
test_fixtures(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(fixture_cases); i++) {
        const FixtureCase *c = &fixture_cases[i];
        g_autofree char *path = g_build_filename("tests/fixtures/autoreply", c->file, NULL);
        g_autoptr(GBytes) bytes = testutil_read_file(path);
        gsize len = 0;
        const char *data = g_bytes_get_data(bytes, &len);
        g_autoptr(AutoreplyDecision) d = autoreply_decide(&policy, c->envelope, data, len,
                                                          c->automated);

        if (g_strcmp0(d->rule, c->want_rule) != 0)
            g_test_fail_printf("%s from <%s>: got %s (%s), want %s", c->file, c->envelope,
                               d->rule, d->detail, c->want_rule);
    }
}

/* test_decision_fields - what the reply and the token lookup need. */
static void
test_decision_fields(void)
{
    g_autoptr(GBytes) bytes = testutil_read_file("tests/fixtures/autoreply/customer-reply.eml");
    gsize len = 0;
    const char *data = g_bytes_get_data(bytes, &len);
    g_autoptr(AutoreplyDecision) d = autoreply_decide(&policy, "<Anna.Berg@CUSTOMER.example>",
                                                      data, len, FALSE);
    g_autofree char *tokens = autoreply_find_token_text(d);

    g_assert_true(d->reply);
    g_assert_cmpstr(d->rule, ==, "reply");
    g_assert_null(d->detail);
    /* local part kept, domain lower case */
    g_assert_cmpstr(d->reply_to, ==, "Anna.Berg@customer.example");
    g_assert_cmpstr(d->subject, ==, "Re: Rechnung für März");
    g_assert_cmpstr(d->message_id, ==, "CAF3q+reply-1@mail.customer.example");
    g_assert_cmpstr(d->in_reply_to, ==,
                    "<bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq@post.example.com>");
    g_assert_cmpstr(d->references, ==,
                    "<bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq@post.example.com>");
    g_assert_cmpstr(tokens, ==,
                    "<bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq@post.example.com> "
                    "<bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq@post.example.com>");
}

/* test_decision_edges - no fields, folded fields, odd bytes. */
static void
test_decision_edges(void)
{
    static const char folded[] =
        "From: anna@customer.example\r\n"
        "Subject: a long\r\n\tsubject\r\n"
        "References: <r1@x.example>\r\n <r2@x.example>\r\n"
        "\r\nbody\r\n";
    g_autoptr(AutoreplyDecision) d1 = autoreply_decide(&policy, PERSON, folded,
                                                       strlen(folded), FALSE);
    g_autofree char *t1 = autoreply_find_token_text(d1);
    static const char bare[] = "From: anna@customer.example\nSubject: x\n";
    g_autoptr(AutoreplyDecision) d2 = autoreply_decide(&policy, PERSON, bare, strlen(bare), FALSE);
    g_autofree char *t2 = autoreply_find_token_text(d2);
    /* Mac line ends, and a CR CR LF from a double conversion. */
    static const char cr[] = "From: anna@customer.example\rList-Id: x\r\r\n\rbody";
    g_autoptr(AutoreplyDecision) d3 = autoreply_decide(&policy, PERSON, cr, sizeof cr - 1, FALSE);
    g_autoptr(AutoreplyDecision) d4 = autoreply_decide(&policy, PERSON, NULL, 0, FALSE);
    g_autoptr(AutoreplyDecision) d5 = autoreply_decide(&policy, PERSON, "no header here\n\nx",
                                                       17, FALSE);
    g_autoptr(AutoreplyDecision) d6 = autoreply_decide(NULL, "x@post.example.com", bare,
                                                       strlen(bare), FALSE);
    /* The List-Id after the blank line is body, not a field. */
    static const char body_field[] = "From: anna@customer.example\n\nList-Id: x\n";
    g_autoptr(AutoreplyDecision) d7 = autoreply_decide(&policy, PERSON, body_field,
                                                       strlen(body_field), FALSE);

    g_assert_cmpstr(d1->rule, ==, "reply");
    g_assert_cmpstr(d1->subject, ==, "a long subject");
    g_assert_cmpstr(d1->references, ==, "<r1@x.example> <r2@x.example>");
    g_assert_null(d1->message_id);
    g_assert_null(d1->in_reply_to);
    g_assert_cmpstr(t1, ==, " <r1@x.example> <r2@x.example>");

    g_assert_cmpstr(d2->rule, ==, "reply");
    g_assert_cmpstr(d2->subject, ==, "x");
    g_assert_cmpstr(t2, ==, " ");

    g_assert_cmpstr(d3->rule, ==, "list-header");
    g_assert_cmpstr(d4->rule, ==, "unparseable");
    g_assert_cmpstr(d4->subject, ==, "");
    g_assert_cmpstr(d5->rule, ==, "unparseable");
    /* no policy: no own domains */
    g_assert_cmpstr(d6->rule, ==, "reply");
    g_assert_cmpstr(d7->rule, ==, "reply");
}

/* --- compose ------------------------------------------------------------- */

/* parse_reply - the composed text as GMime reads it back, after checking
 * it is all CRLF. (transfer full) */
static GMimeMessage *
parse_reply(const char *text, gsize len)
{
    g_autoptr(GMimeStream) stream = NULL;
    g_autoptr(GMimeParser) parser = NULL;
    GMimeMessage *message;

    g_assert_cmpuint(strlen(text), ==, len);
    for (gsize i = 0; i < len; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            g_error("bare LF at %" G_GSIZE_FORMAT, i);
        if (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'))
            g_error("bare CR at %" G_GSIZE_FORMAT, i);
    }
    gmime_init_once();
    stream = g_mime_stream_mem_new_with_buffer(text, len);
    parser = g_mime_parser_new_with_stream(stream);
    message = g_mime_parser_construct_message(parser, NULL);
    g_assert_nonnull(message);
    return message;
}

/* raw_header_names - the names of the fields in the top header block of
 * a CRLF text, lower case, in order; a line that is neither a field nor a
 * continuation is an error. (transfer full) */
static GPtrArray *
raw_header_names(const char *text)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *end = strstr(text, "\r\n\r\n");
    const char *line = text;

    g_assert_nonnull(end);
    while (line < end + 2) {
        const char *eol = strstr(line, "\r\n");
        const char *colon = memchr(line, ':', eol - line);

        if (*line != ' ' && *line != '\t') {
            if (colon == NULL || colon == line)
                g_error("not a header field: %.*s", (int)(eol - line), line);
            for (const char *p = line; p < colon; p++) {
                if (*p <= 0x20 || *p >= 0x7f)
                    g_error("bad field name: %.*s", (int)(colon - line), line);
            }
            g_ptr_array_add(names, g_ascii_strdown(line, colon - line));
        }
        line = eol + 2;
    }
    return names;
}

/* header_count - fields named name in the top header block. */
static int
header_count(const char *text, const char *name)
{
    g_autoptr(GPtrArray) names = raw_header_names(text);
    int n = 0;

    for (guint i = 0; i < names->len; i++)
        n += g_ascii_strcasecmp(names->pdata[i], name) == 0;
    return n;
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* header_names - the top-level field names, sorted, lower case, one
 * space between. (transfer full) */
static char *
header_names(const char *text)
{
    g_autoptr(GPtrArray) names = raw_header_names(text);
    GString *out = g_string_new(NULL);

    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++)
        g_string_append_printf(out, "%s%s", i > 0 ? " " : "", (char *)names->pdata[i]);
    return g_string_free(out, FALSE);
}

/* body_text - the decoded text of a one-part message, CRLF made LF.
 * (transfer full) */
static char *
body_text(GMimeMessage *message)
{
    GMimeObject *part = g_mime_message_get_mime_part(message);
    GMimeDataWrapper *content;
    GByteArray *bytes = g_byte_array_new();
    g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_byte_array(bytes);
    gsize len;

    g_assert_true(GMIME_IS_PART(part));
    content = g_mime_part_get_content(GMIME_PART(part));
    g_mime_data_wrapper_write_to_stream(content, stream);
    len = bytes->len;
    g_byte_array_append(bytes, (const guint8 *)"", 1);
    g_assert_cmpuint(strlen((char *)bytes->data), ==, len);
    {
        GString *out = g_string_sized_new(len);

        for (gsize i = 0; i < len; i++) {
            if (bytes->data[i] != '\r' || i + 1 == len || bytes->data[i + 1] != '\n')
                g_string_append_c(out, (char)bytes->data[i]);
        }
        return g_string_free(out, FALSE);
    }
}

#define REPLY_HEADERS_ALL \
    "auto-submitted content-transfer-encoding content-type date from in-reply-to " \
    "message-id mime-version precedence references subject to x-auto-response-suppress"
#define REPLY_HEADERS_NO_IDS \
    "auto-submitted content-transfer-encoding content-type date from " \
    "message-id mime-version precedence subject to x-auto-response-suppress"

/* check_reply_shape - what every reply has: each field once and no other,
 * the fixed values, a one-part UTF-8 text. */
static void
check_reply_shape(const char *text, GMimeMessage *reply, const char *want_names,
                  const char *want_to)
{
    GMimeObject *object = GMIME_OBJECT(reply);
    g_autofree char *names = header_names(text);
    GMimeObject *part = g_mime_message_get_mime_part(reply);
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    const char *cte = g_mime_object_get_header(part, "Content-Transfer-Encoding");
    const char *message_id = g_mime_message_get_message_id(reply);
    InternetAddressList *to = g_mime_message_get_to(reply);
    InternetAddressList *from = g_mime_message_get_from(reply);

    if (strcmp(names, want_names) != 0)
        g_error("header fields: got %s, want %s", names, want_names);
    g_assert_cmpint(header_count(text, "Bcc"), ==, 0);
    g_assert_cmpint(header_count(text, "Subject"), ==, 1);
    g_assert_cmpint(internet_address_list_length(from), ==, 1);
    g_assert_cmpstr(internet_address_mailbox_get_addr(
        INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(from, 0))), ==, REPLY_MAILBOX);
    g_assert_cmpint(internet_address_list_length(to), ==, 1);
    g_assert_cmpstr(internet_address_mailbox_get_addr(
        INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 0))), ==, want_to);
    g_assert_cmpstr(g_mime_object_get_header(object, "Auto-Submitted"), ==, "auto-replied");
    g_assert_cmpstr(g_mime_object_get_header(object, "X-Auto-Response-Suppress"), ==, "All");
    g_assert_cmpstr(g_mime_object_get_header(object, "Precedence"), ==, "auto_reply");
    g_assert_cmpstr(g_mime_object_get_header(object, "MIME-Version"), ==, "1.0");
    g_assert_nonnull(g_mime_message_get_date(reply));
    g_assert_nonnull(message_id);
    g_assert_true(g_str_has_suffix(message_id, "@post.example.com"));
    g_assert_true(GMIME_IS_TEXT_PART(part));
    g_assert_cmpstr(g_mime_content_type_get_media_type(ct), ==, "text");
    g_assert_cmpstr(g_mime_content_type_get_media_subtype(ct), ==, "plain");
    g_assert_cmpstr(g_mime_content_type_get_parameter(ct, "charset"), ==, "utf-8");
    if (g_strcmp0(cte, "quoted-printable") != 0 && g_strcmp0(cte, "7bit") != 0
        && g_strcmp0(cte, "8bit") != 0)
        g_error("Content-Transfer-Encoding: got %s, want quoted-printable, 7bit or 8bit", cte);
}

/* compose_for - decide on data from PERSON, then compose; the decision
 * must say reply. (transfer full) */
static char *
compose_for(const char *data, gsize len, const char *org_name, const char *org_reply_to,
            gsize *len_out)
{
    g_autoptr(AutoreplyTemplate) tpl = autoreply_template_new_default();
    g_autoptr(AutoreplyDecision) d = autoreply_decide(&policy, PERSON, data, len, FALSE);

    if (!d->reply)
        g_error("decision: got %s (%s), want reply", d->rule, d->detail);
    return autoreply_compose(tpl, d, REPLY_MAILBOX, org_name, org_reply_to,
                             "post.example.com", len_out);
}

/* test_compose_headers - the reply to the base message, field by field. */
static void
test_compose_headers(void)
{
    g_autofree char *msg = base_message(NULL, "References: <r0@x.example> <r1@x.example>\n"
                                              "In-Reply-To: <r1@x.example>\n");
    gsize len = 0;
    g_autofree char *text = compose_for(msg, strlen(msg), "Joe Bloggs Ltd",
                                        "joe.bloggs@example.org", &len);
    g_autoptr(GMimeMessage) reply = parse_reply(text, len);
    GMimeObject *object = GMIME_OBJECT(reply);
    g_autofree char *body = body_text(reply);

    check_reply_shape(text, reply, REPLY_HEADERS_ALL, PERSON);
    g_assert_cmpstr(g_mime_message_get_subject(reply), ==, "Auto: Question about invoice 1234");
    g_assert_cmpstr(g_mime_object_get_header(object, "In-Reply-To"), ==, "<m1@customer.example>");
    g_assert_cmpstr(g_mime_object_get_header(object, "References"), ==,
                    "<r0@x.example> <r1@x.example> <m1@customer.example>");
    /* The raw text: the fixed fields exactly as promised. */
    g_assert_nonnull(strstr(text, "\r\nAuto-Submitted: auto-replied\r\n"));
    g_assert_nonnull(strstr(text, "\r\nX-Auto-Response-Suppress: All\r\n"));
    g_assert_nonnull(strstr(text, "\r\nPrecedence: auto_reply\r\n"));
    g_assert_nonnull(strstr(text, "\r\nTo: anna@customer.example\r\n"));
    g_assert_nonnull(strstr(text, "From: messageservice@post.example.com\r\n"));
    g_assert_nonnull(strstr(text, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    g_assert_null(strstr(text, "\r\n\r\n\r\n\r\n"));
    /* the known text, filled in */
    g_assert_nonnull(strstr(body, "on behalf\nof Joe Bloggs Ltd. Nobody"));
    g_assert_nonnull(strstr(body, "    joe.bloggs@example.org\n"));
    g_assert_nonnull(strstr(body, "\"Question about invoice 1234\""));
    g_assert_null(strchr(body, '{'));
}

/* test_compose_utf8 - a subject and a name outside ASCII: RFC 2047 in
 * the header, quoted-printable UTF-8 in the body, both read back. */
static void
test_compose_utf8(void)
{
    static const char msg[] =
        "From: anna@customer.example\r\n"
        "Subject: =?utf-8?q?Rechnung_f=C3=BCr_M=C3=A4rz_=E2=82=AC?=\r\n"
        "Message-ID: <m2@customer.example>\r\n\r\nx\r\n";
    gsize len = 0;
    g_autofree char *text = compose_for(msg, strlen(msg), "Müller & Söhne", "info@mueller.example",
                                        &len);
    g_autoptr(GMimeMessage) reply = parse_reply(text, len);
    g_autofree char *body = body_text(reply);
    g_autofree char *decoded = NULL;

    check_reply_shape(text, reply, REPLY_HEADERS_ALL, PERSON);
    g_assert_cmpstr(g_mime_message_get_subject(reply), ==, "Auto: Rechnung für März €");
    for (const char *p = text; *p != '\0'; p++)
        g_assert_cmpuint((guchar)*p, <, 0x80);   /* 7-bit on the wire */
    g_assert_cmpstr(g_mime_object_get_header(g_mime_message_get_mime_part(reply),
                                             "Content-Transfer-Encoding"), ==, "quoted-printable");
    decoded = g_strdup(body);
    g_assert_true(g_utf8_validate(decoded, -1, NULL));
    g_assert_nonnull(strstr(decoded, "of Müller & Söhne. Nobody"));
    g_assert_nonnull(strstr(decoded, "\"Rechnung für März €\""));
}

/* test_compose_general - no organisation: the general text; no ids in the
 * original: no In-Reply-To or References. */
static void
test_compose_general(void)
{
    static const char msg[] = "From: anna@customer.example\nSubject: hello\n\nx\n";
    g_autoptr(AutoreplyTemplate) tpl = autoreply_template_new_default();
    gsize len = 0, len2 = 0;
    g_autofree char *text = compose_for(msg, strlen(msg), NULL, NULL, &len);
    g_autoptr(GMimeMessage) reply = parse_reply(text, len);
    g_autofree char *body = body_text(reply);
    /* a name but no usable address: general too */
    g_autofree char *text2 = compose_for(msg, strlen(msg), "Joe Ltd", "not an address", &len2);
    g_autoptr(GMimeMessage) reply2 = parse_reply(text2, len2);
    g_autofree char *body2 = body_text(reply2);
    g_autofree char *want = autoreply_render(tpl, "hello", NULL, NULL);

    check_reply_shape(text, reply, REPLY_HEADERS_NO_IDS, PERSON);
    g_assert_cmpstr(body, ==, want);
    g_assert_cmpstr(body2, ==, want);
    g_assert_nonnull(strstr(body, "the businesses that use our service"));
}

/* An injection attempt: what the original carries, what the reply's
 * Subject must read. */
typedef struct {
    const char *name;
    const char *data;          /* the original, or NULL to use subject in a built decision */
    gsize       len;           /* 0: strlen */
    const char *subject;       /* for a built decision */
    const char *want_subject;
} InjectCase;

#define RAW(s) s, sizeof(s) - 1

static const InjectCase inject_cases[] = {
    /* a CR LF in the field is the end of the field: Bcc is a field of the
     * original, never of the reply */
    { "crlf in subject", RAW("From: anna@customer.example\r\n"
                             "Subject: Hi\r\nBcc: victim@example.com\r\n\r\nx\r\n"),
      NULL, "Auto: Hi" },
    { "encoded crlf", RAW("From: anna@customer.example\r\n"
                          "Subject: =?utf-8?b?eA0KQmNjOiB5?=\r\n\r\nx\r\n"),
      NULL, "Auto: x Bcc: y" },
    { "encoded crlf q", RAW("From: anna@customer.example\n"
                            "Subject: =?utf-8?q?x=0D=0ABcc=3A_y=0A=0A?= tail\n\nx\n"),
      NULL, "Auto: x Bcc: y tail" },
    { "encoded nul", RAW("From: anna@customer.example\n"
                         "Subject: =?utf-8?b?YQBi?= c\n\nx\n"),
      NULL, NULL },
    { "nul in subject", RAW("From: anna@customer.example\n"
                            "Subject: a\0Bcc: z\n\nx\n"),
      NULL, "Auto: a Bcc: z" },
    { "nul in field name", RAW("From: anna@customer.example\n"
                               "Sub\0ject: a\nBcc\0: z\n\nx\n"),
      NULL, NULL },
    { "encoded line separator", RAW("From: anna@customer.example\n"
                                    "Subject: =?utf-8?b?YeKAqELigKlj?=\n\nx\n"),
      NULL, "Auto: a B c" },
    { "latin-1 bytes", RAW("From: anna@customer.example\n"
                           "Subject: caf\xe9 \xff\xfe\n\nx\n"),
      NULL, NULL },
    { "quoted name, commas", RAW("From: \"Doe, \\\"Jane\\\" <x>\" <anna@customer.example>\n"
                                 "Subject: \"quoted\", <angled>; semi\n\nx\n"),
      NULL, "Auto: \"quoted\", <angled>; semi" },
    { "boundary in subject", RAW("From: anna@customer.example\n"
                                 "Subject: --=-boundary--\n"
                                 "Content-Type: multipart/mixed; boundary=\"=-boundary\"\n\nx\n"),
      NULL, "Auto: --=-boundary--" },
    /* decisions the caller built by hand are folded too */
    { "built crlf", NULL, 0, "Hi\r\nBcc: victim@example.com", "Auto: Hi Bcc: victim@example.com" },
    { "built lf lf", NULL, 0, "Hi\n\nContent-Type: text/html", "Auto: Hi Content-Type: text/html" },
    { "built tab cr", NULL, 0, "\tHi\r", "Auto: Hi" },
    { "built auto", NULL, 0, "Auto:\r\nBcc: x", "Auto: Bcc: x" },
    /* text that looks like an encoded word stays text (GMime's own
     * encoder left it bare and folded inside the next encoded word) */
    { "built encoded word", NULL, 0, "=?utf-8?q?x?= real", "Auto: =?utf-8?q?x?= real" },
    /* GMime 3.2 reads this one back wrongly (it re-reads decoded text
     * with "=?" in it); Python's email.header gets it exactly: the shape
     * is what is checked here. */
    { "built broken encoded word", NULL, 0,
      "=?utf-3?q? Re=3A_Rechnung_f=C3=BCr_M=C\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81"
      "\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81"
      "\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81" "Fro",
      NULL },
    { "unknown charset", RAW("From: anna@customer.example\n"
                             "Subject: =?utf-3?q?Re=3A_x?= =?utf-8?q?=C3=81=C3=81?=\n\nx\n"),
      NULL, NULL },
};

static void
test_inject_case(gconstpointer data)
{
    const InjectCase *c = data;
    g_autoptr(AutoreplyTemplate) tpl = autoreply_template_new_default();
    g_autoptr(AutoreplyDecision) d = NULL;
    g_autoptr(GMimeMessage) reply = NULL;
    g_autofree char *text = NULL;
    g_autofree char *body = NULL;
    const char *subject;
    gsize len = 0;

    if (c->data != NULL) {
        d = autoreply_decide(&policy, PERSON, c->data, c->len, FALSE);
        if (!d->reply) {
            g_test_fail_printf("%s: got %s (%s), want reply", c->name, d->rule, d->detail);
            return;
        }
    } else {
        d = g_new0(AutoreplyDecision, 1);
        d->reply = TRUE;
        d->rule = "reply";
        d->reply_to = g_strdup(PERSON);
        d->subject = g_strdup(c->subject);
        d->message_id = g_strdup("m@x.example>\r\nBcc: victim@example.com");
        d->in_reply_to = g_strdup("<a@x.example>\r\nBcc: victim@example.com");
        d->references = g_strdup("<b@x.example>\r\nBcc: <c@x.example>\r\n\r\n<d@x.example>");
    }
    text = autoreply_compose(tpl, d, REPLY_MAILBOX, "Doe, \"Jane\"\r\nBcc: x@example.com",
                             "joe@example.org", "post.example.com", &len);
    g_assert_nonnull(text);
    reply = parse_reply(text, len);
    if (c->data != NULL)
        check_reply_shape(text, reply, d->message_id != NULL ? REPLY_HEADERS_ALL : REPLY_HEADERS_NO_IDS,
                          PERSON);
    else
        /* the bad ids were dropped, the one good reference kept */
        check_reply_shape(text, reply, "auto-submitted content-transfer-encoding content-type date "
                          "from message-id mime-version precedence references subject to "
                          "x-auto-response-suppress", PERSON);
    subject = g_mime_message_get_subject(reply);
    g_assert_nonnull(subject);
    if (strpbrk(subject, "\r\n") != NULL)
        g_test_fail_printf("%s: subject spans lines: %s", c->name, subject);
    if (c->want_subject != NULL && strcmp(subject, c->want_subject) != 0)
        g_test_fail_printf("%s: got subject \"%s\", want \"%s\"", c->name, subject, c->want_subject);
    if (!g_str_has_prefix(subject, "Auto:"))
        g_test_fail_printf("%s: got subject \"%s\", want an Auto: prefix", c->name, subject);
    if (g_strstr_len(text, len, "\nBcc:") != NULL || g_strstr_len(text, len, "\nContent-Type: text/html") != NULL)
        g_test_fail_printf("%s: a field from the original reached the reply", c->name);
    body = body_text(reply);
    if (strstr(body, "Doe, \"Jane\" Bcc: x@example.com") == NULL)
        g_test_fail_printf("%s: the organisation name was not folded into the body", c->name);
}

/* test_subject_prefix - RFC 3834 §3.1 "Auto:", never twice. */
static void
test_subject_prefix(void)
{
    static const struct { const char *original, *want; } cases[] = {
        { "Invoice 7", "Auto: Invoice 7" },
        { "Auto: Out of office", "Auto: Out of office" },
        { "AUTO: shouting", "AUTO: shouting" },
        { "auto:no space", "auto:no space" },
        { "  Auto: leading space", "Auto: leading space" },
        { "Re: Auto: thread", "Auto: Re: Auto: thread" },
        { "Autobahn", "Auto: Autobahn" },
        { "Automatic reply: x", "Auto: Automatic reply: x" },
        { "", "Auto: (no subject)" },
        { "   ", "Auto: (no subject)" },
    };
    g_autoptr(AutoreplyTemplate) tpl = autoreply_template_new_default();

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        AutoreplyDecision d = { TRUE, "reply", NULL, (char *)PERSON, (char *)cases[i].original,
                                NULL, NULL, NULL };
        gsize len = 0;
        g_autofree char *text = autoreply_compose(tpl, &d, REPLY_MAILBOX, NULL, NULL, NULL, &len);
        g_autoptr(GMimeMessage) reply = parse_reply(text, len);
        const char *got = g_mime_message_get_subject(reply);

        if (g_strcmp0(got, cases[i].want) != 0)
            g_test_fail_printf("subject \"%s\": got \"%s\", want \"%s\"", cases[i].original, got,
                               cases[i].want);
    }
}

/* test_long_subject - cut, still one field, folded by GMime. */
static void
test_long_subject(void)
{
    g_autofree char *word = g_strnfill(5000, 'x');
    g_autofree char *msg = g_strdup_printf("From: anna@customer.example\nSubject: %s tail\n\nx\n",
                                           word);
    gsize len = 0;
    g_autofree char *text = compose_for(msg, strlen(msg), NULL, NULL, &len);
    g_autoptr(GMimeMessage) reply = parse_reply(text, len);
    const char *subject = g_mime_message_get_subject(reply);

    g_assert_cmpint(header_count(text, "Subject"), ==, 1);
    g_assert_true(g_str_has_prefix(subject, "Auto: xxxx"));
    g_assert_cmpuint(g_utf8_strlen(subject, -1), ==, strlen("Auto: ") + 200);
}

/* test_references - RFC 5322 §3.6.4, and trimming a long chain. */
static void
test_references(void)
{
    static const struct {
        const char *name;
        const char *fields;
        const char *want_in_reply_to;   /* NULL: no field */
        const char *want_references;
    } cases[] = {
        { "id only", "Message-ID: <m@c.example>\n", "<m@c.example>", "<m@c.example>" },
        { "in-reply-to, no references",
          "Message-ID: <m@c.example>\nIn-Reply-To: <p@post.example.com>\n",
          "<m@c.example>", "<p@post.example.com> <m@c.example>" },
        { "in-reply-to with two ids",
          "Message-ID: <m@c.example>\nIn-Reply-To: <p@x.example> <q@x.example>\n",
          "<m@c.example>", "<m@c.example>" },
        { "references win",
          "Message-ID: <m@c.example>\nIn-Reply-To: <z@x.example>\nReferences: <a@x.example>\n",
          "<m@c.example>", "<a@x.example> <m@c.example>" },
        { "own id not doubled",
          "Message-ID: <m@c.example>\nReferences: <a@x.example> <m@c.example>\n",
          "<m@c.example>", "<a@x.example> <m@c.example>" },
        { "junk in references",
          "Message-ID: <m@c.example>\nReferences: <a@x.example> junk <no-at> <b@x.example>\n",
          "<m@c.example>", NULL /* checked below: a and b kept, no-at dropped */ },
        { "no ids", "", NULL, NULL },
        { "broken message-id", "Message-ID: <not an id>\n", NULL, NULL },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *msg = g_strconcat("From: anna@customer.example\nSubject: s\n",
                                           cases[i].fields, "\nbody\n", NULL);
        gsize len = 0;
        g_autofree char *text = compose_for(msg, strlen(msg), NULL, NULL, &len);
        g_autoptr(GMimeMessage) reply = parse_reply(text, len);
        const char *irt = g_mime_object_get_header(GMIME_OBJECT(reply), "In-Reply-To");
        const char *refs = g_mime_object_get_header(GMIME_OBJECT(reply), "References");

        if (g_strcmp0(irt, cases[i].want_in_reply_to) != 0)
            g_test_fail_printf("%s: In-Reply-To: got %s, want %s", cases[i].name, irt,
                               cases[i].want_in_reply_to);
        if (strcmp(cases[i].name, "junk in references") == 0) {
            if (refs == NULL || strstr(refs, "<a@x.example>") == NULL
                || strstr(refs, "<b@x.example>") == NULL || strstr(refs, "no-at") != NULL
                || !g_str_has_suffix(refs, "<m@c.example>"))
                g_test_fail_printf("%s: References: got %s", cases[i].name, refs);
        } else if (g_strcmp0(refs, cases[i].want_references) != 0) {
            g_test_fail_printf("%s: References: got %s, want %s", cases[i].name, refs,
                               cases[i].want_references);
        }
    }

    /* 30 ancestors: the first and the latest 18, then the parent. */
    {
        GString *fields = g_string_new("Message-ID: <m@c.example>\nReferences:");
        g_autofree char *msg = NULL;
        g_autofree char *text = NULL;
        g_autoptr(GMimeMessage) reply = NULL;
        GMimeReferences *refs;
        gsize len = 0;

        for (int i = 0; i < 30; i++)
            g_string_append_printf(fields, " <r%d@x.example>", i);
        g_string_append_c(fields, '\n');
        msg = g_strconcat("From: anna@customer.example\n", fields->str, "\nx\n", NULL);
        g_string_free(fields, TRUE);
        text = compose_for(msg, strlen(msg), NULL, NULL, &len);
        reply = parse_reply(text, len);
        refs = g_mime_references_parse(NULL, g_mime_object_get_header(GMIME_OBJECT(reply),
                                                                       "References"));
        g_assert_cmpint(g_mime_references_length(refs), ==, 20);
        g_assert_cmpstr(g_mime_references_get_message_id(refs, 0), ==, "r0@x.example");
        g_assert_cmpstr(g_mime_references_get_message_id(refs, 1), ==, "r12@x.example");
        g_assert_cmpstr(g_mime_references_get_message_id(refs, 18), ==, "r29@x.example");
        g_assert_cmpstr(g_mime_references_get_message_id(refs, 19), ==, "m@c.example");
        g_mime_references_free(refs);
    }
}

/* test_compose_refuses - no usable sender, no reply. */
static void
test_compose_refuses(void)
{
    g_autoptr(AutoreplyTemplate) tpl = autoreply_template_new_default();
    AutoreplyDecision none = { FALSE, "null-sender", NULL, NULL, (char *)"", NULL, NULL, NULL };
    AutoreplyDecision bad = { TRUE, "reply", NULL, (char *)"a@b.example\r\nBcc: c@d.example",
                              (char *)"s", NULL, NULL, NULL };
    gsize len = 42;

    g_assert_null(autoreply_compose(tpl, &none, REPLY_MAILBOX, NULL, NULL, NULL, &len));
    g_assert_cmpuint(len, ==, 0);
    len = 42;
    g_assert_null(autoreply_compose(tpl, &bad, REPLY_MAILBOX, NULL, NULL, NULL, &len));
    g_assert_cmpuint(len, ==, 0);
}

/* test_message_id_domain - ours when asked for, else the mailbox's. */
static void
test_message_id_domain(void)
{
    static const struct { const char *domain, *want_suffix; } cases[] = {
        { "ids.example.net", "@ids.example.net" },
        { NULL, "@post.example.com" },
        { "", "@post.example.com" },
        { "bad domain\r\nBcc: x", "@post.example.com" },
    };
    g_autoptr(AutoreplyTemplate) tpl = autoreply_template_new_default();
    AutoreplyDecision d = { TRUE, "reply", NULL, (char *)PERSON, (char *)"s", NULL, NULL, NULL };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        gsize len = 0;
        g_autofree char *text = autoreply_compose(tpl, &d, REPLY_MAILBOX, NULL, NULL,
                                                  cases[i].domain, &len);
        g_autoptr(GMimeMessage) reply = parse_reply(text, len);
        const char *id = g_mime_message_get_message_id(reply);

        if (id == NULL || !g_str_has_suffix(id, cases[i].want_suffix))
            g_test_fail_printf("domain %s: got Message-ID %s, want *%s", cases[i].domain, id,
                               cases[i].want_suffix);
    }
}

/* --- templates ----------------------------------------------------------- */

/* test_render - placeholders, fallbacks, folding, literal braces. */
static void
test_render(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("autoreply-XXXXXX", &error);
    g_autofree char *known = g_build_filename(dir, "known.txt", NULL);
    g_autofree char *general = g_build_filename(dir, "general.txt", NULL);
    g_autoptr(AutoreplyTemplate) tpl = NULL;
    static const struct {
        const char *subject, *name, *reply_to, *want;
    } cases[] = {
        { "Inv 1", "Joe Ltd", "joe@example.org",
          "K Joe Ltd <joe@example.org> [Inv 1] {Org} { x } {} {org_name\n" },
        { "Inv 1", NULL, "joe@example.org",
          "K the sender <joe@example.org> [Inv 1] {Org} { x } {} {org_name\n" },
        { "", "", "joe@example.org",
          "K the sender <joe@example.org> [(no subject)] {Org} { x } {} {org_name\n" },
        { "a\r\nb", "J\r\nL", "j@x.example\r\n",
          "K J L <j@x.example> [a b] {Org} { x } {} {org_name\n" },
        { "Inv 1", "Joe Ltd", NULL, "G Joe Ltd <> [Inv 1]\n" },
        { "Inv 1", "Joe Ltd", "", "G Joe Ltd <> [Inv 1]\n" },
    };

    g_assert_no_error(error);
    g_assert_true(g_file_set_contents(known, "K {org_name} <{reply_to}> [{original_subject}] "
                                      "{Org} { x } {} {org_name", -1, NULL));
    g_assert_true(g_file_set_contents(general, "G {org_name} <{reply_to}> [{original_subject}]\n",
                                      -1, NULL));
    tpl = autoreply_template_load(known, general, &error);
    g_assert_no_error(error);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = autoreply_render(tpl, cases[i].subject, cases[i].name,
                                                cases[i].reply_to);

        if (strcmp(got, cases[i].want) != 0)
            g_test_fail_printf("render %" G_GSIZE_FORMAT ": got \"%s\", want \"%s\"", i, got,
                               cases[i].want);
    }
    g_unlink(known);
    g_unlink(general);
    g_rmdir(dir);
}

/* test_default_files - the shipped files are the built-in texts. */
static void
test_default_files(void)
{
    g_autoptr(AutoreplyTemplate) builtin = autoreply_template_new_default();
    g_autoptr(AutoreplyTemplate) none = autoreply_template_load(NULL, "", NULL);
    g_autofree char *known = g_build_filename(testutil_source_dir(),
                                              "docs/templates/autoreply-known.txt", NULL);
    g_autofree char *general = g_build_filename(testutil_source_dir(),
                                                "docs/templates/autoreply-general.txt", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(AutoreplyTemplate) files = autoreply_template_load(known, general, &error);

    g_assert_no_error(error);
    for (int k = 0; k < 2; k++) {
        g_assert_cmpstr(autoreply_template_text(files, k), ==, autoreply_template_text(builtin, k));
        g_assert_cmpstr(autoreply_template_text(none, k), ==, autoreply_template_text(builtin, k));
    }
    g_assert_nonnull(strstr(autoreply_template_text(builtin, TRUE), "{reply_to}"));
    g_assert_null(strstr(autoreply_template_text(builtin, FALSE), "{reply_to}"));
}

/* test_load_line_ends - CRLF files and a BOM read as LF text. */
static void
test_load_line_ends(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("autoreply-XXXXXX", &error);
    g_autofree char *path = g_build_filename(dir, "t.txt", NULL);
    g_autoptr(AutoreplyTemplate) tpl = NULL;

    g_assert_true(g_file_set_contents(path, "\xef\xbb\xbfHi {org_name},\r\n\r\nbye\rend", -1, NULL));
    tpl = autoreply_template_load(path, path, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(autoreply_template_text(tpl, TRUE), ==, "Hi {org_name},\n\nbye\nend");
    g_unlink(path);
    g_rmdir(dir);
}

typedef struct {
    const char *name;
    const char *content;       /* NULL: do not create the file */
    gssize      len;           /* -1: strlen */
    gboolean    directory;     /* make it a directory */
    GQuark      (*domain)(void);
    int         code;
    const char *want_in_message;
} LoadErrorCase;

static const LoadErrorCase load_error_cases[] = {
    { "missing", NULL, 0, FALSE, g_file_error_quark, G_FILE_ERROR_NOENT, "No such file" },
    { "directory", NULL, 0, TRUE, autoreply_error_quark, AUTOREPLY_ERROR_TEMPLATE,
      "not a regular file" },
    { "empty", "", -1, FALSE, autoreply_error_quark, AUTOREPLY_ERROR_TEMPLATE, "empty" },
    { "blank", " \n\t\n", -1, FALSE, autoreply_error_quark, AUTOREPLY_ERROR_TEMPLATE, "empty" },
    { "latin-1", "Gr\xfc\xdf" "e", -1, FALSE, autoreply_error_quark, AUTOREPLY_ERROR_TEMPLATE,
      "not UTF-8 text (byte 2)" },
    { "nul byte", "a\0b", 3, FALSE, autoreply_error_quark, AUTOREPLY_ERROR_TEMPLATE,
      "not UTF-8 text (byte 1)" },
    { "control character", "line 1\nbell \a\n", -1, FALSE, autoreply_error_quark,
      AUTOREPLY_ERROR_TEMPLATE, "line 2: control character 0x07" },
    { "unknown placeholder", "Hello\n{orgname}\n", -1, FALSE, autoreply_error_quark,
      AUTOREPLY_ERROR_TEMPLATE, "line 2: unknown placeholder {orgname}" },
    { "too big", NULL, AUTOREPLY_TEMPLATE_MAX_SIZE + 1, FALSE, autoreply_error_quark,
      AUTOREPLY_ERROR_TEMPLATE, "at most 65536 bytes" },
};

static void
test_load_error_case(gconstpointer data)
{
    const LoadErrorCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("autoreply-XXXXXX", &error);
    g_autofree char *path = g_build_filename(dir, "bad.txt", NULL);

    g_assert_no_error(error);
    if (c->directory) {
        g_assert_cmpint(g_mkdir(path, 0700), ==, 0);
    } else if (c->content != NULL || c->len > 0) {
        g_autofree char *big = c->content == NULL ? g_strnfill(c->len, 'a') : NULL;

        g_assert_true(g_file_set_contents(path, big != NULL ? big : c->content, c->len, NULL));
    }
    /* The same file as either template; the message names which. */
    for (int which = 0; which < 2; which++) {
        g_autoptr(GError) load_error = NULL;
        g_autoptr(AutoreplyTemplate) tpl =
            autoreply_template_load(which == 0 ? path : NULL, which == 1 ? path : NULL,
                                    &load_error);
        const char *want_prefix = which == 0 ? "template_known: " : "template_general: ";

        if (tpl != NULL || load_error == NULL) {
            g_test_fail_printf("%s: got a template, want an error", c->name);
            continue;
        }
        if (load_error->domain != c->domain() || load_error->code != c->code)
            g_test_fail_printf("%s: got %s/%d, want %s/%d", c->name,
                               g_quark_to_string(load_error->domain), load_error->code,
                               g_quark_to_string(c->domain()), c->code);
        if (!g_str_has_prefix(load_error->message, want_prefix)
            || strstr(load_error->message, path) == NULL
            || strstr(load_error->message, c->want_in_message) == NULL)
            g_test_fail_printf("%s: got \"%s\", want \"%s%s: ...%s...\"", c->name,
                               load_error->message, want_prefix, path, c->want_in_message);
    }
    if (c->directory)
        g_rmdir(path);
    else
        g_unlink(path);
    g_rmdir(dir);
}

/* test_add_cases - one test per table row, so TAP names the row. */
static void
test_add_cases(const char *prefix, gconstpointer table, gsize row_size, gsize n_rows,
               const char *(*name_of)(gconstpointer row), GTestDataFunc func)
{
    for (gsize i = 0; i < n_rows; i++) {
        gconstpointer row = (const guint8 *)table + i * row_size;
        g_autofree char *name = g_strdup(name_of(row));
        g_autofree char *path = NULL;

        g_strdelimit(name, " /", '-');
        path = g_strdup_printf("%s/%s", prefix, name);
        g_test_add_data_func(path, row, func);
    }
}

static const char *decide_name(gconstpointer row) { return ((const DecideCase *)row)->name; }
static const char *inject_name(gconstpointer row) { return ((const InjectCase *)row)->name; }
static const char *load_name(gconstpointer row) { return ((const LoadErrorCase *)row)->name; }

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    test_add_cases("/autoreply/decide", decide_cases, sizeof decide_cases[0],
                   G_N_ELEMENTS(decide_cases), decide_name, test_decide_case);
    g_test_add_func("/autoreply/fixtures", test_fixtures);
    g_test_add_func("/autoreply/decision-fields", test_decision_fields);
    g_test_add_func("/autoreply/decision-edges", test_decision_edges);
    g_test_add_func("/autoreply/compose/headers", test_compose_headers);
    g_test_add_func("/autoreply/compose/utf8", test_compose_utf8);
    g_test_add_func("/autoreply/compose/general", test_compose_general);
    test_add_cases("/autoreply/inject", inject_cases, sizeof inject_cases[0],
                   G_N_ELEMENTS(inject_cases), inject_name, test_inject_case);
    g_test_add_func("/autoreply/compose/subject-prefix", test_subject_prefix);
    g_test_add_func("/autoreply/compose/long-subject", test_long_subject);
    g_test_add_func("/autoreply/compose/references", test_references);
    g_test_add_func("/autoreply/compose/refuses", test_compose_refuses);
    g_test_add_func("/autoreply/compose/message-id-domain", test_message_id_domain);
    g_test_add_func("/autoreply/template/render", test_render);
    g_test_add_func("/autoreply/template/default-files", test_default_files);
    g_test_add_func("/autoreply/template/line-ends", test_load_line_ends);
    test_add_cases("/autoreply/template/load-error", load_error_cases, sizeof load_error_cases[0],
                   G_N_ELEMENTS(load_error_cases), load_name, test_load_error_case);
    return g_test_run();
}
