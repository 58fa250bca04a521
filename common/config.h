/* config.h - bouncerd's configuration, an INI file read with GKeyFile.
 *
 * Every key, its type and its default live in one table (config.c), which
 * also rejects unknown keys; docs/bouncer.conf.example documents each one. */
#ifndef BOUNCER_CONFIG_H
#define BOUNCER_CONFIG_H

#include <glib.h>

#include "common/log.h"

typedef struct {
    /* [lmtp] */
    char   **listen;            /* "host:port" entries, may be empty */
    char    *socket_path;       /* unix socket, "" for none */
    guint    socket_mode;
    char    *socket_owner;      /* user[:group] to chown the socket to, "" to leave */
    char    *hostname;          /* greeting and LHLO name */
    guint64  max_message_size;  /* octets */
    guint64  max_buffered;      /* octets of messages all sessions hold at once */
    guint    max_recipients;
    guint    command_timeout;   /* seconds to complete one command line */
    guint    data_timeout;      /* seconds to receive the whole DATA phase */
    guint    max_sessions;
    guint    max_errors;
    /* [mail] */
    char    *bounce_domain;     /* b{token}@bounce_domain */
    char    *reply_mailbox;     /* messageservice@post.example.com */
    char    *reply_domain;      /* derived: domain of reply_mailbox */
    /* [database] */
    char    *conninfo;
    guint    pool_size;
    guint    transactions;      /* deliveries' transactions at once (at most pool_size) */
    guint    group_commit;      /* messages sharing one transaction, at most */
    guint    wait_timeout;      /* seconds a message waits for the database, then 451 */
    guint    query_timeout;     /* seconds a database that stopped answering is waited for */
    /* [log] */
    char    *log_file;
    LogLevel log_level;
    /* [suppression] */
    guint    soft_threshold;    /* failed soft bounces ... */
    guint    soft_window_days;  /* ... within this many days ... */
    guint    soft_days;         /* ... suppress the address this long */
    /* [events] */
    char   **event_endpoints;   /* ZeroMQ endpoints the XPUB socket binds */
    guint    event_high_water_mark;
    /* [relay] */
    char    *relay_url;         /* smtp://host:port, smtps://..., file:DIR */
    char    *relay_starttls;    /* no, try, required */
    char    *relay_username;
    char    *relay_password;
    guint    relay_timeout;
    guint    relay_retry_base;
    guint    relay_retry_max;
    guint    relay_give_up_hours;
    /* [forward] */
    gboolean forward_autoreplies;
    guint    forward_hourly_limit; /* per organisation */
    /* [autoreply] */
    char    *template_known;
    char    *template_general;
    guint    autoreply_period_hours;
    guint    autoreply_hourly_cap;
    /* [retention] */
    guint    retention_days;        /* raw mail to the reply mailbox */
    guint    bounce_retention_days; /* raw bounces, complaints, postmaster mail */
    guint    purge_interval;        /* seconds between purge runs */
    /* [daemon] */
    char    *user;              /* drop to this user after binding, when root */
    guint    shutdown_timeout;  /* seconds in-flight transactions get on SIGTERM */
    /* [metrics] */
    char    *metrics_listen;    /* host:port of GET /metrics and /healthz, "" for none */

    char    *path;              /* the file it was read from */
    GKeyFile *keyfile;          /* for modules that read their own group (token) */
} BouncerConfig;

/* config_load - read and check path; every problem names file, line and key.
 * (transfer full) */
BouncerConfig *config_load(const char *path, GError **error);
/* config_new_default - every key at its default. (transfer full) */
BouncerConfig *config_new_default(void);
void config_free(BouncerConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BouncerConfig, config_free)

/* config_dump - every key with its effective value, secrets masked. (transfer full) */
char *config_dump(const BouncerConfig *config);

#endif
