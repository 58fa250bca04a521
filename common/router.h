/* router.h - which mailbox an envelope recipient belongs to, decided at
 * RCPT time so that mail nobody will process is refused before its data
 * is sent (and forged bounces never enter). */
#ifndef BOUNCER_ROUTER_H
#define BOUNCER_ROUTER_H

#include <glib.h>

#include "common/token.h"

typedef enum {
    MAILBOX_NONE = 0,
    MAILBOX_BOUNCE,      /* b{token}@bounce domain: DSNs, complaints, auto-replies */
    MAILBOX_REPLY,       /* the reply mailbox: people who pressed Reply */
    MAILBOX_POSTMASTER,  /* postmaster@ either domain */
    MAILBOX_FBL,         /* abuse@ and fbl@ either domain: feedback loops */
} MailboxKind;

#define MAILBOX_KIND_COUNT (MAILBOX_FBL + 1)

/* mailbox_kind_name - "bounce", "reply", "postmaster", "fbl" (the
 * inbound_messages.mailbox values). */
const char *mailbox_kind_name(MailboxKind kind);

typedef struct Router Router;

/* router_new - strings are copied. (transfer full) */
Router *router_new(const char *bounce_domain, const char *reply_mailbox);
void router_free(Router *router);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Router, router_free)
/* router_set_keyring - check the token of bounce addresses (MAC, key, age)
 * with keyring (borrowed); without one any "b..." local part is accepted. */
void router_set_keyring(Router *router, const TokenKeyring *keyring);

/* router_route - the mailbox for address, or FALSE with
 * BOUNCER_ERROR_NO_SUCH_USER. Domains compare case-insensitively. sid names
 * the session in the log line of a refused token (NULL: none). token_out
 * (may be NULL) gets what a bounce address's token says once its MAC is
 * checked, so that nobody checks it again (transfer full, g_free), NULL
 * for every other address and without a keyring. */
gboolean router_route(const Router *router, const char *sid, const char *address,
                      MailboxKind *kind_out, TokenInfo **token_out, GError **error);

#endif
