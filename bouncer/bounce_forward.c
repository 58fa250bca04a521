/* bounce_forward.c - the forward of a final failure to the organisation
 * that sent the email: what happened to each recipient in plain words,
 * and the report as it came, attached.
 *
 * Everything read from the report (addresses, subject, diagnostic) is
 * folded to one line before it is written; GMime does the encoding. */
#include <string.h>

#include "bouncer/bounce_forward.h"
#include "common/gmime_autoptr.h"

/* Named limits, in characters. */
#define FORWARD_RECIPIENTS_MAX   50    /* listed; the rest are counted */
#define FORWARD_ADDR_MAX         254
#define FORWARD_SUBJECT_MAX      200
#define FORWARD_DIAGNOSTIC_MAX   300
#define FORWARD_NAME_MAX         200
/* RFC 5322 §2.1.1: a line is at most 998 octets; RFC 2046 §5.2.1 allows
 * message/rfc822 only 7bit, 8bit or binary, and binary is not SMTP. */
#define FORWARD_LINE_MAX         998
/* Header folding: lines end before column 78; "=?UTF-8?B?" + 60 base64
 * + "?=" is 72 characters, under RFC 2047's 75. */
#define FORWARD_FOLD_AT          78
#define FORWARD_WORD_BYTES       45

static const struct {
    const char *reason;
    const char *words;
} explanations[] = {
    { "userunknown",     "the mailbox does not exist" },
    { "hasmoved",        "the recipient has moved and the address is no longer in use" },
    { "suspend",         "the recipient's mailbox is disabled" },
    { "mailboxfull",     "the recipient's mailbox is full" },
    { "hostunknown",     "the recipient's domain does not exist or accepts no mail" },
    { "notaccept",       "the recipient's domain does not exist or accepts no mail" },
    { "blocked",         "the recipient's mail server refused it" },
    { "spamdetected",    "the recipient's mail server refused it" },
    { "policyviolation", "the recipient's mail server refused it" },
    { "rejected",        "the recipient's mail server refused it" },
    { "filtered",        "the recipient's mail server refused it" },
    { "badreputation",   "the recipient's mail server refused it" },
    { "securityerror",   "the recipient's mail server refused it" },
    { "virusdetected",   "the recipient's mail server refused it" },
    { "contenterror",    "the recipient's mail server refused it" },
    { "mesgtoobig",      "the email is too large for the recipient's mail server" },
    { "exceedlimit",     "the email is too large for the recipient's mail server" },
    { "expired",         "it could not be delivered in time" },
};

#define FORWARD_EXPLAIN_DEFAULT "it could not be delivered"

const char *
bounce_forward_explain(const char *reason)
{
    if (reason == NULL)
        return FORWARD_EXPLAIN_DEFAULT;
    for (gsize i = 0; i < G_N_ELEMENTS(explanations); i++) {
        if (g_ascii_strcasecmp(reason, explanations[i].reason) == 0)
            return explanations[i].words;
    }
    return FORWARD_EXPLAIN_DEFAULT;
}

/* forward_fold - one line of text from anything: invalid UTF-8 replaced,
 * control characters and line separators made spaces, white space runs
 * made one space, trimmed, at most max_chars characters. NULL gives "".
 * (transfer full) */
static char *
forward_fold(const char *text, gsize max_chars)
{
    g_autofree char *valid = NULL;
    GString *out;
    gsize chars = 0;
    gboolean space = FALSE;

    if (text == NULL)
        return g_strdup("");
    valid = g_utf8_make_valid(text, -1);
    out = g_string_new(NULL);
    for (const char *p = valid; *p != '\0' && chars < max_chars; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (g_unichar_iscntrl(c) || g_unichar_isspace(c) || c == 0x2028 || c == 0x2029) {
            space = out->len > 0;
            continue;
        }
        if (space) {
            g_string_append_c(out, ' ');
            space = FALSE;
            if (++chars >= max_chars)
                break;
        }
        g_string_append_unichar(out, c);
        chars++;
    }
    return g_string_free(out, FALSE);
}

/* word_is_plain - printable ASCII that cannot be read as an encoded word. */
static gboolean
word_is_plain(const char *word, gsize len)
{
    for (gsize i = 0; i < len; i++) {
        if (word[i] <= 0x20 || word[i] >= 0x7f)
            return FALSE;
        if (word[i] == '=' && i + 1 < len && word[i + 1] == '?')
            return FALSE;
    }
    return TRUE;
}

/* raw_append_word - one word, after a space or a fold. */
static void
raw_append_word(GString *out, gsize *column, const char *word, gsize len)
{
    if (out->len > 0 && *column + 1 + len > FORWARD_FOLD_AT) {
        g_string_append(out, "\n");
        *column = 0;
    }
    g_string_append_c(out, ' ');
    g_string_append_len(out, word, len);
    *column += 1 + len;
}

/* subject_raw - the raw Subject value (" ...\n", as GMime keeps it) of one
 * folded line of UTF-8: leading plain ASCII words as they are, the rest
 * RFC 2047 "B" words. GMime 3.2's encoder leaves words with "=?" bare and
 * can then fold inside an encoded word; an address in the report could
 * carry one. (autoreply_header_raw() in autoreply/ does the same for the
 * auto-reply; the two mailboxes share no code.) (transfer full) */
static char *
subject_raw(const char *text)
{
    GString *out = g_string_new(NULL);
    gsize column = strlen("Subject:");
    const char *p = text;

    while (*p != '\0') {
        const char *end = strchr(p, ' ');
        gsize len = end != NULL ? (gsize)(end - p) : strlen(p);

        if (len > FORWARD_LINE_MAX / 2 || !word_is_plain(p, len))
            break;
        if (len > 0)
            raw_append_word(out, &column, p, len);
        p += len;
        if (*p == ' ')
            p++;
    }
    while (*p != '\0') {
        const char *q = p;
        g_autofree char *b64 = NULL;
        g_autofree char *word = NULL;

        while (*q != '\0' && (gsize)(g_utf8_next_char(q) - p) <= FORWARD_WORD_BYTES)
            q = g_utf8_next_char(q);
        if (q == p)
            q = g_utf8_next_char(p);
        b64 = g_base64_encode((const guchar *)p, q - p);
        word = g_strdup_printf("=?UTF-8?B?%s?=", b64);
        raw_append_word(out, &column, word, strlen(word));
        p = q;
    }
    g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

/* forward_address - a plain addr-spec (angle brackets and white space
 * dropped) that is safe as a header address and an SMTP path, or NULL:
 * printable ASCII, no specials, one '@' with text on both sides. */
static char *
forward_address(const char *text)
{
    g_autofree char *addr = NULL;
    InternetAddress *ia;
    const char *at;
    gboolean same;
    gsize len;

    if (text == NULL)
        return NULL;
    addr = g_strstrip(g_strdup(text));
    len = strlen(addr);
    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
        memmove(addr, addr + 1, len - 2);
        addr[len - 2] = '\0';
        g_strstrip(addr);
        len = strlen(addr);
    }
    if (len == 0 || len > FORWARD_ADDR_MAX)
        return NULL;
    for (const char *p = addr; *p != '\0'; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p) != NULL)
            return NULL;
    }
    at = strchr(addr, '@');
    if (at == NULL || at == addr || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return NULL;
    /* GMime writes the domain in its IDNA form: a bogus "xn--" label
     * would come out as another address. */
    gmime_init_once();
    ia = internet_address_mailbox_new(NULL, addr);
    same = g_strcmp0(internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia)),
                     addr) == 0;
    g_object_unref(ia);
    return same ? g_steal_pointer(&addr) : NULL;
}

/* recipient_failed - listed in the forward: action failed. */
static gboolean
recipient_failed(const BounceRecipient *r)
{
    return r->action != NULL && g_ascii_strcasecmp(r->action, "failed") == 0;
}

/* forward_subject - "Undeliverable: your email to x@y could not be
 * delivered", or "... to 3 recipients ..." for several. (transfer full) */
static char *
forward_subject(const BounceRecipient *first, guint failed)
{
    g_autofree char *addr = NULL;

    if (failed > 1)
        return g_strdup_printf("Undeliverable: your email to %u recipients could not be "
                               "delivered", failed);
    addr = forward_fold(first->addr, FORWARD_ADDR_MAX);
    if (*addr == '\0')
        return g_strdup("Undeliverable: your email could not be delivered");
    return g_strdup_printf("Undeliverable: your email to %s could not be delivered", addr);
}

/* explain_recipient - the paragraph for one recipient. */
static void
explain_recipient(GString *out, const BounceRecipient *r)
{
    g_autofree char *addr = forward_fold(r->addr, FORWARD_ADDR_MAX);
    g_autofree char *status = forward_fold(r->status, 16);
    g_autofree char *code = forward_fold(r->replycode, 16);
    g_autofree char *diagnostic = forward_fold(r->diagnostic, FORWARD_DIAGNOSTIC_MAX);
    const char *words = bounce_forward_explain(r->reason);
    const char *shown = *status != '\0' ? status : code;

    g_string_append_printf(out, "  %s\n  %c%s", *addr != '\0' ? addr : "(address unknown)",
                           g_ascii_toupper(words[0]), words + 1);
    if (*shown != '\0')
        g_string_append_printf(out, " (%s)", shown);
    g_string_append(out, ".\n");
    if (*diagnostic != '\0')
        g_string_append_printf(out, "  The recipient's mail server said: %s\n", diagnostic);
    g_string_append_c(out, '\n');
}

/* autoreply_subject - for an out-of-office (or other automatic) reply
 * that came back to the VERP address. (transfer full) */
static char *
autoreply_subject(const BounceReport *report)
{
    g_autofree char *from = forward_fold(report->from, FORWARD_ADDR_MAX);

    if (*from == '\0')
        return g_strdup("Automatic reply to your email");
    return g_strdup_printf("Automatic reply to your email from %s", from);
}

/* autoreply_body - what an automatic reply is, and that it is attached. */
static char *
autoreply_body(const BounceReport *report, const char *org_name)
{
    g_autofree char *name = forward_fold(org_name, FORWARD_NAME_MAX);
    g_autofree char *from = forward_fold(report->from, FORWARD_ADDR_MAX);
    g_autofree char *subject = forward_fold(report->subject, FORWARD_SUBJECT_MAX);
    GString *out = g_string_new(NULL);

    g_string_append_printf(out, "Hello%s%s,\n\n", *name != '\0' ? " " : "", name);
    g_string_append_printf(out, "Your email was delivered, and %s sent an automatic reply\n",
                           *from != '\0' ? from : "the recipient");
    if (*subject != '\0')
        g_string_append_printf(out, "(\"%s\")", subject);
    g_string_append(out,
                    ", for example an out-of-office notice. It is attached in case\n"
                    "it tells you something you need to know.\n"
                    "\n"
                    "This message was sent automatically; replies to it are not read.\n");
    return g_string_free(out, FALSE);
}

/* forward_body - the explanation: which email, each failed recipient,
 * what to do. (transfer full) */
static char *
forward_body(const BounceReport *report, guint failed, const char *org_name)
{
    g_autofree char *subject = forward_fold(report->original.subject, FORWARD_SUBJECT_MAX);
    g_autofree char *name = forward_fold(org_name, FORWARD_NAME_MAX);
    GString *out = g_string_new(NULL);
    guint listed = 0;

    g_string_append_printf(out, "Hello%s%s,\n\n", *name != '\0' ? " " : "", name);
    g_string_append(out, "Your email ");
    if (*subject != '\0')
        g_string_append_printf(out, "\"%s\" ", subject);
    g_string_append_printf(out, "could not be delivered to %u recipient%s:\n\n", failed,
                           failed == 1 ? "" : "s");
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (!recipient_failed(r))
            continue;
        if (listed == FORWARD_RECIPIENTS_MAX) {
            g_string_append_printf(out, "  ... and %u more, listed in the attached report.\n\n",
                                   failed - listed);
            break;
        }
        explain_recipient(out, r);
        listed++;
    }
    g_string_append(out,
                    "Please check the address with your customer, or reach them another\n"
                    "way. The report we received from the recipient's mail server is\n"
                    "attached.\n"
                    "\n"
                    "This message was sent automatically; replies to it are not read.\n");
    return g_string_free(out, FALSE);
}

/* text_part - text/plain; charset=utf-8, 7bit or quoted-printable. */
static GMimePart *
text_part(const char *text)
{
    GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
    g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_buffer(text, strlen(text));
    g_autoptr(GMimeDataWrapper) content =
        g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
    GMimeContentEncoding encoding;

    g_mime_part_set_content(GMIME_PART(part), content);
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
    encoding = g_mime_part_get_best_content_encoding(GMIME_PART(part),
                                                     GMIME_ENCODING_CONSTRAINT_7BIT);
    if (encoding == GMIME_CONTENT_ENCODING_DEFAULT)
        encoding = GMIME_CONTENT_ENCODING_7BIT;         /* say so, not leave it implied */
    else if (encoding == GMIME_CONTENT_ENCODING_BASE64)
        encoding = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
    g_mime_part_set_content_encoding(GMIME_PART(part), encoding);
    return GMIME_PART(part);
}

/* raw_encoding - how raw can travel as message/rfc822: 7bit or 8bit, or
 * -1 when it cannot (a NUL byte, a CR not before LF, a line over
 * FORWARD_LINE_MAX octets). */
static int
raw_encoding(const char *raw, gsize len)
{
    gboolean eight = FALSE;
    gsize line = 0;

    for (gsize i = 0; i < len; i++) {
        guchar c = (guchar)raw[i];

        if (c == '\0' || (c == '\r' && (i + 1 == len || raw[i + 1] != '\n')))
            return -1;
        if (c == '\n' || c == '\r') {
            line = 0;
            continue;
        }
        if (++line > FORWARD_LINE_MAX)
            return -1;
        if (c >= 0x80)
            eight = TRUE;
    }
    return eight ? GMIME_CONTENT_ENCODING_8BIT : GMIME_CONTENT_ENCODING_7BIT;
}

/* report_part - raw, byte for byte, as message/rfc822; GMime makes its
 * line ends CRLF when the whole is written. A report that cannot be
 * message/rfc822 goes as a base64 file instead. */
static GMimePart *
report_part(const char *raw, gsize len)
{
    int encoding = raw_encoding(raw, len);
    GMimePart *part;
    g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_buffer(raw, len);
    g_autoptr(GMimeDataWrapper) content =
        g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);

    if (encoding < 0) {
        part = g_mime_part_new_with_type("application", "octet-stream");
        g_mime_part_set_content(part, content);
        g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
        g_mime_part_set_filename(part, "delivery-report.eml");
    } else {
        part = g_mime_part_new_with_type("message", "rfc822");
        g_mime_part_set_content(part, content);
        g_mime_part_set_content_encoding(part, (GMimeContentEncoding)encoding);
        g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_ATTACHMENT);
    }
    g_mime_object_set_header(GMIME_OBJECT(part), "Content-Description", "Delivery report",
                             NULL);
    return part;
}

/* id_domain - the Message-ID domain: message_id_domain when it is a plain
 * host name, else the reply mailbox's domain. (transfer none) */
static const char *
id_domain(const char *message_id_domain, const char *from)
{
    if (message_id_domain != NULL && *message_id_domain != '\0') {
        gboolean ok = TRUE;

        for (const char *p = message_id_domain; *p != '\0' && ok; p++)
            ok = g_ascii_isalnum(*p) || *p == '-' || *p == '.';
        if (ok)
            return message_id_domain;
    }
    return strchr(from, '@') + 1;
}

char *
bounce_forward_compose(const BounceReport *report, const char *raw, gsize raw_len,
                       const char *from_mailbox, const char *org_name,
                       const char *org_reply_to, const char *message_id_domain,
                       gsize *len_out)
{
    g_autofree char *from = NULL;
    g_autofree char *to = NULL;
    g_autofree char *subject = NULL;
    g_autofree char *subject_value = NULL;
    g_autofree char *body = NULL;
    g_autofree char *message_id = NULL;
    g_autoptr(GMimeMessage) message = NULL;
    g_autoptr(GMimeMultipart) mixed = NULL;
    g_autoptr(GMimePart) text = NULL;
    g_autoptr(GMimePart) attachment = NULL;
    g_autoptr(GMimeFormatOptions) options = NULL;
    g_autoptr(GDateTime) now = NULL;
    const BounceRecipient *first = NULL;
    guint failed = 0;
    char *out;

    if (len_out != NULL)
        *len_out = 0;
    g_return_val_if_fail(report != NULL, NULL);
    g_return_val_if_fail(raw != NULL || raw_len == 0, NULL);

    /* RFC 5965 reports name a complainant: recorded, never passed on. */
    if (report->kind == BOUNCE_KIND_ARF || report->recipients == NULL)
        return NULL;
    for (guint i = 0; i < report->recipients->len; i++) {
        const BounceRecipient *r = g_ptr_array_index(report->recipients, i);

        if (recipient_failed(r)) {
            if (first == NULL)
                first = r;
            failed++;
        }
    }
    from = forward_address(from_mailbox);
    to = forward_address(org_reply_to);
    if ((failed == 0 && report->kind != BOUNCE_KIND_AUTOREPLY) || from == NULL || to == NULL)
        return NULL;

    gmime_init_once();
    message = g_mime_message_new(TRUE);
    g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_FROM, NULL, from);
    /* No display name: the organisation's name is its own text, and GMime
     * would encode it the way it does subjects (see subject_raw). */
    g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, to);
    subject = failed > 0 ? forward_subject(first, failed) : autoreply_subject(report);
    subject_value = subject_raw(subject);
    g_mime_message_set_subject(message, subject, "utf-8");
    g_mime_header_set_raw_value(g_mime_header_list_get_header(
        g_mime_object_get_header_list(GMIME_OBJECT(message)), "Subject"), subject_value);
    now = g_date_time_new_now_local();
    g_mime_message_set_date(message, now);
    message_id = g_mime_utils_generate_message_id(id_domain(message_id_domain, from));
    g_mime_message_set_message_id(message, message_id);
    /* RFC 3834 §5: generated, not a reply; no auto-reply back to us. */
    g_mime_object_set_header(GMIME_OBJECT(message), "Auto-Submitted", "auto-generated", NULL);
    g_mime_object_set_header(GMIME_OBJECT(message), "X-Auto-Response-Suppress", "All", NULL);

    mixed = g_mime_multipart_new_with_subtype("mixed");
    body = failed > 0 ? forward_body(report, failed, org_name) : autoreply_body(report, org_name);
    text = text_part(body);
    attachment = report_part(raw != NULL ? raw : "", raw_len);
    g_mime_multipart_add(mixed, GMIME_OBJECT(text));
    g_mime_multipart_add(mixed, GMIME_OBJECT(attachment));
    g_mime_message_set_mime_part(message, GMIME_OBJECT(mixed));

    options = g_mime_format_options_clone(NULL);
    g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
    out = g_mime_object_to_string(GMIME_OBJECT(message), options);
    if (len_out != NULL)
        *len_out = strlen(out);
    return out;
}
