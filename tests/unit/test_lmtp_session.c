/* test_lmtp_session.c - the LMTP session state machine, driven by scripts.
 *
 * Each case is a script of input chunks (and lmtp_session_close() calls)
 * with the exact output and the exact bytes handed to deliver(). Every
 * script is run several ways: chunk by chunk as written, in one piece, byte
 * by byte and in seeded random splits; all must give the same result
 * (RFC 2920 pipelining: how bytes arrive must not change the answers).
 *
 * The fake handler accepts every recipient except the local parts
 * "unknown" (550 5.1.1) and "tempfail" (451 4.3.0) and "othererror" (an
 * error outside BOUNCER_ERROR); deliver() stores nothing, records what it
 * got, and fails the local parts "faildeliver" (451) and "rejectdeliver"
 * (550). */
#include <string.h>
#include <sys/resource.h>

#include <gio/gio.h>

#include "common/error.h"
#include "common/lmtp_session.h"
#include "common/log.h"
#include "tests/unit/testutil.h"

#define TEST_HOST        "mx.test"
#define TEST_MAX_SIZE    4096
#define TEST_MAX_RCPTS   5
#define TEST_MAX_ERRORS  10
#define TEST_ROUTE       7
#define MAX_DELIVERIES   4
#define RANDOM_SPLITS    8

/* --- the script ----------------------------------------------------------- */

/* One step: len bytes of data, repeat times in one chunk; or, when data is
 * NULL and close_reply is not, lmtp_session_close(close_reply). */
typedef struct {
    const char *data;
    gsize       len;
    gsize       repeat;
    const char *close_reply;
} Step;

#define S(s)      { s, sizeof(s) - 1, 1, NULL }
#define R(s, n)   { s, sizeof(s) - 1, n, NULL }
#define CLOSE(r)  { NULL, 0, 0, r }
#define END       { NULL, 0, 0, NULL }
#define STEPS(...) ((const Step[]){ __VA_ARGS__, END })

typedef struct {
    const char  *name;
    guint64      max_size;                     /* 0: TEST_MAX_SIZE */
    const Step  *input;
    const char  *want_output;                  /* after the greeting */
    LmtpState    want_state;
    const char  *want_envelope[MAX_DELIVERIES]; /* "from=<..> rcpt=<..>,<..>" per deliver() */
    const Step  *want_data[MAX_DELIVERIES];     /* the bytes of each, as steps */
} SessionCase;

/* --- replies, exactly as the session writes them ------------------------ */

#define GREETING     "220 " TEST_HOST " LMTP bouncer ready\r\n"
#define LHLO_OK_SIZE(n) \
    "250-" TEST_HOST "\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n" \
    "250-SMTPUTF8\r\n250 SIZE " n "\r\n"
#define LHLO_OK      LHLO_OK_SIZE("4096")
#define OK           "250 2.0.0 Ok\r\n"
#define MAIL_OK      "250 2.1.0 Ok\r\n"
#define RCPT_OK      "250 2.1.5 Ok\r\n"
#define GO_AHEAD     "354 End data with <CR><LF>.<CR><LF>\r\n"
#define BYE          "221 2.0.0 Bye\r\n"
#define VRFY_OK      "252 2.5.2 Cannot VRFY user, but will accept message\r\n"
#define E_UNKNOWN    "500 5.5.2 Error: command not recognized\r\n"
#define E_HELO       "500 5.5.2 Error: this is LMTP, use LHLO\r\n"
#define E_TOO_LONG   "500 5.5.2 Error: command line too long\r\n"
#define E_SYNTAX(t)  "501 5.5.4 Syntax error: " t "\r\n"
#define E_SENDER(t)  "501 5.1.7 Syntax error: " t "\r\n"
#define E_RCPTADDR(t) "501 5.1.3 Syntax error: " t "\r\n"
#define E_SEQ(t)     "503 5.5.1 Error: " t "\r\n"
#define E_PARAM      "555 5.5.4 Unsupported parameter\r\n"
#define E_BODY       "555 5.5.4 Unsupported BODY type, use 7BIT or 8BITMIME\r\n"
#define E_NO_USER    "550 5.1.1 Recipient address rejected: unknown user\r\n"
#define E_MAILBOX    "550 5.1.1 Mailbox unavailable\r\n"
#define E_TEMP       "451 4.3.0 Temporary failure, try again later\r\n"
#define E_TOO_BIG    "552 5.3.4 Message size exceeds fixed limit\r\n"
#define E_TOO_MANY   "452 4.5.3 Error: too many recipients\r\n"
#define E_CLOSING    "421 4.7.0 Too many errors, closing connection\r\n"
#define E_TIMEOUT    "421 4.4.2 Timeout exceeded, closing connection"

/* --- commands ------------------------------------------------------------- */

#define LHLO         "LHLO client.test\r\n"
#define MAIL         "MAIL FROM:<sender@example.org>\r\n"
#define RCPT(user)   "RCPT TO:<" user "@example.org>\r\n"
#define DATA         "DATA\r\n"
#define DOT          ".\r\n"
#define QUIT         "QUIT\r\n"
#define NOOP         "NOOP\r\n"
#define RSET         "RSET\r\n"
#define FROM         "from=<sender@example.org> "
#define TO(user)     "<" user "@example.org>"

static const SessionCase session_cases[] = {
    /* Greeting and LHLO (RFC 2033 §4.1). */
    { "greeting", 0, STEPS(S("")), "", LMTP_STATE_INIT },
    { "lhlo", 0, STEPS(S(LHLO)), LHLO_OK, LMTP_STATE_READY },
    { "lhlo-lower-case", 0, STEPS(S("lhlo client.test\r\n")), LHLO_OK, LMTP_STATE_READY },
    { "lhlo-bare-lf", 0, STEPS(S("LHLO client.test\n")), LHLO_OK, LMTP_STATE_READY },
    { "lhlo-no-domain", 0, STEPS(S("LHLO\r\n")), E_SYNTAX("use LHLO domain"), LMTP_STATE_INIT },
    { "helo-ehlo", 0, STEPS(S("HELO client.test\r\nEHLO client.test\r\n")), E_HELO E_HELO,
      LMTP_STATE_INIT },
    { "helo-after-lhlo", 0, STEPS(S(LHLO "HELO client.test\r\n")), LHLO_OK E_HELO,
      LMTP_STATE_READY },
    { "lhlo-again-resets", 0,
      STEPS(S(LHLO MAIL RCPT("alice") LHLO DATA), S(RCPT("alice")), S(MAIL RCPT("bob"))),
      LHLO_OK MAIL_OK RCPT_OK LHLO_OK E_SEQ("need MAIL command") E_SEQ("need MAIL command")
          MAIL_OK RCPT_OK,
      LMTP_STATE_RCPT },

    /* One message, the ordinary way, and with the null sender. */
    { "one-message", 0,
      STEPS(S(LHLO), S(MAIL), S(RCPT("alice")), S(DATA),
            S("Subject: hi\r\n\r\nHello.\r\n"), S(DOT), S(QUIT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK BYE, LMTP_STATE_CLOSED,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("Subject: hi\r\n\r\nHello.\r\n")) } },
    { "null-sender", 0,
      STEPS(S(LHLO "MAIL FROM:<>\r\n" RCPT("alice") DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { "from=<> rcpt=" TO("alice") }, { STEPS(S("x\r\n")) } },
    { "empty-message", 0, STEPS(S(LHLO MAIL RCPT("alice") DATA DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("")) } },
    { "rcpt-postmaster", 0,
      STEPS(S(LHLO MAIL "RCPT TO:<postmaster>\r\n" DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=<postmaster>" }, { STEPS(S("x\r\n")) } },

    /* Pipelining (RFC 2920): everything in one chunk, two transactions and
     * commands after the final dot, answered in order. */
    { "pipelined", 0,
      STEPS(S(LHLO MAIL RCPT("alice") RCPT("bob") DATA "one\r\n" DOT
              "MAIL FROM:<>\r\n" RCPT("carol") DATA "two\r\n" DOT NOOP QUIT NOOP)),
      LHLO_OK MAIL_OK RCPT_OK RCPT_OK GO_AHEAD OK OK MAIL_OK RCPT_OK GO_AHEAD OK OK BYE,
      LMTP_STATE_CLOSED,
      { FROM "rcpt=" TO("alice") "," TO("bob"), "from=<> rcpt=" TO("carol") },
      { STEPS(S("one\r\n")), STEPS(S("two\r\n")) } },

    /* RFC 2033 §4.2: one reply per accepted RCPT, in RCPT order,
     * duplicates included; rejected recipients get none. */
    { "replies-per-recipient", 0,
      STEPS(S(LHLO MAIL RCPT("alice") RCPT("unknown") RCPT("alice") RCPT("tempfail")
              RCPT("bob") RCPT("othererror") RCPT("alice") DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK E_NO_USER RCPT_OK E_TEMP RCPT_OK E_TEMP RCPT_OK GO_AHEAD
          OK OK OK OK,
      LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") "," TO("alice") "," TO("bob") "," TO("alice") },
      { STEPS(S("x\r\n")) } },
    { "deliver-gives-no-answer", 0,
      STEPS(S(LHLO MAIL RCPT("alice") RCPT("forgetdeliver") RCPT("bob") DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK RCPT_OK RCPT_OK GO_AHEAD OK E_TEMP OK,
      LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") "," TO("forgetdeliver") "," TO("bob") },
      { STEPS(S("x\r\n")) } },
    { "deliver-fails-some", 0,
      STEPS(S(LHLO MAIL RCPT("alice") RCPT("faildeliver") RCPT("bob") RCPT("rejectdeliver")
              RCPT("faildeliver") DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK RCPT_OK RCPT_OK RCPT_OK RCPT_OK GO_AHEAD
          OK E_TEMP OK E_MAILBOX E_TEMP,
      LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") "," TO("faildeliver") "," TO("bob") "," TO("rejectdeliver")
             "," TO("faildeliver") },
      { STEPS(S("x\r\n")) } },

    /* Commands out of order: 503 5.5.1. */
    { "before-lhlo", 0, STEPS(S(MAIL RCPT("alice") DATA)),
      E_SEQ("send LHLO first") E_SEQ("send LHLO first") E_SEQ("send LHLO first"),
      LMTP_STATE_INIT },
    { "rcpt-before-mail", 0, STEPS(S(LHLO RCPT("alice"))),
      LHLO_OK E_SEQ("need MAIL command"), LMTP_STATE_READY },
    { "data-before-mail", 0, STEPS(S(LHLO DATA)),
      LHLO_OK E_SEQ("need MAIL command"), LMTP_STATE_READY },
    { "nested-mail", 0, STEPS(S(LHLO MAIL MAIL)),
      LHLO_OK MAIL_OK E_SEQ("nested MAIL command"), LMTP_STATE_MAIL },
    { "data-no-valid-recipient", 0,
      STEPS(S(LHLO MAIL RCPT("unknown") RCPT("tempfail") DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK E_NO_USER E_TEMP E_SEQ("no valid recipients") E_UNKNOWN E_UNKNOWN,
      LMTP_STATE_MAIL },

    /* Postfix pipelines DATA before it reads the RCPT replies: when every
     * recipient was refused, DATA's 503 is expected, not a client error;
     * more such transactions than max_errors on one connection keep it. */
#define STALE MAIL RCPT("unknown") DATA RSET
#define STALE_REPLIES MAIL_OK E_NO_USER E_SEQ("no valid recipients") OK
    { "data-after-refused-recipients-is-no-error", 0,
      STEPS(S(LHLO STALE STALE STALE STALE STALE STALE STALE STALE STALE STALE STALE STALE
              MAIL RCPT("alice") DATA "x\r\n" DOT)),
      LHLO_OK STALE_REPLIES STALE_REPLIES STALE_REPLIES STALE_REPLIES STALE_REPLIES
          STALE_REPLIES STALE_REPLIES STALE_REPLIES STALE_REPLIES STALE_REPLIES STALE_REPLIES
          STALE_REPLIES MAIL_OK RCPT_OK GO_AHEAD OK,
      LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") },
      { STEPS(S("x\r\n")) } },
#undef STALE
#undef STALE_REPLIES

    /* MAIL parameters: SIZE (RFC 1870) and BODY (RFC 6152) are the ones
     * advertised; anything else is 555 5.5.4 (RFC 5321 §4.1.1.11). */
    { "mail-size", 0,
      STEPS(S(LHLO "MAIL FROM:<sender@example.org> SIZE=4096\r\n" RSET
              "MAIL FROM:<sender@example.org> size=0\r\n")),
      LHLO_OK MAIL_OK OK MAIL_OK, LMTP_STATE_MAIL },
    { "mail-size-over-limit", 0,
      STEPS(S(LHLO "MAIL FROM:<sender@example.org> SIZE=4097\r\n" RCPT("alice"))),
      LHLO_OK E_TOO_BIG E_SEQ("need MAIL command"), LMTP_STATE_READY },
    { "mail-size-20-digits", 0,
      STEPS(S(LHLO "MAIL FROM:<sender@example.org> SIZE=99999999999999999999\r\n")),
      LHLO_OK E_TOO_BIG, LMTP_STATE_READY },
    { "mail-size-bad", 0,
      STEPS(S(LHLO "MAIL FROM:<sender@example.org> SIZE=12a\r\n"
                   "MAIL FROM:<sender@example.org> SIZE=-1\r\n"
                   "MAIL FROM:<sender@example.org> SIZE=123456789012345678901\r\n")),
      LHLO_OK E_SYNTAX("bad SIZE value") E_SYNTAX("bad SIZE value")
          E_SYNTAX("bad SIZE value"),
      LMTP_STATE_READY },
    { "mail-body", 0,
      STEPS(S(LHLO "MAIL FROM:<sender@example.org> BODY=7BIT\r\n" RSET
                   "MAIL FROM:<sender@example.org> BODY=8bitmime SIZE=10\r\n" RSET
                   "MAIL FROM:<sender@example.org> BODY=BINARYMIME\r\n")),
      LHLO_OK MAIL_OK OK MAIL_OK OK E_BODY, LMTP_STATE_READY },
    { "mail-unadvertised-parameter", 0,
      STEPS(S(LHLO "MAIL FROM:<sender@example.org> SMTPUTF8=yes\r\n"
                   "MAIL FROM:<sender@example.org> RET=HDRS\r\n"
                   "MAIL FROM:<sender@example.org> SIZE=10 AUTH=<>\r\n")),
      LHLO_OK E_PARAM E_PARAM E_PARAM, LMTP_STATE_READY },
    /* SMTPUTF8 (RFC 6531) is offered and taken. Addresses with 8-bit
     * bytes are taken with or without it, UTF-8 or not: a sender's address
     * is stored (as valid UTF-8), never a reason to refuse the message. */
    { "mail-smtputf8", 0,
      STEPS(S(LHLO "MAIL FROM:<j\xc3\xb6" "rg@b\xc3\xbc" "cher.example> SMTPUTF8 BODY=8BITMIME\r\n"
                   RCPT("alice") "RCPT TO:<zo\xc3\xab" "@example.org>\r\n" DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK RCPT_OK GO_AHEAD OK OK, LMTP_STATE_READY,
      { "from=<j\xc3\xb6" "rg@b\xc3\xbc" "cher.example> rcpt=" TO("alice") "," TO("zo\xc3\xab") },
      { STEPS(S("x\r\n")) } },
    { "8bit-sender-without-smtputf8", 0,
      STEPS(S(LHLO "MAIL FROM:<j\xf6" "rg@example.org>\r\n" RCPT("alice") DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { "from=<j\xf6" "rg@example.org> rcpt=" TO("alice") }, { STEPS(S("x\r\n")) } },
    { "rcpt-parameter", 0,
      STEPS(S(LHLO MAIL "RCPT TO:<alice@example.org> NOTIFY=NEVER\r\n")),
      LHLO_OK MAIL_OK E_PARAM, LMTP_STATE_MAIL },

    /* Bad syntax: 501 5.5.4; in the address itself, 501 5.1.7 (sender)
     * or 501 5.1.3 (recipient), as RFC 3463 has them. */
    { "syntax-errors", 0,
      STEPS(S(LHLO "MAIL FROM:sender@example.org\r\n" "MAIL TO:<sender@example.org>\r\n"
                   MAIL "RCPT TO:<>\r\n" "RCPT TO:<bob>\r\n" "RCPT TO:<a@example.org>x\r\n"
                   RCPT("alice") "DATA now\r\n"),
            S("NOOP \0\r\n")),
      LHLO_OK E_SENDER("address must be in angle brackets") E_SYNTAX("use MAIL FROM:<address>")
          MAIL_OK E_RCPTADDR("empty recipient") E_RCPTADDR("address needs a domain")
          E_RCPTADDR("garbage after address") RCPT_OK
          E_SYNTAX("this command takes no arguments") E_SYNTAX("NUL byte in command"),
      LMTP_STATE_RCPT },

    /* RSET, NOOP, VRFY, QUIT and the rest. */
    { "rset", 0, STEPS(S(LHLO MAIL RCPT("alice") RSET DATA MAIL)),
      LHLO_OK MAIL_OK RCPT_OK OK E_SEQ("need MAIL command") MAIL_OK, LMTP_STATE_MAIL },
    { "rset-before-lhlo", 0, STEPS(S(RSET NOOP)), OK OK, LMTP_STATE_INIT },
    { "noop-vrfy", 0,
      STEPS(S(LHLO NOOP "NOOP anything at all\r\n" "VRFY alice@example.org\r\n"
              "vrfy alice\r\n" "VRFY\r\n")),
      LHLO_OK OK OK VRFY_OK VRFY_OK E_SYNTAX("use VRFY address"), LMTP_STATE_READY },
    { "unknown-commands", 0,
      STEPS(S(LHLO "EXPN staff\r\nSTARTTLS\r\nBDAT 10 LAST\r\nXYZZY\r\n\r\n \r\n")),
      LHLO_OK E_UNKNOWN E_UNKNOWN E_UNKNOWN E_UNKNOWN E_UNKNOWN E_UNKNOWN, LMTP_STATE_READY },
    { "quit-ignores-the-rest", 0, STEPS(S(LHLO QUIT NOOP), S(NOOP)), LHLO_OK BYE,
      LMTP_STATE_CLOSED },
    { "quit-before-lhlo", 0, STEPS(S(QUIT)), BYE, LMTP_STATE_CLOSED },
    { "quit-drops-transaction", 0, STEPS(S(LHLO MAIL RCPT("alice") QUIT DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK BYE, LMTP_STATE_CLOSED },

    /* DATA transparency (RFC 5321 §4.5.2): one leading dot per line goes;
     * only <CRLF>.<CRLF> ends the message. */
    { "dot-stuffing", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA),
            S("..x\r\n...\r\n..\r\n.a.\r\nb..\r\n. \r\n"), S(DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S(".x\r\n..\r\n.\r\na.\r\nb..\r\n \r\n")) } },
    { "commands-inside-data", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "LHLO x\r\nQUIT\r\nRSET\r\n" DOT NOOP)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("LHLO x\r\nQUIT\r\nRSET\r\n")) } },
    /* The smuggling sequences: none ends the message, all stay content. */
    { "smuggle-lf-dot-lf", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "x\n.\n" MAIL RCPT("bob") DATA "y\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("x\n.\n" MAIL RCPT("bob") DATA "y\r\n")) } },
    { "smuggle-lf-dot-crlf", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "x\n.\r\n" MAIL RCPT("bob") DATA "y\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("x\n.\r\n" MAIL RCPT("bob") DATA "y\r\n")) } },
    /* Here the dot begins a line (after CRLF) and is followed by more than
     * CRLF, so it is a stuffed dot and goes; the LF stays. */
    { "smuggle-crlf-dot-lf", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "x\r\n.\n" MAIL RCPT("bob") DATA "y\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("x\r\n\n" MAIL RCPT("bob") DATA "y\r\n")) } },
    { "smuggle-cr-dot-cr", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "x\r.\r" MAIL RCPT("bob") DATA "y\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("x\r.\r" MAIL RCPT("bob") DATA "y\r\n")) } },
    { "smuggle-cr-dot-crlf", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "x\r.\r\n" MAIL RCPT("bob") DATA "y\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("x\r.\r\n" MAIL RCPT("bob") DATA "y\r\n")) } },
    { "smuggle-crlf-dot-cr", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "x\r\n.\r" MAIL RCPT("bob") DATA "y\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("x\r\n\r" MAIL RCPT("bob") DATA "y\r\n")) } },
    { "smuggle-dot-crcrlf", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "x\r\n.\r\r\n" NOOP DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("x\r\n\r\r\n" NOOP)) } },
    { "bare-cr-lf-nul-kept", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA), S("a\rb\nc\0d\r\n\0\r\n\r\r\n\n\r\r"),
            S("\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("a\rb\nc\0d\r\n\0\r\n\r\r\n\n\r\r\r\n")) } },
    { "eight-bit-data", 0,
      STEPS(S(LHLO "MAIL FROM:<sender@example.org> BODY=8BITMIME\r\n" RCPT("alice") DATA
              "\xff\xfe\x80 \xc3\xa9t\xc3\xa9\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(S("\xff\xfe\x80 \xc3\xa9t\xc3\xa9\r\n")) } },

    /* RFC 5321 §4.5.3.1.4: 512 octets per command line, CRLF included. */
    { "command-line-limit", 0,
      STEPS(S(LHLO), S("NOOP "), R("x", 505), S("\r\n"),
            S("NOOP "), R("x", 506), S("\r\n"),
            S("NOOP "), R("x", 506), S("\n"),
            R("y", 100000), S("\r\n"), S(NOOP)),
      LHLO_OK OK E_TOO_LONG OK E_TOO_LONG OK, LMTP_STATE_READY },
    /* Data lines have no length limit. */
    { "one-megabyte-line", 2 * 1024 * 1024,
      STEPS(S(LHLO MAIL RCPT("alice") DATA), R("x", 1024 * 1024), S("\r\n" DOT)),
      LHLO_OK_SIZE("2097152") MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(R("x", 1024 * 1024), S("\r\n")) } },

    /* The message size limit: 552 5.3.4 per recipient after the dot
     * (RFC 1870 §6.3), counted after dot-unstuffing. */
    { "message-at-limit", 64,
      STEPS(S(LHLO MAIL RCPT("alice") DATA), R("x", 59), S("\r\n..\r\n" DOT)),
      LHLO_OK_SIZE("64") MAIL_OK RCPT_OK GO_AHEAD OK, LMTP_STATE_READY,
      { FROM "rcpt=" TO("alice") }, { STEPS(R("x", 59), S("\r\n.\r\n")) } },
    { "message-over-limit", 64,
      STEPS(S(LHLO MAIL RCPT("alice") RCPT("bob") RCPT("alice") DATA), R("x", 63),
            S("\r\n" DOT), S(MAIL RCPT("carol") DATA "small\r\n" DOT)),
      LHLO_OK_SIZE("64") MAIL_OK RCPT_OK RCPT_OK RCPT_OK GO_AHEAD E_TOO_BIG E_TOO_BIG
          E_TOO_BIG MAIL_OK RCPT_OK GO_AHEAD OK,
      LMTP_STATE_READY,
      { FROM "rcpt=" TO("carol") }, { STEPS(S("small\r\n")) } },
    { "message-far-over-limit", 64,
      STEPS(S(LHLO MAIL RCPT("alice") DATA), R("0123456789abcdef\r\n", 10000), S(DOT NOOP)),
      LHLO_OK_SIZE("64") MAIL_OK RCPT_OK GO_AHEAD E_TOO_BIG OK, LMTP_STATE_READY },

    /* Too many recipients: 452 4.5.3 (RFC 5321 §4.5.3.1.10), not an error
     * that counts towards the disconnect. */
    { "too-many-recipients", 0,
      STEPS(S(LHLO MAIL RCPT("r1") RCPT("r2") RCPT("unknown") RCPT("r3") RCPT("r4") RCPT("r5")),
            R(RCPT("r6"), 10), S(RCPT("unknown") DATA "x\r\n" DOT)),
      LHLO_OK MAIL_OK RCPT_OK RCPT_OK E_NO_USER RCPT_OK RCPT_OK RCPT_OK
          E_TOO_MANY E_TOO_MANY E_TOO_MANY E_TOO_MANY E_TOO_MANY
          E_TOO_MANY E_TOO_MANY E_TOO_MANY E_TOO_MANY E_TOO_MANY E_TOO_MANY
          GO_AHEAD OK OK OK OK OK,
      LMTP_STATE_READY,
      { FROM "rcpt=" TO("r1") "," TO("r2") "," TO("r3") "," TO("r4") "," TO("r5") },
      { STEPS(S("x\r\n")) } },

    /* Ten client errors of any kind: 421 4.7.0 and the session closes. */
    { "max-errors", 0,
      STEPS(S(LHLO "BOGUS\r\nHELO x\r\n" RCPT("alice") "MAIL FROM:x\r\n"
              "MAIL FROM:<a@example.org> FOO\r\n" DATA),
            R("BOGUS\r\n", 3), S("NOOP\r\n" "BOGUS\r\n" NOOP "BOGUS\r\n")),
      LHLO_OK E_UNKNOWN E_HELO E_SEQ("need MAIL command")
          E_SENDER("address must be in angle brackets") E_PARAM E_SEQ("need MAIL command")
          E_UNKNOWN E_UNKNOWN E_UNKNOWN OK E_UNKNOWN E_CLOSING,
      LMTP_STATE_CLOSED },
    { "rejections-are-not-errors", 0,
      STEPS(S(LHLO MAIL), R(RCPT("unknown"), 12), S(NOOP)),
      LHLO_OK MAIL_OK E_NO_USER E_NO_USER E_NO_USER E_NO_USER E_NO_USER E_NO_USER
          E_NO_USER E_NO_USER E_NO_USER E_NO_USER E_NO_USER E_NO_USER OK,
      LMTP_STATE_MAIL },

    /* lmtp_session_close() (timeouts, shutdown): its reply, then nothing. */
    { "close-idle", 0, STEPS(CLOSE("421 4.3.2 Service shutting down, try again later"), S(NOOP)),
      "421 4.3.2 Service shutting down, try again later\r\n", LMTP_STATE_CLOSED },
    { "close-in-data", 0,
      STEPS(S(LHLO MAIL RCPT("alice") DATA "half a mess"), CLOSE(E_TIMEOUT),
            S("age\r\n" DOT NOOP), CLOSE(E_TIMEOUT)),
      LHLO_OK MAIL_OK RCPT_OK GO_AHEAD E_TIMEOUT "\r\n", LMTP_STATE_CLOSED },
    { "close-after-quit", 0, STEPS(S(LHLO QUIT), CLOSE(E_TIMEOUT)), LHLO_OK BYE,
      LMTP_STATE_CLOSED },
};

/* --- the fake handler ----------------------------------------------------- */

typedef struct {
    guint64    max_size;
    GPtrArray *envelopes;   /* char* per deliver() */
    GPtrArray *data;        /* GBytes* per deliver() */
    GString   *problems;    /* contract violations seen by the callbacks */
} FakeHandler;

/* local_part - what precedes the last '@'. (transfer full) */
static char *
local_part(const char *address)
{
    const char *at = strrchr(address, '@');

    return at != NULL ? g_strndup(address, at - address) : g_strdup(address);
}

static gboolean
fake_check_recipient(gpointer ctx, const char *sid, const char *address, int *route_out,
                     gpointer *route_data_out, GError **error)
{
    g_autofree char *local = local_part(address);

    /* What the check found out travels with the recipient to deliver(),
     * which compares it; refused, the session frees it all the same
     * (the sanitizer build finds a leak). */
    *route_data_out = g_strdup(address);
    if (strcmp(local, "unknown") == 0) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER,
                    "Recipient address rejected: unknown user");
        return FALSE;
    }
    if (strcmp(local, "tempfail") == 0) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "database is down");
        return FALSE;
    }
    if (strcmp(local, "othererror") == 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "lookup timed out");
        return FALSE;
    }
    *route_out = TEST_ROUTE;
    return TRUE;
}

static void
fake_deliver(gpointer ctx, const char *sid, const LmtpTransaction *tx, GError **results)
{
    FakeHandler *fake = ctx;
    GString *envelope = g_string_new(NULL);

    if (tx->data->len > fake->max_size)
        g_string_append_printf(fake->problems, "deliver got %u bytes, limit %" G_GUINT64_FORMAT
                               "; ", tx->data->len, fake->max_size);
    if (tx->too_big)
        g_string_append(fake->problems, "deliver called for a too big message; ");
    if (tx->recipients->len == 0 || tx->recipients->len > TEST_MAX_RCPTS)
        g_string_append_printf(fake->problems, "deliver got %u recipients; ",
                               tx->recipients->len);
    g_string_append_printf(envelope, "from=<%s> rcpt=", tx->mail_from);
    for (guint i = 0; i < tx->recipients->len; i++) {
        const LmtpRecipient *rcpt = g_ptr_array_index(tx->recipients, i);
        g_autofree char *local = local_part(rcpt->address);

        g_string_append_printf(envelope, "%s<%s>", i > 0 ? "," : "", rcpt->address);
        if (rcpt->route != TEST_ROUTE)
            g_string_append_printf(fake->problems, "recipient %s has route %d; ", rcpt->address,
                                   rcpt->route);
        if (rcpt->route_data == NULL || strcmp(rcpt->route_data, rcpt->address) != 0)
            g_string_append_printf(fake->problems, "recipient %s lost its route data; ",
                                   rcpt->address);
        if (results[i] == NULL || !g_error_matches(results[i], BOUNCER_ERROR,
                                                   BOUNCER_ERROR_TEMPORARY))
            g_string_append(fake->problems, "results[] not a temporary error to start with; ");
        if (strcmp(local, "forgetdeliver") == 0)
            continue;       /* a handler that gives no answer: 451, not 250 */
        g_clear_error(&results[i]);
        if (strcmp(local, "faildeliver") == 0)
            g_set_error(&results[i], BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "disk full");
        else if (strcmp(local, "rejectdeliver") == 0)
            g_set_error(&results[i], BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER,
                        "Mailbox unavailable");
    }
    g_ptr_array_add(fake->envelopes, g_string_free(envelope, FALSE));
    g_ptr_array_add(fake->data, g_bytes_new(tx->data->data, tx->data->len));
}

static const LmtpSessionHandler fake_handler = {
    .check_recipient = fake_check_recipient,
    .deliver = fake_deliver,
};

/* --- running a script ----------------------------------------------------- */

/* describe - bytes for a message, escaped, long runs shortened. */
static char *
describe(const char *s, gsize len)
{
    GString *out = g_string_new("\"");

    for (gsize i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        gsize run = 1;

        while (i + run < len && (unsigned char)s[i + run] == c)
            run++;
        if (run > 8) {
            g_string_append_printf(out, "<%zu x 0x%02x>", run, c);
            i += run - 1;
            continue;
        }
        if (c == '\r')
            g_string_append(out, "\\r");
        else if (c == '\n')
            g_string_append(out, "\\n");
        else if (c == '"' || c == '\\')
            g_string_append_printf(out, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            g_string_append_c(out, (char)c);
        else
            g_string_append_printf(out, "\\x%02x", c);
    }
    g_string_append_c(out, '"');
    return g_string_free(out, FALSE);
}

/* steps_bytes - the bytes of data steps, repeats expanded. (transfer full) */
static GByteArray *
steps_bytes(const Step *steps)
{
    GByteArray *bytes = g_byte_array_new();

    for (const Step *s = steps; s->data != NULL || s->close_reply != NULL; s++) {
        for (gsize r = 0; s->data != NULL && r < s->repeat; r++)
            g_byte_array_append(bytes, (const guint8 *)s->data, s->len);
    }
    return bytes;
}

typedef enum {
    SPLIT_AS_WRITTEN,  /* one feed per step */
    SPLIT_WHOLE,       /* one feed per run of data between close steps */
    SPLIT_BYTES,       /* one feed per byte */
    SPLIT_RANDOM,      /* seeded random chunk sizes */
} SplitMode;

/* check_reply_lines - the output is CRLF-terminated lines of
 * "NNN SP/-" text, and every reply but the greeting, LHLO's and 354
 * carries an enhanced status code of the same class (RFC 2034, RFC 3463). */
static void
check_reply_lines(const char *name, const char *mode, const GString *out)
{
    gsize pos = 0;
    gboolean in_lhlo = FALSE;

    if (out->len > 0 && !g_str_has_suffix(out->str, "\r\n"))
        g_test_fail_printf("%s (%s): output does not end with CRLF", name, mode);
    while (pos < out->len) {
        const char *line = out->str + pos;
        const char *end = strstr(line, "\r\n");
        gsize len = end != NULL ? (gsize)(end - line) : out->len - pos;
        g_autofree char *text = g_strndup(line, len);
        const char *p;

        pos += len + 2;
        if (len < 4 || !g_ascii_isdigit(text[0]) || !g_ascii_isdigit(text[1]) ||
            !g_ascii_isdigit(text[2]) || (text[3] != ' ' && text[3] != '-') ||
            text[0] < '2' || text[0] > '5' || strpbrk(text, "\r\n") != NULL) {
            g_test_fail_printf("%s (%s): bad reply line \"%s\"", name, mode, text);
            continue;
        }
        if (g_str_has_prefix(text, "250-" TEST_HOST))
            in_lhlo = TRUE;
        if (in_lhlo) {
            in_lhlo = text[3] == '-';
            continue;
        }
        if (g_str_has_prefix(text, "220 ") || g_str_has_prefix(text, "354 "))
            continue;
        /* class "." subject "." detail, class equal to the reply's first digit */
        p = text + 4;
        if (p[0] != text[0] || p[1] != '.' || !g_ascii_isdigit(p[2]))
            g_test_fail_printf("%s (%s): no enhanced code in \"%s\"", name, mode, text);
        else if (strspn(p + 2, "0123456789") > 3 || p[2 + strspn(p + 2, "0123456789")] != '.')
            g_test_fail_printf("%s (%s): bad enhanced code in \"%s\"", name, mode, text);
    }
}

typedef struct {
    const SessionCase *c;
    const char        *mode_name;
    SplitMode          mode;
    GRand             *rand;
    LmtpSession       *session;
    GString           *output;   /* everything the session wrote, in order */
} Run;

/* run_collect - take the output as a caller would after each feed. */
static void
run_collect(Run *run)
{
    GString *out = lmtp_session_output(run->session);

    if (out->len > 0 && !g_str_has_suffix(out->str, "\r\n"))
        g_test_fail_printf("%s (%s): output after a feed does not end with CRLF", run->c->name,
                           run->mode_name);
    g_string_append_len(run->output, out->str, out->len);
    g_string_truncate(out, 0);
}

/* run_feed - feed bytes in the chunk sizes of the run's mode. */
static void
run_feed(Run *run, const guint8 *data, gsize len)
{
    gsize pos = 0;

    while (pos < len) {
        gsize chunk = len - pos;

        if (run->mode == SPLIT_BYTES)
            chunk = 1;
        else if (run->mode == SPLIT_RANDOM) {
            /* Mostly tiny chunks, to cut CRLF and ".\r\n" apart often. */
            gsize max = g_rand_int_range(run->rand, 0, 4) != 0 ? 8 : 5000;
            gsize size = (gsize)g_rand_int_range(run->rand, 1, (gint32)max);

            chunk = MIN(chunk, size);
        }
        lmtp_session_feed(run->session, (const char *)data + pos, chunk);
        pos += chunk;
        run_collect(run);
    }
}

/* run_split - feed one case split one way and compare with what is wanted. */
static void
run_split(const SessionCase *c, SplitMode mode, guint32 seed)
{
    static const char *const mode_names[] = { "as written", "whole", "byte by byte", "random" };
    LmtpLimits limits = {
        .hostname = TEST_HOST,
        .max_message_size = c->max_size != 0 ? c->max_size : TEST_MAX_SIZE,
        .max_recipients = TEST_MAX_RCPTS,
        .max_errors = TEST_MAX_ERRORS,
    };
    FakeHandler fake = {
        .max_size = limits.max_message_size,
        .envelopes = g_ptr_array_new_with_free_func(g_free),
        .data = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref),
        .problems = g_string_new(NULL),
    };
    g_autofree char *mode_name = mode == SPLIT_RANDOM
                                     ? g_strdup_printf("random seed %u", seed)
                                     : g_strdup(mode_names[mode]);
    g_autoptr(LmtpSession) session = lmtp_session_new("t1", &limits, &fake_handler, &fake);
    g_autoptr(GString) output = g_string_new(NULL);
    g_autoptr(GByteArray) pending = g_byte_array_new();
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
    g_autofree char *want_output = g_strconcat(GREETING, c->want_output, NULL);
    Run run = { c, mode_name, mode, rand, session, output };
    guint n_want = 0;

    run_collect(&run);
    for (const Step *s = c->input; s->data != NULL || s->close_reply != NULL; s++) {
        if (s->close_reply != NULL) {
            run_feed(&run, pending->data, pending->len);
            g_byte_array_set_size(pending, 0);
            lmtp_session_close(session, s->close_reply);
            run_collect(&run);
            continue;
        }
        for (gsize r = 0; r < s->repeat; r++)
            g_byte_array_append(pending, (const guint8 *)s->data, s->len);
        if (mode == SPLIT_AS_WRITTEN) {
            run_feed(&run, pending->data, pending->len);
            g_byte_array_set_size(pending, 0);
        }
    }
    run_feed(&run, pending->data, pending->len);

    if (strcmp(output->str, want_output) != 0) {
        g_autofree char *got = describe(output->str, output->len);
        g_autofree char *want = describe(want_output, strlen(want_output));

        g_test_fail_printf("%s (%s): output\n  got  %s\n  want %s", c->name, mode_name, got,
                           want);
    }
    check_reply_lines(c->name, mode_name, output);
    if (lmtp_session_state(session) != c->want_state)
        g_test_fail_printf("%s (%s): got state %s, want %s", c->name, mode_name,
                           lmtp_state_name(lmtp_session_state(session)),
                           lmtp_state_name(c->want_state));
    if (fake.problems->len > 0)
        g_test_fail_printf("%s (%s): handler saw: %s", c->name, mode_name, fake.problems->str);

    while (n_want < MAX_DELIVERIES && c->want_envelope[n_want] != NULL)
        n_want++;
    if (fake.envelopes->len != n_want)
        g_test_fail_printf("%s (%s): got %u deliveries, want %u", c->name, mode_name,
                           fake.envelopes->len, n_want);
    for (guint i = 0; i < MIN(n_want, fake.envelopes->len); i++) {
        const char *envelope = g_ptr_array_index(fake.envelopes, i);
        g_autoptr(GByteArray) want = steps_bytes(c->want_data[i]);
        gsize got_len = 0;
        const char *got = g_bytes_get_data(g_ptr_array_index(fake.data, i), &got_len);

        if (strcmp(envelope, c->want_envelope[i]) != 0)
            g_test_fail_printf("%s (%s): delivery %u: got envelope %s, want %s", c->name,
                               mode_name, i, envelope, c->want_envelope[i]);
        if (got_len != want->len || (want->len > 0 && memcmp(got, want->data, want->len) != 0)) {
            g_autofree char *got_text = describe(got, got_len);
            g_autofree char *want_text = describe((const char *)want->data, want->len);

            g_test_fail_printf("%s (%s): delivery %u: data\n  got  %s\n  want %s", c->name,
                               mode_name, i, got_text, want_text);
        }
    }
    g_ptr_array_unref(fake.envelopes);
    g_ptr_array_unref(fake.data);
    g_string_free(fake.problems, TRUE);
}

/* test_session_case - one script, every way of splitting it. */
static void
test_session_case(gconstpointer data)
{
    const SessionCase *c = data;

    /* Stop at the first split that fails: its message is the one shown. */
    run_split(c, SPLIT_AS_WRITTEN, 0);
    if (!g_test_failed())
        run_split(c, SPLIT_WHOLE, 0);
    if (!g_test_failed())
        run_split(c, SPLIT_BYTES, 0);
    for (guint32 seed = 1; seed <= RANDOM_SPLITS && !g_test_failed(); seed++)
        run_split(c, SPLIT_RANDOM, seed);
}

/* --- lmtp_reply_for_error ------------------------------------------------- */

typedef struct {
    GQuark      domain;
    int         code;
    const char *message;
    const char *want;
} ReplyCase;

/* test_reply_for_error - the one switch from error to reply. Temporary
 * causes stay in the log. */
static void
test_reply_for_error(void)
{
#define TEMPORARY "451 4.3.0 Temporary failure, try again later"
    const ReplyCase cases[] = {
        { BOUNCER_ERROR, BOUNCER_ERROR_TEMPORARY, "db down", TEMPORARY },
        { BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER, "no such user", "550 5.1.1 no such user" },
        { BOUNCER_ERROR, BOUNCER_ERROR_SYNTAX, "bad", "501 5.5.4 bad" },
        { BOUNCER_ERROR, BOUNCER_ERROR_BAD_SENDER, "bad", "501 5.1.7 bad" },
        { BOUNCER_ERROR, BOUNCER_ERROR_BAD_RECIPIENT, "bad", "501 5.1.3 bad" },
        { BOUNCER_ERROR, BOUNCER_ERROR_UNKNOWN_COMMAND, "what", "500 5.5.2 what" },
        { BOUNCER_ERROR, BOUNCER_ERROR_BAD_SEQUENCE, "order", "503 5.5.1 order" },
        { BOUNCER_ERROR, BOUNCER_ERROR_PARAMETER, "param", "555 5.5.4 param" },
        { BOUNCER_ERROR, BOUNCER_ERROR_TOO_BIG, "big", "552 5.3.4 big" },
        { BOUNCER_ERROR, BOUNCER_ERROR_TOO_MANY_RCPTS, "many", "452 4.5.3 many" },
        { BOUNCER_ERROR, BOUNCER_ERROR_CONFIG, "config", TEMPORARY },
        { BOUNCER_ERROR, 999, "future code", TEMPORARY },
        { G_IO_ERROR, G_IO_ERROR_FAILED, "io", TEMPORARY },
        { G_FILE_ERROR, G_FILE_ERROR_NOSPC, "full", TEMPORARY },
    };
#undef TEMPORARY
    g_autofree char *ok = lmtp_reply_for_error(NULL);

    if (strcmp(ok, "250 2.0.0 Ok") != 0)
        g_test_fail_printf("reply(NULL): got \"%s\", want \"250 2.0.0 Ok\"", ok);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = g_error_new_literal(cases[i].domain, cases[i].code,
                                                      cases[i].message);
        g_autofree char *got = lmtp_reply_for_error(error);

        if (strcmp(got, cases[i].want) != 0)
            g_test_fail_printf("reply(%s/%d): got \"%s\", want \"%s\"",
                               g_quark_to_string(cases[i].domain), cases[i].code, got,
                               cases[i].want);
    }
}

/* --- memory stays bounded ---------------------------------------------------- */

static glong
max_rss_kb(void)
{
    struct rusage usage;

    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

/* test_size_limit_bounds_memory - 256 MiB of message against a 1 MiB limit:
 * the session must drop what is past the limit instead of buffering it. */
static void
test_size_limit_bounds_memory(void)
{
    const gsize chunk_len = 64 * 1024;
    const gsize total = 256 * 1024 * 1024;
    LmtpLimits limits = { TEST_HOST, 1024 * 1024, TEST_MAX_RCPTS, TEST_MAX_ERRORS };
    FakeHandler fake = {
        .max_size = limits.max_message_size,
        .envelopes = g_ptr_array_new_with_free_func(g_free),
        .data = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref),
        .problems = g_string_new(NULL),
    };
    g_autoptr(LmtpSession) session = lmtp_session_new("t2", &limits, &fake_handler, &fake);
    g_autofree char *chunk = g_malloc(chunk_len);
    const char *start = LHLO MAIL RCPT("alice") DATA;
    GString *out = lmtp_session_output(session);
    glong before;

    for (gsize i = 0; i < chunk_len; i++)
        chunk[i] = (i % 80 == 79) ? '\n' : (i % 80 == 78) ? '\r' : 'a' + i % 26;
    lmtp_session_feed(session, start, strlen(start));
    before = max_rss_kb();
    for (gsize fed = 0; fed < total; fed += chunk_len)
        lmtp_session_feed(session, chunk, chunk_len);
    lmtp_session_feed(session, "\r\n.\r\n", 5);
    g_test_message("peak RSS grew by %ld KiB", max_rss_kb() - before);
    if (max_rss_kb() - before > 64 * 1024)
        g_test_fail_printf("peak RSS grew by %ld KiB for a 1 MiB limit, want < 65536",
                           max_rss_kb() - before);
    if (!g_str_has_suffix(out->str, GO_AHEAD E_TOO_BIG))
        g_test_fail_printf("output ends \"%s\", want 354 then 552", out->str);
    if (fake.envelopes->len != 0)
        g_test_fail_printf("got %u deliveries, want 0", fake.envelopes->len);
    g_ptr_array_unref(fake.envelopes);
    g_ptr_array_unref(fake.data);
    g_string_free(fake.problems, TRUE);
}

/* check_output - got is want, or the test fails saying what. */
static void
check_output(const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        g_test_fail_printf("%s: got \"%s\", want \"%s\"", what, got, want);
}

/* test_sessions_share_max_buffered - what all sessions hold at once is
 * bounded: a message that would take it past max_buffered is dropped and
 * answered 452 4.3.1 while the one already held is delivered; every byte
 * is given back at the end of each transaction. */
static void
test_sessions_share_max_buffered(void)
{
    gint64 buffered = 0;
    LmtpLimits limits = { TEST_HOST, 1024 * 1024, TEST_MAX_RCPTS, TEST_MAX_ERRORS, 100 * 1024, &buffered };
    FakeHandler fake = {
        .max_size = limits.max_message_size,
        .envelopes = g_ptr_array_new_with_free_func(g_free),
        .data = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref),
        .problems = g_string_new(NULL),
    };
    g_autoptr(LmtpSession) first = lmtp_session_new("t3", &limits, &fake_handler, &fake);
    g_autoptr(LmtpSession) second = lmtp_session_new("t4", &limits, &fake_handler, &fake);
    const char *start = LHLO MAIL RCPT("alice") RCPT("bob") DATA;
    g_autofree char *sixty = g_strnfill(58, 'a');
    g_autofree char *line = g_strconcat(sixty, "\r\n", NULL);

    lmtp_session_feed(first, start, strlen(start));
    lmtp_session_feed(second, start, strlen(start));
    /* Counted in steps of 64 KiB: the first holds one, the second's
     * would make two, over the 100 KiB. */
    lmtp_session_feed(first, line, strlen(line));
    g_assert_cmpint(buffered, ==, 65536);
    lmtp_session_feed(second, line, strlen(line));
    lmtp_session_feed(second, ".\r\n", 3);
    g_assert_cmpint(buffered, ==, 65536);                   /* the second gave its share back */
    check_output("the second message", lmtp_session_output(second)->str,
              GREETING LHLO_OK_SIZE("1048576") MAIL_OK RCPT_OK RCPT_OK GO_AHEAD
              "452 4.3.1 Insufficient system storage, try again later\r\n"
              "452 4.3.1 Insufficient system storage, try again later\r\n");
    lmtp_session_feed(first, ".\r\n", 3);
    g_assert_cmpint(buffered, ==, 0);
    check_output("the first message", lmtp_session_output(first)->str,
              GREETING LHLO_OK_SIZE("1048576") MAIL_OK RCPT_OK RCPT_OK GO_AHEAD OK OK);
    g_assert_cmpuint(fake.envelopes->len, ==, 1);
    /* Room again: the second session's next message goes through. */
    g_string_truncate(lmtp_session_output(second), 0);
    lmtp_session_feed(second, MAIL RCPT("alice") DATA, strlen(MAIL RCPT("alice") DATA));
    lmtp_session_feed(second, line, strlen(line));
    lmtp_session_feed(second, ".\r\n", 3);
    check_output("the second, again", lmtp_session_output(second)->str,
              MAIL_OK RCPT_OK GO_AHEAD OK);
    g_assert_cmpint(buffered, ==, 0);
    if (fake.problems->len > 0)
        g_test_fail_printf("handler saw: %s", fake.problems->str);
    g_ptr_array_unref(fake.envelopes);
    g_ptr_array_unref(fake.data);
    g_string_free(fake.problems, TRUE);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    log_open(NULL, LOG_LEVEL_WARNING, NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(session_cases); i++) {
        g_autofree char *path = g_strdup_printf("/lmtp_session/script/%s",
                                                session_cases[i].name);

        g_test_add_data_func(path, &session_cases[i], test_session_case);
    }
    g_test_add_func("/lmtp_session/reply-for-error", test_reply_for_error);
    g_test_add_func("/lmtp_session/size-limit-bounds-memory", test_size_limit_bounds_memory);
    g_test_add_func("/lmtp_session/sessions-share-max-buffered", test_sessions_share_max_buffered);
    return g_test_run();
}
