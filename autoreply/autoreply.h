/* autoreply.h - the "nobody reads this mailbox" reply to mail sent to the
 * reply mailbox: whether to answer (RFC 3834) and the answer itself.
 *
 * Pure functions: no database, no sockets, no configuration files other
 * than the templates autoreply_template_load() is given. The per-sender
 * period and the global hourly cap are the caller's (they need the
 * database). Everything here is thread-safe; a loaded template is
 * read-only and may be shared.
 *
 * docs/autoreply.md describes the rules and the templates. */
#ifndef BOUNCER_AUTOREPLY_H
#define BOUNCER_AUTOREPLY_H

#include <glib.h>

#define AUTOREPLY_ERROR (autoreply_error_quark())

typedef enum {
    AUTOREPLY_ERROR_TEMPLATE,   /* a template file that cannot be used */
} AutoreplyError;

GQuark autoreply_error_quark(void);

/* Largest template file accepted, in bytes. */
#define AUTOREPLY_TEMPLATE_MAX_SIZE (64 * 1024)

/* What the caller knows about us. */
typedef struct {
    /* Our own domains, NULL-terminated, or NULL for none (transfer none).
     * A sender in one of them, or in a subdomain of one, never gets a
     * reply: that would be us answering ourselves. */
    const char *const *own_domains;
} AutoreplyPolicy;

/* The verdict on one message and what a reply needs. */
typedef struct {
    gboolean    reply;        /* TRUE: answer it */
    const char *rule;         /* why not: "null-sender", "own-domain", "auto-submitted",
                               * "precedence", "list-header", "suppress-header",
                               * "system-sender", "automated", "no-sender",
                               * "unparseable"; "reply" when reply is TRUE
                               * (static, transfer none) */
    char       *detail;       /* one line for the log: the header, value or
                               * address that decided; NULL when reply is TRUE */
    char       *reply_to;     /* the envelope sender (RFC 3834 §4), address only,
                               * domain lower-cased; NULL when there is none usable */
    char       *subject;      /* original Subject, decoded UTF-8, control
                               * characters folded to spaces; "" when none */
    char       *message_id;   /* original Message-ID without angle brackets, NULL
                               * when missing or unusable */
    char       *in_reply_to;  /* original In-Reply-To, unfolded, NULL when none */
    char       *references;   /* original References, unfolded, NULL when none */
} AutoreplyDecision;

/* autoreply_decide - read one message (any bytes, any line endings) and
 * decide whether it gets the reply. envelope_from is the SMTP MAIL FROM
 * address ("" or "<>" for the null sender); NULL means unknown, and then
 * the message's Return-Path field is used. automated is the bounce
 * parser's verdict (bounce, complaint, auto-reply or delivery report).
 * Never returns NULL. (transfer full) */
AutoreplyDecision *autoreply_decide(const AutoreplyPolicy *policy, const char *envelope_from,
                                    const char *data, gsize len, gboolean automated);
void autoreply_decision_free(AutoreplyDecision *decision);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AutoreplyDecision, autoreply_decision_free)

/* autoreply_find_token_text - In-Reply-To and References of the original,
 * separated by a space, where the caller looks for our VERP tokens; ""
 * when it had neither. (transfer full) */
char *autoreply_find_token_text(const AutoreplyDecision *decision);

/* The two reply texts: "known" when the message can be tied to an
 * organisation, "general" otherwise. UTF-8 with the placeholders
 * {org_name}, {reply_to} and {original_subject}. */
typedef struct AutoreplyTemplate AutoreplyTemplate;

/* autoreply_template_load - read the texts from files; a NULL (or empty)
 * path takes the built-in text for that one. A file must be UTF-8 text, not
 * empty, at most AUTOREPLY_TEMPLATE_MAX_SIZE bytes, and use no placeholder
 * other than the three above. (transfer full) */
AutoreplyTemplate *autoreply_template_load(const char *known_path, const char *general_path,
                                           GError **error);
/* autoreply_template_new_default - the built-in texts, the same as
 * docs/templates/autoreply-{known,general}.txt. (transfer full) */
AutoreplyTemplate *autoreply_template_new_default(void);
void autoreply_template_free(AutoreplyTemplate *tpl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AutoreplyTemplate, autoreply_template_free)

/* autoreply_template_text - the text of one of the two, placeholders not
 * filled in. (transfer none) */
const char *autoreply_template_text(const AutoreplyTemplate *tpl, gboolean known);

/* autoreply_render - the body: the known text when org_reply_to is set
 * (org_name NULL reads "the sender"), else the general one, placeholders
 * filled with values folded to one line. (transfer full) */
char *autoreply_render(const AutoreplyTemplate *tpl, const char *original_subject,
                       const char *org_name, const char *org_reply_to);

/* autoreply_compose - the whole reply (RFC 5322, CRLF line ends) to a
 * decision that said reply: From from_mailbox, To the sender,
 * "Subject: Auto: <original>", In-Reply-To and References, Auto-Submitted:
 * auto-replied, X-Auto-Response-Suppress: All, Precedence: auto_reply, a
 * new Message-ID in message_id_domain (NULL: from_mailbox's domain), Date,
 * and the rendered template as text/plain; charset=utf-8. The caller sends
 * it with MAIL FROM:<>. NULL only when the decision has no reply_to.
 * (transfer full) */
char *autoreply_compose(const AutoreplyTemplate *tpl, const AutoreplyDecision *decision,
                        const char *from_mailbox, const char *org_name,
                        const char *org_reply_to, const char *message_id_domain,
                        gsize *len_out);

#endif
