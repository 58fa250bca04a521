/* bouncerd.c - the daemon: LMTP in, PostgreSQL out.
 *
 *   bouncerd -c bouncer.conf [--check-config]
 *
 * Fatal exits happen here only, at start-up (bad configuration, cannot
 * bind, schema too old); once serving, nothing a client sends ends it. */
#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "common/db.h"
#include "common/db_watchdog.h"
#include "common/delivery.h"
#include "common/http_metrics.h"
#include "common/lmtp_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/router.h"
#include "common/event_publisher.h"
#include "common/outbox.h"
#include "common/purge.h"
#include "common/token.h"
#include "autoreply/autoreply_store.h"
#include "bouncer/bounce_report.h"
#include "bouncer/bounce_store.h"

/* bouncerd_is_automated - the bounce parser tells the auto-reply module
 * whether a message is a bounce, complaint or auto-reply (never answered);
 * the two modules know nothing of each other. */
static gboolean
bouncerd_is_automated(const char *data, gsize len)
{
    g_autoptr(BounceReport) report = bounce_report_parse(data, len);

    return bounce_report_is_automated(report);
}

static gboolean
bouncerd_on_stop(gpointer data)
{
    GMainLoop *loop = data;

    log_info("signal received, shutting down");
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

static gboolean
bouncerd_on_hup(gpointer data)
{
    log_reopen();
    log_info("log reopened");
    return G_SOURCE_CONTINUE;
}

/* bouncerd_collect_sessions - the open LMTP sessions, read at scrape time. */
static void
bouncerd_collect_sessions(gpointer server)
{
    metrics_gauge_set("bouncer_lmtp_sessions_active", lmtp_server_active_sessions(server), NULL);
}

/* bouncerd_drop_privileges - started as root: after binding, become the
 * configured user for good. */
static gboolean
bouncerd_drop_privileges(const char *user, GError **error)
{
    struct passwd *pw;

    if (geteuid() != 0 || user[0] == '\0')
        return TRUE;
    pw = getpwnam(user);
    if (pw == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "[daemon] user: no user '%s'", user);
        return FALSE;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0 ||
        setuid(0) == 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                    "cannot drop privileges to %s: %s", user, g_strerror(errno));
        return FALSE;
    }
    log_info("running as user=%s uid=%u", user, (unsigned)pw->pw_uid);
    return TRUE;
}

/* bouncerd_check_schema - refuse to start on an old schema; a database
 * that is down is not fatal: messages get 451 until it is back. */
static gboolean
bouncerd_check_schema(const BouncerConfig *config, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(PGconn) conn = db_connect(config->conninfo, &local);

    if (conn == NULL) {
        log_warning("database unavailable at start-up, answering 451 until it returns: %s",
                    local->message);
        return TRUE;
    }
    return db_schema_check(conn, error);
}

static int
bouncerd_fail(const char *what, const GError *error)
{
    fprintf(stderr, "bouncerd: %s%s%s\n", what, what[0] != '\0' ? ": " : "", error->message);
    return 1;
}

int
main(int argc, char **argv)
{
    g_autofree char *config_path = NULL;
    gboolean check_config = FALSE;
    GOptionEntry entries[] = {
        { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "configuration file", "FILE" },
        { "check-config", 0, 0, G_OPTION_ARG_NONE, &check_config,
          "check the configuration, print it (secrets masked) and exit", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) options = g_option_context_new("- bounce and auto-reply processing daemon");
    g_autoptr(GError) error = NULL;
    g_autoptr(BouncerConfig) config = NULL;
    g_autoptr(GMainLoop) loop = NULL;
    g_autoptr(Router) router = NULL;
    g_autoptr(TokenKeyring) keyring = NULL;
    BounceStore *bounce_store;
    BounceSuppressionPolicy policy;
    BounceForwardPolicy forward;
    g_autoptr(AutoreplyTemplate) templates = NULL;
    AutoreplyStore *autoreply_store;
    const char *own_domains[3];
    EventPublisher *publisher;
    OutboxSender *sender;
    OutboxRelay relay;
    PurgePolicy purge_policy;
    PurgeTimer *purge;
    DbPool *pool;
    Delivery *delivery;
    LmtpServer *server;
    LmtpServerOptions server_options;
    HttpMetrics *http = NULL;

    /* A client or a log reader that goes away must cost a write error,
     * not the daemon. */
    signal(SIGPIPE, SIG_IGN);
    g_option_context_add_main_entries(options, entries, NULL);
    if (!g_option_context_parse(options, &argc, &argv, &error)) {
        fprintf(stderr, "bouncerd: %s (see --help)\n", error->message);
        return 2;
    }
    if (config_path == NULL) {
        fprintf(stderr, "bouncerd: -c FILE is required (see docs/bouncer.conf.example)\n");
        return 2;
    }
    config = config_load(config_path, &error);
    if (config == NULL)
        return bouncerd_fail("", error);
    if (check_config) {
        g_autofree char *dump = config_dump(config);

        printf("%s\n# %s: configuration ok\n", dump, config_path);
        return 0;
    }
    keyring = token_keyring_from_keyfile(config->keyfile, "token", &error);
    if (keyring == NULL)
        return bouncerd_fail(config_path, error);
    if (!log_open(config->log_file, config->log_level, &error))
        return bouncerd_fail("", error);
    if (!bouncerd_check_schema(config, &error))
        return bouncerd_fail("", error);

    db_watchdog_set_timeout(config->query_timeout);
    pool = db_pool_new(config->conninfo, config->pool_size);
    router = router_new(config->bounce_domain, config->reply_mailbox);
    router_set_keyring(router, keyring);
    delivery = delivery_new(pool, router, MIN(config->transactions, config->pool_size),
                            config->group_commit, config->wait_timeout * 1000);
    policy = (BounceSuppressionPolicy){
        .soft_threshold = config->soft_threshold,
        .soft_window_days = config->soft_window_days,
        .soft_days = config->soft_days,
    };
    forward = (BounceForwardPolicy){
        .reply_mailbox = config->reply_mailbox,
        .hourly_limit = config->forward_hourly_limit,
        .autoreplies = config->forward_autoreplies,
        .give_up_hours = config->relay_give_up_hours,
    };
    bounce_store = bounce_store_new(keyring, &policy, &forward);
    /* The parser's one-time set-up before the first message, not in it. */
    bounce_report_warm_up();
    delivery_set_processor(delivery, MAILBOX_BOUNCE, bounce_store_processor(bounce_store));
    delivery_set_processor(delivery, MAILBOX_POSTMASTER, bounce_store_processor(bounce_store));
    delivery_set_processor(delivery, MAILBOX_FBL, bounce_store_processor(bounce_store));
    templates = autoreply_template_load(config->template_known, config->template_general, &error);
    if (templates == NULL)
        return bouncerd_fail(config_path, error);
    own_domains[0] = config->bounce_domain;
    own_domains[1] = config->reply_domain;
    own_domains[2] = NULL;
    autoreply_store = autoreply_store_new(&(AutoreplyStoreOptions){
        .keyring = keyring,
        .templates = templates,
        .own_domains = own_domains,
        .reply_mailbox = config->reply_mailbox,
        .period_hours = config->autoreply_period_hours,
        .hourly_cap = config->autoreply_hourly_cap,
        .give_up_hours = config->relay_give_up_hours,
        .is_automated = bouncerd_is_automated,
    });
    delivery_set_processor(delivery, MAILBOX_REPLY, autoreply_store_processor(autoreply_store));
    publisher = event_publisher_new(config->conninfo, config->event_endpoints,
                                    config->event_high_water_mark, &error);
    if (publisher == NULL)
        return bouncerd_fail("", error);
    relay = (OutboxRelay){
        .url = config->relay_url,
        .starttls = config->relay_starttls,
        .username = config->relay_username,
        .password = config->relay_password,
        .timeout = config->relay_timeout,
        .retry_base = config->relay_retry_base,
        .retry_max = config->relay_retry_max,
    };
    sender = outbox_sender_new(config->conninfo, &relay, &error);
    if (sender == NULL)
        return bouncerd_fail(config_path, error);
    {
        gpointer composer_data = NULL;
        OutboxComposer composer = bounce_store_forward_composer(bounce_store, &composer_data);

        outbox_sender_set_composer(sender, "forward", composer, composer_data);
    }
    purge_policy = (PurgePolicy){ config->retention_days, config->bounce_retention_days };

    server_options = (LmtpServerOptions){
        .limits = {
            .hostname = config->hostname,
            .max_message_size = config->max_message_size,
            .max_buffered = config->max_buffered,
            .max_recipients = config->max_recipients,
            .max_errors = config->max_errors,
        },
        .handler = delivery_session_handler(),
        .ctx = delivery,
        .command_timeout = config->command_timeout,
        .data_timeout = config->data_timeout,
        .max_sessions = config->max_sessions,
    };
    server = lmtp_server_new(&server_options);
    for (guint i = 0; config->listen[i] != NULL; i++) {
        if (!lmtp_server_listen_tcp(server, config->listen[i], &error))
            return bouncerd_fail("", error);
        log_info("listening on %s", config->listen[i]);
    }
    if (config->socket_path[0] != '\0') {
        if (!lmtp_server_listen_unix(server, config->socket_path, config->socket_mode,
                                     config->socket_owner, &error))
            return bouncerd_fail("", error);
        log_info("listening on unix:%s", config->socket_path);
    }
    if (config->metrics_listen[0] != '\0') {
        http = http_metrics_new(config->metrics_listen, config->conninfo, &error);
        if (http == NULL)
            return bouncerd_fail("", error);
        metrics_add_collector(bouncerd_collect_sessions, server);
        metrics_add_collector(http_metrics_collect_database, http);
        log_info("metrics on http://%s/metrics and /healthz", config->metrics_listen);
    }
    if (!bouncerd_drop_privileges(config->user, &error))
        return bouncerd_fail("", error);

    loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, bouncerd_on_stop, loop);
    g_unix_signal_add(SIGINT, bouncerd_on_stop, loop);
    g_unix_signal_add(SIGHUP, bouncerd_on_hup, NULL);

    event_publisher_start(publisher);
    outbox_sender_start(sender);
    purge = purge_timer_start(config->conninfo, &purge_policy, config->purge_interval);
    lmtp_server_start(server);
    log_info("bouncerd ready bounce_domain=%s reply_mailbox=%s", config->bounce_domain,
             config->reply_mailbox);
    g_main_loop_run(loop);

    http_metrics_free(http);
    lmtp_server_stop(server, config->shutdown_timeout);
    if (lmtp_server_active_sessions(server) > 0) {
        /* A session still blocked (in the database) uses the pool, the
         * stores and the configuration: leave them be and end here. Its
         * transaction rolls back; the MTA retries the message. */
        log_warning("bouncerd stopped with %u session(s) still running",
                    lmtp_server_active_sessions(server));
        _exit(0);
    }
    lmtp_server_free(server);
    purge_timer_stop(purge);
    outbox_sender_free(sender);
    event_publisher_free(publisher);
    delivery_free(delivery);
    bounce_store_free(bounce_store);
    autoreply_store_free(autoreply_store);
    db_pool_free(pool);
    log_info("bouncerd stopped");
    log_close();
    return 0;
}
