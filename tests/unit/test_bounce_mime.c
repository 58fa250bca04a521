/* test_bounce_mime.c - taking messages apart: line-end normalisation, and
 * the MIME splitter of bouncer/bounce_split.c held to GMime's answers.
 *
 * Every case is read three ways (LF, CRLF and bare CR line ends) by the
 * splitter alone and by GMime alone: where the splitter reads a message it
 * must give exactly what GMime gives, and it must read (or decline) the
 * shapes the table says. */
#include <gmime/gmime.h>
#include <string.h>

#include "bouncer/bounce_private.h"
#include "tests/unit/testutil.h"

static void
test_normalize(void)
{
    static const struct { const char *in; gsize len; const char *want; } cases[] = {
        { "a\nb", 3, "a\nb" },
        { "a\r\nb\r\n", 6, "a\nb\n" },
        { "a\rb\r", 4, "a\nb\n" },
        { "a\r\r\nb", 5, "a\nb" },          /* CRLF converted twice */
        { "a\r\rb", 4, "a\n\nb" },          /* two bare CRs: two line ends */
        { "a\r\r\r", 4, "a\n\n\n" },
        { "a\0b\0", 4, "a b " },
        { "\r\n\r\n", 4, "\n\n" },
        { "", 0, "" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GByteArray) got = bounce_mime_normalize(cases[i].in, cases[i].len);

        if (got->len != strlen(cases[i].want) || memcmp(got->data, cases[i].want, got->len) != 0)
            g_error("normalize case %zu: got \"%.*s\", want \"%s\"", i, (int)got->len,
                    (const char *)got->data, cases[i].want);
        if (got->data[got->len] != '\0')
            g_error("normalize case %zu: not NUL-terminated", i);
    }
}

/* parts_dump - what the readers get from bounce_mime_read. (transfer full) */
static char *
parts_dump(const BounceParts *parts, gboolean ok, const char *error)
{
    GString *out = g_string_new(NULL);

    if (!ok) {
        g_string_append_printf(out, "error %s\n", error);
        return g_string_free(out, FALSE);
    }
    g_string_append_printf(out, "type %s report %d truncated %d\n", parts->content_type,
                           parts->report_type, parts->truncated);
    g_string_append_printf(out, "report [%s]\ntext [%s]\n", parts->report->str, parts->text->str);
    if (parts->original == NULL)
        g_string_append(out, "original none\n");
    for (guint i = 0; parts->original != NULL && i < parts->original->fields->len; i++) {
        const BounceField *f = &g_array_index(parts->original->fields, BounceField, i);

        g_string_append_printf(out, "original %s: %s\n", f->name, bounce_field_value(f));
    }
    return g_string_free(out, FALSE);
}

typedef struct {
    const char *name;
    gboolean split;           /* the splitter reads it (else it declines) */
    const char *message;      /* LF line ends */
    const char *want;         /* in the dump (splitter's or GMime's), or NULL */
} MimeCase;

#define TOP "From: MAILER-DAEMON@mx.example\nTo: sender@example.org\nSubject: failure\n"

static const MimeCase mime_cases[] = {
    { "nested multiparts and a returned message", TRUE,
      TOP "MIME-Version: 1.0\n"
      "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
      "preamble, not read\n"
      "--outer\n"
      "Content-Type: multipart/alternative;\n boundary=inner\n\n"
      "--inner\nContent-Type: text/plain; charset=us-ascii\n\nThe plain text.\n"
      "--inner\nContent-Type: text/html\n\n<p>The html<br>text</p>\n"
      "--inner--\n"
      "epilogue of inner\n"
      "--outer\nContent-Type: message/delivery-status\n\n"
      "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; a@b.example\nAction: failed\n"
      "Status: 5.1.1\n"
      "--outer\nContent-Type: message/rfc822\n\n"
      "Message-ID: <orig@example.org>\nFrom: sender@example.org\nTo: a@b.example\n"
      "Subject: the original\n  folded on\nContent-Type: multipart/mixed; boundary=\"orig\"\n\n"
      "--orig\nContent-Type: text/plain\n\nWhat was sent, never read.\n"
      "--orig\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
      "--orig--\n"
      "--outer--\n"
      "epilogue\n",
      "original Subject: the original folded on" },
    { "base64 text at the top", TRUE,
      TOP "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "VGhpcyBtZXNzYWdlIHdhcyBub3QgZGVsaXZlcmVkLg0KNTUwIDUuMS4xIFVzZXIgdW5rbm93bg0K\n",
      "550 5.1.1 User unknown" },
    { "quoted-printable with soft breaks", TRUE,
      TOP "Content-Type: multipart/report; report-type=delivery-status; boundary=b1\n\n"
      "--b1\nContent-Type: text/plain; charset=iso-8859-1\n"
      "Content-Transfer-Encoding: quoted-printable\n\n"
      "Die Nachricht konnte nicht zugestellt werden: Empf=E4nger unbe=\nkannt =3D 550\n"
      "--b1--\n",
      "Empfänger unbekannt = 550" },
    { "missing final boundary", TRUE,
      TOP "Content-Type: multipart/report; boundary=\"b1\"\n\n"
      "--b1\nContent-Type: text/plain\n\nfirst\n"
      "--b1\nContent-Type: message/delivery-status\n\nAction: failed\nStatus: 5.0.0\n",
      "Status: 5.0.0" },
    { "inner multipart missing its final boundary", TRUE,
      TOP "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
      "--outer\nContent-Type: multipart/alternative; boundary=\"inner\"\n\n"
      "--inner\nContent-Type: text/plain\n\ninner text\n"
      "--outer\nContent-Type: text/plain\n\nafter the inner\n"
      "--outer--\n",
      "after the inner" },
    { "multipart without a boundary parameter", TRUE,
      TOP "Content-Type: multipart/report; report-type=delivery-status\n\n"
      "--x\nContent-Type: text/plain\n\nread as the raw body\n",
      "read as the raw body" },
    { "boundary that never appears", TRUE,
      TOP "Content-Type: multipart/mixed; boundary=\"nowhere\"\n\nno parts at all\n",
      "no parts at all" },
    { "blanks after boundaries", TRUE,
      TOP "Content-Type: multipart/mixed; boundary=b2\n\n"
      "--b2   \nContent-Type: text/plain\n\ntext one\n--b2\t\n\ntext two, no headers\n--b2-- \t\n",
      "text two, no headers" },
    { "empty parts", TRUE,
      TOP "Content-Type: multipart/mixed; boundary=b3\n\n"
      "--b3\n--b3\nContent-Type: text/plain\n\nafter an empty part\n--b3--\n",
      "after an empty part" },
    { "digest parts default to messages", TRUE,
      TOP "Content-Type: multipart/digest; boundary=digest-sep\n\n"
      "--digest-sep\n\nMessage-ID: <in-digest@example.org>\nTo: c@d.example\n\nbody\n--digest-sep--\n",
      "original Message-ID: <in-digest@example.org>" },
    { "text/rfc822-headers", TRUE,
      TOP "Content-Type: multipart/report; boundary=r\n\n"
      "--r\nContent-Type: text/plain\n\nfailed\n"
      "--r\nContent-Type: text/rfc822-headers\n\nTo: e@f.example\nnot a header\nSubject: s\n--r--\n",
      "original To: e@f.example" },
    { "base64 message/rfc822 is a leaf", TRUE,
      TOP "Content-Type: multipart/mixed; boundary=e\n\n"
      "--e\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
      "VG86IGdAaC5leGFtcGxlClN1YmplY3Q6IGVuY29kZWQKCmJvZHkK\n--e--\n",
      "original To: g@h.example" },
    { "empty returned message", TRUE,
      TOP "Content-Type: multipart/mixed; boundary=f\n\n"
      "--f\nContent-Type: text/plain\n\ntext\n--f\nContent-Type: message/rfc822\n\n--f--\n",
      "original none" },
    { "junk after a field in the returned headers", TRUE,
      TOP "Content-Type: multipart/mixed; boundary=g\n\n"
      "--g\nContent-Type: message/rfc822\n\n"
      "Received: by mx.example\nwith SMTP id 1\n  for <a@b.example>\n:no name\nTo: i@j.example\n\n"
      "body\n--g--\n",
      "original : no name" },
    { "global forms", TRUE,
      TOP "Content-Type: multipart/report; boundary=h\n\n"
      "--h\nContent-Type: message/global-delivery-status\n\nAction: failed\n"
      "--h\nContent-Type: message/global\n\nTo: k@l.example\n\nbody\n--h--\n",
      "original To: k@l.example" },
    { "html only", TRUE,
      TOP "Content-Type: multipart/alternative; boundary=i\n\n"
      "--i\nContent-Type: text/html; charset=\"utf-8\"\n\n<div>mailbox full&amp;more</div>\n--i--\n",
      "mailbox full&more" },
    { "parameter without a value", TRUE,
      TOP "Content-Type: text/plain; format; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
      "caf=E9\n",
      NULL },
    /* What the splitter leaves to GMime. */
    { "junk before the first field", FALSE,
      TOP "Content-Type: multipart/mixed; boundary=j\n\n"
      "--j\nnot a header\nContent-Type: text/plain\n\ntext\n--j--\n", NULL },
    { "RFC 2231 boundary", FALSE,
      TOP "Content-Type: multipart/mixed; boundary*0=ab; boundary*1=cd\n\n--abcd\n\nx\n--abcd--\n", NULL },
    { "comment in Content-Type", FALSE,
      TOP "Content-Type: multipart/mixed (a comment); boundary=k\n\n--k\n\nx\n--k--\n", NULL },
    { "uuencode", FALSE,
      TOP "Content-Type: multipart/mixed; boundary=l\n\n"
      "--l\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 a\n--l--\n", NULL },
    { "boundary inside a long line", FALSE,
      TOP "Content-Type: multipart/mixed; boundary=m\n\n"
      "--m\nContent-Type: text/plain\n\n"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx --m\n--m--\n", NULL },
    { "returned message using our boundary", FALSE,
      TOP "Content-Type: multipart/mixed; boundary=\"same\"\n\n"
      "--same\nContent-Type: message/rfc822\n\n"
      "To: n@o.example\nContent-Type: multipart/mixed; boundary=\"same--\"\n\n--same----\n--same--\n", NULL },
    { "headers to the end", FALSE,
      TOP "Content-Type: multipart/mixed; boundary=p\n", NULL },
    { "two Content-Types", FALSE,
      TOP "Content-Type: text/plain\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\nPGI+\n", NULL },
    { "encoded word in Content-Type", FALSE,
      TOP "Content-Type: multipart/mixed; boundary==?utf-8?q?q?=\n\n--q\n\nx\n--q--\n", NULL },
};

/* with_line_ends - the LF message with CRLF or bare CR line ends. (transfer full) */
static char *
with_line_ends(const char *lf, const char *eol)
{
    g_auto(GStrv) lines = g_strsplit(lf, "\n", -1);

    return g_strjoinv(eol, lines);
}

static void
test_split_cases(void)
{
    static const char *const eols[] = { "\n", "\r\n", "\r" };

    for (gsize i = 0; i < G_N_ELEMENTS(mime_cases); i++) {
        const MimeCase *c = &mime_cases[i];

        for (gsize e = 0; e < G_N_ELEMENTS(eols); e++) {
            g_autofree char *message = with_line_ends(c->message, eols[e]);
            g_autoptr(GByteArray) norm = bounce_mime_normalize(message, strlen(message));
            BounceParts by_split, by_gmime;
            const char *error_split = NULL, *error_gmime = NULL;
            gboolean ok_split = bounce_mime_read((const char *)norm->data, norm->len,
                                                 &by_split, BOUNCE_MIME_SPLIT, &error_split);
            gboolean ok_gmime = bounce_mime_read((const char *)norm->data, norm->len,
                                                 &by_gmime, BOUNCE_MIME_GMIME, &error_gmime);
            gboolean declined = !ok_split && g_strcmp0(error_split, "declined") == 0;
            g_autofree char *got = parts_dump(&by_split, ok_split, error_split);
            g_autofree char *want = parts_dump(&by_gmime, ok_gmime, error_gmime);

            if (declined == c->split)
                g_error("%s (eol %zu): got %s, want %s", c->name, e,
                        declined ? "declined" : "read", c->split ? "read" : "declined");
            if (!declined && strcmp(got, want) != 0)
                g_error("%s (eol %zu): splitter and GMime differ\n--- GMime\n%s--- splitter\n%s",
                        c->name, e, want, got);
            if (c->want != NULL && strstr(want, c->want) == NULL)
                g_error("%s (eol %zu): got\n%s\nwant it to contain \"%s\"", c->name, e, want, c->want);
            bounce_parts_clear(&by_split);
            bounce_parts_clear(&by_gmime);
        }
    }
}

/* test_split_auto - what every caller gets: the splitter where it reads,
 * GMime where it declines, the same answers either way. */
static void
test_split_auto(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(mime_cases); i++) {
        const char *m = mime_cases[i].message;
        g_autoptr(GByteArray) norm = bounce_mime_normalize(m, strlen(m));
        BounceParts by_auto, by_gmime;
        const char *error_auto = NULL, *error_gmime = NULL;
        gboolean ok_auto = bounce_mime_read((const char *)norm->data, norm->len,
                                            &by_auto, BOUNCE_MIME_AUTO, &error_auto);
        gboolean ok_gmime = bounce_mime_read((const char *)norm->data, norm->len,
                                             &by_gmime, BOUNCE_MIME_GMIME, &error_gmime);
        g_autofree char *got = parts_dump(&by_auto, ok_auto, error_auto);
        g_autofree char *want = parts_dump(&by_gmime, ok_gmime, error_gmime);

        if (strcmp(got, want) != 0)
            g_error("%s: got\n%s\nwant\n%s", mime_cases[i].name, got, want);
        bounce_parts_clear(&by_auto);
        bounce_parts_clear(&by_gmime);
    }
}

/* test_latin - the 8-bit charsets converted without iconv give, byte for
 * byte, what glibc's iconv gives: the character, or (for a byte the
 * charset lacks) the Latin-1 reading every unconvertible text gets. */
static void
test_latin(void)
{
    static const char *const names[] = {
        "iso-8859-1", "ISO-8859-1", "latin1", "iso-8859-15", "ISO8859-15",
        "windows-1252", "cp1252", "iso-8859-2",     /* the last through iconv */
    };

    for (gsize n = 0; n < G_N_ELEMENTS(names); n++) {
        for (int c = 1; c < 256; c++) {
            char in[4] = { 'a', (char)c, 'b', '\0' };
            g_autofree char *got = bounce_text_to_utf8(in, 3, names[n]);
            g_autofree char *want = g_convert(in, 3, "UTF-8", g_mime_charset_iconv_name(names[n]),
                                              NULL, NULL, NULL);

            if (want == NULL)
                want = g_convert(in, 3, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
            g_assert_nonnull(want);
            if (strcmp(got, want) != 0) {
                g_autofree char *got_esc = g_strescape(got, NULL);
                g_autofree char *want_esc = g_strescape(want, NULL);

                g_error("%s byte 0x%02X: got \"%s\", iconv gives \"%s\"", names[n], c, got_esc,
                        want_esc);
            }
        }
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/mime/normalize", test_normalize);
    g_test_add_func("/bounce/mime/split_cases", test_split_cases);
    g_test_add_func("/bounce/mime/split_auto", test_split_auto);
    g_test_add_func("/bounce/mime/latin", test_latin);
    return g_test_run();
}
