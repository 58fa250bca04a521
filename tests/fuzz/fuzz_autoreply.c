/* fuzz_autoreply.c - libFuzzer target: arbitrary bytes through
 * autoreply_decide() and, when it says reply, autoreply_compose().
 *
 * Input: the first line is the envelope sender ("-" for unknown, a
 * leading '!' marks the message automated), the rest is the message.
 * Besides "does not crash" it checks that
 *  - every decision names a known rule, and a one-line detail;
 *  - every reply is CRLF text GMime reads back with exactly the promised
 *    header fields, each once, From and To as asked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoreply/autoreply.h"
#include "common/gmime_autoptr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAILBOX "messageservice@post.example.com"

static const char *const fuzz_own[] = { "post.example.com", "notifications.example.com", NULL };
static const AutoreplyPolicy fuzz_policy = { fuzz_own };

static const char *const fuzz_rules[] = {
    "reply", "null-sender", "own-domain", "auto-submitted", "precedence", "list-header",
    "suppress-header", "system-sender", "report", "automated", "no-sender", "unparseable",
};

/* The fields a reply has; In-Reply-To and References only sometimes. */
static const char *const fuzz_fields[] = {
    "date", "from", "to", "subject", "message-id", "auto-submitted",
    "x-auto-response-suppress", "precedence", "mime-version", "content-type",
    "content-transfer-encoding",
};

static void
fuzz_fail(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_autoreply: %s\n%s\n", what, text != NULL ? text : "");
    abort();
}

/* fuzz_check_fields - the top header block of a CRLF reply: every name
 * is a promised field, the always-present ones appear once. */
static void
fuzz_check_fields(const char *text)
{
    const char *end = strstr(text, "\r\n\r\n");
    int seen[G_N_ELEMENTS(fuzz_fields)] = { 0 };
    int irt = 0, refs = 0;

    if (end == NULL)
        fuzz_fail("no end of header", text);
    for (const char *line = text; line < end + 2; line = strstr(line, "\r\n") + 2) {
        const char *colon = strchr(line, ':');
        g_autofree char *name = NULL;
        gboolean known = FALSE;

        if (*line == ' ' || *line == '\t')
            continue;
        if (colon == NULL || colon > strstr(line, "\r\n"))
            fuzz_fail("a header line that is no field", text);
        name = g_ascii_strdown(line, colon - line);
        for (gsize i = 0; i < G_N_ELEMENTS(fuzz_fields); i++) {
            if (strcmp(name, fuzz_fields[i]) == 0) {
                seen[i]++;
                known = TRUE;
            }
        }
        if (strcmp(name, "in-reply-to") == 0)
            irt++, known = TRUE;
        if (strcmp(name, "references") == 0)
            refs++, known = TRUE;
        if (!known)
            fuzz_fail("a field that was not promised", text);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(fuzz_fields); i++) {
        if (seen[i] != 1)
            fuzz_fail("a promised field missing or repeated", text);
    }
    if (irt > 1 || refs > 1)
        fuzz_fail("In-Reply-To or References twice", text);
}

/* fuzz_check_reply - CRLF only, the fields, and GMime reads it back. */
static void
fuzz_check_reply(const char *text, gsize len, const char *to)
{
    g_autoptr(GMimeStream) stream = NULL;
    g_autoptr(GMimeParser) parser = NULL;
    g_autoptr(GMimeMessage) message = NULL;
    InternetAddressList *list;

    if (strlen(text) != len)
        fuzz_fail("length or NUL in the reply", text);
    for (gsize i = 0; i < len; i++) {
        if ((text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            || (text[i] == '\r' && text[i + 1] != '\n'))
            fuzz_fail("a bare CR or LF", text);
    }
    fuzz_check_fields(text);

    stream = g_mime_stream_mem_new_with_buffer(text, len);
    parser = g_mime_parser_new_with_stream(stream);
    message = g_mime_parser_construct_message(parser, NULL);
    if (message == NULL)
        fuzz_fail("GMime cannot read the reply", text);
    /* GMime reads "xn--" domains back as Unicode: compare the IDNA form. */
    list = g_mime_message_get_to(message);
    if (internet_address_list_length(list) != 1
        || !INTERNET_ADDRESS_IS_MAILBOX(internet_address_list_get_address(list, 0))
        || strcmp(internet_address_mailbox_get_idn_addr(
               INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(list, 0))), to) != 0)
        fuzz_fail("To: is not the sender", text);
    if (g_mime_message_get_subject(message) == NULL
        || g_ascii_strncasecmp(g_mime_message_get_subject(message), "Auto:", 5) != 0)
        fuzz_fail("Subject: without Auto:", text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static AutoreplyTemplate *tpl;
    const char *text = (const char *)data;
    const char *eol = memchr(text, '\n', size);
    gsize first = eol != NULL ? (gsize)(eol - text) : size;
    g_autofree char *envelope = g_strndup(text, first);   /* stops at a NUL too */
    const char *sender = envelope;
    gboolean automated = FALSE;
    g_autoptr(AutoreplyDecision) d = NULL;
    g_autofree char *tokens = NULL;
    gboolean known_rule = FALSE;

    if (tpl == NULL)
        tpl = autoreply_template_new_default();
    if (sender[0] == '!') {
        automated = TRUE;
        sender++;
    }
    if (strcmp(sender, "-") == 0)
        sender = NULL;
    if (eol != NULL)
        first++;

    d = autoreply_decide(&fuzz_policy, sender, text + first, size - first, automated);
    if (d == NULL || d->rule == NULL || d->subject == NULL)
        fuzz_fail("no decision", NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(fuzz_rules); i++)
        known_rule = known_rule || strcmp(d->rule, fuzz_rules[i]) == 0;
    if (!known_rule || d->reply != (strcmp(d->rule, "reply") == 0))
        fuzz_fail("unknown rule, or reply and rule disagree", d->rule);
    if (d->detail != NULL && strpbrk(d->detail, "\r\n") != NULL)
        fuzz_fail("detail spans lines", d->detail);
    if (strpbrk(d->subject, "\r\n") != NULL)
        fuzz_fail("subject spans lines", d->subject);
    tokens = autoreply_find_token_text(d);
    if (tokens == NULL)
        fuzz_fail("no token text", NULL);

    if (d->reply) {
        gsize len = 0;
        g_autofree char *reply = NULL;

        if (d->reply_to == NULL)
            fuzz_fail("reply without an address", NULL);
        /* The organisation fields come from our database, but are
         * treated as text all the same: take them from the subject. */
        reply = autoreply_compose(tpl, d, FUZZ_MAILBOX, d->subject,
                                  (size & 1) ? "joe.bloggs@example.org" : NULL,
                                  "post.example.com", &len);
        if (reply == NULL)
            fuzz_fail("no reply to a reply decision", d->reply_to);
        fuzz_check_reply(reply, len, d->reply_to);
    }
    return 0;
}
