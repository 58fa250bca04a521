/* token.c - the signed VERP token codec (see token.h and docs/token.md). */
#include "common/token.h"

#include <string.h>

/* Days from 0001-01-01 (GDate's julian day 1) to 1970-01-01. */
#define TOKEN_EPOCH_JULIAN 719163u

typedef struct {
    gboolean present;
    gsize    len;
    guint8   secret[TOKEN_KEY_MAX_LEN];
} TokenKey;

struct TokenKeyring {
    TokenKey keys[TOKEN_KEY_ID_MAX + 1];
    int      current;                   /* -1 until a key is added */
    guint    max_age_days;
};

static const char token_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

G_DEFINE_QUARK(bouncer-token-error-quark, token_error)

/* token_wipe - clear memory that held a secret; volatile so the compiler
 * cannot drop the stores as dead before a free. */
static void
token_wipe(void *mem, gsize len)
{
    volatile guint8 *p = mem;

    while (len-- > 0)
        *p++ = 0;
}

/* token_keyring_new - an empty keyring with the default maximum age. */
TokenKeyring *
token_keyring_new(void)
{
    TokenKeyring *keyring = g_new0(TokenKeyring, 1);

    keyring->current = -1;
    keyring->max_age_days = TOKEN_DEFAULT_MAX_AGE_DAYS;
    return keyring;
}

/* token_keyring_free - wipe the secrets, then free. */
void
token_keyring_free(TokenKeyring *keyring)
{
    if (keyring == NULL)
        return;
    token_wipe(keyring, sizeof *keyring);
    g_free(keyring);
}

/* token_check_len - secrets are TOKEN_KEY_MIN_LEN..TOKEN_KEY_MAX_LEN
 * bytes.  HMAC hashes a longer secret down to 32 bytes first, so more
 * length buys nothing; the cap keeps a secret inside its keyring slot. */
static gboolean
token_check_len(guint key_id, gsize len, GError **error)
{
    if (len < TOKEN_KEY_MIN_LEN) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "key %u: secret is %" G_GSIZE_FORMAT " byte%s, want at least %d",
                    key_id, len, len == 1 ? "" : "s", TOKEN_KEY_MIN_LEN);
        return FALSE;
    }
    if (len > TOKEN_KEY_MAX_LEN) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "key %u: secret is %" G_GSIZE_FORMAT " bytes, want at most %d",
                    key_id, len, TOKEN_KEY_MAX_LEN);
        return FALSE;
    }
    return TRUE;
}

/* token_keyring_add_key - store a copy of one secret under its id. */
gboolean
token_keyring_add_key(TokenKeyring *keyring, guint key_id, const guint8 *key,
                      gsize len, GError **error)
{
    TokenKey *slot;

    g_return_val_if_fail(keyring != NULL, FALSE);
    g_return_val_if_fail(key != NULL || len == 0, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    if (key_id > TOKEN_KEY_ID_MAX) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "key id %u is out of range 0..%d", key_id, TOKEN_KEY_ID_MAX);
        return FALSE;
    }
    if (!token_check_len(key_id, len, error))
        return FALSE;
    slot = &keyring->keys[key_id];
    if (slot->present) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "key %u is given twice", key_id);
        return FALSE;
    }
    memcpy(slot->secret, key, len);
    slot->len = len;
    slot->present = TRUE;
    if (keyring->current < 0)
        keyring->current = (int)key_id;
    return TRUE;
}

/* token_hex_value - one hex digit, or -1. */
static int
token_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* token_keyring_add_key_spec - parse "ID:HEX" and add it.  Messages name
 * the id and the fault, never any part of the secret. */
gboolean
token_keyring_add_key_spec(TokenKeyring *keyring, const char *spec,
                           GError **error)
{
    guint8 secret[TOKEN_KEY_MAX_LEN];
    g_autofree char *id_text = NULL;
    const char *colon, *hex;
    guint64 key_id = 0;
    gsize hex_len, len;
    gboolean ok;

    g_return_val_if_fail(keyring != NULL, FALSE);
    g_return_val_if_fail(spec != NULL, FALSE);

    colon = strchr(spec, ':');
    if (colon == NULL) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "key is not in the form ID:HEX");
        return FALSE;
    }
    id_text = g_strstrip(g_strndup(spec, (gsize)(colon - spec)));
    if (!g_ascii_string_to_unsigned(id_text, 10, 0, TOKEN_KEY_ID_MAX, &key_id,
                                    NULL)) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "key id before ':' is not a number 0..%d", TOKEN_KEY_ID_MAX);
        return FALSE;
    }

    hex = colon + 1;
    while (g_ascii_isspace(*hex))
        hex++;
    hex_len = strlen(hex);
    while (hex_len > 0 && g_ascii_isspace(hex[hex_len - 1]))
        hex_len--;
    if (hex_len == 0) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "key %u: secret is empty", (guint)key_id);
        return FALSE;
    }
    for (gsize i = 0; i < hex_len; i++) {
        if (token_hex_value(hex[i]) < 0) {
            g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                        "key %u: secret is not hex (0-9, a-f)", (guint)key_id);
            return FALSE;
        }
    }
    if (hex_len % 2 != 0) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "key %u: secret has an odd number of hex digits", (guint)key_id);
        return FALSE;
    }
    len = hex_len / 2;
    if (!token_check_len((guint)key_id, len, error))
        return FALSE;
    for (gsize i = 0; i < len; i++)
        secret[i] = (guint8)(token_hex_value(hex[2 * i]) << 4 |
                             token_hex_value(hex[2 * i + 1]));
    ok = token_keyring_add_key(keyring, (guint)key_id, secret, len, error);
    token_wipe(secret, sizeof secret);
    return ok;
}

/* token_keyring_set_current - choose the signing key. */
gboolean
token_keyring_set_current(TokenKeyring *keyring, guint key_id, GError **error)
{
    g_return_val_if_fail(keyring != NULL, FALSE);

    if (key_id > TOKEN_KEY_ID_MAX || !keyring->keys[key_id].present) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "current key %u is not one of the keys", key_id);
        return FALSE;
    }
    keyring->current = (int)key_id;
    return TRUE;
}

/* token_keyring_set_max_age_days - days fit the token's u16 day field. */
gboolean
token_keyring_set_max_age_days(TokenKeyring *keyring, guint days, GError **error)
{
    g_return_val_if_fail(keyring != NULL, FALSE);

    if (days < 1 || days > G_MAXUINT16) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "max age %u days is out of range 1..%u", days, G_MAXUINT16);
        return FALSE;
    }
    keyring->max_age_days = days;
    return TRUE;
}

/* token_keyring_get_current - the signing key's id, -1 when none. */
int
token_keyring_get_current(const TokenKeyring *keyring)
{
    g_return_val_if_fail(keyring != NULL, -1);
    return keyring->current;
}

/* token_keyring_get_max_age_days - the configured maximum age. */
guint
token_keyring_get_max_age_days(const TokenKeyring *keyring)
{
    g_return_val_if_fail(keyring != NULL, 0);
    return keyring->max_age_days;
}

/* token_keyring_has_key - whether an id holds a secret. */
gboolean
token_keyring_has_key(const TokenKeyring *keyring, guint key_id)
{
    g_return_val_if_fail(keyring != NULL, FALSE);
    return key_id <= TOKEN_KEY_ID_MAX && keyring->keys[key_id].present;
}

/* token_keyfile_number - an optional unsigned setting; FALSE with an error
 * only when present and malformed. */
static gboolean
token_keyfile_number(GKeyFile *kf, const char *group, const char *name,
                     guint64 min, guint64 max, gboolean *found_out,
                     guint64 *value_out, GError **error)
{
    g_autofree char *text = g_key_file_get_string(kf, group, name, NULL);

    *found_out = text != NULL;
    if (text == NULL)
        return TRUE;
    g_strstrip(text);
    if (!g_ascii_string_to_unsigned(text, 10, min, max, value_out, NULL)) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "[%s] %s: '%s' is not a number %" G_GUINT64_FORMAT
                    "..%" G_GUINT64_FORMAT, group, name, text, min, max);
        return FALSE;
    }
    return TRUE;
}

/* token_keyring_from_keyfile - the [token] group of the daemon's config.
 * The keys string is split by hand rather than with
 * g_key_file_get_string_list() so a caller's list separator cannot change
 * what the setting means. */
TokenKeyring *
token_keyring_from_keyfile(GKeyFile *kf, const char *group, GError **error)
{
    g_autoptr(TokenKeyring) keyring = NULL;
    g_autofree char *keys = NULL;
    g_auto(GStrv) entries = NULL;
    guint64 value = 0;
    gboolean found = FALSE;
    guint n_keys = 0;

    g_return_val_if_fail(kf != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (group == NULL)
        group = "token";
    if (!g_key_file_has_group(kf, group)) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "[%s] group is missing", group);
        return NULL;
    }
    keys = g_key_file_get_string(kf, group, "keys", NULL);
    if (keys == NULL) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "[%s] keys is missing (want keys = ID:HEX;ID:HEX)", group);
        return NULL;
    }

    /* The secrets' text stays in the GKeyFile (and in these copies) until
     * the caller frees it; only the keyring's binary copy lives on, and
     * token_keyring_free() wipes that. */
    keyring = token_keyring_new();
    entries = g_strsplit(keys, ";", -1);
    for (guint i = 0; entries[i] != NULL; i++) {
        char *entry = g_strstrip(entries[i]);

        if (*entry == '\0')
            continue;               /* "1:aa..;" and blank lines are fine */
        if (!token_keyring_add_key_spec(keyring, entry, error)) {
            g_prefix_error(error, "[%s] keys: entry %u: ", group, i + 1);
            return NULL;
        }
        n_keys++;
    }
    if (n_keys == 0) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "[%s] keys lists no key (want keys = ID:HEX;ID:HEX)", group);
        return NULL;
    }

    if (!token_keyfile_number(kf, group, "current_key", 0, TOKEN_KEY_ID_MAX,
                              &found, &value, error))
        return NULL;
    if (found) {
        if (!token_keyring_set_current(keyring, (guint)value, error)) {
            g_prefix_error(error, "[%s] current_key: ", group);
            return NULL;
        }
    } else if (n_keys > 1) {
        /* With several keys, guessing which one signs would silently
         * undo a rotation; make the operator say it. */
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "[%s] current_key is missing; with %u keys it must say "
                    "which one signs new tokens", group, n_keys);
        return NULL;
    }

    if (!token_keyfile_number(kf, group, "max_age_days", 1, G_MAXUINT16,
                              &found, &value, error))
        return NULL;
    if (found)
        keyring->max_age_days = (guint)value;

    return g_steal_pointer(&keyring);
}

/* token_mac - the first TOKEN_MAC_LEN bytes of HMAC-SHA256 over the
 * payload. */
static void
token_mac(const TokenKey *key, const guint8 *payload, guint8 *mac_out)
{
    g_autoptr(GHmac) hmac = g_hmac_new(G_CHECKSUM_SHA256, key->secret, key->len);
    guint8 digest[32];
    gsize digest_len = sizeof digest;

    g_hmac_update(hmac, payload, TOKEN_PAYLOAD_LEN);
    g_hmac_get_digest(hmac, digest, &digest_len);
    g_assert(digest_len == sizeof digest);
    memcpy(mac_out, digest, TOKEN_MAC_LEN);
}

/* token_mac_equal - compare in time independent of where they differ, so a
 * forger cannot find the MAC one byte at a time from our reply times. */
static gboolean
token_mac_equal(const guint8 *a, const guint8 *b)
{
    volatile guint8 diff = 0;

    for (gsize i = 0; i < TOKEN_MAC_LEN; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

/* token_put_be - store value big-endian in n bytes. */
static void
token_put_be(guint8 *out, guint64 value, gsize n)
{
    for (gsize i = n; i-- > 0; value >>= 8)
        out[i] = (guint8)(value & 0xff);
}

/* token_get_be - read n big-endian bytes. */
static guint64
token_get_be(const guint8 *in, gsize n)
{
    guint64 value = 0;

    for (gsize i = 0; i < n; i++)
        value = value << 8 | in[i];
    return value;
}

/* token_encode - payload, MAC, then base32 behind the "b". */
char *
token_encode(const TokenKeyring *keyring, guint64 org_id, guint64 message_id,
             guint16 issued_day, GError **error)
{
    guint8 raw[TOKEN_RAW_LEN];
    char *text, *out;
    guint32 acc = 0;
    int bits = 0;

    g_return_val_if_fail(keyring != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (keyring->current < 0) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_CONFIG,
                    "no key to sign tokens with");
        return NULL;
    }
    raw[0] = (guint8)(TOKEN_VERSION << 4 | keyring->current);
    token_put_be(raw + 1, org_id, 8);
    token_put_be(raw + 9, message_id, 8);
    token_put_be(raw + 17, issued_day, 2);
    token_mac(&keyring->keys[keyring->current], raw, raw + TOKEN_PAYLOAD_LEN);

    text = g_malloc(TOKEN_TEXT_LEN + 1);
    out = text;
    *out++ = 'b';
    for (gsize i = 0; i < TOKEN_RAW_LEN; i++) {
        acc = (acc << 8 | raw[i]) & 0xfff;   /* at most 12 live bits */
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            *out++ = token_alphabet[(acc >> bits) & 31];
        }
    }
    /* 29 bytes = 232 bits = 46 groups of 5 and 2 bits over: RFC 4648 pads
     * the last group with zero bits. */
    if (bits > 0)
        *out++ = token_alphabet[(acc << (5 - bits)) & 31];
    *out = '\0';
    g_assert(out - text == TOKEN_TEXT_LEN);
    return text;
}

/* token_b32_value - a base32 digit in either case, or -1. */
static int
token_b32_value(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

/* token_unpack - check the shape of a local part and base32-decode it.
 * Only the canonical spelling is taken (zero pad bits), so one token has
 * one text apart from case. */
static gboolean
token_unpack(const char *local, gsize len, guint8 *raw, GError **error)
{
    guint32 acc = 0;
    int bits = 0;
    gsize n = 0;

    if (len == 0) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT, "token is empty");
        return FALSE;
    }
    if (len != TOKEN_TEXT_LEN) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT,
                    "token is %" G_GSIZE_FORMAT " characters long, want %d",
                    len, TOKEN_TEXT_LEN);
        return FALSE;
    }
    if (local[0] != 'b' && local[0] != 'B') {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT,
                    "token does not start with 'b'");
        return FALSE;
    }
    for (gsize i = 1; i < len; i++) {
        int v = token_b32_value(local[i]);

        if (v < 0) {
            g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT,
                        "token has a character outside a-z, 2-7 at position %"
                        G_GSIZE_FORMAT, i + 1);
            return FALSE;
        }
        acc = (acc << 5 | (guint32)v) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            raw[n++] = (guint8)(acc >> bits);
        }
    }
    g_assert(n == TOKEN_RAW_LEN);
    if ((acc & ((1u << bits) - 1)) != 0) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT,
                    "token ends in a character no token can end in");
        return FALSE;
    }
    return TRUE;
}

/* token_decode_local - everything after the local part is isolated. */
static gboolean
token_decode_local(const TokenKeyring *keyring, const char *local, gsize len,
                   guint16 today, TokenInfo *info_out, GError **error)
{
    guint8 raw[TOKEN_RAW_LEN];
    guint8 mac[TOKEN_MAC_LEN];
    guint version, key_id;
    TokenInfo info;

    if (!token_unpack(local, len, raw, error))
        return FALSE;

    version = raw[0] >> 4;
    key_id = raw[0] & 0x0f;
    if (version != TOKEN_VERSION) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT,
                    "token version %u is not supported (want %d)",
                    version, TOKEN_VERSION);
        return FALSE;
    }
    if (!keyring->keys[key_id].present) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_UNKNOWN_KEY,
                    "token key id %u is not known", key_id);
        return FALSE;
    }
    token_mac(&keyring->keys[key_id], raw, mac);
    if (!token_mac_equal(mac, raw + TOKEN_PAYLOAD_LEN)) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_MAC,
                    "token MAC does not match");
        return FALSE;
    }

    info.org_id = token_get_be(raw + 1, 8);
    info.message_id = token_get_be(raw + 9, 8);
    info.issued_day = (guint16)token_get_be(raw + 17, 2);
    info.key_id = key_id;
    if (info_out != NULL)
        *info_out = info;

    /* Wider than guint16 so neither side can wrap. */
    if ((gint64)info.issued_day > (gint64)today + TOKEN_FUTURE_SLACK_DAYS) {
        g_autofree char *issued = token_day_to_string(info.issued_day);
        g_autofree char *now = token_day_to_string(today);

        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FUTURE,
                    "token issued in the future: %s, today is %s", issued, now);
        return FALSE;
    }
    if ((gint64)today - (gint64)info.issued_day > (gint64)keyring->max_age_days) {
        g_autofree char *issued = token_day_to_string(info.issued_day);

        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_EXPIRED,
                    "token expired: issued %s, max age %u days",
                    issued, keyring->max_age_days);
        return FALSE;
    }
    return TRUE;
}

/* token_decode - find the local part in a token, local part or address. */
gboolean
token_decode(const TokenKeyring *keyring, const char *text, guint16 today,
             TokenInfo *info_out, GError **error)
{
    const char *start, *end, *at;

    g_return_val_if_fail(keyring != NULL, FALSE);
    g_return_val_if_fail(text != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    start = text;
    end = text + strlen(text);
    while (start < end && g_ascii_isspace(*start))
        start++;
    while (end > start && g_ascii_isspace(end[-1]))
        end--;
    if (end - start >= 2 && *start == '<' && end[-1] == '>') {
        start++;
        end--;
    }
    /* The last '@' starts the domain: a domain never holds one, while a
     * (quoted) local part may. */
    for (at = end; at > start; at--) {
        if (at[-1] == '@') {
            end = at - 1;
            break;
        }
    }
    return token_decode_local(keyring, start, (gsize)(end - start), today,
                              info_out, error);
}

/* token_find_in_text - try every run of exactly 48 letters and digits that
 * starts with b/B; each byte is looked at once, and only such runs pay for
 * a MAC. */
gboolean
token_find_in_text(const TokenKeyring *keyring, const char *text,
                   guint16 today, TokenInfo *out)
{
    const char *p;

    g_return_val_if_fail(keyring != NULL, FALSE);

    if (text == NULL)
        return FALSE;
    p = text;
    while (*p != '\0') {
        const char *run = p;

        if (!g_ascii_isalnum(*p)) {
            p++;
            continue;
        }
        while (g_ascii_isalnum(*p))
            p++;
        if (p - run == TOKEN_TEXT_LEN && (*run == 'b' || *run == 'B') &&
            token_decode_local(keyring, run, TOKEN_TEXT_LEN, today, out, NULL))
            return TRUE;
    }
    return FALSE;
}

/* token_today - the UTC day number of now. */
guint16
token_today(void)
{
    gint64 days = g_get_real_time() / G_USEC_PER_SEC / 86400;

    /* u16 days run out in June 2149. */
    return (guint16)CLAMP(days, 0, G_MAXUINT16);
}

/* token_day_to_string - GDate counts days from 0001-01-01, so a shift by
 * the epoch's julian number gives the calendar date. */
char *
token_day_to_string(guint16 day)
{
    GDate date;

    g_date_clear(&date, 1);
    g_date_set_julian(&date, TOKEN_EPOCH_JULIAN + day);
    return g_strdup_printf("%04u-%02u-%02u", (guint)g_date_get_year(&date),
                           (guint)g_date_get_month(&date),
                           (guint)g_date_get_day(&date));
}

/* token_day_from_string - a day number or an ISO date within 1970..2149. */
gboolean
token_day_from_string(const char *text, guint16 *day_out, GError **error)
{
    guint64 year, month, mday;
    guint32 julian;
    GDate date;

    g_return_val_if_fail(text != NULL, FALSE);
    g_return_val_if_fail(day_out != NULL, FALSE);

    if (strchr(text, '-') == NULL) {
        guint64 n;

        if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT16, &n, NULL)) {
            g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT,
                        "'%s' is not a day number 0..%u or a date YYYY-MM-DD",
                        text, G_MAXUINT16);
            return FALSE;
        }
        *day_out = (guint16)n;
        return TRUE;
    }

    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        goto bad_date;
    {
        char y[5], m[3], d[3];

        memcpy(y, text, 4);
        y[4] = '\0';
        memcpy(m, text + 5, 2);
        m[2] = '\0';
        memcpy(d, text + 8, 2);
        d[2] = '\0';
        if (!g_ascii_string_to_unsigned(y, 10, 1, 9999, &year, NULL) ||
            !g_ascii_string_to_unsigned(m, 10, 1, 12, &month, NULL) ||
            !g_ascii_string_to_unsigned(d, 10, 1, 31, &mday, NULL) ||
            !g_date_valid_dmy((GDateDay)mday, (GDateMonth)month, (GDateYear)year))
            goto bad_date;
    }
    g_date_clear(&date, 1);
    g_date_set_dmy(&date, (GDateDay)mday, (GDateMonth)month, (GDateYear)year);
    julian = g_date_get_julian(&date);
    if (julian < TOKEN_EPOCH_JULIAN || julian - TOKEN_EPOCH_JULIAN > G_MAXUINT16) {
        g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT,
                    "date %s is outside 1970-01-01..2149-06-06", text);
        return FALSE;
    }
    *day_out = (guint16)(julian - TOKEN_EPOCH_JULIAN);
    return TRUE;

bad_date:
    g_set_error(error, TOKEN_ERROR, TOKEN_ERROR_FORMAT,
                "'%s' is not a date YYYY-MM-DD", text);
    return FALSE;
}
