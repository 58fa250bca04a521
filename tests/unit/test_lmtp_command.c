/* test_lmtp_command.c - the LMTP command-line parser, one table row per
 * line: what it must parse into, or which error it must give.
 *
 * The grammar is RFC 5321 §4.1.1-§4.1.2 (with RFC 2033's LHLO); rows that
 * test a rule name it. */
#include <string.h>

#include "common/error.h"
#include "common/lmtp_command.h"
#include "tests/unit/testutil.h"

#define NO_ERROR (-1)

typedef struct {
    const char *name;
    const char *line;
    gsize       len;          /* 0: strlen(line); else the line holds NUL bytes */
    int         want_error;   /* a BouncerErrorCode, or NO_ERROR */
    LmtpVerb    want_verb;
    const char *want_argument;
    const char *want_address;
    const char *want_params;  /* params joined with '|', "" for none, NULL when not MAIL/RCPT */
} ParseCase;

#define OK_ARG(name, line, verb, arg) \
    { name, line, 0, NO_ERROR, verb, arg, NULL, NULL }
#define OK_PATH(name, line, verb, address, params) \
    { name, line, 0, NO_ERROR, verb, NULL, address, params }
#define FAIL(name, line, code) \
    { name, line, 0, code, 0, NULL, NULL, NULL }
#define FAIL_LEN(name, line, code) \
    { name, line, sizeof(line) - 1, code, 0, NULL, NULL, NULL }

#define SYNTAX  BOUNCER_ERROR_SYNTAX
#define SENDER  BOUNCER_ERROR_BAD_SENDER      /* 501 5.1.7 */
#define RECIPIENT BOUNCER_ERROR_BAD_RECIPIENT /* 501 5.1.3 */
#define UNKNOWN BOUNCER_ERROR_UNKNOWN_COMMAND

static const ParseCase parse_cases[] = {
    /* LHLO (RFC 2033 §4.1): the domain is required. */
    OK_ARG("lhlo", "LHLO client.example", LMTP_VERB_LHLO, "client.example"),
    OK_ARG("lhlo-lower-case", "lhlo client.example", LMTP_VERB_LHLO, "client.example"),
    OK_ARG("lhlo-mixed-case", "LhLo client.example", LMTP_VERB_LHLO, "client.example"),
    OK_ARG("lhlo-address-literal", "LHLO [192.0.2.1]", LMTP_VERB_LHLO, "[192.0.2.1]"),
    OK_ARG("lhlo-extra-spaces", "LHLO   client.example   ", LMTP_VERB_LHLO, "client.example"),
    FAIL("lhlo-no-domain", "LHLO", SYNTAX),
    FAIL("lhlo-only-spaces", "LHLO    ", SYNTAX),
    /* HELO and EHLO parse; the session refuses them. */
    OK_ARG("helo", "HELO client.example", LMTP_VERB_HELO, "client.example"),
    OK_ARG("ehlo", "EHLO client.example", LMTP_VERB_EHLO, "client.example"),
    OK_ARG("helo-bare", "HELO", LMTP_VERB_HELO, NULL),

    /* MAIL FROM:<reverse-path> [SP mail-parameters] (RFC 5321 §4.1.1.2). */
    OK_PATH("mail", "MAIL FROM:<alice@example.org>", LMTP_VERB_MAIL, "alice@example.org", ""),
    OK_PATH("mail-null-sender", "MAIL FROM:<>", LMTP_VERB_MAIL, "", ""),
    OK_PATH("mail-lower-case", "mail from:<alice@example.org>", LMTP_VERB_MAIL,
            "alice@example.org", ""),
    OK_PATH("mail-space-before-path", "MAIL FROM: <alice@example.org>", LMTP_VERB_MAIL,
            "alice@example.org", ""),
    OK_PATH("mail-size-body", "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME",
            LMTP_VERB_MAIL, "a@example.org", "SIZE=1000|BODY=8BITMIME"),
    OK_PATH("mail-null-sender-param", "MAIL FROM:<> BODY=7BIT", LMTP_VERB_MAIL, "",
            "BODY=7BIT"),
    OK_PATH("mail-keyword-only", "MAIL FROM:<a@example.org> SMTPUTF8", LMTP_VERB_MAIL,
            "a@example.org", "SMTPUTF8"),
    OK_PATH("mail-keyword-dash", "MAIL FROM:<a@example.org> X-FOO=bar", LMTP_VERB_MAIL,
            "a@example.org", "X-FOO=bar"),
    OK_PATH("mail-param-spaces", "MAIL FROM:<a@example.org>   SIZE=1   BODY=7BIT   ",
            LMTP_VERB_MAIL, "a@example.org", "SIZE=1|BODY=7BIT"),
    OK_PATH("mail-source-route", "MAIL FROM:<@r1.example,@r2.example:a@example.org>",
            LMTP_VERB_MAIL, "a@example.org", ""),
    OK_PATH("mail-8bit-local-part", "MAIL FROM:<j\xc3\xb6rg@example.org>", LMTP_VERB_MAIL,
            "j\xc3\xb6rg@example.org", ""),
    OK_PATH("rcpt-utf8-domain", "RCPT TO:<zo\xc3\xab@b\xc3\xbc" "cher.example>", LMTP_VERB_RCPT,
            "zo\xc3\xab@b\xc3\xbc" "cher.example", ""),
    /* 8-bit bytes that are not UTF-8: the session decides, not the syntax. */
    OK_PATH("mail-latin1-local-part", "MAIL FROM:<j\xf6" "rg@example.org> SMTPUTF8",
            LMTP_VERB_MAIL, "j\xf6" "rg@example.org", "SMTPUTF8"),
    FAIL("mail-no-brackets", "MAIL FROM:alice@example.org", SENDER),
    FAIL("mail-unterminated", "MAIL FROM:<alice@example.org", SENDER),
    FAIL("mail-no-from", "MAIL <alice@example.org>", SYNTAX),
    FAIL("mail-no-colon", "MAIL FROM<alice@example.org>", SYNTAX),
    FAIL("mail-to", "MAIL TO:<alice@example.org>", SYNTAX),
    FAIL("mail-bare", "MAIL", SYNTAX),
    FAIL("mail-space-in-address", "MAIL FROM:<alice smith@example.org>", SENDER),
    FAIL("mail-tab-in-address", "MAIL FROM:<alice\t@example.org>", SENDER),
    FAIL("mail-bracket-in-address", "MAIL FROM:<a<b@example.org>", SENDER),
    FAIL("mail-control-in-address", "MAIL FROM:<a\x01@example.org>", SENDER),
    FAIL("mail-del-in-address", "MAIL FROM:<a\x7f@example.org>", SENDER),
    FAIL("mail-no-domain", "MAIL FROM:<alice>", SENDER),
    FAIL("mail-postmaster-no-domain", "MAIL FROM:<postmaster>", SENDER),
    FAIL("mail-empty-domain", "MAIL FROM:<alice@>", SENDER),
    FAIL("mail-empty-local-part", "MAIL FROM:<@example.org>", SENDER),
    FAIL("mail-garbage-after-path", "MAIL FROM:<a@example.org>SIZE=1", SENDER),
    FAIL("mail-tab-before-param", "MAIL FROM:<a@example.org>\tSIZE=1", SENDER),
    FAIL("mail-empty-param-value", "MAIL FROM:<a@example.org> SIZE=", SYNTAX),
    FAIL("mail-param-no-keyword", "MAIL FROM:<a@example.org> =1", SYNTAX),
    FAIL("mail-param-double-equals", "MAIL FROM:<a@example.org> SIZE==1", SYNTAX),
    FAIL("mail-param-bad-keyword", "MAIL FROM:<a@example.org> SI_ZE=1", SYNTAX),
    FAIL("mail-param-leading-dash", "MAIL FROM:<a@example.org> -X=1", SYNTAX),
    /* esmtp-value = 1*(%d33-60 / %d62-126): no 8-bit bytes, no controls. */
    FAIL("mail-param-8bit-value", "MAIL FROM:<a@example.org> X=\xff", SYNTAX),
    FAIL("mail-param-control-value", "MAIL FROM:<a@example.org> X=a\x01", SYNTAX),
    /* The source route ends at the first ':' inside the brackets. */
    FAIL("mail-source-route-no-colon", "MAIL FROM:<@r1.example>", SENDER),
    FAIL("rcpt-source-route-colon-outside", "RCPT TO:<@r1.example> X=y:b@example.org>", RECIPIENT),
    FAIL("mail-source-route-no-mailbox", "MAIL FROM:<@r1.example:>", SENDER),
    FAIL("mail-source-route-space", "MAIL FROM:<@r1 example:a@example.org>", SENDER),
    FAIL("mail-source-route-control", "MAIL FROM:<@r1\x01:a@example.org>", SENDER),

    /* RCPT TO:<forward-path> [SP rcpt-parameters] (RFC 5321 §4.1.1.3). */
    OK_PATH("rcpt", "RCPT TO:<bob@example.org>", LMTP_VERB_RCPT, "bob@example.org", ""),
    OK_PATH("rcpt-lower-case", "rcpt to:<bob@example.org>", LMTP_VERB_RCPT,
            "bob@example.org", ""),
    OK_PATH("rcpt-space-before-path", "RCPT TO: <bob@example.org>", LMTP_VERB_RCPT,
            "bob@example.org", ""),
    OK_PATH("rcpt-param", "RCPT TO:<bob@example.org> NOTIFY=NEVER", LMTP_VERB_RCPT,
            "bob@example.org", "NOTIFY=NEVER"),
    OK_PATH("rcpt-postmaster", "RCPT TO:<postmaster>", LMTP_VERB_RCPT, "postmaster", ""),
    OK_PATH("rcpt-postmaster-case", "RCPT TO:<PostMaster>", LMTP_VERB_RCPT, "PostMaster", ""),
    OK_PATH("rcpt-quoted", "RCPT TO:<\"john doe\"@example.org>", LMTP_VERB_RCPT,
            "\"john doe\"@example.org", ""),
    OK_PATH("rcpt-quoted-bracket", "RCPT TO:<\"a>b\"@example.org>", LMTP_VERB_RCPT,
            "\"a>b\"@example.org", ""),
    OK_PATH("rcpt-quoted-pair", "RCPT TO:<\"a\\\"b\"@example.org>", LMTP_VERB_RCPT,
            "\"a\\\"b\"@example.org", ""),
    OK_PATH("rcpt-source-route", "RCPT TO:<@relay.example:bob@example.org>", LMTP_VERB_RCPT,
            "bob@example.org", ""),
    FAIL("rcpt-null", "RCPT TO:<>", RECIPIENT),
    FAIL("rcpt-no-domain", "RCPT TO:<bob>", RECIPIENT),
    FAIL("rcpt-from", "RCPT FROM:<bob@example.org>", SYNTAX),
    FAIL("rcpt-bare", "RCPT", SYNTAX),
    FAIL("rcpt-unterminated-quote", "RCPT TO:<\"bob@example.org>", RECIPIENT),
    FAIL("rcpt-control-in-quotes", "RCPT TO:<\"a\x01\"@example.org>", RECIPIENT),
    FAIL("rcpt-two-paths", "RCPT TO:<a@example.org><b@example.org>", RECIPIENT),

    /* Commands without arguments (RFC 5321 §4.1.1.4, .5, .10). */
    OK_ARG("data", "DATA", LMTP_VERB_DATA, NULL),
    OK_ARG("data-lower-case", "data", LMTP_VERB_DATA, NULL),
    OK_ARG("data-trailing-space", "DATA   ", LMTP_VERB_DATA, NULL),
    OK_ARG("rset", "RSET", LMTP_VERB_RSET, NULL),
    OK_ARG("quit", "QUIT", LMTP_VERB_QUIT, NULL),
    FAIL("data-argument", "DATA now", SYNTAX),
    FAIL("rset-argument", "RSET all", SYNTAX),
    FAIL("quit-argument", "QUIT now", SYNTAX),
    /* NOOP's string is optional and ignored; VRFY needs one. */
    OK_ARG("noop", "NOOP", LMTP_VERB_NOOP, NULL),
    OK_ARG("noop-text", "NOOP hello there", LMTP_VERB_NOOP, "hello there"),
    OK_ARG("noop-8bit", "NOOP \xff\xfe", LMTP_VERB_NOOP, "\xff\xfe"),
    OK_ARG("vrfy", "VRFY bob@example.org", LMTP_VERB_VRFY, "bob@example.org"),
    FAIL("vrfy-bare", "VRFY", SYNTAX),

    /* Anything else is an unknown command. */
    FAIL("empty", "", UNKNOWN),
    FAIL("spaces", "   ", UNKNOWN),
    FAIL("leading-space", " NOOP", UNKNOWN),
    FAIL("unknown-verb", "XYZZY", UNKNOWN),
    FAIL("short-verb", "MAI", UNKNOWN),
    FAIL("verb-glued-to-argument", "MAILFROM:<a@example.org>", UNKNOWN),
    FAIL("verb-tab", "NOOP\tx", UNKNOWN),
    FAIL("verb-cr", "NOOP\r", UNKNOWN),
    FAIL("expn", "EXPN list", UNKNOWN),
    FAIL("starttls", "STARTTLS", UNKNOWN),
    FAIL("bdat", "BDAT 10 LAST", UNKNOWN),
    FAIL("auth", "AUTH PLAIN", UNKNOWN),
    FAIL("http", "GET / HTTP/1.0", UNKNOWN),

    /* A NUL byte makes any line a syntax error, wherever it is. */
    FAIL_LEN("nul-only", "\0", SYNTAX),
    FAIL_LEN("nul-in-verb", "NO\0P", SYNTAX),
    FAIL_LEN("nul-in-argument", "NOOP a\0b", SYNTAX),
    FAIL_LEN("nul-in-address", "RCPT TO:<a\0@example.org>", SYNTAX),
    FAIL_LEN("nul-at-end", "DATA\0", SYNTAX),
};

/* describe - bytes for a message: printable ASCII as is, the rest escaped. */
static char *
describe(const char *s, gsize len)
{
    GString *out = g_string_new("\"");

    if (s == NULL)
        return g_strdup("NULL");
    for (gsize i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            g_string_append_printf(out, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            g_string_append_c(out, (char)c);
        else
            g_string_append_printf(out, "\\x%02x", c);
    }
    g_string_append_c(out, '"');
    return g_string_free(out, FALSE);
}

static char *
describe_str(const char *s)
{
    return describe(s, s != NULL ? strlen(s) : 0);
}

/* test_parse - one row: parse and compare every field. */
static void
test_parse(gconstpointer data)
{
    const ParseCase *c = data;
    gsize len = c->len != 0 ? c->len : strlen(c->line);
    g_autofree char *line = describe(c->line, len);
    g_autoptr(GError) error = NULL;
    g_autoptr(LmtpCommand) command = lmtp_command_parse(c->line, len, &error);

    if (c->want_error != NO_ERROR) {
        if (command != NULL) {
            g_test_fail_printf("parse(%s): got verb %s, want error %d", line,
                               lmtp_verb_name(command->verb), c->want_error);
            return;
        }
        if (error == NULL || error->domain != BOUNCER_ERROR || error->code != c->want_error) {
            g_test_fail_printf("parse(%s): got error %s/%d, want BOUNCER_ERROR/%d", line,
                               error != NULL ? g_quark_to_string(error->domain) : "(none)",
                               error != NULL ? error->code : -1, c->want_error);
        }
        return;
    }
    if (command == NULL) {
        g_test_fail_printf("parse(%s): got error \"%s\", want verb %s", line,
                           error != NULL ? error->message : "(none)",
                           lmtp_verb_name(c->want_verb));
        return;
    }
    if (error != NULL)
        g_test_fail_printf("parse(%s): error set on success: %s", line, error->message);
    if (command->verb != c->want_verb)
        g_test_fail_printf("parse(%s): got verb %s, want %s", line,
                           lmtp_verb_name(command->verb), lmtp_verb_name(c->want_verb));
    if (g_strcmp0(command->argument, c->want_argument) != 0) {
        g_autofree char *got = describe_str(command->argument);
        g_autofree char *want = describe_str(c->want_argument);

        g_test_fail_printf("parse(%s): got argument %s, want %s", line, got, want);
    }
    if (g_strcmp0(command->address, c->want_address) != 0) {
        g_autofree char *got = describe_str(command->address);
        g_autofree char *want = describe_str(c->want_address);

        g_test_fail_printf("parse(%s): got address %s, want %s", line, got, want);
    }
    {
        g_autofree char *params = command->params != NULL ? g_strjoinv("|", command->params)
                                                          : NULL;

        if (g_strcmp0(params, c->want_params) != 0) {
            g_autofree char *got = describe_str(params);
            g_autofree char *want = describe_str(c->want_params);

            g_test_fail_printf("parse(%s): got params %s, want %s", line, got, want);
        }
    }
}

typedef struct {
    const char *line;
    const char *keyword;
    const char *want;  /* NULL: absent */
} ParamCase;

static const ParamCase param_cases[] = {
    { "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME", "SIZE", "1000" },
    { "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME", "size", "1000" },
    { "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME", "BODY", "8BITMIME" },
    { "MAIL FROM:<a@example.org> size=1000", "SIZE", "1000" },
    { "MAIL FROM:<a@example.org> SIZE=1000", "SIZ", NULL },
    { "MAIL FROM:<a@example.org> SIZE=1000", "SIZES", NULL },
    { "MAIL FROM:<a@example.org> SMTPUTF8", "SMTPUTF8", "" },
    { "MAIL FROM:<a@example.org>", "SIZE", NULL },
    { "MAIL FROM:<a@example.org> SIZE=1 SIZE=2", "SIZE", "1" },
    { "NOOP SIZE=1", "SIZE", NULL },
};

/* test_param - lmtp_command_param() finds a keyword, ignoring case. */
static void
test_param(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(param_cases); i++) {
        const ParamCase *c = &param_cases[i];
        g_autoptr(GError) error = NULL;
        g_autoptr(LmtpCommand) command = lmtp_command_parse(c->line, strlen(c->line), &error);
        const char *got;

        g_assert_no_error(error);
        got = lmtp_command_param(command, c->keyword);
        if (g_strcmp0(got, c->want) != 0)
            g_test_fail_printf("param(\"%s\", %s): got %s%s%s, want %s%s%s", c->line, c->keyword,
                               got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
                               c->want ? "\"" : "", c->want ? c->want : "NULL",
                               c->want ? "\"" : "");
    }
}

/* test_verb_name - every verb has its wire name. */
static void
test_verb_name(void)
{
    static const struct {
        LmtpVerb    verb;
        const char *name;
    } verbs[] = {
        { LMTP_VERB_LHLO, "LHLO" }, { LMTP_VERB_MAIL, "MAIL" }, { LMTP_VERB_RCPT, "RCPT" },
        { LMTP_VERB_DATA, "DATA" }, { LMTP_VERB_RSET, "RSET" }, { LMTP_VERB_NOOP, "NOOP" },
        { LMTP_VERB_QUIT, "QUIT" }, { LMTP_VERB_VRFY, "VRFY" }, { LMTP_VERB_HELO, "HELO" },
        { LMTP_VERB_EHLO, "EHLO" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
        const char *got = lmtp_verb_name(verbs[i].verb);

        if (g_strcmp0(got, verbs[i].name) != 0)
            g_test_fail_printf("lmtp_verb_name(%d): got %s, want %s", verbs[i].verb, got,
                               verbs[i].name);
    }
}

/* test_max_length - the parser itself takes lines of any length; the
 * 512-octet limit is the session's (it never hands a longer line over). */
static void
test_max_length(void)
{
    g_autoptr(GString) line = g_string_new("NOOP ");
    g_autoptr(GError) error = NULL;
    g_autoptr(LmtpCommand) command = NULL;

    while (line->len < LMTP_COMMAND_LINE_MAX - 2)
        g_string_append_c(line, 'x');
    command = lmtp_command_parse(line->str, line->len, &error);
    g_assert_no_error(error);
    g_assert_nonnull(command);
    g_assert_cmpuint(strlen(command->argument), ==, LMTP_COMMAND_LINE_MAX - 2 - 5);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
        g_autofree char *path = g_strdup_printf("/lmtp_command/parse/%s", parse_cases[i].name);

        g_test_add_data_func(path, &parse_cases[i], test_parse);
    }
    g_test_add_func("/lmtp_command/param", test_param);
    g_test_add_func("/lmtp_command/verb-name", test_verb_name);
    g_test_add_func("/lmtp_command/max-length", test_max_length);
    return g_test_run();
}
