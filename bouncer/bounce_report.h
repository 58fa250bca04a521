/* bounce_report.h - read one returned message: what kind it is and, for each
 * recipient it speaks of, what happened and why.
 *
 * This is the only header the daemon and bouncerctl use from the parser.
 * Parsing needs no database and no configuration; it is thread-safe (rule
 * tables are compiled once, on first use, and shared read-only). */
#ifndef BOUNCER_BOUNCE_REPORT_H
#define BOUNCER_BOUNCE_REPORT_H

#include <glib.h>

typedef enum {
    BOUNCE_KIND_DSN,          /* multipart/report delivery-status (RFC 3464/6522/6533) */
    BOUNCE_KIND_ARF,          /* feedback-report complaint (RFC 5965) */
    BOUNCE_KIND_AUTOREPLY,    /* out-of-office and other auto-replies: never a bounce */
    BOUNCE_KIND_NONSTANDARD,  /* a bounce in prose, read with the rule tables */
    BOUNCE_KIND_DELIVERED,    /* a success DSN (delivered/relayed/expanded only) */
    BOUNCE_KIND_NOTBOUNCE,    /* ordinary mail */
    BOUNCE_KIND_UNPARSEABLE,  /* could not be read; BounceReport.error says why */
} BounceKind;

typedef struct {
    char    *addr;            /* final recipient, lower-cased domain */
    char    *action;          /* failed|delayed|delivered|relayed|expanded */
    char    *status;          /* RFC 3463 "5.1.1", "" when none could be found */
    char    *replycode;       /* "550", "" when none */
    char    *diagnostic;      /* one line, whitespace folded */
    char    *remote_mta;
    char    *reason;          /* Sisimai taxonomy: userunknown, mailboxfull, ... */
    gboolean hard;            /* sending again can never succeed */
    char    *bounce_type;     /* Permanent|Transient|Undetermined (Amazon SES names) */
    char    *bounce_subtype;  /* General, NoEmail, MailboxFull, ... */
    char    *feedbacktype;    /* ARF Feedback-Type (abuse, fraud, ...), else NULL */
    char    *rule;            /* id of the field or rule that decided the reason */
    char    *diagnostic_type; /* "SMTP", "X-UNIX", ... from Diagnostic-Code, else NULL */
    char    *last_attempt_date;  /* RFC 3464 fields as written, else NULL */
    char    *will_retry_until;
    char    *smtp_command;    /* RCPT, MAIL, DATA, HELO, CONN the failure answered, else NULL */
} BounceRecipient;

typedef struct {
    char *message_id;         /* without angle brackets */
    char *return_path;        /* address only */
    char *from;
    char *to;
    char *subject;            /* decoded, UTF-8 */
    char *in_reply_to;
    char *references;
} BounceOriginal;

typedef struct {
    BounceKind      kind;
    char           *error;          /* why, when kind is UNPARSEABLE */
    char           *reporting_mta;
    char           *arrival_date;
    /* ARF (RFC 5965 §3.1) per-report fields, NULL when absent. */
    char           *feedback_type;
    char           *original_mail_from;
    char           *source_ip;
    char           *user_agent;
    GPtrArray      *recipients;     /* BounceRecipient* (transfer full) */
    BounceOriginal  original;       /* the returned original message, fields may be NULL */
    /* A person forwarded the bounce ("Fwd: ...", from someone who is no
     * mail system, not marked Auto-Submitted): the person wrote to us. */
    gboolean        person_forward;
    /* Headers of the message itself, for the auto-reply decision and token lookup. */
    char           *subject;
    char           *from;
    char           *message_id;
    char           *in_reply_to;
    char           *references;
} BounceReport;

/* The largest message read: bouncerd's [lmtp] max_message_size cannot be
 * set higher, and the parser's buffers count bytes in 32 bits. */
#define BOUNCE_REPORT_MAX_SIZE ((gsize)512 * 1024 * 1024)

/* bounce_report_parse - read one message (any line endings, any bytes).
 * Never returns NULL: what cannot be read is kind UNPARSEABLE with error set,
 * a message over BOUNCE_REPORT_MAX_SIZE among them. (transfer full) */
BounceReport *bounce_report_parse(const char *data, gsize len);
/* bounce_report_warm_up - set up now what the first parse of a process
 * would (GMime, the rule tables and their prefilters), for a thread that
 * has nothing else to do yet. Never needed: parsing does it on demand. */
void bounce_report_warm_up(void);
void bounce_report_free(BounceReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BounceReport, bounce_report_free)

const char *bounce_kind_to_string(BounceKind kind);

/* bounce_report_is_automated - TRUE for bounces, complaints, auto-replies and
 * success DSNs: mail that must never get an auto-reply. */
gboolean bounce_report_is_automated(const BounceReport *report);

/* bounce_report_to_json - one JSON object (no newline) in the format of
 * `bouncerctl parse`: {"file", "kind", "recipients": [...], "original": {...}}.
 * file may be NULL. (transfer full) */
char *bounce_report_to_json(const BounceReport *report, const char *file, gboolean pretty);

/* bounce_json_append_string - s (NULL: "") as a JSON string, quoted, with
 * every control character escaped, appended to out. */
void bounce_json_append_string(GString *out, const char *s);

/* bounce_split_mbox - split an mbox-style buffer ("From " separator lines)
 * into messages; a buffer without separators is one message. Returns
 * GBytes* views of data, which must outlive them. (transfer full) */
GPtrArray *bounce_split_mbox(const char *data, gsize len);

#endif
