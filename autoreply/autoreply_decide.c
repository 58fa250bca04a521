/* autoreply_decide.c - should mail to the reply mailbox be answered?
 *
 * RFC 3834 §2 and §4, and the checks Dovecot Pigeonhole's vacation action
 * makes before it answers: never a null or own sender, nothing that says
 * it was sent automatically, nothing from a list, nobody that is a
 * program. Only the header block is read: the rules need nothing else. */
#include <string.h>

#include "autoreply/autoreply_private.h"
#include "common/gmime_autoptr.h"

G_DEFINE_QUARK(autoreply-error-quark, autoreply_error)

typedef enum {
    HEADER_TEST_NOT_NO,       /* present with any value but "no" */
    HEADER_TEST_PRECEDENCE,   /* bulk, junk, list, auto_reply */
    HEADER_TEST_SUPPRESS,     /* All, OOF or AutoReply in the list */
    HEADER_TEST_ANY,          /* present */
} HeaderTest;

/* The header rules, checked in this order; the first that holds decides. */
static const struct {
    const char *name;
    gboolean    prefix;       /* name is a prefix: every List-* field */
    HeaderTest  test;
    const char *rule;
} header_rules[] = {
    /* RFC 3834 §2: "SHOULD NOT" answer Auto-Submitted other than "no". */
    { "Auto-Submitted",           FALSE, HEADER_TEST_NOT_NO,     "auto-submitted" },
    /* The non-standard marks of the older responders. */
    { "X-Autoreply",              FALSE, HEADER_TEST_NOT_NO,     "auto-submitted" },
    { "X-Autorespond",            FALSE, HEADER_TEST_NOT_NO,     "auto-submitted" },
    { "X-Mailer-Daemon",          FALSE, HEADER_TEST_ANY,        "auto-submitted" },
    /* RFC 3834 §2 names Precedence bulk, junk and list (RFC 2076). */
    { "Precedence",               FALSE, HEADER_TEST_PRECEDENCE, "precedence" },
    { "X-Precedence",             FALSE, HEADER_TEST_PRECEDENCE, "precedence" },
    /* RFC 2369 / 2919 list fields, and those of ezmlm and older lists. */
    { "List-",                    TRUE,  HEADER_TEST_ANY,        "list-header" },
    { "Mailing-List",             FALSE, HEADER_TEST_ANY,        "list-header" },
    { "X-Mailing-List",           FALSE, HEADER_TEST_ANY,        "list-header" },
    /* Microsoft [MS-OXCMAIL] 2.2.3.2.14. */
    { "X-Auto-Response-Suppress", FALSE, HEADER_TEST_SUPPRESS,   "suppress-header" },
};

void
autoreply_decision_free(AutoreplyDecision *decision)
{
    if (decision == NULL)
        return;
    g_free(decision->detail);
    g_free(decision->reply_to);
    g_free(decision->subject);
    g_free(decision->message_id);
    g_free(decision->in_reply_to);
    g_free(decision->references);
    g_free(decision);
}

char *
autoreply_find_token_text(const AutoreplyDecision *decision)
{
    g_return_val_if_fail(decision != NULL, NULL);
    return g_strjoin(" ", decision->in_reply_to != NULL ? decision->in_reply_to : "",
                     decision->references != NULL ? decision->references : "", NULL);
}

/* header_block - the header block of data with every line end made LF and
 * NUL bytes made spaces (GMime then sees one kind of line and C strings),
 * ending with the blank line; at most AUTOREPLY_HEADER_MAX bytes of it.
 * (transfer full) */
static GByteArray *
header_block(const char *data, gsize len)
{
    GByteArray *out = g_byte_array_sized_new(MIN(len, 65536) + 2);
    gboolean line_start = TRUE;

    for (gsize i = 0; i < len && out->len < AUTOREPLY_HEADER_MAX; i++) {
        guint8 c = (guint8)data[i];

        if (c == '\r') {
            /* CR LF, CR CR LF (converted twice) and a bare CR end one line */
            while (i + 1 < len && data[i + 1] == '\r')
                i++;
            if (i + 1 < len && data[i + 1] == '\n')
                i++;
            c = '\n';
        } else if (c == '\0') {
            c = ' ';
        }
        g_byte_array_append(out, &c, 1);
        if (c == '\n') {
            if (line_start)
                return out;         /* the blank line: the body follows */
            line_start = TRUE;
        } else {
            line_start = FALSE;
        }
    }
    /* No body: close the last line and the block. */
    if (!line_start)
        g_byte_array_append(out, (const guint8 *)"\n", 1);
    g_byte_array_append(out, (const guint8 *)"\n", 1);
    return out;
}

/* parse_headers - the message GMime makes of a header block, or NULL. */
static GMimeMessage *
parse_headers(GByteArray *block)
{
    g_autoptr(GMimeStream) stream = NULL;
    g_autoptr(GMimeParser) parser = NULL;

    gmime_init_once();
    stream = g_mime_stream_mem_new_with_byte_array(block);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    return g_mime_parser_construct_message(parser, NULL);
}

/* first_word - the value's first word, lower case: "no" of "No (manual)",
 * "bulk" of " bulk; x". (transfer full) */
static char *
first_word(const char *value)
{
    const char *p = value, *start;

    while (*p != '\0' && g_ascii_isspace(*p))
        p++;
    start = p;
    while (*p != '\0' && (g_ascii_isalnum(*p) || *p == '-' || *p == '_'))
        p++;
    return g_ascii_strdown(start, p - start);
}

/* header_test_holds - does one field's value make the rule hold? */
static gboolean
header_test_holds(HeaderTest test, const char *value)
{
    g_autofree char *word = NULL;

    switch (test) {
    case HEADER_TEST_ANY:
        return TRUE;
    case HEADER_TEST_NOT_NO:
        /* An empty or unreadable value is not "no": stay quiet. */
        word = first_word(value);
        return strcmp(word, "no") != 0;
    case HEADER_TEST_PRECEDENCE:
        word = first_word(value);
        return strcmp(word, "bulk") == 0 || strcmp(word, "junk") == 0
            || strcmp(word, "list") == 0 || strcmp(word, "auto_reply") == 0
            || strcmp(word, "auto-reply") == 0;
    case HEADER_TEST_SUPPRESS: {
        g_auto(GStrv) tokens = g_strsplit_set(value, ",; \t", -1);

        for (guint i = 0; tokens[i] != NULL; i++) {
            if (g_ascii_strcasecmp(tokens[i], "All") == 0
                || g_ascii_strcasecmp(tokens[i], "OOF") == 0
                || g_ascii_strcasecmp(tokens[i], "AutoReply") == 0)
                return TRUE;
        }
        return FALSE;
    }
    }
    return FALSE;
}

/* header_rules_check - the first header rule that holds, with its field
 * as detail; NULL when none does. (transfer none) */
static const char *
header_rules_check(GMimeHeaderList *list, char **detail_out)
{
    int count = g_mime_header_list_get_count(list);

    for (gsize r = 0; r < G_N_ELEMENTS(header_rules); r++) {
        gsize name_len = strlen(header_rules[r].name);

        for (int i = 0; i < count; i++) {
            GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
            const char *name = g_mime_header_get_name(h);
            const char *value = g_mime_header_get_value(h);
            gboolean match = header_rules[r].prefix
                ? g_ascii_strncasecmp(name, header_rules[r].name, name_len) == 0
                : g_ascii_strcasecmp(name, header_rules[r].name) == 0;

            if (!match || !header_test_holds(header_rules[r].test, value != NULL ? value : ""))
                continue;
            {
                g_autofree char *line = g_strdup_printf("%s: %s", name, value != NULL ? value : "");

                *detail_out = mime_compose_fold(line, -1, AUTOREPLY_DETAIL_MAX);
            }
            return header_rules[r].rule;
        }
    }
    return NULL;
}

/* local_part - the text before the last '@'. (transfer full) */
static char *
local_part(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at != NULL ? g_strndup(addr, at - addr) : g_strdup(addr);
}

/* from_system_sender - a From: mailbox that is a program (noreply@ and
 * the like); its address as detail. RFC 3834 §4 sends the reply to the
 * envelope sender, but a From: of noreply@ says nobody would read it. */
static const char *
from_system_sender(GMimeMessage *message, char **detail_out)
{
    InternetAddressList *from = g_mime_message_get_from(message);
    int count = from != NULL ? internet_address_list_length(from) : 0;

    for (int i = 0; i < count; i++) {
        InternetAddress *ia = internet_address_list_get_address(from, i);
        const char *addr;
        g_autofree char *local = NULL;
        const char *pattern;

        if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
            continue;
        addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        if (addr == NULL)
            continue;
        local = local_part(addr);
        pattern = autoreply_system_local_part(local);
        if (pattern != NULL) {
            g_autofree char *line = g_strdup_printf("From %s (%s)", addr, pattern);

            *detail_out = mime_compose_fold(line, -1, AUTOREPLY_DETAIL_MAX);
            return "system-sender";
        }
    }
    return NULL;
}

/* domain_is_own - addr's domain is one of ours or below one of ours. */
static const char *
domain_is_own(const AutoreplyPolicy *policy, const char *addr)
{
    const char *domain = strrchr(addr, '@');
    gsize len;

    if (policy == NULL || policy->own_domains == NULL || domain == NULL)
        return NULL;
    domain++;
    len = strlen(domain);
    for (guint i = 0; policy->own_domains[i] != NULL; i++) {
        const char *own = policy->own_domains[i];
        gsize own_len = strlen(own);

        if (own_len == 0)
            continue;
        if (g_ascii_strcasecmp(domain, own) == 0)
            return own;
        if (len > own_len && domain[len - own_len - 1] == '.'
            && g_ascii_strcasecmp(domain + len - own_len, own) == 0)
            return own;
    }
    return NULL;
}

/* decision_read_fields - what a reply needs from the original. */
static void
decision_read_fields(AutoreplyDecision *d, GMimeMessage *message)
{
    GMimeObject *object = GMIME_OBJECT(message);
    const char *subject = g_mime_message_get_subject(message);
    const char *message_id = g_mime_message_get_message_id(message);
    const char *in_reply_to = g_mime_object_get_header(object, "In-Reply-To");
    const char *references = g_mime_object_get_header(object, "References");

    g_free(d->subject);
    d->subject = mime_compose_fold(subject, -1, AUTOREPLY_SUBJECT_MAX);
    if (autoreply_msgid_ok(message_id))
        d->message_id = g_strdup(message_id);
    if (in_reply_to != NULL)
        d->in_reply_to = mime_compose_fold(in_reply_to, -1, AUTOREPLY_IDS_TEXT_MAX);
    if (references != NULL)
        d->references = mime_compose_fold(references, -1, AUTOREPLY_IDS_TEXT_MAX);
}

/* decision_skip - record a "no" and its reason. */
static AutoreplyDecision *
decision_skip(AutoreplyDecision *d, const char *rule, char *detail)
{
    d->reply = FALSE;
    d->rule = rule;
    d->detail = detail;
    return d;
}

AutoreplyDecision *
autoreply_decide(const AutoreplyPolicy *policy, const char *envelope_from,
                 const char *data, gsize len, gboolean automated)
{
    AutoreplyDecision *d = g_new0(AutoreplyDecision, 1);
    g_autoptr(GByteArray) block = NULL;
    g_autoptr(GMimeMessage) message = NULL;
    GMimeHeaderList *headers = NULL;
    const char *sender = envelope_from;
    g_autofree char *local = NULL;
    g_autofree char *detail = NULL;
    const char *rule, *own, *pattern;

    d->subject = g_strdup("");
    if (data == NULL)
        len = 0;
    block = header_block(data, len);
    message = parse_headers(block);
    if (message != NULL) {
        headers = g_mime_object_get_header_list(GMIME_OBJECT(message));
        if (headers == NULL || g_mime_header_list_get_count(headers) == 0)
            headers = NULL;
        else
            decision_read_fields(d, message);
    }

    /* The sender: RFC 3834 §4 answers the envelope sender (Return-Path),
     * never From: or Reply-To:. */
    if (sender == NULL && headers != NULL)
        sender = g_mime_object_get_header(GMIME_OBJECT(message), "Return-Path");
    if (sender == NULL) {
        if (headers == NULL)
            return decision_skip(d, "unparseable", g_strdup("no header fields"));
        return decision_skip(d, "no-sender", g_strdup("no envelope sender and no Return-Path"));
    }
    {
        g_autofree char *trimmed = g_strstrip(g_strdup(sender));

        /* RFC 3834 §2: MUST NOT answer a null return address. */
        if (*trimmed == '\0' || strcmp(trimmed, "<>") == 0)
            return decision_skip(d, "null-sender", g_strdup(envelope_from != NULL
                                                            ? "MAIL FROM:<>" : "Return-Path: <>"));
    }
    d->reply_to = autoreply_address_clean(sender);
    if (d->reply_to == NULL) {
        g_autofree char *line = g_strdup_printf("sender %s is not a plain address", sender);

        return decision_skip(d, "no-sender", mime_compose_fold(line, -1, AUTOREPLY_DETAIL_MAX));
    }
    own = domain_is_own(policy, d->reply_to);
    if (own != NULL)
        return decision_skip(d, "own-domain",
                             g_strdup_printf("sender %s is in %s", d->reply_to, own));
    if (headers == NULL)
        return decision_skip(d, "unparseable", g_strdup("no header fields"));

    rule = header_rules_check(headers, &detail);
    if (rule != NULL)
        return decision_skip(d, rule, g_steal_pointer(&detail));

    local = local_part(d->reply_to);
    pattern = autoreply_system_local_part(local);
    if (pattern != NULL)
        return decision_skip(d, "system-sender",
                             g_strdup_printf("sender %s (%s)", d->reply_to, pattern));
    rule = from_system_sender(message, &detail);
    if (rule != NULL)
        return decision_skip(d, rule, g_steal_pointer(&detail));

    if (automated)
        return decision_skip(d, "automated",
                             g_strdup("read as a bounce, complaint or auto-reply"));

    d->reply = TRUE;
    d->rule = "reply";
    return d;
}
