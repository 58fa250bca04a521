/* test_token.c - the VERP token codec: fixed vectors, round trips, every
 * way a token can be refused, the [token] config group, the free-text
 * scanner and `bouncerctl token`.
 *
 * The vectors were computed once with an independent implementation
 * (Python's hmac, hashlib and base64 modules, the one in docs/token.md)
 * and are repeated in docs/token.md: change both or neither. */
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "common/token.h"
#include "tests/unit/testutil.h"

#define KEY1_HEX  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY2_HEX  "626f756e6365722074657374206b65792074776f2c2033322062797465732121"
#define KEY15_HEX "ffeeddccbbaa99887766554433221100"

/* Vector 1: key 1, org 1, message 1, 2026-01-01 (day 20454). */
#define V1        "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq"
#define V1_UPPER  "BCEAAAAAAAAAAAAIAAAAAAAAAAAAU7ZQA6OQUW2UXAAZWGUQ"
#define V1_DAY    20454
/* The same payload with key id 1 but MAC'd with key 2's secret. */
#define V1_WRONG_KEY  "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zxznunalzpdkiujoky"
/* The same payload as version 2 and version 0, MACs good under key 1. */
#define V1_VERSION2   "beeaaaaaaaaaaaaiaaaaaaaaaaaau7zrx3xeavicmdrm3rhy"
#define V1_VERSION0   "baeaaaaaaaaaaaaiaaaaaaaaaaaau7zt3s67ygeqtdqfmbha"
/* Vector 4: key 15, which the test keyring lacks. */
#define V4        "bd4aaaaaaaaaaaaeaaaaaaaaaaaap775ykjqcp46mdc2yxsq"

typedef struct {
    guint       key_id;
    const char *key_hex;
    guint64     org_id;
    guint64     message_id;
    guint16     day;
    const char *date;
    const char *token;
} TokenVector;

static const TokenVector token_vectors[] = {
    { 1, KEY1_HEX, 1, 1, 20454, "2026-01-01", V1 },
    { 1, KEY1_HEX, 123456789, 987654321, 20527, "2026-03-15",
      "bceaaaaaaa5n42fiaaaaaaow6ncyval2joxngva3iwvshaky" },
    { 2, KEY2_HEX, G_MAXUINT64, 0, 0, "1970-01-01",
      "bcl777777777777yaaaaaaaaaaaaaaaa24skr4bhymfukhra" },
    { 15, KEY15_HEX, 0, G_GUINT64_CONSTANT(9223372036854775808), 65535, "2149-06-06", V4 },
    { 2, KEY2_HEX, 42, 4242424242, 20455, "2026-01-02",
      "bciaaaaaaaaaaakqaaaaab7g6igze7zzxghalf7gf3dxtvli" },
};

/* test_keyring - keys 1 (current) and 2, max age 90. */
static TokenKeyring *
test_keyring(void)
{
    g_autoptr(TokenKeyring) keyring = token_keyring_new();
    g_autoptr(GError) error = NULL;

    if (!token_keyring_add_key_spec(keyring, "1:" KEY1_HEX, &error) ||
        !token_keyring_add_key_spec(keyring, "2:" KEY2_HEX, &error))
        g_error("test keyring: %s", error->message);
    return g_steal_pointer(&keyring);
}

/* test_vector - encode gives the independent implementation's text, and
 * decode gives the fields back. */
static void
test_vector(gconstpointer data)
{
    const TokenVector *v = data;
    gsize i = (gsize)(v - token_vectors);

    g_autoptr(TokenKeyring) keyring = token_keyring_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *spec = g_strdup_printf("%u:%s", v->key_id, v->key_hex);
    g_autofree char *token = NULL;
    g_autofree char *date = NULL;
    TokenInfo info = { 0 };

    g_assert_true(token_keyring_add_key_spec(keyring, spec, &error));
    g_assert_no_error(error);
    token = token_encode(keyring, v->org_id, v->message_id, v->day, &error);
    g_assert_no_error(error);
    if (g_strcmp0(token, v->token) != 0) {
        g_test_fail_printf("vector %" G_GSIZE_FORMAT ": got %s, want %s", i, token, v->token);
        return;
    }
    g_assert_cmpuint(strlen(token), ==, TOKEN_TEXT_LEN);

    if (!token_decode(keyring, v->token, v->day, &info, &error)) {
        g_test_fail_printf("vector %" G_GSIZE_FORMAT ": got error %s, want valid",
                           i, error->message);
        return;
    }
    g_assert_cmpuint(info.org_id, ==, v->org_id);
    g_assert_cmpuint(info.message_id, ==, v->message_id);
    g_assert_cmpuint(info.issued_day, ==, v->day);
    g_assert_cmpuint(info.key_id, ==, v->key_id);

    date = token_day_to_string(v->day);
    g_assert_cmpstr(date, ==, v->date);
}

/* test_round_trip - values at the edges of every field, and key rotation:
 * tokens signed with the old key still decode after the current changes. */
static void
test_round_trip(void)
{
    static const struct {
        guint64 org_id, message_id;
        guint16 day;
    } cases[] = {
        { 0, 0, 0 },
        { 1, 2, 3 },
        { G_MAXUINT64, G_MAXUINT64, G_MAXUINT16 },
        { 0x0102030405060708u, 0xf0e0d0c0b0a09080u, 0x8001 },
        { 4294967296u, 4294967295u, 20454 },
    };
    g_autoptr(TokenKeyring) keyring = test_keyring();
    g_autoptr(GError) error = NULL;

    for (guint key = 1; key <= 2; key++) {
        g_assert_true(token_keyring_set_current(keyring, key, &error));
        for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
            g_autofree char *token = token_encode(keyring, cases[i].org_id,
                                                  cases[i].message_id,
                                                  cases[i].day, &error);
            g_autofree char *upper = NULL;
            TokenInfo info = { 0 };

            g_assert_no_error(error);
            g_assert_cmpuint(token[0], ==, 'b');
            for (const char *p = token + 1; *p; p++)
                g_assert_true((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7'));

            upper = g_ascii_strup(token, -1);
            for (int form = 0; form < 2; form++) {
                const char *text = form == 0 ? token : upper;

                if (!token_decode(keyring, text, cases[i].day, &info, &error))
                    g_error("case %" G_GSIZE_FORMAT " key %u: got %s, want valid",
                            i, key, error->message);
                g_assert_cmpuint(info.org_id, ==, cases[i].org_id);
                g_assert_cmpuint(info.message_id, ==, cases[i].message_id);
                g_assert_cmpuint(info.issued_day, ==, cases[i].day);
                g_assert_cmpuint(info.key_id, ==, key);
            }
        }
    }
}

typedef struct {
    const char *name;
    const char *text;
    int         today_offset;   /* today = V1_DAY + this */
    int         want_code;      /* -1 for valid */
    const char *want_message;   /* exact, or NULL */
} DecodeCase;

static const DecodeCase decode_cases[] = {
    { "bare",            V1,                                     0, -1, NULL },
    { "upper case",      V1_UPPER,                               0, -1, NULL },
    { "mixed case",      "bCeAaAaAaAaAaAaIaAaAaAaAaAaAu7ZqA6oQuW2uXaAzWgUq", 0, -1, NULL },
    { "address",         V1 "@notifications.example.com",        0, -1, NULL },
    { "upper address",   V1_UPPER "@NOTIFICATIONS.EXAMPLE.COM",  0, -1, NULL },
    { "angle address",   "<" V1 "@notifications.example.com>",   0, -1, NULL },
    { "angle bare",      "<" V1 ">",                             0, -1, NULL },
    { "spaces",          "  <" V1 "@notifications.example.com>\r\n", 0, -1, NULL },
    { "empty domain",    V1 "@",                                 0, -1, NULL },
    { "max age",         V1,                                    90, -1, NULL },
    { "tomorrow",        V1,                                    -1, -1, NULL },

    { "altered payload", "bceaaaaaaaaaaaaiaaaaaaaaabaau7zqa6oquw2uxaazwguq", 0,
      TOKEN_ERROR_MAC, "token MAC does not match" },
    { "altered org",     "bceaaaaaaaaaaaajaaaaaaaaaaaau7zqa6oquw2uxaazwguq", 0,
      TOKEN_ERROR_MAC, "token MAC does not match" },
    { "altered mac",     "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwgua", 0,
      TOKEN_ERROR_MAC, "token MAC does not match" },
    { "wrong key",       V1_WRONG_KEY,                           0,
      TOKEN_ERROR_MAC, "token MAC does not match" },
    { "unknown key id",  V4,                                     0,
      TOKEN_ERROR_UNKNOWN_KEY, "token key id 15 is not known" },
    { "expired",         V1,                                    91,
      TOKEN_ERROR_EXPIRED, "token expired: issued 2026-01-01, max age 90 days" },
    { "expired long ago", V1,                                40000,
      TOKEN_ERROR_EXPIRED, "token expired: issued 2026-01-01, max age 90 days" },
    { "future",          V1,                                    -2,
      TOKEN_ERROR_FUTURE, "token issued in the future: 2026-01-01, today is 2025-12-30" },
    { "version 2",       V1_VERSION2,                            0,
      TOKEN_ERROR_FORMAT, "token version 2 is not supported (want 1)" },
    { "version 0",       V1_VERSION0,                            0,
      TOKEN_ERROR_FORMAT, "token version 0 is not supported (want 1)" },
    { "truncated",       "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwgu", 0,
      TOKEN_ERROR_FORMAT, "token is 47 characters long, want 48" },
    { "too long",        V1 "a",                                 0,
      TOKEN_ERROR_FORMAT, "token is 49 characters long, want 48" },
    { "half",            "bceaaaaaaaaaaaaiaaaa",                 0,
      TOKEN_ERROR_FORMAT, "token is 20 characters long, want 48" },
    { "empty",           "",                                     0,
      TOKEN_ERROR_FORMAT, "token is empty" },
    { "only domain",     "@notifications.example.com",           0,
      TOKEN_ERROR_FORMAT, "token is empty" },
    { "empty brackets",  "<>",                                   0,
      TOKEN_ERROR_FORMAT, "token is empty" },
    { "open bracket",    "<" V1,                                 0,
      TOKEN_ERROR_FORMAT, "token is 49 characters long, want 48" },
    { "extension",       V1 "+x@notifications.example.com",      0,
      TOKEN_ERROR_FORMAT, "token is 50 characters long, want 48" },
    { "wrong prefix",    "cceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq", 0,
      TOKEN_ERROR_FORMAT, "token does not start with 'b'" },
    { "digit 1",         "bceaaaaaaa1aaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq", 0,
      TOKEN_ERROR_FORMAT, "token has a character outside a-z, 2-7 at position 11" },
    { "digit 8",         "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwgu8", 0,
      TOKEN_ERROR_FORMAT, "token has a character outside a-z, 2-7 at position 48" },
    { "digit 0",         "b0eaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq", 0,
      TOKEN_ERROR_FORMAT, "token has a character outside a-z, 2-7 at position 2" },
    { "padding",         "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwgu=", 0,
      TOKEN_ERROR_FORMAT, "token has a character outside a-z, 2-7 at position 48" },
    { "hyphen",          "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2u-aazwguq", 0,
      TOKEN_ERROR_FORMAT, "token has a character outside a-z, 2-7 at position 41" },
    { "8-bit",           "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2u\xc3\xa9" "azwguq", 0,
      TOKEN_ERROR_FORMAT, "token has a character outside a-z, 2-7 at position 41" },
    /* 'q' and 'r' differ only in bits past the 232 of the token. */
    { "stray low bits",  "bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwgur", 0,
      TOKEN_ERROR_FORMAT, "token ends in a character no token can end in" },
};

/* test_decode_case - each kind of refusal has its own code and message,
 * and info_out is written only when the MAC was good. */
static void
test_decode_case(gconstpointer data)
{
    const DecodeCase *c = data;
    g_autoptr(TokenKeyring) keyring = test_keyring();

    g_autoptr(GError) error = NULL;
    TokenInfo info = { 77, 77, 77, 77 };
    guint16 today = (guint16)(V1_DAY + c->today_offset);
    gboolean ok = token_decode(keyring, c->text, today, &info, &error);

    if (c->want_code < 0) {
        if (!ok) {
            g_test_fail_printf("%s: got \"%s\", want valid", c->name, error->message);
            return;
        }
        g_assert_cmpuint(info.org_id, ==, 1);
        g_assert_cmpuint(info.message_id, ==, 1);
        g_assert_cmpuint(info.issued_day, ==, V1_DAY);
        g_assert_cmpuint(info.key_id, ==, 1);
        return;
    }
    if (ok) {
        g_test_fail_printf("%s: got valid, want error code %d", c->name, c->want_code);
        return;
    }
    if (!g_error_matches(error, TOKEN_ERROR, c->want_code))
        g_test_fail_printf("%s: got code %d (%s), want %d", c->name, error->code,
                           error->message, c->want_code);
    else if (c->want_message != NULL && strcmp(error->message, c->want_message) != 0)
        g_test_fail_printf("%s: got message \"%s\", want \"%s\"", c->name,
                           error->message, c->want_message);
    if (c->want_code == TOKEN_ERROR_EXPIRED || c->want_code == TOKEN_ERROR_FUTURE) {
        g_assert_cmpuint(info.org_id, ==, 1);
        g_assert_cmpuint(info.issued_day, ==, V1_DAY);
    } else if (info.org_id != 77 || info.message_id != 77 || info.key_id != 77) {
        g_test_fail_printf("%s: info_out was written on a %d error", c->name, c->want_code);
    }
}

/* test_max_age - a shorter maximum from the keyring moves the boundary. */
static void
test_max_age(void)
{
    g_autoptr(TokenKeyring) keyring = test_keyring();
    g_autoptr(GError) error = NULL;

    g_assert_cmpuint(token_keyring_get_max_age_days(keyring), ==, TOKEN_DEFAULT_MAX_AGE_DAYS);
    g_assert_true(token_keyring_set_max_age_days(keyring, 7, &error));
    g_assert_true(token_decode(keyring, V1, V1_DAY + 7, NULL, &error));
    g_assert_no_error(error);
    g_assert_false(token_decode(keyring, V1, V1_DAY + 8, NULL, &error));
    g_assert_error(error, TOKEN_ERROR, TOKEN_ERROR_EXPIRED);
    g_assert_cmpstr(error->message, ==, "token expired: issued 2026-01-01, max age 7 days");
    g_clear_error(&error);

    /* A token from day 0 while today is near the top of the range, and the
     * reverse: no wrap-around in the day arithmetic. */
    g_assert_true(token_keyring_set_max_age_days(keyring, G_MAXUINT16, &error));
    g_assert_true(token_decode(keyring, token_vectors[2].token, G_MAXUINT16, NULL, &error));
    g_assert_no_error(error);
    g_assert_false(token_decode(keyring, V1, 0, NULL, &error));
    g_assert_error(error, TOKEN_ERROR, TOKEN_ERROR_FUTURE);
}

/* test_keyring_api - the programmatic set-up refuses what the config
 * parser refuses. */
static void
test_keyring_api(void)
{
    static const guint8 secret[TOKEN_KEY_MAX_LEN + 1] = { 1, 2, 3 };
    g_autoptr(TokenKeyring) keyring = token_keyring_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *token = NULL;
    g_autofree char *token2 = NULL;

    g_assert_cmpint(token_keyring_get_current(keyring), ==, -1);
    token = token_encode(keyring, 1, 1, 1, &error);
    g_assert_null(token);
    g_assert_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG);
    g_clear_error(&error);

    g_assert_false(token_keyring_add_key(keyring, 16, secret, 32, &error));
    g_assert_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG);
    g_assert_cmpstr(error->message, ==, "key id 16 is out of range 0..15");
    g_clear_error(&error);
    g_assert_false(token_keyring_add_key(keyring, 3, secret, 15, &error));
    g_assert_cmpstr(error->message, ==, "key 3: secret is 15 bytes, want at least 16");
    g_clear_error(&error);
    g_assert_false(token_keyring_add_key(keyring, 3, secret, TOKEN_KEY_MAX_LEN + 1, &error));
    g_assert_cmpstr(error->message, ==, "key 3: secret is 65 bytes, want at most 64");
    g_clear_error(&error);

    g_assert_true(token_keyring_add_key(keyring, 3, secret, 16, &error));
    g_assert_true(token_keyring_add_key(keyring, 0, secret, TOKEN_KEY_MAX_LEN, &error));
    g_assert_no_error(error);
    g_assert_cmpint(token_keyring_get_current(keyring), ==, 3);   /* the first added */
    g_assert_true(token_keyring_has_key(keyring, 0));
    g_assert_false(token_keyring_has_key(keyring, 1));
    g_assert_false(token_keyring_has_key(keyring, 99));

    g_assert_false(token_keyring_add_key(keyring, 3, secret, 16, &error));
    g_assert_cmpstr(error->message, ==, "key 3 is given twice");
    g_clear_error(&error);
    g_assert_false(token_keyring_set_current(keyring, 5, &error));
    g_assert_cmpstr(error->message, ==, "current key 5 is not one of the keys");
    g_clear_error(&error);
    g_assert_false(token_keyring_set_max_age_days(keyring, 0, &error));
    g_assert_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG);
    g_clear_error(&error);
    g_assert_false(token_keyring_set_max_age_days(keyring, 65536, &error));
    g_clear_error(&error);

    /* The key id is the low nibble of the first byte: 0x13 -> "cm", 0x10 -> "ca". */
    token = token_encode(keyring, 1, 1, 1, &error);
    g_assert_true(g_str_has_prefix(token, "bcm"));
    g_assert_true(token_keyring_set_current(keyring, 0, &error));
    token2 = token_encode(keyring, 1, 1, 1, &error);
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(token2, "bca"));
    g_assert_true(token_decode(keyring, token, 1, NULL, &error));
    g_assert_true(token_decode(keyring, token2, 1, NULL, &error));
    g_assert_no_error(error);

    token_keyring_free(NULL);
}

typedef struct {
    const char *name;
    const char *ini;
    const char *group;          /* NULL: the default "token" */
    const char *want_error;     /* NULL: must load */
    int         want_current;
    guint       want_max_age;
} KeyfileCase;

#define SECRET_A "00112233445566778899aabbccddeeff"
#define SECRET_B "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

static const KeyfileCase keyfile_cases[] = {
    { "one key", "[token]\nkeys = 1:" SECRET_A "\n", NULL, NULL, 1, 90 },
    { "two keys", "[token]\nkeys = 1:" SECRET_A ";2:" SECRET_B "\ncurrent_key = 2\n"
      "max_age_days = 30\n", NULL, NULL, 2, 30 },
    { "spaces upper-hex trailing-semicolon",
      "[token]\nkeys = 1 : 00112233445566778899AABBCCDDEEFF ; 7:" SECRET_B " ;\n"
      "current_key = 7 \n", NULL, NULL, 7, 90 },
    { "other groups", "[lmtp]\nlisten = x\n[token]\nkeys = 0:" SECRET_A "\n"
      "[mail]\nkeys = nothing\n", NULL, NULL, 0, 90 },
    { "own group", "[verp]\nkeys = 4:" SECRET_A "\n", "verp", NULL, 4, 90 },

    { "no group", "[lmtp]\nlisten = x\n", NULL, "[token] group is missing", 0, 0 },
    { "no keys", "[token]\ncurrent_key = 1\n", NULL,
      "[token] keys is missing (want keys = ID:HEX;ID:HEX)", 0, 0 },
    { "empty keys", "[token]\nkeys = ; ;\n", NULL,
      "[token] keys lists no key (want keys = ID:HEX;ID:HEX)", 0, 0 },
    { "no colon", "[token]\nkeys = " SECRET_A "\n", NULL,
      "[token] keys: entry 1: key is not in the form ID:HEX", 0, 0 },
    { "id too big", "[token]\nkeys = 1:" SECRET_A ";16:" SECRET_B "\n", NULL,
      "[token] keys: entry 2: key id before ':' is not a number 0..15", 0, 0 },
    { "id not a number", "[token]\nkeys = one:" SECRET_A "\n", NULL,
      "[token] keys: entry 1: key id before ':' is not a number 0..15", 0, 0 },
    { "id negative", "[token]\nkeys = -1:" SECRET_A "\n", NULL,
      "[token] keys: entry 1: key id before ':' is not a number 0..15", 0, 0 },
    { "not hex", "[token]\nkeys = 1:" SECRET_A "zz\n", NULL,
      "[token] keys: entry 1: key 1: secret is not hex (0-9, a-f)", 0, 0 },
    { "odd hex", "[token]\nkeys = 1:" SECRET_A "0\n", NULL,
      "[token] keys: entry 1: key 1: secret has an odd number of hex digits", 0, 0 },
    { "empty secret", "[token]\nkeys = 1:\n", NULL,
      "[token] keys: entry 1: key 1: secret is empty", 0, 0 },
    { "short", "[token]\nkeys = 1:0011223344556677\n", NULL,
      "[token] keys: entry 1: key 1: secret is 8 bytes, want at least 16", 0, 0 },
    { "long", "[token]\nkeys = 1:" SECRET_A SECRET_A SECRET_A SECRET_A "00\n", NULL,
      "[token] keys: entry 1: key 1: secret is 65 bytes, want at most 64", 0, 0 },
    { "twice", "[token]\nkeys = 1:" SECRET_A ";1:" SECRET_B "\n", NULL,
      "[token] keys: entry 2: key 1 is given twice", 0, 0 },
    { "no current", "[token]\nkeys = 1:" SECRET_A ";2:" SECRET_B "\n", NULL,
      "[token] current_key is missing; with 2 keys it must say which one signs new tokens", 0, 0 },
    { "current unknown", "[token]\nkeys = 1:" SECRET_A "\ncurrent_key = 3\n", NULL,
      "[token] current_key: current key 3 is not one of the keys", 0, 0 },
    { "current not a number", "[token]\nkeys = 1:" SECRET_A "\ncurrent_key = first\n", NULL,
      "[token] current_key: 'first' is not a number 0..15", 0, 0 },
    { "max age zero", "[token]\nkeys = 1:" SECRET_A "\nmax_age_days = 0\n", NULL,
      "[token] max_age_days: '0' is not a number 1..65535", 0, 0 },
    { "max age huge", "[token]\nkeys = 1:" SECRET_A "\nmax_age_days = 65536\n", NULL,
      "[token] max_age_days: '65536' is not a number 1..65535", 0, 0 },
    { "max age words", "[token]\nkeys = 1:" SECRET_A "\nmax_age_days = 90d\n", NULL,
      "[token] max_age_days: '90d' is not a number 1..65535", 0, 0 },
    { "wrong group", "[token]\nkeys = 1:" SECRET_A "\n", "verp", "[verp] group is missing", 0, 0 },
};

/* test_keyfile_case - every setting and every way to get it wrong; no message
 * may carry a secret, not even a piece of one. */
static void
test_keyfile_case(gconstpointer data)
{
    const KeyfileCase *c = data;

    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(TokenKeyring) keyring = NULL;

    if (!g_key_file_load_from_data(kf, c->ini, -1, G_KEY_FILE_NONE, &error))
        g_error("%s: ini does not load: %s", c->name, error->message);
    keyring = token_keyring_from_keyfile(kf, c->group, &error);

    if (c->want_error == NULL) {
        if (keyring == NULL) {
            g_test_fail_printf("%s: got \"%s\", want a keyring", c->name, error->message);
            return;
        }
        g_assert_cmpint(token_keyring_get_current(keyring), ==, c->want_current);
        g_assert_cmpuint(token_keyring_get_max_age_days(keyring), ==, c->want_max_age);
        return;
    }
    if (keyring != NULL) {
        g_test_fail_printf("%s: got a keyring, want \"%s\"", c->name, c->want_error);
        return;
    }
    g_assert_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG);
    if (strcmp(error->message, c->want_error) != 0)
        g_test_fail_printf("%s: got \"%s\", want \"%s\"", c->name, error->message,
                           c->want_error);
    {
        g_autofree char *lower = g_ascii_strdown(error->message, -1);

        /* 8 hex digits of a secret is already too much. */
        g_assert_null(strstr(lower, "00112233"));
        g_assert_null(strstr(lower, "0f1e2d3c"));
    }
}

/* test_keyfile_decodes - a keyring from config decodes what the same keys
 * given in code encode (rotation: old key still accepted). */
static void
test_keyfile_decodes(void)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(TokenKeyring) keyring = NULL;
    g_autofree char *token = NULL;
    TokenInfo info = { 0 };

    g_assert_true(g_key_file_load_from_data(kf,
        "[token]\nkeys = 1:" KEY1_HEX ";2:" KEY2_HEX "\ncurrent_key = 2\n", -1,
        G_KEY_FILE_NONE, &error));
    keyring = token_keyring_from_keyfile(kf, NULL, &error);
    g_assert_no_error(error);
    g_assert_true(token_decode(keyring, V1, V1_DAY, &info, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(info.key_id, ==, 1);
    token = token_encode(keyring, 42, 4242424242, 20455, &error);
    g_assert_cmpstr(token, ==, token_vectors[4].token);
}

typedef struct {
    const char *name;
    const char *text;
    gboolean    want_found;
    guint64     want_org;
} FindCase;

static const FindCase find_cases[] = {
    { "message-id", "Message-ID: <" V1 "@post.example.com>", TRUE, 1 },
    { "return-path", "Return-Path: <" V1 "@notifications.example.com>\r\n", TRUE, 1 },
    { "references",
      "References: <CAF=abc@mail.gmail.com>\r\n <" V1_UPPER "@post.example.com>", TRUE, 1 },
    { "bare", V1, TRUE, 1 },
    { "hyphen bound", "x-" V1 "-y", TRUE, 1 },
    { "second of two", "<" V1_WRONG_KEY "@a> <bciaaaaaaaaaaakqaaaaab7g6igze7zzxghalf7gf3dxtvli@b>",
      TRUE, 42 },
    { "8-bit around", "\xc3\xa9" V1 "\xc3\xa9", TRUE, 1 },
    { "letter before", "x" V1, FALSE, 0 },
    { "digit after", V1 "2", FALSE, 0 },
    { "inside a word", "a" V1 "b", FALSE, 0 },
    { "truncated", "<bceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwgu@x>", FALSE, 0 },
    { "wrong mac only", "<" V1_WRONG_KEY "@x>", FALSE, 0 },
    { "unknown key only", "<" V4 "@x>", FALSE, 0 },
    { "empty", "", FALSE, 0 },
    { "no token", "Subject: Undelivered Mail Returned to Sender", FALSE, 0 },
    { "48 letters not b", "cceaaaaaaaaaaaaiaaaaaaaaaaaau7zqa6oquw2uxaazwguq", FALSE, 0 },
};

/* test_find_case - tokens in headers, bounded by non-alphanumerics; only
 * a fully valid token counts. */
static void
test_find_case(gconstpointer data)
{
    const FindCase *c = data;
    g_autoptr(TokenKeyring) keyring = test_keyring();
    TokenInfo info = { 0 };
    gboolean found = token_find_in_text(keyring, c->text, V1_DAY, &info);

    if (found != c->want_found)
        g_test_fail_printf("%s: got found=%d, want %d", c->name, found, c->want_found);
    else if (found && info.org_id != c->want_org)
        g_test_fail_printf("%s: got org %" G_GUINT64_FORMAT ", want %" G_GUINT64_FORMAT,
                           c->name, info.org_id, c->want_org);
}

/* test_find_edges - NULL text, NULL out, and expiry applies here too. */
static void
test_find_edges(void)
{
    g_autoptr(TokenKeyring) keyring = test_keyring();

    g_assert_false(token_find_in_text(keyring, NULL, V1_DAY, NULL));
    g_assert_true(token_find_in_text(keyring, "<" V1 ">", V1_DAY, NULL));
    /* Expired tokens are not found either. */
    g_assert_false(token_find_in_text(keyring, "<" V1 ">", V1_DAY + 91, NULL));
}

/* test_days - the day numbering both ways, and its limits. */
static void
test_days(void)
{
    static const struct {
        const char *text;
        int         want;       /* -1: refused */
    } cases[] = {
        { "1970-01-01", 0 }, { "2026-01-01", 20454 }, { "2024-02-29", 19782 },
        { "2149-06-06", 65535 }, { "0", 0 }, { "20454", 20454 }, { "65535", 65535 },
        { "1969-12-31", -1 }, { "2149-06-07", -1 }, { "2026-02-30", -1 },
        { "2026-13-01", -1 }, { "2026-1-01", -1 }, { "65536", -1 }, { "-1", -1 },
        { "", -1 }, { "today", -1 }, { "2026-01-01x", -1 },
    };
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *now_text = g_date_time_format(now, "%Y-%m-%d");
    g_autofree char *today_text = token_day_to_string(token_today());

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        guint16 day = 0;
        gboolean ok = token_day_from_string(cases[i].text, &day, &error);

        if (ok != (cases[i].want >= 0))
            g_test_fail_printf("\"%s\": got ok=%d, want %d", cases[i].text, ok,
                               cases[i].want >= 0);
        else if (ok && day != cases[i].want)
            g_test_fail_printf("\"%s\": got %u, want %d", cases[i].text, day, cases[i].want);
        if (ok && strchr(cases[i].text, '-') != NULL) {
            g_autofree char *back = token_day_to_string(day);

            g_assert_cmpstr(back, ==, cases[i].text);
        }
    }
    /* Could differ only across midnight between the two calls. */
    if (strcmp(today_text, now_text) != 0)
        g_test_message("token_today: got %s, want %s", today_text, now_text);
    g_assert_cmpstr(today_text, ==, now_text);
}

/* test_ctl_run - run bouncerctl; FALSE when the binary is not built. */
static gboolean
test_ctl_run(const char *const *args, char **out, int *status)
{
    const char *bindir = g_getenv("BOUNCER_BINDIR");
    g_autofree char *prog = NULL;
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    int wait_status = 0;

    prog = bindir != NULL ? g_build_filename(bindir, "bouncerctl", NULL)
                          : g_build_filename(testutil_source_dir(), "bin", "bouncerctl", NULL);
    if (!g_file_test(prog, G_FILE_TEST_IS_EXECUTABLE))
        return FALSE;
    g_ptr_array_add(argv, prog);
    for (; *args != NULL; args++)
        g_ptr_array_add(argv, (gpointer)*args);
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, out, NULL, &wait_status, &error))
        g_error("spawn %s: %s", prog, error->message);
    *status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    return TRUE;
}

/* test_ctl - `bouncerctl token` end to end, keys from --key and --config. */
static void
test_ctl(void)
{
    g_autofree char *dir = g_dir_make_tmp("test_token.XXXXXX", NULL);
    g_autofree char *conf = g_build_filename(dir, "bouncer.conf", NULL);
    const char *conf_text = "[lmtp]\nlisten = 127.0.0.1:2424\n\n[token]\n"
                            "keys = 1:" KEY1_HEX ";2:" KEY2_HEX "\ncurrent_key = 2\n";
    struct {
        const char *name;
        const char *args[12];
        int         want_status;
        const char *want_out;
    } cases[] = {
        { "encode --key", { "token", "encode", "--key", "1:" KEY1_HEX, "--org", "1",
          "--message", "1", "--day", "2026-01-01", NULL }, 0, V1 "\n" },
        { "encode day number", { "token", "encode", "--key", "1:" KEY1_HEX, "--org", "123456789",
          "--message", "987654321", "--day", "20527", NULL }, 0,
          "bceaaaaaaa5n42fiaaaaaaow6ncyval2joxngva3iwvshaky\n" },
        { "encode --config", { "token", "encode", "--config", conf, "--org", "42",
          "--message", "4242424242", "--day", "2026-01-02", NULL }, 0,
          "bciaaaaaaaaaaakqaaaaab7g6igze7zzxghalf7gf3dxtvli\n" },
        { "decode address", { "token", "decode", "--config", conf, "--today", "2026-01-05",
          "<" V1_UPPER "@notifications.example.com>", NULL }, 0,
          "org=1 message=1 issued=2026-01-01 key=1\n" },
        { "decode mac", { "token", "decode", "--key", "1:" KEY1_HEX, "--today", "20454",
          V1_WRONG_KEY, NULL }, 1, "invalid: token MAC does not match\n" },
        { "decode expired", { "token", "decode", "--key", "1:" KEY1_HEX, "--today", "2026-06-01",
          V1, NULL }, 1, "invalid: token expired: issued 2026-01-01, max age 90 days (org=1 message=1 key=1)\n" },
        { "no keys", { "token", "decode", V1, NULL }, 2, "" },
        { "both key sources", { "token", "decode", "--config", conf, "--key", "1:" KEY1_HEX,
          V1, NULL }, 2, "" },
        { "missing org", { "token", "encode", "--key", "1:" KEY1_HEX, "--message", "1", NULL },
          2, "" },
        { "bad key", { "token", "encode", "--key", "1:00", "--org", "1", "--message", "1", NULL },
          1, "" },
        { "unknown action", { "token", "mint", NULL }, 2, "" },
    };
    gboolean ran = FALSE;

    g_assert_nonnull(dir);
    g_assert_true(g_file_set_contents(conf, conf_text, -1, NULL));
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = NULL;
        int status = 0;

        if (!test_ctl_run(cases[i].args, &out, &status))
            break;
        ran = TRUE;
        if (status != cases[i].want_status)
            g_test_fail_printf("%s: got exit %d, want %d (output \"%s\")", cases[i].name,
                               status, cases[i].want_status, out);
        else if (strcmp(out, cases[i].want_out) != 0)
            g_test_fail_printf("%s: got \"%s\", want \"%s\"", cases[i].name, out,
                               cases[i].want_out);
    }
    g_unlink(conf);
    g_rmdir(dir);
    if (!ran)
        g_test_skip("bin/bouncerctl is not built");
}

/* test_add_cases - one test per table row, so TAP names the row. */
static void
test_add_cases(const char *prefix, gconstpointer table, gsize row_size, gsize n_rows,
               const char *(*name_of)(gconstpointer row), GTestDataFunc func)
{
    for (gsize i = 0; i < n_rows; i++) {
        gconstpointer row = (const guint8 *)table + i * row_size;
        g_autofree char *name = g_strdup(name_of(row));
        g_autofree char *path = NULL;

        g_strdelimit(name, " /", '-');
        path = g_strdup_printf("%s/%s", prefix, name);
        g_test_add_data_func(path, row, func);
    }
}

static const char *test_decode_name(gconstpointer row) { return ((const DecodeCase *)row)->name; }
static const char *test_keyfile_name(gconstpointer row) { return ((const KeyfileCase *)row)->name; }
static const char *test_find_name(gconstpointer row) { return ((const FindCase *)row)->name; }

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(token_vectors); i++) {
        g_autofree char *path = g_strdup_printf("/token/vector/%" G_GSIZE_FORMAT, i + 1);

        g_test_add_data_func(path, &token_vectors[i], test_vector);
    }
    g_test_add_func("/token/round-trip", test_round_trip);
    test_add_cases("/token/decode", decode_cases, sizeof decode_cases[0],
                   G_N_ELEMENTS(decode_cases), test_decode_name, test_decode_case);
    g_test_add_func("/token/max-age", test_max_age);
    g_test_add_func("/token/keyring-api", test_keyring_api);
    test_add_cases("/token/keyfile", keyfile_cases, sizeof keyfile_cases[0],
                   G_N_ELEMENTS(keyfile_cases), test_keyfile_name, test_keyfile_case);
    g_test_add_func("/token/keyfile-decodes", test_keyfile_decodes);
    test_add_cases("/token/find", find_cases, sizeof find_cases[0],
                   G_N_ELEMENTS(find_cases), test_find_name, test_find_case);
    g_test_add_func("/token/find-edges", test_find_edges);
    g_test_add_func("/token/days", test_days);
    g_test_add_func("/token/ctl", test_ctl);
    return g_test_run();
}
