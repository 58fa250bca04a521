/* fuzz_token.c - arbitrary bytes into token_decode(), token_find_in_text()
 * and, for inputs that look like an INI file, token_keyring_from_keyfile().
 *
 * Besides "does not crash" it checks two properties:
 *  - whatever decodes re-encodes to the same text apart from case (one
 *    token, one spelling), and
 *  - a token found in free text is really in that text.
 *
 * The keys are those of docs/token.md's test vectors and "today" is fixed,
 * so seeds built from the vectors stay valid forever. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

#include "common/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TODAY 20460   /* 2026-01-07 */

static const char *const fuzz_keys[] = {
    "1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
    "2:626f756e6365722074657374206b65792074776f2c2033322062797465732121",
};

/* fuzz_keyring - key_id 0: every test key, for decoding; 1 or 2: that key
 * alone, so it is the one token_encode() signs with.  Built once; the
 * codec never writes to a keyring. */
static const TokenKeyring *
fuzz_keyring(guint key_id)
{
    static TokenKeyring *keyrings[3];

    g_assert(key_id < G_N_ELEMENTS(keyrings));
    if (keyrings[key_id] == NULL) {
        TokenKeyring *keyring = token_keyring_new();

        for (guint i = 0; i < G_N_ELEMENTS(fuzz_keys); i++) {
            if ((key_id == 0 || key_id == i + 1) &&
                !token_keyring_add_key_spec(keyring, fuzz_keys[i], NULL))
                g_error("fuzz key %u", i + 1);
        }
        /* Vectors from 1970 and 2149 decode too. */
        if (!token_keyring_set_max_age_days(keyring, G_MAXUINT16, NULL))
            g_error("fuzz max age");
        keyrings[key_id] = keyring;
    }
    return keyrings[key_id];
}

/* fuzz_reencode - the token token_encode() makes of decoded fields. */
static char *
fuzz_reencode(const TokenInfo *info)
{
    g_autoptr(GError) error = NULL;
    char *token;

    g_assert(info->key_id == 1 || info->key_id == 2);
    token = token_encode(fuzz_keyring(info->key_id), info->org_id, info->message_id,
                         info->issued_day, &error);
    if (token == NULL)
        g_error("re-encode: %s", error->message);
    return token;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const TokenKeyring *keyring = fuzz_keyring(0);
    /* The API takes C strings: stop at the first NUL as a caller would. */
    g_autofree char *text = g_strndup((const char *)data, size);
    g_autoptr(GError) error = NULL;
    TokenInfo info;

    if (token_decode(keyring, text, FUZZ_TODAY, &info, &error)) {
        g_autofree char *again = fuzz_reencode(&info);
        g_autofree char *lower = g_ascii_strdown(text, -1);

        if (strstr(lower, again) == NULL)
            g_error("decoded a token that re-encodes to %s, not in the input", again);
    } else {
        g_assert(error != NULL && error->domain == TOKEN_ERROR);
        g_assert(error->message != NULL && *error->message != '\0');
    }

    if (token_find_in_text(keyring, text, FUZZ_TODAY, &info)) {
        g_autofree char *again = fuzz_reencode(&info);
        g_autofree char *lower = g_ascii_strdown(text, -1);

        if (strstr(lower, again) == NULL)
            g_error("found a token that re-encodes to %s, not in the input", again);
        g_assert(token_decode(keyring, again, FUZZ_TODAY, NULL, NULL));
    }

    /* The config parser is fed trusted files, but it splits and decodes
     * by hand, so it gets the same treatment. */
    if (size > 0 && data[0] == '[') {
        g_autoptr(GKeyFile) kf = g_key_file_new();

        if (g_key_file_load_from_data(kf, text, (gsize)-1, G_KEY_FILE_NONE, NULL)) {
            g_autoptr(GError) kf_error = NULL;
            g_autoptr(TokenKeyring) parsed = token_keyring_from_keyfile(kf, NULL, &kf_error);

            g_assert((parsed == NULL) == (kf_error != NULL));
            if (parsed != NULL) {
                g_autofree char *minted = token_encode(parsed, 1, 2, 3, NULL);

                g_assert(minted != NULL && strlen(minted) == TOKEN_TEXT_LEN);
                g_assert(token_decode(parsed, minted, 3, NULL, NULL));
            }
        }
    }
    return 0;
}
