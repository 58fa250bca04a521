/* test_mime_compose.c - the pieces the auto-reply and the forward of a
 * bounce write messages with: one-line text (CR, LF, NUL and the other
 * breaks, the character limit), the Subject's own RFC 2047 words (plain
 * ASCII, UTF-8, "=?" look-alikes, folding, long words), the plain-address
 * check, the UTF-8 text/plain part, the header fields every message has
 * and the CRLF output. */
#include <string.h>

#include "common/mime_compose.h"
#include "tests/unit/testutil.h"

/* show - text with controls and non-ASCII escaped, for messages.
 * (transfer full) */
static char *
show(const char *text)
{
    return text != NULL ? g_strescape(text, NULL) : g_strdup("(null)");
}

/* check_str - "what: got X, want Y" unless got equals want (NULLs too). */
static void
check_str(const char *what, const char *got, const char *want)
{
    g_autofree char *g = NULL;
    g_autofree char *w = NULL;

    if (g_strcmp0(got, want) == 0)
        return;
    g = show(got);
    w = show(want);
    g_test_fail_printf("%s: got \"%s\", want \"%s\"", what, g, w);
}

/* --- mime_compose_fold ---------------------------------------------------- */

static const struct {
    const char *name;
    const char *text;
    gssize      len;
    gsize       max_chars;
    const char *want;
} fold_cases[] = {
    { "null",             NULL,                       -1, 10,  "" },
    { "empty",            "",                         -1, 10,  "" },
    { "trim and squeeze", "  Hello \t  world  ",      -1, 100, "Hello world" },
    { "crlf",             "Hi\r\nBcc: x@example.com", -1, 100, "Hi Bcc: x@example.com" },
    { "bare cr and lf",   "a\rb\nc",                  -1, 100, "a b c" },
    { "only breaks",      "\r\n\r\n\t",               -1, 100, "" },
    { "vt ff",            "a\vb\fc",                  -1, 100, "a b c" },
    { "nul inside len",   "a\0b",                      3, 10,  "a\xef\xbf\xbd" "b" },
    { "nul ends -1",      "a\0b",                     -1, 10,  "a" },
    { "len cuts",         "abcdef",                    3, 10,  "abc" },
    { "invalid utf-8",    "\xff" "x\xc3",             -1, 10,  "\xef\xbf\xbdx\xef\xbf\xbd" },
    { "line separator",   "a\xe2\x80\xa8" "b",        -1, 10,  "a b" },
    { "paragraph sep",    "a\xe2\x80\xa9" "b",        -1, 10,  "a b" },
    { "c1 next line",     "a\xc2\x85" "b",            -1, 10,  "a b" },
    { "del",              "a\x7f" "b",                -1, 10,  "a b" },
    { "no-break space",   "a\xc2\xa0" "b",            -1, 10,  "a b" },
    { "max ascii",        "abcdef",                   -1, 3,   "abc" },
    { "max counts chars", "äöüß",                     -1, 2,   "äö" },
    { "max after space",  "ab cd",                    -1, 3,   "ab " },
    { "max inside word",  "ab cd",                    -1, 4,   "ab c" },
    { "max zero",         "abc",                      -1, 0,   "" },
    { "utf-8 kept",       "Grüße aus Köln",           -1, 100, "Grüße aus Köln" },
};

/* test_fold - each row: the folded text. */
static void
test_fold(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(fold_cases); i++) {
        g_autofree char *got = mime_compose_fold(fold_cases[i].text, fold_cases[i].len,
                                                 fold_cases[i].max_chars);

        check_str(fold_cases[i].name, got, fold_cases[i].want);
    }
}

/* test_fold_one_line - whatever comes in, one valid UTF-8 line of at most
 * max_chars characters comes out. */
static void
test_fold_one_line(void)
{
    GRand *rand = g_rand_new_with_seed(20260101);
    static const char bytes[] = "a \t\r\n\v\f\x7f\x01=?@<>\"\xc3\xa4\xe2\x80\xa8\xff";

    for (int n = 0; n < 2000; n++) {
        char text[64];
        gsize len = g_rand_int_range(rand, 0, sizeof text);
        gsize max = g_rand_int_range(rand, 0, 40);
        g_autofree char *got = NULL;

        for (gsize i = 0; i < len; i++)
            text[i] = bytes[g_rand_int_range(rand, 0, sizeof bytes - 1)];
        got = mime_compose_fold(text, len, max);
        if (!g_utf8_validate(got, -1, NULL) || (gsize)g_utf8_strlen(got, -1) > max
            || strpbrk(got, "\r\n\t\v\f\x7f\x01") != NULL || got[0] == ' '
            || strstr(got, "  ") != NULL || strstr(got, "\xe2\x80\xa8") != NULL) {
            g_autofree char *g = show(got);

            g_test_fail_printf("input %d (max %" G_GSIZE_FORMAT "): got \"%s\", not one line",
                               n, max, g);
            break;
        }
    }
    g_rand_free(rand);
}

/* --- mime_compose_header_raw ---------------------------------------------- */

#define NAME70 "X-A-Field-Name-Of-Seventy-Characters-To-Move-The-First-Fold-Forward-X"

static const struct {
    const char *name;
    const char *field;
    const char *text;
    const char *want;
} header_cases[] = {
    { "empty", "Subject", "", "\n" },
    { "ascii", "Subject", "Hello world", " Hello world\n" },
    { "utf-8 after plain words", "Subject", "Auto: Grüße aus Köln",
      " Auto: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\n" },
    { "encoded-word look-alike", "Subject", "Re: =?UTF-8?B?abc?=",
      " Re: =?UTF-8?B?PT9VVEYtOD9CP2FiYz89?=\n" },
    { "=? inside a word", "Subject", "a=?b c", " =?UTF-8?B?YT0/YiBj?=\n" },
    { "= and ? apart stay plain", "Subject", "x=y ?= =? z", " x=y ?= =?UTF-8?B?PT8geg==?=\n" },
    { "plain words fold", "Subject",
      "aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa "
      "aaaaaaaaa aaaaaaaaa",
      " aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa\n"
      " aaaaaaaaa aaaaaaaaa aaaaaaaaa aaaaaaaaa\n" },
    { "field name moves the fold", NAME70, "Hello you", " Hello\n you\n" },
    /* Words end on a multiple of 3 bytes where a character boundary allows
     * it: no base64 padding before the last word (GMime 3.2 stops there). */
    { "long utf-8 in words that fit the line", "Subject",
      "ääääääääääääääääääääääääääääää",
      " =?UTF-8?B?w6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOk?=\n"
      " =?UTF-8?B?w6TDpMOkw6TDpMOkw6TDpMOkw6TDpMOk?=\n" },
    { "no character split", "Subject", "a€€€€€€€€€€€€€€€",
      " =?UTF-8?B?YeKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrOKCrA==?=\n"
      " =?UTF-8?B?4oKs4oKs4oKs?=\n" },
    /* RFC 2047 §2: a line with an encoded word is at most 76 characters,
     * "Subject:" included; the first word is cut to fit. */
    { "first word fits the first line", "Subject",
      "Auto:Ärger_mit_der_Rechnung_Nummer_2025-000123_für_Kunde_4711",
      " =?UTF-8?B?QXV0bzrDhHJnZXJfbWl0X2Rlcl9SZWNobnVuZ19OdW1tZXJfMjAy?=\n"
      " =?UTF-8?B?NS0wMDAxMjNfZsO8cl9LdW5kZV80NzEx?=\n" },
};

/* test_header_raw - each row: the raw value. */
static void
test_header_raw(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(header_cases); i++) {
        g_autofree char *got = mime_compose_header_raw(header_cases[i].field,
                                                       header_cases[i].text);

        check_str(header_cases[i].name, got, header_cases[i].want);
    }
}

/* raw_shape_ok - raw is one field value: no CR or NUL, every line but the
 * last goes on (starts with a space), no line near 998 octets, no encoded
 * word over RFC 2047's 75 characters. */
static gboolean
raw_shape_ok(const char *raw, const char **why_out)
{
    g_auto(GStrv) lines = NULL;
    gsize len = strlen(raw);

    if (len == 0 || raw[len - 1] != '\n' || strchr(raw, '\r') != NULL) {
        *why_out = "not LF-terminated, or a CR";
        return FALSE;
    }
    lines = g_strsplit(raw, "\n", -1);
    for (guint i = 0; lines[i + 1] != NULL; i++) {
        g_auto(GStrv) words = NULL;

        if (lines[i][0] != ' ') {
            *why_out = "a line that does not start with a space";
            return FALSE;
        }
        if (strlen(lines[i]) > 998 - strlen("Subject:")) {
            *why_out = "a line over 998 octets";
            return FALSE;
        }
        if (strstr(lines[i], "=?") != NULL
            && strlen(lines[i]) + (i == 0 ? strlen("Subject:") : 0) > 76) {
            *why_out = "a line with an encoded word over 76 characters";
            return FALSE;
        }
        words = g_strsplit(lines[i], " ", -1);
        for (guint w = 0; words[w] != NULL; w++) {
            if (g_str_has_prefix(words[w], "=?") && strlen(words[w]) > 75) {
                *why_out = "an encoded word over 75 characters";
                return FALSE;
            }
        }
    }
    return TRUE;
}

/* test_header_raw_long_words - a plain word up to MIME_COMPOSE_PLAIN_MAX
 * stays as it is; a longer one is encoded, in short words. */
static void
test_header_raw_long_words(void)
{
    static const gsize lengths[] = { 100, MIME_COMPOSE_PLAIN_MAX, MIME_COMPOSE_PLAIN_MAX + 1,
                                     2000 };

    for (gsize i = 0; i < G_N_ELEMENTS(lengths); i++) {
        g_autofree char *word = g_strnfill(lengths[i], 'x');
        g_autofree char *text = g_strconcat("Re: ", word, NULL);
        g_autofree char *got = mime_compose_header_raw("Subject", text);
        gboolean plain = lengths[i] <= MIME_COMPOSE_PLAIN_MAX;
        gboolean got_plain = strstr(got, word) != NULL;
        const char *why = NULL;

        if (got_plain != plain)
            g_test_fail_printf("word of %" G_GSIZE_FORMAT ": got %s, want %s", lengths[i],
                               got_plain ? "plain" : "encoded", plain ? "plain" : "encoded");
        if (!plain && !raw_shape_ok(got, &why))
            g_test_fail_printf("word of %" G_GSIZE_FORMAT ": %s", lengths[i], why);
    }
}

/* What a hostile original can put in a subject; each is folded first, as
 * the callers do, then must come back from GMime as that folded text. */
static const struct {
    const char *name;
    const char *text;
    gssize      len;
} hostile_cases[] = {
    { "crlf header injection", "Hi\r\nBcc: victim@example.com", -1 },
    { "lf end of header block", "Hi\n\nbody", -1 },
    { "nul", "Hi\0Bcc: x@y", 11 },
    { "encoded-word look-alike", "=?UTF-8?B?SGk=?= =?utf-8?q?x?= y", -1 },
    { "half look-alike", "Rechnung =?", -1 },
    { "line separator", "Hi\xe2\x80\xa8" "Bcc: x@y", -1 },
    { "invalid utf-8", "\xff\xfe Rechnung \xc3", -1 },
    { "mixed", "Auto: Re: Rechnung 1234 für März, bitte prüfen =?x?= ok", -1 },
    { "long utf-8",
      "Ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé "
      "ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé ünïcödé", -1 },
    { "emoji", "Status 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀 done", -1 },
};

/* without_cr - text with every CR dropped. (transfer full) */
static char *
without_cr(const char *text)
{
    GString *out = g_string_new(NULL);

    for (const char *p = text; *p != '\0'; p++) {
        if (*p != '\r')
            g_string_append_c(out, *p);
    }
    return g_string_free(out, FALSE);
}

/* words_decode - raw unfolded and its words read one by one: plain words
 * as they are, each encoded word decoded on its own, no space between two
 * encoded words (RFC 2047 §6.2). NULL when a word is not ours.
 * (transfer full) */
static char *
words_decode(const char *raw)
{
    g_autofree char *line = g_strdup(raw);
    g_auto(GStrv) words = NULL;
    GString *out = g_string_new(NULL);
    gboolean last_encoded = FALSE;

    g_strdelimit(line, "\n", ' ');
    words = g_strsplit(line, " ", -1);
    for (guint i = 0; words[i] != NULL; i++) {
        const char *w = words[i];
        gsize len = strlen(w);

        if (len == 0)
            continue;
        if (g_str_has_prefix(w, "=?UTF-8?B?") && g_str_has_suffix(w, "?=")) {
            g_autofree char *b64 = g_strndup(w + 10, len - 12);
            gsize n = 0;
            g_autofree guchar *bytes = g_base64_decode(b64, &n);

            if (out->len > 0 && !last_encoded)
                g_string_append_c(out, ' ');
            g_string_append_len(out, (const char *)bytes, n);
            last_encoded = TRUE;
        } else if (strstr(w, "=?") != NULL) {
            g_string_free(out, TRUE);
            return NULL;
        } else {
            if (out->len > 0)
                g_string_append_c(out, ' ');
            g_string_append(out, w);
            last_encoded = FALSE;
        }
    }
    return g_string_free(out, FALSE);
}

/* test_subject_round_trip - the folded text comes back from its raw value
 * word by word, and the message written with mime_compose_set_subject()
 * and mime_compose_to_crlf() is read by GMime with that Subject value and
 * no field the text named. (GMime 3.2.13's decoder joins the base64 of
 * adjacent encoded words and stops at the first padding, so the text is
 * compared with words_decode(), not g_mime_message_get_subject().) */
static void
test_subject_round_trip(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(hostile_cases); i++) {
        const char *name = hostile_cases[i].name;
        g_autofree char *folded = mime_compose_fold(hostile_cases[i].text, hostile_cases[i].len,
                                                    200);
        g_autofree char *raw = mime_compose_header_raw("Subject", folded);
        g_autofree char *decoded = words_decode(raw);
        g_autoptr(GMimeMessage) message = NULL;
        g_autoptr(GMimeMessage) back = NULL;
        g_autoptr(GMimeStream) stream = NULL;
        g_autoptr(GMimeParser) parser = NULL;
        g_autofree char *text = NULL;
        g_autofree char *raw_back = NULL;
        GMimeHeader *subject;
        const char *why = NULL;
        gsize len = 0;

        if (!raw_shape_ok(raw, &why)) {
            g_test_fail_printf("%s: raw value has %s", name, why);
            continue;
        }
        check_str(name, decoded, folded);

        gmime_init_once();
        message = g_mime_message_new(TRUE);
        mime_compose_set_subject(message, folded);
        text = mime_compose_to_crlf(GMIME_OBJECT(message), &len);
        stream = g_mime_stream_mem_new_with_buffer(text, len);
        parser = g_mime_parser_new_with_stream(stream);
        back = g_mime_parser_construct_message(parser, NULL);
        if (back == NULL) {
            g_test_fail_printf("%s: GMime cannot read the message back", name);
            continue;
        }
        subject = g_mime_header_list_get_header(
            g_mime_object_get_header_list(GMIME_OBJECT(back)), "Subject");
        if (subject == NULL) {
            g_test_fail_printf("%s: got no Subject field", name);
            continue;
        }
        raw_back = without_cr(g_mime_header_get_raw_value(subject));
        check_str(name, raw_back, raw);
        if (g_mime_object_get_header(GMIME_OBJECT(back), "Bcc") != NULL)
            g_test_fail_printf("%s: got a Bcc field, want none", name);
    }
}

/* --- addresses -------------------------------------------------------------- */

static const struct {
    const char *text;
    const char *want;
} unwrap_cases[] = {
    { NULL,           NULL },
    { "",             "" },
    { "  a@b  ",      "a@b" },
    { "<a@b>",        "a@b" },
    { "\t< a@b >\n",  "a@b" },
    { "<>",           "" },
    { "<",            "<" },
    { "<a@b",         "<a@b" },
    { "<<a@b>>",      "<a@b>" },
    { "Anna <a@b>",   "Anna <a@b>" },
};

/* test_address_unwrap - each row: what is left. */
static void
test_address_unwrap(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(unwrap_cases); i++) {
        g_autofree char *got = mime_compose_address_unwrap(unwrap_cases[i].text);
        g_autofree char *what = show(unwrap_cases[i].text);

        check_str(what, got, unwrap_cases[i].want);
    }
}

#define LOCAL244 \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct {
    const char *text;
    const char *want;          /* NULL: refused */
} address_cases[] = {
    { "anna@customer.example",          "anna@customer.example" },
    { "  <anna@customer.example>  ",    "anna@customer.example" },
    { "< anna@customer.example >",      "anna@customer.example" },
    { "a+tag@b.example",                "a+tag@b.example" },
    { "A.B@EXAMPLE.COM",                "A.B@EXAMPLE.COM" },          /* kept as it is */
    { "a@xn--bcher-kva.example",        "a@xn--bcher-kva.example" },  /* a real IDNA label */
    { LOCAL244 "@b.example",            LOCAL244 "@b.example" },      /* 254 characters */
    { LOCAL244 "a@b.example",           NULL },                       /* 255 */
    { NULL,                             NULL },
    { "",                               NULL },
    { "<>",                             NULL },
    { "   ",                            NULL },
    { "anna",                           NULL },
    { "@customer.example",              NULL },
    { "anna@",                          NULL },
    { "a@b@c.example",                  NULL },
    { "<<anna@customer.example>>",      NULL },
    { "Anna <anna@customer.example>",   NULL },
    { "anna@customer.example, b@c",     NULL },
    { "\"anna\"@customer.example",      NULL },
    { "anna(x)@customer.example",       NULL },
    { "anna@[192.0.2.1]",               NULL },
    { "a\\b@c.example",                 NULL },
    { "a;b@c.example",                  NULL },
    { "a:b@c.example",                  NULL },
    { "a\tb@c.example",                 NULL },
    { "anna@c.example\r\nBcc: x@y",     NULL },
    { "a\x7f@c.example",                NULL },
    { "änna@customer.example",          NULL },
    { "anna@kö.example",                NULL },
    { "a@xn--a.de",                     NULL },                       /* GMime rewrites it */
};

/* test_plain_address - each row: the address, or refused. */
static void
test_plain_address(void)
{
    g_assert_cmpuint(strlen(LOCAL244), ==, 244);
    for (gsize i = 0; i < G_N_ELEMENTS(address_cases); i++) {
        g_autofree char *got = mime_compose_plain_address(address_cases[i].text);
        g_autofree char *what = show(address_cases[i].text);

        check_str(what, got, address_cases[i].want);
    }
}

static const struct {
    const char *addr;
    gboolean    want;
} survive_cases[] = {
    { "a@example.com",           TRUE },
    { "a@EXAMPLE.com",           TRUE },
    { "a@xn--bcher-kva.example", TRUE },
    { "a@xn--a.de",              FALSE },
};

/* test_address_survives - each row: does GMime write it unchanged? */
static void
test_address_survives(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(survive_cases); i++) {
        gboolean got = mime_compose_address_survives(survive_cases[i].addr);

        if (got != survive_cases[i].want)
            g_test_fail_printf("%s: got %s, want %s", survive_cases[i].addr,
                               got ? "TRUE" : "FALSE", survive_cases[i].want ? "TRUE" : "FALSE");
    }
}

/* --- the text part and the whole ----------------------------------------- */

/* test_text_part - text/plain; charset=utf-8, 7bit for short ASCII lines,
 * else quoted-printable; the text comes back as it went in. */
static void
test_text_part(void)
{
    g_autofree char *long_line = g_strnfill(1000, 'x');
    const struct {
        const char          *name;
        const char          *text;
        GMimeContentEncoding want;
    } cases[] = {
        { "ascii",     "Hello,\n\nthank you.\n", GMIME_CONTENT_ENCODING_7BIT },
        { "empty",     "",                       GMIME_CONTENT_ENCODING_7BIT },
        { "utf-8",     "Grüße aus Köln\n",       GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
        { "long line", long_line,                GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GMimePart) part = mime_compose_text_part(cases[i].text);
        GMimeContentType *type = g_mime_object_get_content_type(GMIME_OBJECT(part));
        GMimeContentEncoding got = g_mime_part_get_content_encoding(part);
        g_autofree char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));

        if (!g_mime_content_type_is_type(type, "text", "plain"))
            g_test_fail_printf("%s: got %s/%s, want text/plain", cases[i].name,
                               g_mime_content_type_get_media_type(type),
                               g_mime_content_type_get_media_subtype(type));
        check_str(cases[i].name, g_mime_content_type_get_parameter(type, "charset"), "utf-8");
        if (got != cases[i].want)
            g_test_fail_printf("%s: got %s, want %s", cases[i].name,
                               g_mime_content_encoding_to_string(got),
                               g_mime_content_encoding_to_string(cases[i].want));
        check_str(cases[i].name, text, cases[i].text);
    }
}

/* test_message_crlf - mime_compose_message_new() gives exactly the
 * fields it promises (in GMime's order); mime_compose_to_crlf() ends every
 * line CRLF and gives the string's length. */
static void
test_message_crlf(void)
{
    static const char *const want_fields[] = {
        "Date", "From", "Subject", "To", "Message-Id", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding", NULL,
    };
    g_autoptr(GMimeMessage) message = NULL;
    g_autoptr(GMimePart) part = NULL;
    g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) lines = NULL;
    g_autofree char *text = NULL;
    g_autofree char *again = NULL;
    g_autofree char *got_fields = NULL;
    g_autofree char *want = NULL;
    gsize len = 0;

    message = mime_compose_message_new("messageservice@post.example.com", "anna@customer.example",
                                       "Auto: Grüße aus Köln, a subject long enough to be "
                                       "folded over two lines", "post.example.com");
    part = mime_compose_text_part("one\ntwo\n\nfour, with Grüße\n");
    g_mime_message_set_mime_part(message, GMIME_OBJECT(part));
    g_assert_true(g_str_has_suffix(g_mime_message_get_message_id(message), "@post.example.com"));

    text = mime_compose_to_crlf(GMIME_OBJECT(message), &len);
    lines = g_strsplit(text, "\r\n", -1);
    for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++) {
        const char *colon = strchr(lines[i], ':');

        if (lines[i][0] == ' ')
            continue;
        g_ptr_array_add(fields, g_strndup(lines[i], colon != NULL ? colon - lines[i] : 0));
    }
    g_ptr_array_add(fields, NULL);
    got_fields = g_strjoinv(" ", (char **)fields->pdata);
    want = g_strjoinv(" ", (char **)want_fields);
    check_str("fields", got_fields, want);
    g_assert_cmpuint(len, ==, strlen(text));
    for (gsize i = 0; i < len; i++) {
        if ((text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            || (text[i] == '\r' && text[i + 1] != '\n')) {
            g_test_fail_printf("offset %" G_GSIZE_FORMAT ": got a bare %s, want CRLF", i,
                               text[i] == '\n' ? "LF" : "CR");
            break;
        }
    }
    g_assert_nonnull(strstr(text, "\r\nFrom: messageservice@post.example.com\r\n"
                                  "Subject: Auto: =?UTF-8?B?"));
    g_assert_nonnull(strstr(text, "?=\r\n =?UTF-8?B?"));                   /* folded, CRLF */
    g_assert_nonnull(strstr(text, "\r\nTo: anna@customer.example\r\n"));
    again = mime_compose_to_crlf(GMIME_OBJECT(message), NULL);      /* no length wanted */
    check_str("without len_out", again, text);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mime_compose/fold", test_fold);
    g_test_add_func("/mime_compose/fold-one-line", test_fold_one_line);
    g_test_add_func("/mime_compose/header-raw", test_header_raw);
    g_test_add_func("/mime_compose/header-raw-long-words", test_header_raw_long_words);
    g_test_add_func("/mime_compose/subject-round-trip", test_subject_round_trip);
    g_test_add_func("/mime_compose/address-unwrap", test_address_unwrap);
    g_test_add_func("/mime_compose/plain-address", test_plain_address);
    g_test_add_func("/mime_compose/address-survives", test_address_survives);
    g_test_add_func("/mime_compose/text-part", test_text_part);
    g_test_add_func("/mime_compose/message-crlf", test_message_crlf);
    return g_test_run();
}
