/* bounce_forward.c - the forward of a final failure to the organisation
 * that sent the email: what happened to each recipient in plain words,
 * and the report as it came, attached.
 *
 * Everything read from the report (addresses, subject, diagnostic) is
 * folded to one line before it is written (common/mime_compose.h); GMime
 * writes the message; the Subject's RFC 2047 words are ours. */
#include <string.h>

#include "bouncer/bounce_forward.h"
#include "common/gmime_autoptr.h"
#include "common/mime_compose.h"

/* Named limits, in characters. */
#define FORWARD_RECIPIENTS_MAX   50    /* listed; the rest are counted */
#define FORWARD_ADDR_MAX         254
#define FORWARD_SUBJECT_MAX      200
#define FORWARD_DIAGNOSTIC_MAX   300
#define FORWARD_NAME_MAX         200
/* RFC 5322 §2.1.1: a line is at most 998 octets; RFC 2046 §5.2.1 allows
 * message/rfc822 only 7bit, 8bit or binary, and binary is not SMTP. */
#define FORWARD_LINE_MAX         998

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
    addr = mime_compose_fold(first->addr, -1, FORWARD_ADDR_MAX);
    if (*addr == '\0')
        return g_strdup("Undeliverable: your email could not be delivered");
    return g_strdup_printf("Undeliverable: your email to %s could not be delivered", addr);
}

/* explain_recipient - the paragraph for one recipient. */
static void
explain_recipient(GString *out, const BounceRecipient *r)
{
    g_autofree char *addr = mime_compose_fold(r->addr, -1, FORWARD_ADDR_MAX);
    g_autofree char *status = mime_compose_fold(r->status, -1, 16);
    g_autofree char *code = mime_compose_fold(r->replycode, -1, 16);
    g_autofree char *diagnostic = mime_compose_fold(r->diagnostic, -1, FORWARD_DIAGNOSTIC_MAX);
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
    g_autofree char *from = mime_compose_fold(report->from, -1, FORWARD_ADDR_MAX);

    if (*from == '\0')
        return g_strdup("Automatic reply to your email");
    return g_strdup_printf("Automatic reply to your email from %s", from);
}

/* autoreply_body - what an automatic reply is, and that it is attached. */
static char *
autoreply_body(const BounceReport *report, const char *org_name)
{
    g_autofree char *name = mime_compose_fold(org_name, -1, FORWARD_NAME_MAX);
    g_autofree char *from = mime_compose_fold(report->from, -1, FORWARD_ADDR_MAX);
    g_autofree char *subject = mime_compose_fold(report->subject, -1, FORWARD_SUBJECT_MAX);
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
    g_autofree char *subject =
        mime_compose_fold(report->original.subject, -1, FORWARD_SUBJECT_MAX);
    g_autofree char *name = mime_compose_fold(org_name, -1, FORWARD_NAME_MAX);
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
 * line ends CRLF when the whole is written. A report with 8-bit bytes goes
 * as message/global in base64 (RFC 6532 §3.7 allows any encoding there;
 * message/rfc822 only 7bit, 8bit or binary), so the forward is 7-bit
 * throughout: the relay need not offer 8BITMIME, and libcurl cannot say
 * BODY=8BITMIME (RFC 6152). A report that cannot be a message at all goes
 * as a base64 file. */
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
    } else if (encoding == GMIME_CONTENT_ENCODING_8BIT) {
        /* base64 of the canonical form: CRLF line ends (RFC 2049 §4). */
        g_autoptr(GByteArray) crlf = g_byte_array_sized_new(len + len / 16 + 2);
        g_autoptr(GMimeStream) crlf_stream = NULL;
        g_autoptr(GMimeDataWrapper) crlf_content = NULL;

        for (const char *p = raw, *end = raw + len; p < end;) {
            const char *nl = memchr(p, '\n', end - p);
            const char *stop = nl != NULL ? nl : end;

            g_byte_array_append(crlf, (const guint8 *)p, stop - p);
            if (nl == NULL)
                break;
            /* a bare LF gets its CR; raw_encoding() let no bare CR through */
            if (nl == raw || nl[-1] != '\r')
                g_byte_array_append(crlf, (const guint8 *)"\r", 1);
            g_byte_array_append(crlf, (const guint8 *)"\n", 1);
            p = nl + 1;
        }
        crlf_stream = g_mime_stream_mem_new_with_buffer((const char *)crlf->data, crlf->len);
        crlf_content = g_mime_data_wrapper_new_with_stream(crlf_stream,
                                                           GMIME_CONTENT_ENCODING_DEFAULT);
        part = g_mime_part_new_with_type("message", "global");
        g_mime_part_set_content(part, crlf_content);
        g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
        g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_ATTACHMENT);
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

/* forward_compose - bounce_forward_compose(), with the Date and
 * Message-ID of a queued row when stamp_id >= 0. */
static char *
forward_compose(const BounceReport *report, const char *raw, gsize raw_len,
                const char *from_mailbox, const char *org_name, const char *org_reply_to,
                const char *message_id_domain, gint64 stamp_id, gint64 stamp_us,
                gsize *len_out)
{
    g_autofree char *from = NULL;
    g_autofree char *to = NULL;
    g_autofree char *subject = NULL;
    g_autofree char *body = NULL;
    g_autoptr(GMimeMessage) message = NULL;
    g_autoptr(GMimeMultipart) mixed = NULL;
    g_autoptr(GMimePart) text = NULL;
    g_autoptr(GMimePart) attachment = NULL;
    const BounceRecipient *first = NULL;
    guint failed = 0;

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
    from = mime_compose_plain_address(from_mailbox);
    to = mime_compose_plain_address(org_reply_to);
    if ((failed == 0 && report->kind != BOUNCE_KIND_AUTOREPLY) || from == NULL || to == NULL)
        return NULL;

    subject = failed > 0 ? forward_subject(first, failed) : autoreply_subject(report);
    /* No display name in To: the organisation's name is its own text, and
     * GMime would encode it the way it does subjects (see mime_compose.h). */
    if (stamp_id >= 0) {
        g_autofree char *id_left = g_strdup_printf("fwd.%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT,
                                                   stamp_id, stamp_us);

        message = mime_compose_message_new_at(from, to, subject, id_domain(message_id_domain, from),
                                              stamp_us / G_USEC_PER_SEC, id_left);
    } else {
        message = mime_compose_message_new(from, to, subject, id_domain(message_id_domain, from));
    }
    /* RFC 3834 §5: generated, not a reply; no auto-reply back to us. */
    g_mime_object_set_header(GMIME_OBJECT(message), "Auto-Submitted", "auto-generated", NULL);
    g_mime_object_set_header(GMIME_OBJECT(message), "X-Auto-Response-Suppress", "All", NULL);

    mixed = g_mime_multipart_new_with_subtype("mixed");
    body = failed > 0 ? forward_body(report, failed, org_name) : autoreply_body(report, org_name);
    text = mime_compose_text_part(body);
    attachment = report_part(raw != NULL ? raw : "", raw_len);
    g_mime_multipart_add(mixed, GMIME_OBJECT(text));
    g_mime_multipart_add(mixed, GMIME_OBJECT(attachment));
    g_mime_message_set_mime_part(message, GMIME_OBJECT(mixed));

    return mime_compose_to_crlf(GMIME_OBJECT(message), len_out);
}

char *
bounce_forward_compose(const BounceReport *report, const char *raw, gsize raw_len,
                       const char *from_mailbox, const char *org_name,
                       const char *org_reply_to, const char *message_id_domain,
                       gsize *len_out)
{
    return forward_compose(report, raw, raw_len, from_mailbox, org_name, org_reply_to,
                           message_id_domain, -1, 0, len_out);
}

char *
bounce_forward_compose_queued(const BounceReport *report, const char *raw, gsize raw_len,
                              const char *from_mailbox, const char *org_name,
                              const char *org_reply_to, const char *message_id_domain,
                              gint64 queue_id, gint64 queued_at_us, gsize *len_out)
{
    g_return_val_if_fail(queue_id >= 0 && queued_at_us >= 0, NULL);
    return forward_compose(report, raw, raw_len, from_mailbox, org_name, org_reply_to,
                           message_id_domain, queue_id, queued_at_us, len_out);
}
