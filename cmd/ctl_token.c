/* ctl_token.c - `bouncerctl token encode|decode`: mint a VERP token the way
 * the app does, or say what a token from a bounce or a log line holds.
 *
 *   bouncerctl token encode [--config FILE | --key ID:HEX] --org N --message N [--day D]
 *   bouncerctl token decode [--config FILE | --key ID:HEX] [--today D] ADDRESS|LOCALPART
 *
 * Exit status: 0 ok, 1 the token is invalid or cannot be made, 2 usage. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cmd/ctl.h"
#include "common/token.h"

typedef struct {
    char  *config;
    char **keys;
    char  *org;
    char  *message;
    char  *day;
    char  *today;
} CtlTokenOptions;

static void
ctl_token_options_clear(CtlTokenOptions *opts)
{
    g_free(opts->config);
    g_strfreev(opts->keys);
    g_free(opts->org);
    g_free(opts->message);
    g_free(opts->day);
    g_free(opts->today);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CtlTokenOptions, ctl_token_options_clear)

/* ctl_token_usage - the top-level help, for no or an unknown action. */
static void
ctl_token_usage(FILE *out)
{
    fprintf(out,
            "usage: bouncerctl token encode [--config FILE | --key ID:HEX] --org N --message N [--day D]\n"
            "       bouncerctl token decode [--config FILE | --key ID:HEX] [--today D] ADDRESS|LOCALPART\n"
            "\n"
            "Keys come from the [token] group of the daemon's config file, or from\n"
            "--key (repeatable; the first one signs). D is a day number since\n"
            "1970-01-01 or a date YYYY-MM-DD (UTC); the default is today.\n"
            "Run 'bouncerctl token encode --help' for the options.\n");
}

/* ctl_token_keyring - from --config or --key, exactly one of them, so a
 * command line cannot quietly sign with a different key than the daemon's. */
static TokenKeyring *
ctl_token_keyring(const CtlTokenOptions *opts, GError **error)
{
    g_autoptr(TokenKeyring) keyring = NULL;

    if (opts->config != NULL && opts->keys != NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "give --config or --key, not both");
        return NULL;
    }
    if (opts->config != NULL) {
        g_autoptr(GKeyFile) kf = g_key_file_new();

        if (!g_key_file_load_from_file(kf, opts->config, G_KEY_FILE_NONE, error)) {
            g_prefix_error(error, "%s: ", opts->config);
            return NULL;
        }
        keyring = token_keyring_from_keyfile(kf, "token", error);
        if (keyring == NULL) {
            g_prefix_error(error, "%s: ", opts->config);
            return NULL;
        }
        return g_steal_pointer(&keyring);
    }
    if (opts->keys == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "no keys: give --config FILE or --key ID:HEX");
        return NULL;
    }
    keyring = token_keyring_new();
    for (guint i = 0; opts->keys[i] != NULL; i++) {
        if (!token_keyring_add_key_spec(keyring, opts->keys[i], error)) {
            g_prefix_error(error, "--key: ");
            return NULL;
        }
    }
    return g_steal_pointer(&keyring);
}

/* ctl_token_id - a u64 option that must be given. */
static gboolean
ctl_token_id(const char *name, const char *text, guint64 *value_out,
             GError **error)
{
    if (text == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--%s is required", name);
        return FALSE;
    }
    if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, value_out, NULL)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--%s: '%s' is not a number 0..%" G_GUINT64_FORMAT,
                    name, text, G_MAXUINT64);
        return FALSE;
    }
    return TRUE;
}

/* ctl_token_day - a day option, today when not given. */
static gboolean
ctl_token_day(const char *name, const char *text, guint16 *day_out,
              GError **error)
{
    if (text == NULL) {
        *day_out = token_today();
        return TRUE;
    }
    if (!token_day_from_string(text, day_out, error)) {
        g_prefix_error(error, "--%s: ", name);
        return FALSE;
    }
    return TRUE;
}

/* ctl_token_encode - print one token local part. */
static int
ctl_token_encode(const CtlTokenOptions *opts, int argc, char **argv)
{
    g_autoptr(TokenKeyring) keyring = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *token = NULL;
    guint64 org_id = 0, message_id = 0;
    guint16 day = 0;

    if (argc > 1) {
        fprintf(stderr, "bouncerctl token encode: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (!ctl_token_id("org", opts->org, &org_id, &error) ||
        !ctl_token_id("message", opts->message, &message_id, &error) ||
        !ctl_token_day("day", opts->day, &day, &error)) {
        fprintf(stderr, "bouncerctl token encode: %s\n", error->message);
        return 2;
    }
    keyring = ctl_token_keyring(opts, &error);
    if (keyring == NULL) {
        fprintf(stderr, "bouncerctl token encode: %s\n", error->message);
        return g_error_matches(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE) ? 2 : 1;
    }
    token = token_encode(keyring, org_id, message_id, day, &error);
    if (token == NULL) {
        fprintf(stderr, "bouncerctl token encode: %s\n", error->message);
        return 1;
    }
    printf("%s\n", token);
    return 0;
}

/* ctl_token_decode - print what the token holds, or why it is refused. */
static int
ctl_token_decode(const CtlTokenOptions *opts, int argc, char **argv)
{
    g_autoptr(TokenKeyring) keyring = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *issued = NULL;
    TokenInfo info;
    guint16 today = 0;

    if (argc != 2) {
        fprintf(stderr, "bouncerctl token decode: give exactly one ADDRESS or LOCALPART\n");
        return 2;
    }
    if (!ctl_token_day("today", opts->today, &today, &error)) {
        fprintf(stderr, "bouncerctl token decode: %s\n", error->message);
        return 2;
    }
    keyring = ctl_token_keyring(opts, &error);
    if (keyring == NULL) {
        fprintf(stderr, "bouncerctl token decode: %s\n", error->message);
        return g_error_matches(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE) ? 2 : 1;
    }
    if (!token_decode(keyring, argv[1], today, &info, &error)) {
        /* An expired token is still authentic: say whose it was, which is
         * what support asks about an old bounce. */
        if (g_error_matches(error, TOKEN_ERROR, TOKEN_ERROR_EXPIRED) ||
            g_error_matches(error, TOKEN_ERROR, TOKEN_ERROR_FUTURE))
            printf("invalid: %s (org=%" G_GUINT64_FORMAT " message=%" G_GUINT64_FORMAT
                   " key=%u)\n", error->message, info.org_id, info.message_id, info.key_id);
        else
            printf("invalid: %s\n", error->message);
        return 1;
    }
    issued = token_day_to_string(info.issued_day);
    printf("org=%" G_GUINT64_FORMAT " message=%" G_GUINT64_FORMAT
           " issued=%s key=%u\n", info.org_id, info.message_id, issued, info.key_id);
    return 0;
}

/* ctl_token_main - parse the options shared by both actions, then run one. */
int
ctl_token_main(int argc, char **argv)
{
    g_auto(CtlTokenOptions) opts = { 0 };
    g_autoptr(GOptionContext) context = NULL;
    g_autoptr(GError) error = NULL;
    const char *action;
    gboolean encode;
    GOptionEntry entries[] = {
        { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opts.config,
          "Read keys from the [token] group of FILE", "FILE" },
        { "key", 'k', 0, G_OPTION_ARG_STRING_ARRAY, &opts.keys,
          "A key, ID 0..15 and a hex secret (repeatable; the first signs)", "ID:HEX" },
        { "org", 0, 0, G_OPTION_ARG_STRING, &opts.org,
          "encode: the organisation id", "N" },
        { "message", 0, 0, G_OPTION_ARG_STRING, &opts.message,
          "encode: the message id", "N" },
        { "day", 0, 0, G_OPTION_ARG_STRING, &opts.day,
          "encode: the issue day (default today)", "D" },
        { "today", 0, 0, G_OPTION_ARG_STRING, &opts.today,
          "decode: check the age as if today were D", "D" },
        { NULL }
    };

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        ctl_token_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    action = argv[1];
    if (strcmp(action, "encode") == 0)
        encode = TRUE;
    else if (strcmp(action, "decode") == 0)
        encode = FALSE;
    else {
        fprintf(stderr, "bouncerctl token: unknown action '%s'\n", action);
        ctl_token_usage(stderr);
        return 2;
    }

    /* GOption sees "encode"/"decode" as the program name, which also makes
     * --help read "bouncerctl token encode [OPTION…]". */
    context = g_option_context_new(encode ? "- mint a VERP token"
                                          : "ADDRESS|LOCALPART - check a VERP token");
    g_option_context_add_main_entries(context, entries, NULL);
    g_option_context_set_summary(context,
        "Keys come from --config FILE ([token] keys, current_key, max_age_days)\n"
        "or from --key ID:HEX. D is a day number since 1970-01-01 or YYYY-MM-DD (UTC).");
    g_set_prgname(encode ? "bouncerctl token encode" : "bouncerctl token decode");
    argc--;
    argv++;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerctl token %s: %s\n", action, error->message);
        return 2;
    }
    return encode ? ctl_token_encode(&opts, argc, argv)
                  : ctl_token_decode(&opts, argc, argv);
}
