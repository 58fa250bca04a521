/* test_router.c - which mailbox each envelope recipient reaches. */
#include <glib.h>

#include "common/error.h"
#include "common/router.h"
#include "common/token.h"

typedef struct {
    const char *address;
    MailboxKind want;        /* MAILBOX_NONE: refused with 550 5.1.1 */
} RouteCase;

static const RouteCase route_cases[] = {
    { "postmaster@notifications.example.com", MAILBOX_POSTMASTER },
    { "POSTMASTER@Post.Example.COM", MAILBOX_POSTMASTER },
    { "Postmaster", MAILBOX_POSTMASTER },
    { "abuse@post.example.com", MAILBOX_FBL },
    { "fbl@notifications.example.com", MAILBOX_FBL },
    { "messageservice@post.example.com", MAILBOX_REPLY },
    { "MessageService@POST.example.com", MAILBOX_REPLY },
    { "messageservice@notifications.example.com", MAILBOX_NONE },
    { "postmaster@example.org", MAILBOX_NONE },
    { "someone@notifications.example.com", MAILBOX_NONE },
    { "b@notifications.example.com", MAILBOX_NONE },
    { "bxyz@post.example.com", MAILBOX_NONE },
    { "user@example.org", MAILBOX_NONE },
    { "nodomain", MAILBOX_NONE },
};

static Router *
test_router(void)
{
    return router_new("Notifications.Example.com", "messageservice@post.example.com");
}

static void
test_routes(void)
{
    g_autoptr(Router) router = test_router();

    for (gsize i = 0; i < G_N_ELEMENTS(route_cases); i++) {
        const RouteCase *c = &route_cases[i];
        g_autoptr(GError) error = NULL;
        MailboxKind got = MAILBOX_NONE;
        gboolean ok = router_route(router, NULL, c->address, &got, NULL, &error);

        if (c->want == MAILBOX_NONE) {
            if (ok)
                g_error("%s: got %s, want refused", c->address, mailbox_kind_name(got));
            g_assert_error(error, BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER);
        } else if (!ok || got != c->want) {
            g_error("%s: got %s, want %s", c->address, ok ? mailbox_kind_name(got) : error->message,
                    mailbox_kind_name(c->want));
        }
    }
}

/* Without a keyring any b... local part on the bounce domain is accepted;
 * with one, only tokens that verify. */
static void
test_tokens(void)
{
    static const guint8 key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    g_autoptr(Router) router = test_router();
    g_autoptr(TokenKeyring) keyring = token_keyring_new();
    g_autofree char *token = NULL;
    g_autofree char *good = NULL;
    g_autofree char *upper = NULL;
    g_autofree char *bad = NULL;
    MailboxKind got = MAILBOX_NONE;
    g_autoptr(GError) error = NULL;
    TokenInfo *info = NULL;

    g_assert_true(router_route(router, NULL, "bxyz@notifications.example.com", &got, &info, NULL));
    g_assert_null(info);        /* no keyring: nothing was checked */
    g_assert_cmpint(got, ==, MAILBOX_BOUNCE);

    g_assert_true(token_keyring_add_key(keyring, 1, key, sizeof key, NULL));
    router_set_keyring(router, keyring);
    token = token_encode(keyring, 42, 7, token_today(), NULL);
    good = g_strdup_printf("%s@notifications.example.com", token);
    upper = g_ascii_strup(good, -1);
    bad = g_strdup(good);
    bad[5] = bad[5] == 'a' ? 'b' : 'a';

    g_assert_true(router_route(router, NULL, good, &got, &info, NULL));
    g_assert_cmpint(got, ==, MAILBOX_BOUNCE);
    /* What the check read is handed on, so the store need not check again. */
    g_assert_nonnull(info);
    g_assert_cmpuint(info->org_id, ==, 42);
    g_assert_cmpuint(info->message_id, ==, 7);
    g_assert_cmpuint(info->key_id, ==, 1);
    g_clear_pointer(&info, g_free);
    g_assert_true(router_route(router, NULL, upper, &got, NULL, NULL));
    info = GINT_TO_POINTER(1);     /* set to NULL on a refusal too */
    g_assert_false(router_route(router, NULL, bad, &got, &info, &error));
    g_assert_null(info);
    g_assert_error(error, BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER);
    g_clear_error(&error);
    g_assert_false(router_route(router, NULL, "bxyz@notifications.example.com", &got, NULL, &error));
    g_assert_error(error, BOUNCER_ERROR, BOUNCER_ERROR_NO_SUCH_USER);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/router/routes", test_routes);
    g_test_add_func("/router/tokens", test_tokens);
    return g_test_run();
}
