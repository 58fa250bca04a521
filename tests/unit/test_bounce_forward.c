/* test_bounce_forward.c - the forward of a final failure to the
 * organisation: the plain-words explanations, subject and text for one
 * and several recipients, delayed ones left out, the report attached as
 * message/rfc822 with the bytes it came with, and nothing from the report
 * able to add a header field. */
#include <string.h>

#include "bouncer/bounce_forward.h"
#include "common/gmime_autoptr.h"
#include "tests/unit/testutil.h"

#define REPLY_MAILBOX "messageservice@post.example.com"
#define ORG_REPLY_TO  "joe.bloggs@example.org"

#define FORWARD_HEADERS \
    "auto-submitted content-type date from message-id mime-version subject to " \
    "x-auto-response-suppress"

/* --- helpers ------------------------------------------------------------- */

/* to_crlf - bare LF made CRLF. (transfer full) */
static char *
to_crlf(const char *text, gsize len, gsize *len_out)
{
    GString *out = g_string_sized_new(len + len / 20);

    for (gsize i = 0; i < len; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            g_string_append_c(out, '\r');
        g_string_append_c(out, text[i]);
    }
    *len_out = out->len;
    return g_string_free(out, FALSE);
}

/* check_crlf - every line end of text is CRLF. */
static void
check_crlf(const char *text, gsize len)
{
    g_assert_cmpuint(strlen(text), ==, len);
    for (gsize i = 0; i < len; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            g_error("bare LF at %" G_GSIZE_FORMAT, i);
        if (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'))
            g_error("bare CR at %" G_GSIZE_FORMAT, i);
    }
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* header_names - the field names of the top header block of a CRLF text,
 * lower case, sorted, one space between; a line that is neither a field
 * nor a continuation is an error. (transfer full) */
static char *
header_names(const char *text)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *end = strstr(text, "\r\n\r\n");
    GString *out = g_string_new(NULL);

    g_assert_nonnull(end);
    for (const char *line = text; line < end + 2; line = strstr(line, "\r\n") + 2) {
        const char *eol = strstr(line, "\r\n");
        const char *colon = memchr(line, ':', eol - line);

        if (*line == ' ' || *line == '\t')
            continue;
        if (colon == NULL || colon == line)
            g_error("not a header field: %.*s", (int)(eol - line), line);
        for (const char *p = line; p < colon; p++) {
            if (*p <= 0x20 || *p >= 0x7f)
                g_error("bad field name: %.*s", (int)(colon - line), line);
        }
        g_ptr_array_add(names, g_ascii_strdown(line, colon - line));
    }
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++)
        g_string_append_printf(out, "%s%s", i > 0 ? " " : "", (char *)names->pdata[i]);
    return g_string_free(out, FALSE);
}

/* parse - the forward as GMime reads it. (transfer full) */
static GMimeMessage *
parse(const char *text, gsize len)
{
    g_autoptr(GMimeStream) stream = NULL;
    g_autoptr(GMimeParser) parser = NULL;
    GMimeMessage *message;

    gmime_init_once();
    stream = g_mime_stream_mem_new_with_buffer(text, len);
    parser = g_mime_parser_new_with_stream(stream);
    message = g_mime_parser_construct_message(parser, NULL);
    g_assert_nonnull(message);
    return message;
}

/* part_bytes - the decoded content of a leaf part, CRLF made LF when
 * unix is set. (transfer full) */
static GByteArray *
part_bytes(GMimeObject *part, gboolean unix_ends)
{
    GByteArray *bytes = g_byte_array_new();
    g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_byte_array(bytes);
    gsize n = 0;

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(part)), stream);
    if (!unix_ends)
        return bytes;
    for (gsize i = 0; i < bytes->len; i++) {
        if (bytes->data[i] != '\r' || i + 1 == bytes->len || bytes->data[i + 1] != '\n')
            bytes->data[n++] = bytes->data[i];
    }
    g_byte_array_set_size(bytes, n);
    return bytes;
}

/* body_text - the text/plain explanation (first part), LF ends.
 * (transfer full) */
static char *
body_text(GMimeMessage *message)
{
    GMimeObject *mixed = g_mime_message_get_mime_part(message);
    GMimeObject *first;
    GByteArray *bytes;

    g_assert_true(GMIME_IS_MULTIPART(mixed));
    first = g_mime_multipart_get_part(GMIME_MULTIPART(mixed), 0);
    g_assert_true(GMIME_IS_TEXT_PART(first));
    bytes = part_bytes(first, TRUE);
    g_byte_array_append(bytes, (const guint8 *)"", 1);
    return (char *)g_byte_array_free(bytes, FALSE);
}

/* attached_raw - the bytes between the attachment's header block and the
 * closing boundary, as written (no decoding). (transfer none: a view) */
static const char *
attached_raw(const char *text, gsize *len_out)
{
    const char *type = strstr(text, "\r\nContent-Type: message/rfc822\r\n");
    const char *start, *end;
    g_autofree char *boundary = NULL;
    const char *b = strstr(text, "boundary=\"");

    g_assert_nonnull(type);
    g_assert_nonnull(b);
    b += strlen("boundary=\"");
    boundary = g_strdup_printf("\r\n--%.*s--", (int)(strchr(b, '"') - b), b);
    start = strstr(type, "\r\n\r\n") + 4;
    end = strstr(start, boundary);
    g_assert_nonnull(end);
    *len_out = end - start;
    return start;
}

/* attachment_bytes - the report as attached, CRLF line ends: as written
 * for message/rfc822, decoded for message/global (base64). (transfer full) */
static GByteArray *
attachment_bytes(const char *text, GMimeMessage *message)
{
    GMimeObject *mixed = g_mime_message_get_mime_part(message);
    GMimeObject *attachment = g_mime_multipart_get_part(GMIME_MULTIPART(mixed), 1);
    GByteArray *bytes;
    gsize len = 0;
    const char *raw;

    if (GMIME_IS_PART(attachment))
        return part_bytes(attachment, FALSE);
    raw = attached_raw(text, &len);
    bytes = g_byte_array_sized_new(len);
    g_byte_array_append(bytes, (const guint8 *)raw, len);
    return bytes;
}

/* check_forward - the shape every forward has. */
static void
check_forward(const char *text, gsize len, GMimeMessage *message, const char *want_subject)
{
    g_autofree char *names = header_names(text);
    GMimeObject *object = GMIME_OBJECT(message);
    GMimeObject *mixed = g_mime_message_get_mime_part(message);
    GMimeContentType *ct = g_mime_object_get_content_type(mixed);
    InternetAddressList *to = g_mime_message_get_to(message);
    InternetAddressList *from = g_mime_message_get_from(message);
    const char *subject = g_mime_message_get_subject(message);
    GMimeObject *attachment;

    check_crlf(text, len);
    /* 7-bit throughout: the relay need not offer 8BITMIME (RFC 6152). */
    for (gsize i = 0; i < len; i++) {
        if ((guchar)text[i] >= 0x80)
            g_error("an 8-bit byte at %" G_GSIZE_FORMAT " of the forward", i);
    }
    if (strcmp(names, FORWARD_HEADERS) != 0)
        g_error("header fields: got %s, want %s", names, FORWARD_HEADERS);
    if (g_strcmp0(subject, want_subject) != 0)
        g_error("Subject: got %s, want %s", subject, want_subject);
    g_assert_cmpstr(g_mime_object_get_header(object, "Auto-Submitted"), ==, "auto-generated");
    g_assert_cmpint(internet_address_list_length(from), ==, 1);
    g_assert_cmpstr(internet_address_mailbox_get_addr(
        INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(from, 0))), ==, REPLY_MAILBOX);
    g_assert_cmpint(internet_address_list_length(to), ==, 1);
    g_assert_cmpstr(internet_address_mailbox_get_addr(
        INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 0))), ==, ORG_REPLY_TO);
    g_assert_true(g_str_has_suffix(g_mime_message_get_message_id(message), "@post.example.com"));
    g_assert_nonnull(g_mime_message_get_date(message));
    g_assert_cmpstr(g_mime_content_type_get_media_type(ct), ==, "multipart");
    g_assert_cmpstr(g_mime_content_type_get_media_subtype(ct), ==, "mixed");
    g_assert_cmpint(g_mime_multipart_get_count(GMIME_MULTIPART(mixed)), ==, 2);
    attachment = g_mime_multipart_get_part(GMIME_MULTIPART(mixed), 1);
    ct = g_mime_object_get_content_type(attachment);
    g_assert_cmpstr(g_mime_content_type_get_media_type(ct), ==, "message");
    if (strcmp(g_mime_content_type_get_media_subtype(ct), "global") == 0) {
        /* an 8-bit report: message/global in base64 (RFC 6532 §3.7) */
        g_assert_true(GMIME_IS_PART(attachment));
        g_assert_cmpint(g_mime_part_get_content_encoding(GMIME_PART(attachment)), ==,
                        GMIME_CONTENT_ENCODING_BASE64);
    } else {
        g_assert_cmpstr(g_mime_content_type_get_media_subtype(ct), ==, "rfc822");
        g_assert_true(GMIME_IS_MESSAGE_PART(attachment));
    }
}

/* --- explanations -------------------------------------------------------- */

static void
test_explain(void)
{
    static const struct { const char *reason, *want; } cases[] = {
        { "userunknown",     "the mailbox does not exist" },
        { "UserUnknown",     "the mailbox does not exist" },
        { "mailboxfull",     "the recipient's mailbox is full" },
        { "hostunknown",     "the recipient's domain does not exist or accepts no mail" },
        { "notaccept",       "the recipient's domain does not exist or accepts no mail" },
        { "blocked",         "the recipient's mail server refused it" },
        { "spamdetected",    "the recipient's mail server refused it" },
        { "policyviolation", "the recipient's mail server refused it" },
        { "rejected",        "the recipient's mail server refused it" },
        { "expired",         "it could not be delivered in time" },
        { "hasmoved",        "the recipient has moved and the address is no longer in use" },
        { "suspend",         "the recipient's mailbox is disabled" },
        { "mesgtoobig",      "the email is too large for the recipient's mail server" },
        { "systemerror",     "it could not be delivered" },
        { "networkerror",    "it could not be delivered" },
        { "undefined",       "it could not be delivered" },
        { "",                "it could not be delivered" },
        { "no such reason",  "it could not be delivered" },
        { NULL,              "it could not be delivered" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *got = bounce_forward_explain(cases[i].reason);

        if (g_strcmp0(got, cases[i].want) != 0)
            g_test_fail_printf("explain(%s): got \"%s\", want \"%s\"", cases[i].reason, got,
                               cases[i].want);
    }
}

/* --- from parsed fixtures ------------------------------------------------ */

typedef struct {
    const char *file;
    const char *want_subject;
    const char *want_in_body[4];
    const char *not_in_body[2];
} FixtureCase;

static const FixtureCase fixture_cases[] = {
    { "nonstandard-exim.eml",
      "Undeliverable: your email to ida@quota.example could not be delivered",
      { "Your email \"Invoice 22\" could not be delivered to 1 recipient:\n",
        "\n  ida@quota.example\n  The recipient's mailbox is full (5.2.2).\n",
        "  The recipient's mail server said: host mx.quota.example [192.0.2.30] SMTP error",
        NULL },
      { NULL } },
    /* bob was delayed: recorded, not forwarded */
    { "dsn-multi-delayed.eml",
      "Undeliverable: your email to carol@full.example could not be delivered",
      { "Your email \"Statement\" could not be delivered to 1 recipient:\n",
        "  carol@full.example\n  The recipient's mailbox is full (5.2.2).\n",
        "said: 552 5.2.2 Mailbox full - over quota\n", NULL },
      { "bob@slow.example", "in time" } },
};

static void
test_fixtures(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(fixture_cases); i++) {
        const FixtureCase *c = &fixture_cases[i];
        g_autofree char *path = g_build_filename("tests/fixtures/bounces", c->file, NULL);
        g_autoptr(GBytes) bytes = testutil_read_file(path);
        gsize raw_len = 0, len = 0, want_len = 0, got_len = 0;
        const char *raw = g_bytes_get_data(bytes, &raw_len);
        g_autoptr(BounceReport) report = bounce_report_parse(raw, raw_len);
        g_autofree char *text = bounce_forward_compose(report, raw, raw_len, REPLY_MAILBOX,
                                                       "Joe Bloggs Ltd", ORG_REPLY_TO,
                                                       "post.example.com", &len);
        g_autoptr(GMimeMessage) message = NULL;
        g_autofree char *body = NULL;
        g_autofree char *want_raw = NULL;
        g_autoptr(GByteArray) got = NULL;
        const char *got_raw;

        if (text == NULL) {
            g_test_fail_printf("%s: got no forward", c->file);
            continue;
        }
        message = parse(text, len);
        check_forward(text, len, message, c->want_subject);
        body = body_text(message);
        for (gsize k = 0; k < G_N_ELEMENTS(c->want_in_body) && c->want_in_body[k]; k++) {
            if (strstr(body, c->want_in_body[k]) == NULL)
                g_test_fail_printf("%s: body lacks \"%s\"; got:\n%s", c->file, c->want_in_body[k],
                                   body);
        }
        for (gsize k = 0; k < G_N_ELEMENTS(c->not_in_body) && c->not_in_body[k]; k++) {
            if (strstr(body, c->not_in_body[k]) != NULL)
                g_test_fail_printf("%s: body names \"%s\"", c->file, c->not_in_body[k]);
        }
        /* The fixtures have LF line ends: the attachment is the same bytes
         * with CRLF, as SMTP carries them. */
        want_raw = to_crlf(raw, raw_len, &want_len);
        got = attachment_bytes(text, message);
        got_raw = (const char *)got->data;
        got_len = got->len;
        if (got_len != want_len || memcmp(got_raw, want_raw, want_len) != 0)
            g_test_fail_printf("%s: attachment: got %" G_GSIZE_FORMAT " bytes, want the %"
                               G_GSIZE_FORMAT " of the report", c->file, got_len, want_len);
        g_assert_nonnull(strstr(text, "\r\nTo: " ORG_REPLY_TO "\r\n"));
        g_assert_true(g_str_has_prefix(body, "Hello Joe Bloggs Ltd,\n\n"));
    }
}

/* --- hand-made reports --------------------------------------------------- */

#define RAW_REPORT \
    "From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n" \
    "To: b1@notifications.example.com\r\n" \
    "Subject: Undelivered Mail Returned to Sender\r\n" \
    "Message-ID: <r1@mx.example>\r\n" \
    "\r\n" \
    "Some recipients failed.\r\n" \
    "From the start of a line, and a line with a dot:\r\n" \
    ".\r\n" \
    "--not-a-boundary\r\n" \
    "Grüße, 8-bit text\r\n"

typedef struct {
    BounceRecipient rcpt[64];
    GPtrArray      *list;
    BounceReport    report;
} Fake;

/* fake_add - one recipient with static strings. */
static void
fake_add(Fake *f, const char *addr, const char *action, const char *status,
         const char *replycode, const char *reason, const char *diagnostic)
{
    BounceRecipient *r = &f->rcpt[f->list->len];

    g_assert_cmpuint(f->list->len, <, G_N_ELEMENTS(f->rcpt));
    r->addr = (char *)addr;
    r->action = (char *)action;
    r->status = (char *)status;
    r->replycode = (char *)replycode;
    r->reason = (char *)reason;
    r->diagnostic = (char *)diagnostic;
    g_ptr_array_add(f->list, r);
}

static void
fake_init(Fake *f, BounceKind kind, const char *original_subject)
{
    memset(f, 0, sizeof(*f));
    f->list = g_ptr_array_new();
    f->report.kind = kind;
    f->report.recipients = f->list;
    f->report.original.subject = (char *)original_subject;
}

static void
fake_clear(Fake *f)
{
    g_ptr_array_unref(f->list);
}

/* test_several - three failed, one delayed: the subject counts three, the
 * text explains each of the three, the attachment is the report byte for
 * byte (it came with CRLF). */
static void
test_several(void)
{
    Fake f;
    gsize len = 0, got_len = 0;
    g_autofree char *text = NULL;
    g_autofree char *body = NULL;
    g_autoptr(GMimeMessage) message = NULL;
    g_autoptr(GByteArray) got = NULL;
    GMimeMessage *inner;
    const char *got_raw;

    fake_init(&f, BOUNCE_KIND_DSN, "Invoice INV-7");
    fake_add(&f, "gone@a.example", "failed", "5.1.1", "550", "userunknown",
             "550 5.1.1 <gone@a.example>: Recipient address rejected: User unknown");
    fake_add(&f, "slow@b.example", "delayed", "4.4.7", "", "expired", "");
    fake_add(&f, "x@nowhere.example", "failed", "5.1.2", "", "hostunknown", "");
    fake_add(&f, "spam@c.example", "FAILED", "", "554", "spamdetected", "554 spam");
    text = bounce_forward_compose(&f.report, RAW_REPORT, strlen(RAW_REPORT), REPLY_MAILBOX,
                                  NULL, ORG_REPLY_TO, NULL, &len);
    g_assert_nonnull(text);
    message = parse(text, len);
    check_forward(text, len, message,
                  "Undeliverable: your email to 3 recipients could not be delivered");
    g_assert_nonnull(strstr(text, "\r\nTo: " ORG_REPLY_TO "\r\n"));

    body = body_text(message);
    g_assert_cmpstr(body, ==,
        "Hello,\n"
        "\n"
        "Your email \"Invoice INV-7\" could not be delivered to 3 recipients:\n"
        "\n"
        "  gone@a.example\n"
        "  The mailbox does not exist (5.1.1).\n"
        "  The recipient's mail server said: 550 5.1.1 <gone@a.example>: Recipient address "
        "rejected: User unknown\n"
        "\n"
        "  x@nowhere.example\n"
        "  The recipient's domain does not exist or accepts no mail (5.1.2).\n"
        "\n"
        "  spam@c.example\n"
        "  The recipient's mail server refused it (554).\n"
        "  The recipient's mail server said: 554 spam\n"
        "\n"
        "Please check the address with your customer, or reach them another\n"
        "way. The report we received from the recipient's mail server is\n"
        "attached.\n"
        "\n"
        "This message was sent automatically; replies to it are not read.\n");

    /* 8-bit ("Grüße"): message/global in base64, the report's bytes. */
    g_assert_nonnull(strstr(text, "Content-Type: message/global\r\n"
                                  "Content-Transfer-Encoding: base64\r\n"));
    got = attachment_bytes(text, message);
    got_raw = (const char *)got->data;
    got_len = got->len;
    if (got_len != strlen(RAW_REPORT) || memcmp(got_raw, RAW_REPORT, got_len) != 0)
        g_error("attachment: got %" G_GSIZE_FORMAT " bytes \"%.*s\", want the report as sent",
                got_len, (int)got_len, got_raw);
    inner = parse(got_raw, got_len);
    g_assert_cmpstr(g_mime_message_get_subject(inner), ==, "Undelivered Mail Returned to Sender");
    g_assert_cmpstr(g_mime_message_get_message_id(inner), ==, "r1@mx.example");
    g_object_unref(inner);
    fake_clear(&f);
}

/* test_nothing_to_forward - NULL, and len 0. */
static void
test_nothing_to_forward(void)
{
    static const struct {
        const char *name;
        BounceKind  kind;
        const char *action;        /* of the one recipient, NULL for none */
        const char *from, *to;
    } cases[] = {
        { "delayed only",      BOUNCE_KIND_DSN, "delayed", REPLY_MAILBOX, ORG_REPLY_TO },
        { "delivered only",    BOUNCE_KIND_DELIVERED, "delivered", REPLY_MAILBOX, ORG_REPLY_TO },
        { "no recipients",     BOUNCE_KIND_NONSTANDARD, NULL, REPLY_MAILBOX, ORG_REPLY_TO },
        { "empty action",      BOUNCE_KIND_NONSTANDARD, "", REPLY_MAILBOX, ORG_REPLY_TO },
        { "autoreply, no org", BOUNCE_KIND_AUTOREPLY, NULL, REPLY_MAILBOX, NULL },
        { "complaint",         BOUNCE_KIND_ARF, "failed", REPLY_MAILBOX, ORG_REPLY_TO },
        { "no org address",    BOUNCE_KIND_DSN, "failed", REPLY_MAILBOX, NULL },
        { "org address list",  BOUNCE_KIND_DSN, "failed", REPLY_MAILBOX, "a@x.example, b@x.example" },
        { "org address crlf",  BOUNCE_KIND_DSN, "failed", REPLY_MAILBOX, "a@x.example\r\nBcc: b@x" },
        { "org bogus punycode", BOUNCE_KIND_DSN, "failed", REPLY_MAILBOX, "a@xn--a.com" },
        { "no from",           BOUNCE_KIND_DSN, "failed", "", ORG_REPLY_TO },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fake f;
        gsize len = 99;
        g_autofree char *text = NULL;

        fake_init(&f, cases[i].kind, "s");
        if (cases[i].action != NULL)
            fake_add(&f, "a@b.example", cases[i].action, "5.1.1", "550", "userunknown", "");
        text = bounce_forward_compose(&f.report, "x", 1, cases[i].from, "Org", cases[i].to,
                                      NULL, &len);
        if (text != NULL || len != 0)
            g_test_fail_printf("%s: got a forward of %" G_GSIZE_FORMAT " bytes, want none",
                               cases[i].name, len);
        fake_clear(&f);
    }
}

/* test_autoreply - an out-of-office reply that came back to the VERP
 * address is forwarded with a note and attached, without recipients. */
static void
test_autoreply(void)
{
    Fake f;
    gsize len = 0;
    g_autofree char *text = NULL;
    static const char raw[] = "From: Ann <ann@customer.example>\r\nSubject: Out of office\r\n"
                              "Auto-Submitted: auto-replied\r\n\r\nBack on Monday.\r\n";

    fake_init(&f, BOUNCE_KIND_AUTOREPLY, NULL);
    f.report.from = (char *)"Ann <ann@customer.example>";
    f.report.subject = (char *)"Out of office";
    text = bounce_forward_compose(&f.report, raw, sizeof raw - 1, REPLY_MAILBOX, "Org", ORG_REPLY_TO,
                                  NULL, &len);
    g_assert_nonnull(text);
    g_assert_cmpuint(len, ==, strlen(text));
    if (strstr(text, "Subject: Automatic reply to your email from Ann <ann@customer.example>\r\n") == NULL)
        g_test_fail_printf("subject: got %s, want the automatic-reply subject", text);
    if (strstr(text, "sent an automatic reply") == NULL || strstr(text, "(\"Out of office\")") == NULL)
        g_test_fail_printf("body: got %s, want the automatic-reply note", text);
    if (strstr(text, "Content-Type: message/rfc822") == NULL || strstr(text, "Back on Monday.") == NULL)
        g_test_fail_printf("attachment: got %s, want the reply attached", text);
    if (strstr(text, "Auto-Submitted: auto-generated\r\n") == NULL)
        g_test_fail_printf("Auto-Submitted missing in %s", text);
    fake_clear(&f);
}

/* test_hostile - what the report says cannot add a field or a part. */
static void
test_hostile(void)
{
    Fake f;
    gsize len = 0;
    g_autofree char *text = NULL;
    g_autofree char *body = NULL;
    g_autoptr(GMimeMessage) message = NULL;

    fake_init(&f, BOUNCE_KIND_NONSTANDARD, "Hi\r\nBcc: victim@example.com");
    fake_add(&f, "a@b.example\r\nBcc: victim@example.com", "failed", "5.1.1\r\nX: y", "550",
             "userunknown", "line one\r\n\r\n--boundary\r\nContent-Type: text/html");
    text = bounce_forward_compose(&f.report, "\n", 1, REPLY_MAILBOX,
                                  "Doe, \"Jane\"\r\nBcc: x@example.com", ORG_REPLY_TO,
                                  "post.example.com", &len);
    g_assert_nonnull(text);
    message = parse(text, len);
    check_forward(text, len, message, "Undeliverable: your email to a@b.example Bcc: "
                  "victim@example.com could not be delivered");
    g_assert_null(strstr(text, "\nBcc:"));
    g_assert_null(strstr(text, "\nX: y"));
    g_assert_null(strstr(text, "\nContent-Type: text/html"));
    body = body_text(message);
    g_assert_nonnull(strstr(body, "Your email \"Hi Bcc: victim@example.com\" could not"));
    g_assert_nonnull(strstr(body, "said: line one --boundary Content-Type: text/html\n"));
    g_assert_true(g_str_has_prefix(body, "Hello Doe, \"Jane\" Bcc: x@example.com,\n\n"));
    g_assert_nonnull(strstr(text, "\r\nTo: " ORG_REPLY_TO "\r\n"));
    fake_clear(&f);
}

/* test_subject_encoding - a subject GMime 3.2 would break: text that
 * looks like an encoded word, next to 8-bit text. */
static void
test_subject_encoding(void)
{
    static const struct { const char *addr, *want_subject; } cases[] = {
        { "=?utf-8?q?x?=@b.example",
          "Undeliverable: your email to =?utf-8?q?x?=@b.example could not be delivered" },
        { "=?x\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81\xc3\x81@b.example",
          NULL },
        { "j\xc3\xb6rg@m\xc3\xbcller.example",
          "Undeliverable: your email to j\xc3\xb6rg@m\xc3\xbcller.example could not be delivered" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fake f;
        gsize len = 0;
        g_autofree char *text = NULL;
        g_autoptr(GMimeMessage) message = NULL;
        g_autofree char *names = NULL;

        fake_init(&f, BOUNCE_KIND_DSN, NULL);
        fake_add(&f, cases[i].addr, "failed", "5.1.1", "", "userunknown", NULL);
        text = bounce_forward_compose(&f.report, "x\r\n", 3, REPLY_MAILBOX, NULL, ORG_REPLY_TO,
                                      NULL, &len);
        check_crlf(text, len);
        /* every header line a field or a continuation */
        names = header_names(text);
        g_assert_cmpstr(names, ==, FORWARD_HEADERS);
        message = parse(text, len);
        if (cases[i].want_subject != NULL
            && g_strcmp0(g_mime_message_get_subject(message), cases[i].want_subject) != 0)
            g_test_fail_printf("%s: got subject %s, want %s", cases[i].addr,
                               g_mime_message_get_subject(message), cases[i].want_subject);
        fake_clear(&f);
    }
}

/* test_unsendable_raw - a report with a NUL byte, a bare CR or a
 * 1000-octet line cannot be message/rfc822 over SMTP: a base64 file of
 * the same bytes instead. */
static void
test_unsendable_raw(void)
{
    g_autofree char *long_line = g_strnfill(1000, 'x');
    const struct { const char *name; const char *raw; gsize len; } cases[] = {
        { "nul", "From: a@b\r\n\r\nx\0y\r\n", 17 },
        { "bare cr", "From: a@b\r\n\r\nx\ry\r\n", 17 },
        { "long line", long_line, 1000 },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fake f;
        gsize len = 0;
        g_autofree char *text = NULL;
        g_autoptr(GMimeMessage) message = NULL;
        g_autoptr(GByteArray) bytes = NULL;
        GMimeObject *mixed, *attachment;
        GMimeContentType *ct;

        fake_init(&f, BOUNCE_KIND_DSN, NULL);
        fake_add(&f, "a@b.example", "failed", "", "", NULL, NULL);
        text = bounce_forward_compose(&f.report, cases[i].raw, cases[i].len, REPLY_MAILBOX,
                                      NULL, ORG_REPLY_TO, NULL, &len);
        g_assert_nonnull(text);
        check_crlf(text, len);
        message = parse(text, len);
        mixed = g_mime_message_get_mime_part(message);
        attachment = g_mime_multipart_get_part(GMIME_MULTIPART(mixed), 1);
        ct = g_mime_object_get_content_type(attachment);
        g_assert_cmpstr(g_mime_content_type_get_media_type(ct), ==, "application");
        g_assert_cmpstr(g_mime_content_type_get_media_subtype(ct), ==, "octet-stream");
        g_assert_cmpstr(g_mime_part_get_filename(GMIME_PART(attachment)), ==, "delivery-report.eml");
        bytes = part_bytes(attachment, FALSE);
        if (bytes->len != cases[i].len || memcmp(bytes->data, cases[i].raw, cases[i].len) != 0)
            g_test_fail_printf("%s: got %u bytes back, want the %" G_GSIZE_FORMAT " given",
                               cases[i].name, bytes->len, cases[i].len);
        fake_clear(&f);
    }
}

/* test_many - more recipients than are listed: the rest are counted. */
static void
test_many(void)
{
    Fake f;
    g_autoptr(GPtrArray) addrs = g_ptr_array_new_with_free_func(g_free);
    gsize len = 0;
    g_autofree char *text = NULL;
    g_autofree char *body = NULL;
    g_autoptr(GMimeMessage) message = NULL;

    fake_init(&f, BOUNCE_KIND_DSN, "Newsletter");
    for (int i = 0; i < 60; i++) {
        char *addr = g_strdup_printf("r%02d@x.example", i);

        g_ptr_array_add(addrs, addr);
        fake_add(&f, addr, "failed", "5.1.1", "550", "userunknown", NULL);
    }
    text = bounce_forward_compose(&f.report, "From: a@b\r\n\r\nx\r\n", 16, REPLY_MAILBOX,
                                  "Org", ORG_REPLY_TO, "post.example.com", &len);
    message = parse(text, len);
    check_forward(text, len, message,
                  "Undeliverable: your email to 60 recipients could not be delivered");
    body = body_text(message);
    g_assert_nonnull(strstr(body, "could not be delivered to 60 recipients:\n"));
    g_assert_nonnull(strstr(body, "  r49@x.example\n"));
    g_assert_null(strstr(body, "r50@x.example"));
    g_assert_nonnull(strstr(body, "  ... and 10 more, listed in the attached report.\n"));
    fake_clear(&f);
}

/* test_no_codes - no status: the reply code; neither: no parentheses; no
 * subject: no quotes; no address: said so. */
static void
test_no_codes(void)
{
    Fake f;
    gsize len = 0;
    g_autofree char *text = NULL;
    g_autofree char *body = NULL;
    g_autoptr(GMimeMessage) message = NULL;

    fake_init(&f, BOUNCE_KIND_NONSTANDARD, NULL);
    fake_add(&f, "", "failed", "", "", "mailboxfull", "");
    text = bounce_forward_compose(&f.report, "x\r\n", 3, REPLY_MAILBOX, "Org", ORG_REPLY_TO,
                                  "post.example.com", &len);
    message = parse(text, len);
    check_forward(text, len, message, "Undeliverable: your email could not be delivered");
    body = body_text(message);
    g_assert_nonnull(strstr(body, "Your email could not be delivered to 1 recipient:\n\n"
                                  "  (address unknown)\n  The recipient's mailbox is full.\n\n"));
    fake_clear(&f);
}

/* test_queued_identity - a forward composed for a queued row has the
 * same Message-ID and Date at every attempt, made from the row (RFC 5322
 * §3.6.4): a copy the relay took twice is the same message, not two. */
static void
test_queued_identity(void)
{
    Fake f;
    g_autoptr(GMimeMessage) first = NULL;
    g_autoptr(GMimeMessage) again = NULL;
    g_autoptr(GMimeMessage) plain = NULL;
    g_autofree char *a = NULL;
    g_autofree char *b = NULL;
    g_autofree char *c = NULL;
    gsize alen = 0, blen = 0, clen = 0;
    GDateTime *date;

    fake_init(&f, BOUNCE_KIND_DSN, "Invoice INV-9");
    fake_add(&f, "gone@a.example", "failed", "5.1.1", "550", "userunknown", "550 5.1.1 unknown");
    a = bounce_forward_compose_queued(&f.report, "x\r\n", 3, REPLY_MAILBOX, "Org", ORG_REPLY_TO,
                                      NULL, 7, G_GINT64_CONSTANT(1700000000123456), &alen);
    b = bounce_forward_compose_queued(&f.report, "x\r\n", 3, REPLY_MAILBOX, "Org", ORG_REPLY_TO,
                                      NULL, 7, G_GINT64_CONSTANT(1700000000123456), &blen);
    c = bounce_forward_compose(&f.report, "x\r\n", 3, REPLY_MAILBOX, "Org", ORG_REPLY_TO, NULL,
                               &clen);
    g_assert_nonnull(a);
    g_assert_nonnull(b);
    first = parse(a, alen);
    again = parse(b, blen);
    plain = parse(c, clen);
    g_assert_cmpstr(g_mime_message_get_message_id(first), ==,
                    "fwd.7.1700000000123456@post.example.com");
    g_assert_cmpstr(g_mime_message_get_message_id(again), ==,
                    g_mime_message_get_message_id(first));
    date = g_mime_message_get_date(first);
    g_assert_nonnull(date);
    g_assert_cmpint(g_date_time_to_unix(date), ==, 1700000000);
    g_assert_cmpint(g_date_time_to_unix(g_mime_message_get_date(again)), ==, 1700000000);
    /* Not queued: a Message-ID of its own, this time. */
    g_assert_false(g_str_has_prefix(g_mime_message_get_message_id(plain), "fwd."));
    fake_clear(&f);
}

/* test_eight_bit_lf - an 8-bit report with LF line ends (as stored from
 * some MTAs): message/global, base64 of its CRLF form, mixed ends too. */
static void
test_eight_bit_lf(void)
{
    static const char raw[] = "From: a@b.example\nSubject: x\r\n\nGr\xc3\xbc\xc3\x9f" "e\n\nend";
    static const char want[] = "From: a@b.example\r\nSubject: x\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n\r\nend";
    Fake f;
    gsize len = 0;
    g_autofree char *text = NULL;
    g_autoptr(GMimeMessage) message = NULL;
    g_autoptr(GByteArray) got = NULL;

    fake_init(&f, BOUNCE_KIND_DSN, "Invoice INV-10");
    fake_add(&f, "gone@a.example", "failed", "5.1.1", "550", "userunknown", "550 5.1.1 unknown");
    text = bounce_forward_compose(&f.report, raw, sizeof raw - 1, REPLY_MAILBOX, "Org",
                                  ORG_REPLY_TO, NULL, &len);
    g_assert_nonnull(text);
    message = parse(text, len);
    check_forward(text, len, message, "Undeliverable: your email to gone@a.example could not be delivered");
    got = attachment_bytes(text, message);
    g_assert_cmpmem(got->data, got->len, want, sizeof want - 1);
    fake_clear(&f);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce_forward/explain", test_explain);
    g_test_add_func("/bounce_forward/queued-identity", test_queued_identity);
    g_test_add_func("/bounce_forward/eight-bit-lf", test_eight_bit_lf);
    g_test_add_func("/bounce_forward/fixtures", test_fixtures);
    g_test_add_func("/bounce_forward/several", test_several);
    g_test_add_func("/bounce_forward/nothing-to-forward", test_nothing_to_forward);
    g_test_add_func("/bounce_forward/autoreply", test_autoreply);
    g_test_add_func("/bounce_forward/hostile", test_hostile);
    g_test_add_func("/bounce_forward/subject-encoding", test_subject_encoding);
    g_test_add_func("/bounce_forward/unsendable-raw", test_unsendable_raw);
    g_test_add_func("/bounce_forward/many", test_many);
    g_test_add_func("/bounce_forward/no-codes", test_no_codes);
    return g_test_run();
}
