/* test_bounce_report.c - the parser's pieces, table-driven: addresses,
 * codes in text, classification of wording, mbox splitting, and inputs
 * that must not break it. */
#include <string.h>
#include <sys/mman.h>

#include "bouncer/bounce_private.h"
#include "tests/unit/testutil.h"

static void
test_addr_clean(void)
{
    static const struct { const char *in, *want; } cases[] = {
        { "rfc822; <User@Example.COM>", "User@example.com" },
        { "rfc822;alice@rcpt.example", "alice@rcpt.example" },
        { "\"Bob B\" <bob@b.example>", "bob@b.example" },
        { "mailto:carol@c.example", "carol@c.example" },
        { "\"a..b\"@quoted.example", "\"a..b\"@quoted.example" },
        { "<dave@d.example>.", "dave@d.example" },
        { "utf-8; dörte@utf8.example", "dörte@utf8.example" },
        { "utf-8; ユーザー@example.jp", "ユーザー@example.jp" },
        { "  宛先：kenta@example.jp", "kenta@example.jp" },
        { "宛先\xE3\x80\x80kenta@example.jp", "kenta@example.jp" },
        { "【送信先】taro@example.jp", "taro@example.jp" },
        { "（hanako@example.jp）", "hanako@example.jp" },
        /* the text's punctuation around it */
        { "\xE2\x80\x9Ckay@example.com\xE2\x80\x9D", "kay@example.com" },       /* “ ” */
        { "\xC2\xABkay@example.com\xC2\xBB", "kay@example.com" },                 /* « » */
        { "\xE2\x80\x9Ekay@example.com\xE2\x80\x9C", "kay@example.com" },       /* „ “ */
        { "\xE2\x80\x98kay@example.com\xE2\x80\x99", "kay@example.com" },       /* ‘ ’ */
        { "\xE2\x80\x98kay@b\xC3\xBC" "cher.example\xE2\x80\x99", "kay@b\xC3\xBC" "cher.example" },
        { "kay@example.com!", "kay@example.com" },
        { "kay@example.com?subject=help", "kay@example.com" },
        { "`kay@example.com`", "kay@example.com" },
        { "{kay@example.com}", "kay@example.com" },
        { "*kay@example.com*", "kay@example.com" },
        { "kay@example.com\xE3\x80\x82", "kay@example.com" },                   /* 。 */
        { "kay@example.com\xE2\x80\xA6", "kay@example.com" },                   /* … */
        { "kay@example.com\xC2\xA0", "kay@example.com" },                        /* no-break space */
        { "kay@example.com\xE2\x80\x8B", "kay@example.com" },                   /* zero-width space */
        { "han@example.com\xEC\x97\x90\xEA\xB2\x8C", "han@example.com" },       /* 에게 */
        { "m\xC3\xBCller@b\xC3\xBC" "cher.example", "m\xC3\xBCller@b\xC3\xBC" "cher.example" },
        /* domain literals, checked */
        { "luis@[203.0.113.45]", "luis@[203.0.113.45]" },
        { "ana@[IPv6:2001:db8::1]", "ana@[ipv6:2001:db8::1]" },
        { "user@[a b c]", NULL },
        { "no address here", NULL },
        { "@", NULL },
        { "", NULL },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = bounce_addr_clean(cases[i].in);

        if (g_strcmp0(got, cases[i].want) != 0)
            g_error("addr_clean(%s): got %s, want %s", cases[i].in, got, cases[i].want);
    }
}

/* test_addr_clean_runs - a line of nothing but '@'s and stops takes a
 * walk of bounded length per '@' (it took minutes when each walked the
 * whole line), and still finds the address at its end. */
static void
test_addr_clean_runs(void)
{
    static const char *const units[] = { "a@!", "a@\xC2\xAB", "x@[", "a@@" };

    for (gsize u = 0; u < G_N_ELEMENTS(units); u++) {
        g_autoptr(GString) text = g_string_new(NULL);
        g_autofree char *got = NULL;

        for (int i = 0; i < 60000; i++)
            g_string_append(text, units[u]);
        g_string_append(text, " henry@gone.example");
        got = bounce_addr_clean(text->str);
        if (g_strcmp0(got, "henry@gone.example") != 0)
            g_error("addr_clean(run of %s): got %s", units[u], got);
    }
}

/* test_fold - blanks, line ends and NUL become one space between words
 * and none at either end; bytes that are no UTF-8 are replaced. */
static void
test_fold(void)
{
    static const struct { const char *in; gsize len; const char *out; } cases[] = {
        { "  550 user\r\n\tunknown \n", 22, "550 user unknown" },
        { "a\0\0b", 4, "a b" },
        { " \t\r\n", 4, "" },
        { "x", 1, "x" },
        { "caf\xc3\xa9  ok", 9, "caf\xc3\xa9 ok" },
        { "bad \xff byte", 10, "bad \xef\xbf\xbd byte" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = bounce_fold(cases[i].in, cases[i].len);

        g_assert_cmpstr(got, ==, cases[i].out);
    }
}

static void
test_find_codes(void)
{
    static const struct { const char *text, *status, *reply; } cases[] = {
        { "550 5.1.1 <a@b.example>: User unknown", "5.1.1", "550" },
        { "550-5.7.1 [192.0.2.1] Our system has detected", "5.7.1", "550" },
        { "Remote host said: 552 Error: disk quota exceeded", "", "552" },
        { "Sorry, I couldn't find any host named x.example. (#5.1.2)", "5.1.2", "" },
        { "host 192.0.2.33 said 421 try later", "", "421" },
        { "version 1.2.3 of something", "", "" },
        /* a transcript: the failure's codes, not the 250s before it */
        { "Out: 250 2.1.5 Ok In: DATA Out: 451 4.3.0 Error: queue file write error", "4.3.0", "451" },
        { "The error that the other server returned was: 550 550 Unknown user", "", "550" },
        { ">>> MAIL From:<a@b.example> <<< 501 <a@b.example>... no access", "", "501" },
        { "542 kim@strict.example Rejected", "", "" },        /* 542 is no reply code */
        { "connect to 10.5.1.1 failed", "", "" },
        /* RFC 3463 subjects are 0 to 7: a version in brackets is no status */
        { "X-Mailer: Apple Mail (2.753.1)", "", "" },
        /* only a success's codes: those, the first of each kind */
        { "250 2.0.0 Ok: queued as 4F1A then 251 2.1.5 forwarded", "2.0.0", "250" },
        /* each kind on its own: a failure's status, a success's reply */
        { "Out: 250 Ok In: RCPT Out: rejected (#5.1.1)", "5.1.1", "250" },
        { "", "", "" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        char status[16], reply[8];

        bounce_rules_find_codes(cases[i].text, status, reply);
        if (strcmp(status, cases[i].status) != 0 || strcmp(reply, cases[i].reply) != 0)
            g_error("find_codes(%s): got %s/%s, want %s/%s", cases[i].text, status, reply,
                    cases[i].status, cases[i].reply);
    }
}

static void
test_classify(void)
{
    static const struct { const char *status, *diag, *reason; gboolean hard; } cases[] = {
        { "5.1.1", "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown", "userunknown", TRUE },
        { "5.2.2", "552 5.2.2 Mailbox full", "mailboxfull", FALSE },
        { "", "Sorry, I couldn't find any host named nowhere.example. (#5.1.2)", "hostunknown", TRUE },
        { "5.7.1", "554 5.7.1 Client host [192.0.2.9] blocked using zen.example", "blocked", FALSE },
        /* a block list, however it is spelled */
        { "5.7.1", "550 5.7.1 Your IP has been found on a block list", "blocked", FALSE },
        { "5.7.1", "550 5.7.1 192.0.2.9 is on our block-list, see https://x.example/", "blocked", FALSE },
        { "5.7.1", "550 5.7.1 Sender IP blocklisted by the recipient", "blocked", FALSE },
        { "5.7.1", "554 5.7.1 listed on black-lists: bl.example", "blocked", FALSE },
        { "5.7.26", "550 5.7.26 Unauthenticated email is not accepted due to DMARC policy", "authfailure", FALSE },
        { "5.7.25", "550 5.7.25 The IP address sending this message does not have a PTR record", "requireptr", FALSE },
        { "4.4.7", "delivery time expired", "expired", FALSE },
        { "5.3.4", "552 5.3.4 Message too big for system", "mesgtoobig", FALSE },
        { "5.0.0", "554 5.0.0 Relay access denied", "norelaying", FALSE },
        /* wordings other MTAs use, with a vague status */
        { "5.0.0", "550 SPF check: fail for sender.example", "authfailure", FALSE },
        { "5.0.0", "550 Your access IP has been rejected", "blocked", FALSE },
        { "5.0.0", "550 Mailbox exceeds allowed size", "mailboxfull", FALSE },
        { "5.0.0", "550 user or domain is disabled", "suspend", FALSE },
        { "5.0.0", "550 Recipient deferred because there is no Mdb", "systemerror", FALSE },
        { "5.0.0", "554 rejecting banned content", "spamdetected", FALSE },
        { "5.0.0", "550 mail receiving disabled", "notaccept", TRUE },
        { "5.0.0", "554 exceeded the maximum incoming message size", "mesgtoobig", FALSE },
        { "", "", "undefined", FALSE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        BounceRecipient *r = bounce_recipient_new();

        bounce_recipient_set(&r->addr, "x@y.example");
        bounce_recipient_set(&r->status, cases[i].status);
        bounce_recipient_set(&r->diagnostic, cases[i].diag);
        bounce_classify(r, BOUNCE_KIND_NONSTANDARD, NULL, 0, NULL, NULL);
        if (strcmp(r->reason, cases[i].reason) != 0 || r->hard != cases[i].hard)
            g_error("classify(%s, %s): got %s hard=%d, want %s hard=%d", cases[i].status,
                    cases[i].diag, r->reason, r->hard, cases[i].reason, cases[i].hard);
        g_assert_cmpstr(r->rule, !=, "");
        bounce_recipient_free(r);
    }
}

/* test_classify_context - what the SMTP command, the remote host, the
 * recipient's domain and the report's text change. */
static void
test_classify_context(void)
{
    static const struct {
        const char *status, *diag, *command, *remote, *addr, *preset, *context;
        BounceKind kind;
        const char *reason;
        gboolean hard;
    } cases[] = {
        /* "user unknown" is about the address only in answer to RCPT TO */
        { "", "550 Unknown user a@b.example", NULL, "", "a@b.example", NULL, NULL,
          BOUNCE_KIND_NONSTANDARD, "filtered", FALSE },
        { "", "550 Unknown user a@b.example", "RCPT", "", "a@b.example", NULL, NULL,
          BOUNCE_KIND_NONSTANDARD, "userunknown", TRUE },
        { "5.2.1", "550 5.2.1 <a@b.example>... User Unknown", NULL, "", "a@b.example", NULL, NULL,
          BOUNCE_KIND_DSN, "filtered", FALSE },
        { "5.2.1", "550 5.2.1 <a@b.example>... User Unknown", "RCPT", "", "a@b.example", NULL, NULL,
          BOUNCE_KIND_DSN, "userunknown", TRUE },
        /* ... unless the reporting MTA's own wording said so */
        { "", "550 Unknown user a@b.example", NULL, "", "a@b.example", "userunknown", NULL,
          BOUNCE_KIND_NONSTANDARD, "userunknown", TRUE },
        /* "Access denied" at MAIL FROM is about the sender */
        { "5.7.1", "550 5.7.1 Access denied", "MAIL", "", "a@b.example", NULL, NULL,
          BOUNCE_KIND_DSN, "rejected", FALSE },
        /* X.4.4: an unknown host, unless the lookup itself failed */
        { "5.4.4", "550 5.4.4 Invalid domain", NULL, "", "a@b.example", NULL, NULL,
          BOUNCE_KIND_DSN, "hostunknown", TRUE },
        { "5.4.4", "Name service error for name=b.example type=MX: Malformed or unexpected name server reply",
          NULL, "", "a@b.example", NULL, NULL, BOUNCE_KIND_DSN, "networkerror", FALSE },
        /* a null MX is permanent even without a code */
        { "", "No MX record found for domain=b.example", NULL, "", "a@b.example", NULL, NULL,
          BOUNCE_KIND_NONSTANDARD, "notaccept", TRUE },
        /* providers' codes */
        { "5.1.1", "550 5.1.1 <a@b.example> - 192.0.2.1 has sent to too many recipients this hour. IB607",
          "RCPT", "smtp.secureserver.net", "a@b.example", NULL, NULL, BOUNCE_KIND_DSN, "speeding", FALSE },
        { "5.0.0", "550 : User unknown", NULL, "lsean.ezweb.ne.jp", "a@ezweb.ne.jp", NULL, NULL,
          BOUNCE_KIND_DSN, "filtered", FALSE },
        { "5.0.0", "550 <a@ezweb.ne.jp>: User unknown", NULL, "lsean.ezweb.ne.jp", "a@ezweb.ne.jp", NULL, NULL,
          BOUNCE_KIND_DSN, "userunknown", TRUE },
        { "5.0.0", "550 Unknown user a@docomo.example", "DATA", "mfsmax.docomo.ne.jp", "a@docomo.example",
          NULL, NULL, BOUNCE_KIND_DSN, "rejected", FALSE },
        { "4.2.0", "421 4.2.0 Service refuse. Veuillez essayer plus tard. OFR005_505 [505]", NULL,
          "smtp-in.orange.fr", "a@orange.fr", NULL, NULL, BOUNCE_KIND_DSN, "systemerror", FALSE },
        /* a local delivery agent's line in a delivery report */
        { "5.5.0", "", NULL, "", "a@b.example", NULL, "----- Transcript -----\nmail.local: unknown user: a\n",
          BOUNCE_KIND_DSN, "userunknown", TRUE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        BounceRecipient *r = bounce_recipient_new();
        const char *ctx = cases[i].context;

        bounce_recipient_set(&r->addr, cases[i].addr);
        bounce_recipient_set(&r->status, cases[i].status);
        bounce_recipient_set(&r->diagnostic, cases[i].diag);
        bounce_recipient_set(&r->remote_mta, cases[i].remote);
        if (cases[i].command != NULL)
            r->smtp_command = g_strdup(cases[i].command);
        if (cases[i].preset != NULL) {
            bounce_recipient_set(&r->reason, cases[i].preset);
            bounce_recipient_set(&r->rule, "test-preset");
        }
        bounce_classify(r, cases[i].kind, ctx, ctx != NULL ? strlen(ctx) : 0, NULL, NULL);
        if (strcmp(r->reason, cases[i].reason) != 0 || r->hard != cases[i].hard)
            g_error("classify case %zu (%s): got %s hard=%d (rule %s), want %s hard=%d", i,
                    cases[i].diag, r->reason, r->hard, r->rule, cases[i].reason, cases[i].hard);
        bounce_recipient_free(r);
    }
}

static void
test_split_mbox(void)
{
    static const struct { const char *in; guint count; const char *first; } cases[] = {
        { "Subject: one\n\nbody\n", 1, "Subject: one\n\nbody\n" },
        { "From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\nx\n\nFrom c@d Mon Jan  1 00:00:01 2024\nSubject: 2\n\ny\n",
          2, "Subject: 1\n\nx\n\n" },
        { "From a@b Mon\r\nSubject: 1\r\n\r\nFrom c@d Tue\r\nSubject: 2\r\n", 2, "Subject: 1\r\n\r\n" },
        { "From a@b Mon\nSubject: 1\n\nnot a separator:\nFrom me\n", 1, "Subject: 1\n\nnot a separator:\nFrom me\n" },
        { "", 1, "" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GPtrArray) parts = bounce_split_mbox(cases[i].in, strlen(cases[i].in));
        gsize len = 0;
        const char *data;

        g_assert_cmpuint(parts->len, ==, cases[i].count);
        data = g_bytes_get_data(g_ptr_array_index(parts, 0), &len);
        if (len != strlen(cases[i].first) || (len > 0 && memcmp(data, cases[i].first, len) != 0))
            g_error("split_mbox case %zu: first message differs", i);
    }
}

/* test_envelope_sender - an address the text gives to MAIL FROM (wrapped
 * or not) and never to RCPT TO is no recipient; a "From:" header line at
 * a line start is no MAIL FROM, so the same address stays a recipient. The
 * first two quote the sender on a line as far out as the recipient's (a
 * rewrapped notice); the last, deeper, in the reply's own lines. */
static void
test_envelope_sender(void)
{
    static const struct { const char *text; const char *want; } cases[] = {
        { "<gone@example.org>: host mx.example.org[192.0.2.1] said: 553 5.1.8\n"
          "<snd@example.com>... Domain of sender address does not exist\n"
          "    (in reply to MAIL\n    FROM:<snd@example.com> command)\n", "gone@example.org" },
        { "<gone@example.org>: host mx.example.org[192.0.2.1] said: 553 5.1.8\n"
          "<snd@example.com>... Domain of sender address does not exist\n"
          "    (in reply to MAIL FROM:<snd@example.com>, RCPT TO:<snd@example.com>)\n",
          "gone@example.org snd@example.com" },
        { "I could not deliver your mail\nFrom: <self@example.com>\n\n"
          "<self@example.com>... User unknown\n", "self@example.com" },
        { "<gone@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.8\n"
          "    <snd@example.com>: Sender address rejected: Domain not found\n", "gone@example.org" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *msg = g_strconcat("From: MAILER-DAEMON@mta.example.net\nTo: x@example.net\n"
                                           "Subject: Undelivered Mail Returned to Sender\n\n",
                                           cases[i].text, NULL);
        g_autoptr(BounceReport) report = bounce_report_parse(msg, strlen(msg));
        g_autoptr(GString) got = g_string_new(NULL);

        for (guint k = 0; k < report->recipients->len; k++) {
            const BounceRecipient *r = g_ptr_array_index(report->recipients, k);

            g_string_append_printf(got, "%s%s", k > 0 ? " " : "", r->addr);
        }
        g_assert_cmpstr(got->str, ==, cases[i].want);
    }
}

/* test_hostile - inputs that must give a report, never a crash. */
static void
test_hostile(void)
{
    GString *deep = g_string_new("From: x@y.example\nSubject: deep\nMIME-Version: 1.0\n");
    GString *wide = g_string_new("From: MAILER-DAEMON@y.example\nSubject: failure notice\n\n<a@b.example>:\n");
    char nul_msg[] = "From: MAILER-DAEMON@y.example\nSubject: Returned mail\n\n<a@b.example>:\n550 5.1.1 no\0such user\n";

    for (int i = 0; i < 200; i++)
        g_string_append_printf(deep, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i);
    g_string_append(deep, "Content-Type: text/plain\n\nhello\n");
    for (int i = 0; i < 200000; i++)
        g_string_append_c(wide, i % 80 == 79 ? ' ' : 'x');
    g_string_append_c(wide, '\n');

    {
        g_autoptr(BounceReport) r = bounce_report_parse(deep->str, deep->len);

        g_assert_cmpint(r->kind, !=, BOUNCE_KIND_DSN);
    }
    {
        g_autoptr(BounceReport) r = bounce_report_parse(wide->str, wide->len);
        g_autofree char *json = bounce_report_to_json(r, NULL, TRUE);

        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_NONSTANDARD);
        g_assert_nonnull(json);
    }
    {
        g_autoptr(BounceReport) r = bounce_report_parse(nul_msg, sizeof(nul_msg) - 1);

        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_NONSTANDARD);
        g_assert_cmpuint(r->recipients->len, ==, 1);
    }
    {
        g_autoptr(BounceReport) r = bounce_report_parse("", 0);

        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_UNPARSEABLE);
        g_assert_nonnull(r->error);
        g_assert_false(bounce_report_is_automated(r));
    }
    {
        /* Over the largest message read: refused unread (the pages of
         * the mapping are never touched, so it costs no memory). */
        gsize big = BOUNCE_REPORT_MAX_SIZE + 1;
        void *map = mmap(NULL, big, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        g_autoptr(BounceReport) r = NULL;

        g_assert_true(map != MAP_FAILED);
        r = bounce_report_parse(map, big);
        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_UNPARSEABLE);
        g_assert_nonnull(strstr(r->error, "too large"));
        munmap(map, big);
    }
    g_string_free(deep, TRUE);
    g_string_free(wide, TRUE);
}

static gpointer
thread_parse(gpointer data)
{
    GBytes *bytes = data;

    for (int i = 0; i < 50; i++) {
        gsize len = 0;
        const char *msg = g_bytes_get_data(bytes, &len);
        g_autoptr(BounceReport) r = bounce_report_parse(msg, len);

        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_DSN);
        g_assert_cmpstr(((BounceRecipient *)g_ptr_array_index(r->recipients, 0))->reason, ==, "userunknown");
    }
    return NULL;
}

/* test_threads - the rule tables are shared by threads that parse at once. */
static void
test_threads(void)
{
    g_autoptr(GBytes) eml = testutil_read_file("tests/fixtures/bounces/dsn-postfix.eml");
    GThread *threads[4];

    for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
        threads[i] = g_thread_new("parse", thread_parse, eml);
    for (gsize i = 0; i < G_N_ELEMENTS(threads); i++)
        g_thread_join(threads[i]);
}

/* parse_edited - the fixture with its first line starting with from
 * replaced by to (or the fixture as it is when from is NULL). */
static BounceReport *
parse_edited(const char *fixture, const char *from, const char *to)
{
    g_autoptr(GBytes) eml = testutil_read_file(fixture);
    gsize len = 0;
    const char *data = g_bytes_get_data(eml, &len);
    g_autoptr(GString) text = g_string_new_len(data, len);

    if (from != NULL) {
        const char *at = strstr(text->str, from);
        const char *eol;

        g_assert_nonnull(at);
        eol = strchr(at, '\n');
        g_assert_nonnull(eol);
        g_string_erase(text, at - text->str, eol - at);
        g_string_insert(text, at - text->str, to);
    }
    return bounce_report_parse(text->str, text->len);
}

/* test_person_forward - a bounce a person forwards to us is that person
 * writing (an auto-reply may answer); the same bounce forwarded by a mail
 * system, or marked Auto-Submitted, or a bounce as it is, is automated. */
static void
test_person_forward(void)
{
    const char *fwd = "tests/fixtures/formats/wrap-02-fwd-inline.eml";
    g_autoptr(BounceReport) person = parse_edited(fwd, NULL, NULL);
    g_autoptr(BounceReport) marked = parse_edited(fwd, "Subject:",
                                                  "Auto-Submitted: auto-forwarded\n"
                                                  "Subject: Fwd: Undelivered Mail Returned to Sender");
    g_autoptr(BounceReport) marked_no = parse_edited(fwd, "Subject:",
                                                     "Auto-Submitted: no\n"
                                                     "Subject: Fwd: Undelivered Mail Returned to Sender");
    g_autoptr(BounceReport) daemon = parse_edited(fwd, "From:", "From: MAILER-DAEMON@mail.example.net");
    g_autoptr(BounceReport) null_path = parse_edited(fwd, "Return-Path:", "Return-Path: <>");
    g_autoptr(BounceReport) plain = parse_edited("tests/fixtures/bounces/dsn-postfix.eml", NULL, NULL);
    /* an ISP's feedback loop under a "Fw:" subject is a report, no person */
    g_autoptr(BounceReport) fbl = parse_edited("tests/fixtures/formats/arf-16-feedback-loop-under-a-forward-subject.eml",
                                               NULL, NULL);

    g_assert_cmpuint(person->recipients->len, >, 0);
    g_assert_true(person->person_forward);
    g_assert_false(bounce_report_is_automated(person));
    g_assert_true(marked_no->person_forward);
    g_assert_false(marked->person_forward);
    g_assert_true(bounce_report_is_automated(marked));
    g_assert_false(daemon->person_forward);
    g_assert_true(bounce_report_is_automated(daemon));
    g_assert_false(null_path->person_forward);
    g_assert_true(bounce_report_is_automated(null_path));
    g_assert_false(plain->person_forward);
    g_assert_true(bounce_report_is_automated(plain));
    g_assert_cmpint(fbl->kind, ==, BOUNCE_KIND_ARF);
    g_assert_false(fbl->person_forward);
    g_assert_true(bounce_report_is_automated(fbl));
}

/* test_section_headings - what a heading over codeless recipients, or a
 * notice's subject tag, says of them; above all, no failure read as a
 * delivery, a relay or a delay, whose address would then never be
 * suppressed (a failure's words first, a negation at a heading's end,
 * Exchange's relay heading that says "no notification"). */
static void
test_section_headings(void)
{
    static const struct {
        const char *action, *subject, *heading;
    } cases[] = {
        { "failed", "Notification",
          "Delivery failed permanently after repeated transient errors:" },
        { "failed", "Transient failure: message returned",
          "Text" },
        { "failed", "Notification",
          "Ihre Nachricht konnte vorübergehend nicht zugestellt werden und wurde aufgegeben:" },
        { "failed", "Notification",
          "Сообщение не доставлено. Сервер повторял попытки, пока не истек срок:" },
        { "failed", "Notification",
          "Delivery is incomplete, but these recipients failed:" },
        { "failed", "Notification",
          "Die Zustellung ist nicht abgeschlossen, aber folgende Empfänger sind fehlgeschlagen:" },
        { "failed", "Notification",
          "Följande mottagare levererades inte:" },
        { "failed", "Levererades inte",
          "Text" },
        { "failed", "Notification",
          "Ihre Nachricht wurde an keinen Empfänger zugestellt:" },
        { "failed", "Notification",
          "Votre message n'a pu être remis aux destinataires suivants :" },
        { "failed", "Notification",
          "Ce message ne sera pas distribué aux destinataires suivants :" },
        { "failed", "Notification",
          "Su mensaje no fue entregado a los siguientes destinatarios:" },
        { "failed", "Notification",
          "Entrega fallida; el mensaje fue retransmitido al remitente:" },
        { "failed", "Notification",
          "La consegna è fallita dopo un ritardo:" },
        { "failed", "Notification",
          "Leveransen misslyckades efter försening:" },
        { "failed", "Notification",
          "Teslim edilemedi, ileti geri aktarıldı:" },
        { "failed", "Notification",
          "邮件投递已完成，但以下收件人投递失败:" },
        { "failed", "Notification",
          "配信処理は完了しましたが、以下の宛先には届きませんでした:" },
        { "failed", "Notification",
          "Het bericht is nooit afgeleverd:" },
        { "failed", "Notification",
          "Message expired after being deferred for 5 days:" },
        { "failed", "Notification",
          "Giving up on the following deferred recipients:" },
        { "failed", "Notification",
          "These recipients were never delivered:" },
        { "failed", "Notification",
          "Recipients (not delivered):" },
        { "failed", "Notification",
          "Your message cannot be delivered to the following recipients:" },
        { "failed", "Notification",
          "Remise refusée pour les destinataires suivants :" },
        { "failed", "Notification",
          "El mensaje no puede ser entregado a:" },
        { "failed", "Notification",
          "Meddelandet levererades inte, se nedan:" },
        { "failed", "Notification",
          "Ikke-leveret til følgende modtagere:" },
        { "failed", "Notification",
          "Delivery to some recipients is complete, but the following failed:" },
        { "failed", "Notification",
          "Zustellung verzögert und abgebrochen:" },
        { "delayed", "Notification",
          "Die Nachricht wurde bisher nicht zugestellt:" },
        { "failed", "Returned mail Заказ доставлен",
          "Text" },
        { "relayed", "Notification",
          "Delivery to these recipients or groups is complete, but no delivery notification was sent by the destination server:" },
        { "relayed", "Notification",
          "Die Zustellung an diese Empfänger oder Gruppen ist abgeschlossen, aber vom Zielserver wurde keine Zustellbenachrichtigung gesendet:" },
        { "relayed", "Notification",
          "La entrega a estos destinatarios o grupos se ha completado, pero el servidor de destino no envió ninguna notificación de entrega:" },
        { "relayed", "Notification",
          "Il recapito a questi destinatari o gruppi è stato completato, ma il server di destinazione non ha inviato alcuna notifica di recapito:" },
        { "delayed", "Notification",
          "Delivery to the following recipients has been delayed:" },
        { "delayed", "Notification",
          "Your message hasn't been delivered yet:" },
        { "delayed", "Доставка задерживается: Счёт 8814",
          "Text" },
        { "delivered", "Notification",
          "Your message has been delivered to the following recipients:" },
        { "delivered", "Notification",
          "Meddelandet levererades till:" },
        { "delivered", "Zugestellt: Rechnung",
          "Text" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
            "To: b1@notifications.example.com\nSubject: %s\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\n%s\n\n    bob@example.com\n\n"
            "--- Original message ---\nFrom: a@post.example.com\n",
            cases[i].subject, cases[i].heading);
        g_autoptr(BounceReport) report = bounce_report_parse(text, strlen(text));
        const BounceRecipient *r;

        g_test_message("%s / %s", cases[i].subject, cases[i].heading);
        g_assert_cmpuint(report->recipients->len, ==, 1);
        r = g_ptr_array_index(report->recipients, 0);
        g_assert_cmpstr(r->addr, ==, "bob@example.com");
        g_assert_cmpstr(r->action, ==, cases[i].action);
    }
}

static void
test_kind_names(void)
{
    g_assert_cmpstr(bounce_kind_to_string(BOUNCE_KIND_DSN), ==, "dsn");
    g_assert_cmpstr(bounce_kind_to_string(BOUNCE_KIND_UNPARSEABLE), ==, "unparseable");
    g_assert_cmpstr(bounce_kind_to_string((BounceKind)99), ==, "unparseable");
}

/* test_nested_groups - a message the own MIME reader hands to GMime (more
 * parts than it reads) with a From of 50 000 groups inside groups: GMime's
 * address parser, which calls itself once per group, overflowed the
 * stack. The message is now unparseable, and the process lives. */
static void
test_nested_groups(void)
{
    g_autoptr(GString) msg = g_string_new("From: ");

    for (int i = 0; i < 50000; i++)
        g_string_append(msg, "g:");
    g_string_append(msg, " postmaster@mx.example.net\nSubject: Undelivered Mail\n"
                         "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"P\"\n\n");
    for (int i = 0; i < 200; i++)
        g_string_append(msg, "--P\nContent-Type: text/plain\n\npart\n");
    g_string_append(msg, "--P--\n");
    {
        g_autoptr(BounceReport) r = bounce_report_parse(msg->str, msg->len);

        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_UNPARSEABLE);
    }
}

/* test_deep_json - an Amazon SES notification whose JSON nests 100 000
 * arrays, as the body and inside the SNS envelope's Message string: a
 * parser that calls itself once per level overflows the stack. Neither is
 * read as a notification, and the process lives; 60 levels still are. */
static void
test_deep_json(void)
{
    static const char head[] = "From: no-reply@amazonses.com\nTo: a@example.org\n"
                               "Subject: AWS Notification Message\n"
                               "Content-Type: text/plain\n\n";
    g_autoptr(GString) body = g_string_new(head);
    g_autoptr(GString) sns = g_string_new(head);

    g_string_append(body, "{\"notificationType\":\"Bounce\",\"x\":");
    g_string_append(sns, "{\"Type\":\"Notification\",\"Message\":"
                         "\"{\\\"notificationType\\\":\\\"Bounce\\\",\\\"x\\\":");
    for (int i = 0; i < 100000; i++) {
        g_string_append_c(body, '[');
        g_string_append_c(sns, '[');
    }
    for (int i = 0; i < 100000; i++) {
        g_string_append_c(body, ']');
        g_string_append_c(sns, ']');
    }
    g_string_append(body, "}\n");
    g_string_append(sns, "}\"}\n");
    {
        g_autoptr(BounceReport) r = bounce_report_parse(body->str, body->len);
        g_autoptr(BounceReport) s = bounce_report_parse(sns->str, sns->len);

        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_NOTBOUNCE);
        g_assert_cmpint(s->kind, ==, BOUNCE_KIND_NOTBOUNCE);
    }
    g_string_assign(body, head);
    g_string_append(body, "{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
                          "[{\"emailAddress\":\"deep@example.org\"}]},\"x\":");
    for (int i = 0; i < 60; i++)
        g_string_append_c(body, '[');
    for (int i = 0; i < 60; i++)
        g_string_append_c(body, ']');
    g_string_append(body, "}\n");
    {
        g_autoptr(BounceReport) r = bounce_report_parse(body->str, body->len);

        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_NONSTANDARD);
        g_assert_cmpuint(r->recipients->len, ==, 1);
    }
}

/* ses_one - the report of an SES notification whose JSON is json. */
static BounceReport *
ses_one(const char *json)
{
    g_autofree char *msg = g_strconcat("From: no-reply@amazonses.com\nTo: a@example.org\n"
                                       "Subject: AWS Notification Message\n"
                                       "Content-Type: text/plain; charset=utf-8\n\n", json, "\n", NULL);

    return bounce_report_parse(msg, strlen(msg));
}

/* test_ses_lenient - what a notification's JSON may get wrong and still be
 * read: comments, single quotes, a trailing comma, a NUL escaped at the
 * end of the SNS envelope's Message; an escaped lone surrogate comes out
 * as U+FFFD (valid UTF-8), and an address with one is no address. Not
 * read: something after the object, an object cut short. */
static void
test_ses_lenient(void)
{
    static const char *const read[] = {
        "{\"notificationType\":\"Bounce\", /* why */ \"bounce\":{\"bouncedRecipients\":"
        "[{\"emailAddress\":\"a@example.org\"}]}}",
        "{'notificationType':'Bounce','bounce':{'bouncedRecipients':[{'emailAddress':'a@example.org'}]}}",
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
        "[{\"emailAddress\":\"a@example.org\"},]}}",
        "{\"Type\":\"Notification\",\"Message\":\"{\\\"notificationType\\\":\\\"Bounce\\\","
        "\\\"bounce\\\":{\\\"bouncedRecipients\\\":[{\\\"emailAddress\\\":"
        "\\\"a@example.org\\\"}]}}\\u0000\"}",
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
        "[{\"emailAddress\":\"b\\ud800c@example.org\"},{\"emailAddress\":\"a@example.org\"}]}}",
    };
    static const char *const refused[] = {
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
        "[{\"emailAddress\":\"a@example.org\"}]}} and more",
        "{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
        "[{\"emailAddress\":\"a@example.org\"}]",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(read); i++) {
        g_autoptr(BounceReport) r = ses_one(read[i]);

        g_assert_cmpint(r->kind, ==, BOUNCE_KIND_NONSTANDARD);
        g_assert_cmpuint(r->recipients->len, ==, 1);
        g_assert_cmpstr(((BounceRecipient *)g_ptr_array_index(r->recipients, 0))->addr, ==,
                        "a@example.org");
    }
    for (gsize i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_autoptr(BounceReport) r = ses_one(refused[i]);

        g_assert_cmpuint(r->recipients->len, ==, 0);
    }
    {
        g_autoptr(BounceReport) r = ses_one(
            "{\"notificationType\":\"Bounce\",\"bounce\":{\"bouncedRecipients\":"
            "[{\"emailAddress\":\"a@example.org\",\"diagnosticCode\":\"smtp; 550 5.1.1 \\ud800 gone\"}]}}");
        const BounceRecipient *rcpt;

        g_assert_cmpuint(r->recipients->len, ==, 1);
        rcpt = g_ptr_array_index(r->recipients, 0);
        g_assert_true(g_utf8_validate(rcpt->diagnostic, -1, NULL));
        g_assert_nonnull(strstr(rcpt->diagnostic, "\xef\xbf\xbd gone"));
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/addr_clean", test_addr_clean);
    g_test_add_func("/bounce/addr_clean_runs", test_addr_clean_runs);
    g_test_add_func("/bounce/ses-lenient", test_ses_lenient);
    g_test_add_func("/bounce/fold", test_fold);
    g_test_add_func("/bounce/find_codes", test_find_codes);
    g_test_add_func("/bounce/classify", test_classify);
    g_test_add_func("/bounce/classify_context", test_classify_context);
    g_test_add_func("/bounce/split_mbox", test_split_mbox);
    g_test_add_func("/bounce/envelope_sender", test_envelope_sender);
    g_test_add_func("/bounce/hostile", test_hostile);
    g_test_add_func("/bounce/nested-groups", test_nested_groups);
    g_test_add_func("/bounce/deep-json", test_deep_json);
    g_test_add_func("/bounce/threads", test_threads);
    g_test_add_func("/bounce/kind_names", test_kind_names);
    g_test_add_func("/bounce/person-forward", test_person_forward);
    g_test_add_func("/bounce/section-headings", test_section_headings);
    return g_test_run();
}
