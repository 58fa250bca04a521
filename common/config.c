/* config.c - bouncerd's configuration, one table of keys read with GKeyFile. */
#include "common/config.h"

#include <stddef.h>
#include <string.h>

#include "common/error.h"

typedef enum {
    CONFIG_STRING,
    CONFIG_STRLIST,   /* comma-separated */
    CONFIG_UINT,
    CONFIG_SIZE,      /* octets, with an optional k/M/G suffix */
    CONFIG_MODE,      /* octal file mode */
    CONFIG_LEVEL,     /* log level name */
    CONFIG_BOOL,      /* yes/no, true/false */
    CONFIG_EXTERNAL,  /* read and checked by its own module (token keys) */
} ConfigType;

typedef struct {
    const char *group;
    const char *key;
    ConfigType  type;
    gsize       offset;
    const char *fallback;
    guint64     min, max;     /* for UINT and SIZE */
    gboolean    secret;       /* masked in config_dump() */
} ConfigKey;

#define CFG(g, k, t, field, def, lo, hi) \
    { g, k, t, offsetof(BouncerConfig, field), def, lo, hi, FALSE }
#define CFG_SECRET(g, k, field) \
    { g, k, CONFIG_STRING, offsetof(BouncerConfig, field), "", 0, 0, TRUE }
#define CFG_EXTERNAL(g, k, secret) { g, k, CONFIG_EXTERNAL, 0, NULL, 0, 0, secret }

static const ConfigKey config_keys[] = {
    CFG("lmtp", "listen", CONFIG_STRLIST, listen, "127.0.0.1:2424", 0, 0),
    CFG("lmtp", "socket", CONFIG_STRING, socket_path, "", 0, 0),
    CFG("lmtp", "socket_mode", CONFIG_MODE, socket_mode, "0660", 0, 07777),
    CFG("lmtp", "socket_owner", CONFIG_STRING, socket_owner, "", 0, 0),
    CFG("lmtp", "hostname", CONFIG_STRING, hostname, "", 0, 0),
    /* PostgreSQL stores at most 1 GB in one field; stay well under it (the
     * parser reads up to the same, BOUNCE_REPORT_MAX_SIZE). */
    CFG("lmtp", "max_message_size", CONFIG_SIZE, max_message_size, "50M", 1024, 512 * 1024 * 1024),
    /* What the sessions hold at once, messages being received (each is
     * buffered whole until its final dot): past it, 452 4.3.1 and the MTA
     * retries, instead of an allocation failing and taking the process. */
    CFG("lmtp", "max_buffered", CONFIG_SIZE, max_buffered, "1G", 1024 * 1024, G_MAXINT64),
    CFG("lmtp", "max_recipients", CONFIG_UINT, max_recipients, "1000", 1, 100000),
    CFG("lmtp", "command_timeout", CONFIG_UINT, command_timeout, "300", 1, 86400),
    CFG("lmtp", "data_timeout", CONFIG_UINT, data_timeout, "600", 1, 86400),
    CFG("lmtp", "max_sessions", CONFIG_UINT, max_sessions, "200", 1, 100000),
    CFG("lmtp", "max_errors", CONFIG_UINT, max_errors, "10", 1, 1000),
    CFG("mail", "bounce_domain", CONFIG_STRING, bounce_domain, "notifications.example.com", 0, 0),
    CFG("mail", "reply_mailbox", CONFIG_STRING, reply_mailbox, "messageservice@post.example.com", 0, 0),
    CFG("database", "conninfo", CONFIG_STRING, conninfo, "dbname=bouncer", 0, 0),
    CFG("database", "pool_size", CONFIG_UINT, pool_size, "8", 1, 1000),
    CFG("database", "transactions", CONFIG_UINT, transactions, "2", 1, 1000),
    CFG("database", "group_commit", CONFIG_UINT, group_commit, "16", 1, 64),
    CFG("database", "wait_timeout", CONFIG_UINT, wait_timeout, "20", 1, 3600),
    /* A database that stopped answering (a frozen backend, a silent
     * network) is given up after this, its messages answered 451. */
    CFG("database", "query_timeout", CONFIG_UINT, query_timeout, "75", 1, 3600),
    CFG("log", "file", CONFIG_STRING, log_file, "", 0, 0),
    CFG("log", "level", CONFIG_LEVEL, log_level, "info", 0, 0),
    CFG("suppression", "soft_threshold", CONFIG_UINT, soft_threshold, "3", 0, 1000),
    CFG("suppression", "soft_window_days", CONFIG_UINT, soft_window_days, "7", 1, 3650),
    CFG("suppression", "soft_days", CONFIG_UINT, soft_days, "7", 1, 3650),
    CFG("events", "endpoints", CONFIG_STRLIST, event_endpoints, "tcp://127.0.0.1:5556", 0, 0),
    CFG("events", "high_water_mark", CONFIG_UINT, event_high_water_mark, "10000", 1, 10000000),
    CFG("relay", "url", CONFIG_STRING, relay_url, "smtp://127.0.0.1:25", 0, 0),
    CFG("relay", "starttls", CONFIG_STRING, relay_starttls, "no", 0, 0),
    CFG("relay", "username", CONFIG_STRING, relay_username, "", 0, 0),
    CFG_SECRET("relay", "password", relay_password),
    CFG("relay", "timeout", CONFIG_UINT, relay_timeout, "120", 1, 3600),
    CFG("relay", "retry_base", CONFIG_UINT, relay_retry_base, "60", 1, 86400),
    CFG("relay", "retry_max", CONFIG_UINT, relay_retry_max, "3600", 1, 86400),
    CFG("relay", "give_up_hours", CONFIG_UINT, relay_give_up_hours, "48", 1, 24 * 365),
    CFG("forward", "autoreplies", CONFIG_BOOL, forward_autoreplies, "yes", 0, 0),
    CFG("forward", "hourly_limit", CONFIG_UINT, forward_hourly_limit, "100", 0, 1000000),
    CFG("autoreply", "template_known", CONFIG_STRING, template_known, "", 0, 0),
    CFG("autoreply", "template_general", CONFIG_STRING, template_general, "", 0, 0),
    CFG("autoreply", "period_hours", CONFIG_UINT, autoreply_period_hours, "24", 1, 24 * 365),
    CFG("autoreply", "hourly_cap", CONFIG_UINT, autoreply_hourly_cap, "1000", 0, 10000000),
    CFG("retention", "retention_days", CONFIG_UINT, retention_days, "7", 1, 3650),
    CFG("retention", "bounce_retention_days", CONFIG_UINT, bounce_retention_days, "90", 1, 36500),
    CFG("retention", "purge_interval", CONFIG_UINT, purge_interval, "3600", 1, 86400),
    CFG("daemon", "user", CONFIG_STRING, user, "", 0, 0),
    CFG("daemon", "shutdown_timeout", CONFIG_UINT, shutdown_timeout, "30", 0, 3600),
    CFG("metrics", "listen", CONFIG_STRING, metrics_listen, "", 0, 0),
    CFG_EXTERNAL("token", "keys", TRUE),
    CFG_EXTERNAL("token", "current_key", FALSE),
    CFG_EXTERNAL("token", "max_age_days", FALSE),
};

static const ConfigKey *
config_key_find(const char *group, const char *key)
{
    for (gsize i = 0; i < G_N_ELEMENTS(config_keys); i++) {
        if (strcmp(config_keys[i].group, group) == 0 && strcmp(config_keys[i].key, key) == 0)
            return &config_keys[i];
    }
    return NULL;
}

static gboolean
config_group_known(const char *group)
{
    for (gsize i = 0; i < G_N_ELEMENTS(config_keys); i++) {
        if (strcmp(config_keys[i].group, group) == 0)
            return TRUE;
    }
    return FALSE;
}

/* config_line_of - the line number of key in group, for error messages;
 * GKeyFile keeps no positions, so look in the text again. 0 if not found. */
static guint
config_line_of(const char *text, const char *group, const char *key)
{
    g_auto(GStrv) lines = g_strsplit(text != NULL ? text : "", "\n", -1);
    g_autofree char *current = NULL;

    for (guint i = 0; lines[i] != NULL; i++) {
        g_autofree char *line = g_strstrip(g_strdup(lines[i]));

        if (line[0] == '[') {
            char *end = strchr(line, ']');

            g_free(current);
            current = end != NULL ? g_strndup(line + 1, end - line - 1) : NULL;
        } else if (current != NULL && strcmp(current, group) == 0) {
            gsize klen = strlen(key);

            if (strncmp(line, key, klen) == 0) {
                const char *rest = line + klen;

                while (*rest == ' ' || *rest == '\t')
                    rest++;
                if (*rest == '=' || key[0] == '\0')
                    return i + 1;
            }
        }
    }
    return 0;
}

/* config_parse_size - "1048576", "512k", "50M", "1G". */
static gboolean
config_parse_size(const char *text, guint64 *out)
{
    char *end = NULL;
    guint64 value;
    guint64 unit = 1;

    if (!g_ascii_isdigit(*text))
        return FALSE;
    value = g_ascii_strtoull(text, &end, 10);
    switch (g_ascii_toupper(*end)) {
    case 'K': unit = 1024; end++; break;
    case 'M': unit = 1024 * 1024; end++; break;
    case 'G': unit = 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end != '\0' || value > G_MAXUINT64 / unit)
        return FALSE;
    *out = value * unit;
    return TRUE;
}

/* config_set - parse one value into its field; on error return a short
 * explanation of what was expected. */
static const char *
config_set(BouncerConfig *config, const ConfigKey *k, const char *raw)
{
    void *field = (char *)config + k->offset;
    g_autofree char *value = g_strstrip(g_strdup(raw));
    guint64 number = 0;
    char *end = NULL;

    switch (k->type) {
    case CONFIG_STRING:
        g_free(*(char **)field);
        *(char **)field = g_steal_pointer(&value);
        return NULL;
    case CONFIG_STRLIST: {
        g_auto(GStrv) parts = g_strsplit(value, ",", -1);
        GPtrArray *list = g_ptr_array_new();

        for (guint i = 0; parts[i] != NULL; i++) {
            g_strstrip(parts[i]);
            if (parts[i][0] != '\0')
                g_ptr_array_add(list, g_strdup(parts[i]));
        }
        g_ptr_array_add(list, NULL);
        g_strfreev(*(char ***)field);
        *(char ***)field = (char **)g_ptr_array_free(list, FALSE);
        return NULL;
    }
    case CONFIG_UINT:
        if (!g_ascii_isdigit(value[0]))
            return "a whole number";
        number = g_ascii_strtoull(value, &end, 10);
        if (*end != '\0')
            return "a whole number";
        if (number < k->min || number > k->max)
            return "a number in range";
        *(guint *)field = (guint)number;
        return NULL;
    case CONFIG_SIZE:
        if (!config_parse_size(value, &number))
            return "a size such as 10485760, 512k or 50M";
        if (number < k->min || number > k->max)
            return "a size in range";
        *(guint64 *)field = number;
        return NULL;
    case CONFIG_MODE:
        if (value[0] == '\0')
            return "an octal mode such as 0660";
        number = g_ascii_strtoull(value, &end, 8);
        if (*end != '\0' || number > k->max)
            return "an octal mode such as 0660";
        *(guint *)field = (guint)number;
        return NULL;
    case CONFIG_LEVEL:
        if (!log_level_from_string(value, (LogLevel *)field))
            return "one of debug, info, warning, error";
        return NULL;
    case CONFIG_BOOL:
        if (g_ascii_strcasecmp(value, "yes") == 0 || g_ascii_strcasecmp(value, "true") == 0 ||
            strcmp(value, "1") == 0)
            *(gboolean *)field = TRUE;
        else if (g_ascii_strcasecmp(value, "no") == 0 || g_ascii_strcasecmp(value, "false") == 0 ||
                 strcmp(value, "0") == 0)
            *(gboolean *)field = FALSE;
        else
            return "yes or no";
        return NULL;
    case CONFIG_EXTERNAL:
        return NULL;
    }
    g_assert_not_reached();
}

/* config_new_default - every key at its table default. */
BouncerConfig *
config_new_default(void)
{
    BouncerConfig *config = g_new0(BouncerConfig, 1);

    for (gsize i = 0; i < G_N_ELEMENTS(config_keys); i++) {
        if (config_keys[i].type != CONFIG_EXTERNAL) {
            const char *problem = config_set(config, &config_keys[i], config_keys[i].fallback);

            g_assert(problem == NULL);
        }
    }
    config->keyfile = g_key_file_new();
    config->reply_domain = g_strdup(strrchr(config->reply_mailbox, '@') + 1);
    return config;
}

/* config_check - rules that involve more than one key. */
static gboolean
config_check(BouncerConfig *config, const char *text, GError **error)
{
    const char *at = strrchr(config->reply_mailbox, '@');

    if (at == NULL || at == config->reply_mailbox || at[1] == '\0') {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "%s:%u: [mail] reply_mailbox: want an address like messageservice@post.example.com",
                    config->path, config_line_of(text, "mail", "reply_mailbox"));
        return FALSE;
    }
    g_free(config->reply_domain);
    config->reply_domain = g_ascii_strdown(at + 1, -1);
    if (config->bounce_domain[0] == '\0' || strchr(config->bounce_domain, '@') != NULL) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "%s:%u: [mail] bounce_domain: want a domain like notifications.example.com",
                    config->path, config_line_of(text, "mail", "bounce_domain"));
        return FALSE;
    }
    if (config->max_buffered < config->max_message_size) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "%s:%u: [lmtp] max_buffered: at least max_message_size (%" G_GUINT64_FORMAT
                    "), or no message of that size could ever be received",
                    config->path, config_line_of(text, "lmtp", "max_buffered"),
                    config->max_message_size);
        return FALSE;
    }
    if (g_strv_length(config->listen) == 0 && config->socket_path[0] == '\0') {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "%s: [lmtp] needs at least one of listen and socket", config->path);
        return FALSE;
    }
    for (guint i = 0; config->listen[i] != NULL; i++) {
        const char *colon = strrchr(config->listen[i], ':');

        if (colon == NULL || colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                        "%s:%u: [lmtp] listen: '%s' is not host:port",
                        config->path, config_line_of(text, "lmtp", "listen"), config->listen[i]);
            return FALSE;
        }
    }
    if (strcmp(config->relay_starttls, "no") != 0 && strcmp(config->relay_starttls, "try") != 0 &&
        strcmp(config->relay_starttls, "required") != 0) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "%s:%u: [relay] starttls: want no, try or required, got '%s'", config->path,
                    config_line_of(text, "relay", "starttls"), config->relay_starttls);
        return FALSE;
    }
    if (config->hostname[0] == '\0') {
        g_free(config->hostname);
        config->hostname = g_strdup(g_get_host_name());
    }
    return TRUE;
}

/* config_load - defaults, then every key of the file; unknown groups and
 * keys are errors so a typo never silently falls back to a default. */
BouncerConfig *
config_load(const char *path, GError **error)
{
    g_autoptr(BouncerConfig) config = config_new_default();
    g_autofree char *text = NULL;
    g_auto(GStrv) groups = NULL;
    g_autoptr(GError) local = NULL;

    config->path = g_strdup(path);
    if (!g_file_get_contents(path, &text, NULL, &local)) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                    "cannot read configuration: %s", local->message);
        return NULL;
    }
    if (!g_key_file_load_from_data(config->keyfile, text, -1, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG, "%s: %s", path, local->message);
        return NULL;
    }

    groups = g_key_file_get_groups(config->keyfile, NULL);
    for (guint g = 0; groups[g] != NULL; g++) {
        g_auto(GStrv) keys = g_key_file_get_keys(config->keyfile, groups[g], NULL, NULL);

        if (!config_group_known(groups[g])) {
            g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG, "%s:%u: unknown group [%s]",
                        path, config_line_of(text, groups[g], ""), groups[g]);
            return NULL;
        }
        for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
            const ConfigKey *k = config_key_find(groups[g], keys[i]);
            g_autofree char *value = NULL;
            const char *problem;

            if (k == NULL) {
                g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                            "%s:%u: unknown key '%s' in [%s]", path,
                            config_line_of(text, groups[g], keys[i]), keys[i], groups[g]);
                return NULL;
            }
            value = g_key_file_get_value(config->keyfile, groups[g], keys[i], NULL);
            problem = config_set(config, k, value);
            if (problem != NULL) {
                g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_CONFIG,
                            "%s:%u: [%s] %s: want %s, got '%s'", path,
                            config_line_of(text, groups[g], keys[i]), groups[g], keys[i],
                            problem, k->secret ? "(hidden)" : value);
                return NULL;
            }
        }
    }
    if (!config_check(config, text, error))
        return NULL;
    return g_steal_pointer(&config);
}

/* config_mask_conninfo - hide password=... in a libpq conninfo string. */
static char *
config_mask_conninfo(const char *conninfo)
{
    g_autoptr(GRegex) re = g_regex_new("(password\\s*=\\s*)('[^']*'|\\S+)", G_REGEX_CASELESS, 0, NULL);

    return g_regex_replace(re, conninfo, -1, 0, "\\1***", 0, NULL);
}

/* config_dump - the effective configuration as INI text, secrets masked,
 * for --check-config. */
char *
config_dump(const BouncerConfig *config)
{
    GString *out = g_string_new(NULL);
    const char *group = "";

    for (gsize i = 0; i < G_N_ELEMENTS(config_keys); i++) {
        const ConfigKey *k = &config_keys[i];
        const void *field = (const char *)config + k->offset;
        g_autofree char *value = NULL;

        if (strcmp(group, k->group) != 0) {
            g_string_append_printf(out, "%s[%s]\n", out->len > 0 ? "\n" : "", k->group);
            group = k->group;
        }
        switch (k->type) {
        case CONFIG_STRING:
            if (k->secret)
                value = g_strdup((*(char *const *)field)[0] != '\0' ? "***" : "");
            else if (strcmp(k->key, "conninfo") == 0)
                value = config_mask_conninfo(*(char *const *)field);
            else
                value = g_strdup(*(char *const *)field);
            break;
        case CONFIG_BOOL:
            value = g_strdup(*(const gboolean *)field ? "yes" : "no");
            break;
        case CONFIG_STRLIST:
            value = g_strjoinv(", ", *(char **const *)field);
            break;
        case CONFIG_UINT:
            value = g_strdup_printf("%u", *(const guint *)field);
            break;
        case CONFIG_SIZE:
            value = g_strdup_printf("%" G_GUINT64_FORMAT, *(const guint64 *)field);
            break;
        case CONFIG_MODE:
            value = g_strdup_printf("0%o", *(const guint *)field);
            break;
        case CONFIG_LEVEL: {
            static const char *const names[] = { "debug", "info", "warning", "error" };

            value = g_strdup(names[*(const LogLevel *)field]);
            break;
        }
        case CONFIG_EXTERNAL:
            value = g_key_file_get_value(config->keyfile, k->group, k->key, NULL);
            if (value != NULL && k->secret) {
                g_free(value);
                value = g_strdup("***");
            }
            break;
        }
        if (value != NULL)
            g_string_append_printf(out, "%s = %s\n", k->key, value);
    }
    return g_string_free(out, FALSE);
}

/* config_free - accepts NULL. */
void
config_free(BouncerConfig *config)
{
    if (config == NULL)
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(config_keys); i++) {
        void *field = (char *)config + config_keys[i].offset;

        if (config_keys[i].type == CONFIG_STRING)
            g_free(*(char **)field);
        else if (config_keys[i].type == CONFIG_STRLIST)
            g_strfreev(*(char ***)field);
    }
    g_free(config->reply_domain);
    g_free(config->path);
    if (config->keyfile != NULL)
        g_key_file_unref(config->keyfile);
    g_free(config);
}
