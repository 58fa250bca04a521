/* router.c - which mailbox an envelope recipient belongs to. */
#include "common/router.h"

#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/metrics.h"

struct Router {
    char            *bounce_domain;   /* lower case */
    char            *reply_local;     /* lower case */
    char            *reply_domain;    /* lower case */
    const TokenKeyring *keyring;
};

static const char *const mailbox_kind_names[MAILBOX_KIND_COUNT] = {
    [MAILBOX_NONE] = "none",
    [MAILBOX_BOUNCE] = "bounce",
    [MAILBOX_REPLY] = "reply",
    [MAILBOX_POSTMASTER] = "postmaster",
    [MAILBOX_FBL] = "fbl",
};

const char *
mailbox_kind_name(MailboxKind kind)
{
    return kind < MAILBOX_KIND_COUNT ? mailbox_kind_names[kind] : "none";
}

Router *
router_new(const char *bounce_domain, const char *reply_mailbox)
{
    Router *router = g_new0(Router, 1);
    const char *at = strrchr(reply_mailbox, '@');

    g_return_val_if_fail(at != NULL, NULL);
    router->bounce_domain = g_ascii_strdown(bounce_domain, -1);
    router->reply_local = g_ascii_strdown(reply_mailbox, at - reply_mailbox);
    router->reply_domain = g_ascii_strdown(at + 1, -1);
    return router;
}

void
router_free(Router *router)
{
    if (router == NULL)
        return;
    g_free(router->bounce_domain);
    g_free(router->reply_local);
    g_free(router->reply_domain);
    g_free(router);
}

void
router_set_keyring(Router *router, const TokenKeyring *keyring)
{
    router->keyring = keyring;
}

/* router_check_token - forged, altered or stale bounce addresses are
 * refused here, before the data is sent: no backscatter gets in. The
 * client hears only "unknown user", as for any other address: which check
 * failed (an expired date, a key id that does not exist) would tell a
 * forger what to change. The log says which. A token that passes is
 * handed on in *token_out (when asked for), so the store reads it from
 * there rather than computing its MAC again. */
static gboolean
router_check_token(const Router *router, const char *sid, const char *address,
                   TokenInfo **token_out, GError **error)
{
    g_autoptr(GError) local = NULL;
    TokenInfo info;

    if (router->keyring == NULL)
        return TRUE;
    if (token_decode(router->keyring, address, token_today(), &info, &local)) {
        if (token_out != NULL)
            *token_out = g_memdup2(&info, sizeof info);
        return TRUE;
    }
    metrics_counter_inc("bouncer_lmtp_rcpt_rejected_total", "reason", "bad_token", NULL);
    log_info("sid=%s rcpt=<%s> token=refused detail=\"%s\"",
             sid != NULL ? sid : "-", address, local->message);
    g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER,
                "Recipient address rejected: unknown user");
    return FALSE;
}

/* router_route - the role accounts of both domains first, then the reply
 * mailbox, then VERP addresses. Local parts compare case-insensitively
 * too: MTAs and people change their case, and the token is case-free. */
gboolean
router_route(const Router *router, const char *sid, const char *address, MailboxKind *kind_out,
             TokenInfo **token_out, GError **error)
{
    const char *at = strrchr(address, '@');
    g_autofree char *local = NULL;
    g_autofree char *domain = NULL;
    gboolean ours;

    if (token_out != NULL)
        *token_out = NULL;
    if (at == NULL) {
        /* RFC 5321 §4.5.1: <Postmaster> without a domain must be accepted. */
        if (g_ascii_strcasecmp(address, "postmaster") == 0) {
            *kind_out = MAILBOX_POSTMASTER;
            return TRUE;
        }
        metrics_counter_inc("bouncer_lmtp_rcpt_rejected_total", "reason", "unknown_user", NULL);
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER, "Recipient address rejected: unknown user");
        return FALSE;
    }
    local = g_ascii_strdown(address, at - address);
    domain = g_ascii_strdown(at + 1, -1);
    ours = strcmp(domain, router->bounce_domain) == 0 || strcmp(domain, router->reply_domain) == 0;

    if (ours && strcmp(local, "postmaster") == 0) {
        *kind_out = MAILBOX_POSTMASTER;
        return TRUE;
    }
    if (ours && (strcmp(local, "abuse") == 0 || strcmp(local, "fbl") == 0)) {
        *kind_out = MAILBOX_FBL;
        return TRUE;
    }
    if (strcmp(domain, router->reply_domain) == 0 && strcmp(local, router->reply_local) == 0) {
        *kind_out = MAILBOX_REPLY;
        return TRUE;
    }
    if (strcmp(domain, router->bounce_domain) == 0 && local[0] == 'b' && local[1] != '\0') {
        if (!router_check_token(router, sid, address, token_out, error))
            return FALSE;
        *kind_out = MAILBOX_BOUNCE;
        return TRUE;
    }
    metrics_counter_inc("bouncer_lmtp_rcpt_rejected_total", "reason", "unknown_user", NULL);
    g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER, "Recipient address rejected: unknown user");
    return FALSE;
}
