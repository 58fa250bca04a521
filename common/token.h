/* token.h - the signed VERP token codec.
 *
 * Every outgoing message carries the envelope sender
 * b{token}@notifications.<domain>; a bounce comes back to that address and
 * the token tells us which organisation and message it belongs to, and that
 * we minted it (an HMAC), so forged bounces are refused at RCPT time.
 *
 *   token  = "b" + lowercase base32 (RFC 4648, no padding) of 29 bytes:
 *            (version << 4 | key_id) . org_id u64 BE . message_id u64 BE
 *            . issued day u16 BE . HMAC-SHA256(key[key_id], first 19)[0..9]
 *
 * 48 characters, case-insensitive on decode.  docs/token.md is the full
 * description, with test vectors and code for the app.
 *
 * A TokenKeyring is built once at start-up and is read-only afterwards, so
 * token_encode(), token_decode() and token_find_in_text() may be called
 * from any number of threads on the same keyring. */
#ifndef BOUNCER_TOKEN_H
#define BOUNCER_TOKEN_H

#include <glib.h>

#define TOKEN_VERSION              1
#define TOKEN_KEY_ID_MAX           15    /* key ids are 4 bits */
#define TOKEN_KEY_MIN_LEN          16    /* bytes; shorter secrets are refused */
#define TOKEN_KEY_MAX_LEN          64    /* bytes; one SHA-256 block */
#define TOKEN_PAYLOAD_LEN          19    /* version/key byte, org, message, day */
#define TOKEN_MAC_LEN              10    /* truncated HMAC-SHA256 */
#define TOKEN_RAW_LEN              (TOKEN_PAYLOAD_LEN + TOKEN_MAC_LEN)
#define TOKEN_TEXT_LEN             48    /* "b" + 47 base32 characters */
#define TOKEN_DEFAULT_MAX_AGE_DAYS 90
#define TOKEN_FUTURE_SLACK_DAYS    1     /* clocks and time zones disagree */

#define TOKEN_ERROR (token_error_quark())

typedef enum {
    TOKEN_ERROR_FORMAT,       /* wrong length, characters, prefix or version */
    TOKEN_ERROR_UNKNOWN_KEY,  /* well formed, but no key with that id */
    TOKEN_ERROR_MAC,          /* not minted by us, or altered */
    TOKEN_ERROR_EXPIRED,      /* authentic, older than the maximum age */
    TOKEN_ERROR_FUTURE,       /* authentic, issued after tomorrow */
    TOKEN_ERROR_CONFIG,       /* bad key, key id or keyring setting */
} TokenError;

typedef struct {
    guint64 org_id;
    guint64 message_id;
    guint16 issued_day;       /* days since 1970-01-01 UTC */
    guint   key_id;
} TokenInfo;

typedef struct TokenKeyring TokenKeyring;

GQuark token_error_quark(void);

/* token_keyring_new - an empty keyring, max age TOKEN_DEFAULT_MAX_AGE_DAYS.
 * (transfer full) */
TokenKeyring *token_keyring_new(void);

/* token_keyring_free - wipes the secrets and frees; accepts NULL. */
void token_keyring_free(TokenKeyring *keyring);

/* token_keyring_add_key - copy a secret of TOKEN_KEY_MIN_LEN..MAX_LEN bytes
 * under key_id 0..15.  An id may be added once.  The first key added is the
 * current one until token_keyring_set_current() names another. */
gboolean token_keyring_add_key(TokenKeyring *keyring, guint key_id,
                               const guint8 *key, gsize len, GError **error);

/* token_keyring_add_key_spec - add_key() from "ID:HEX", the form of the
 * keys setting and of `bouncerctl token --key`; errors never show the
 * secret. */
gboolean token_keyring_add_key_spec(TokenKeyring *keyring, const char *spec,
                                    GError **error);

/* token_keyring_set_current - the key token_encode() uses; it must exist. */
gboolean token_keyring_set_current(TokenKeyring *keyring, guint key_id,
                                   GError **error);

/* token_keyring_set_max_age_days - tokens issued more than this many days
 * before today are expired; 1..65535. */
gboolean token_keyring_set_max_age_days(TokenKeyring *keyring, guint days,
                                        GError **error);

/* token_keyring_get_current - id of the current key, or -1 when empty. */
int token_keyring_get_current(const TokenKeyring *keyring);

/* token_keyring_get_max_age_days - see token_keyring_set_max_age_days(). */
guint token_keyring_get_max_age_days(const TokenKeyring *keyring);

/* token_keyring_has_key - whether key_id holds a secret. */
gboolean token_keyring_has_key(const TokenKeyring *keyring, guint key_id);

/* token_keyring_from_keyfile - read a keyring from one group of a GKeyFile
 * (group NULL means "token"):
 *
 *   [token]
 *   keys = 1:<hex>;2:<hex>     secrets in hex, at least 16 bytes each
 *   current_key = 2            optional when there is only one key
 *   max_age_days = 90          optional, default 90
 *
 * Errors (TOKEN_ERROR_CONFIG) name the setting and the key id at fault and
 * never contain a secret.  (transfer full) */
TokenKeyring *token_keyring_from_keyfile(GKeyFile *kf, const char *group,
                                         GError **error);

/* token_encode - the 48-character token (the local part of the VERP
 * address) for org_id/message_id issued on issued_day, signed with the
 * current key.  (transfer full) */
char *token_encode(const TokenKeyring *keyring, guint64 org_id,
                   guint64 message_id, guint16 issued_day, GError **error);

/* token_decode - check a token and fill info_out.  text may be the bare
 * token, the local part or the whole address ("b...@domain", also inside
 * <...>); the domain is not looked at and case does not matter.  today is
 * token_today() outside tests.
 *
 * On TOKEN_ERROR_EXPIRED and TOKEN_ERROR_FUTURE the MAC was good, so
 * info_out is filled as well (callers may log whose token it was); on every
 * other error info_out is left alone.  info_out may be NULL. */
gboolean token_decode(const TokenKeyring *keyring, const char *text,
                      guint16 today, TokenInfo *info_out, GError **error);

/* token_find_in_text - the first fully valid token in free text such as a
 * Message-ID, Return-Path or References header: 48 characters starting
 * with b or B with no letter or digit on either side.  For bounces whose
 * envelope lost the token.  out may be NULL. */
gboolean token_find_in_text(const TokenKeyring *keyring, const char *text,
                            guint16 today, TokenInfo *out);

/* token_today - days since 1970-01-01 in UTC, the day numbering tokens use. */
guint16 token_today(void);

/* token_day_to_string - "YYYY-MM-DD" for a token day.  (transfer full) */
char *token_day_to_string(guint16 day);

/* token_day_from_string - parse "YYYY-MM-DD" or a plain day number. */
gboolean token_day_from_string(const char *text, guint16 *day_out,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TokenKeyring, token_keyring_free)

#endif
