/* outbox.h - mail bouncer sends: queued in PostgreSQL with the message
 * that caused it, delivered by a sender thread to the relay, retried with
 * backoff, never lost.
 *
 * Rows are claimed with FOR UPDATE SKIP LOCKED and a lease, so several
 * bouncerd instances can drain one outbox; a crash mid-send means the
 * lease runs out and the row is tried again (SMTP is at-least-once). */
#ifndef BOUNCER_OUTBOX_H
#define BOUNCER_OUTBOX_H

#include <glib.h>
#include <libpq-fe.h>

typedef struct {
    const char *kind;          /* "forward" or "autoreply" */
    gint64      org_id;        /* < 0: none */
    gint64      inbound_id;
    const char *mail_from;     /* "" for the null sender */
    const char *rcpt_to;
    const char *message;       /* RFC 5322, CRLF */
    gsize       len;
    const char *held_reason;   /* non-NULL: record as held, never send */
    guint       give_up_hours; /* failed after this long */
} OutboxItem;

/* outbox_enqueue - insert inside the caller's open transaction. */
gboolean outbox_enqueue(PGconn *conn, const OutboxItem *item, gint64 *id_out, GError **error);

typedef struct {
    const char *url;           /* smtp://host:port, smtps://..., file:DIR */
    const char *starttls;      /* no, try, required */
    const char *username;      /* "" for none */
    const char *password;
    guint       timeout;       /* seconds per delivery attempt */
    guint       retry_base;    /* seconds before the first retry, doubling ... */
    guint       retry_max;     /* ... up to this */
} OutboxRelay;

/* OutboxStamp - what stays the same across a row's attempts, so that a
 * message composed again for a retry is the same message (RFC 5322
 * §3.6.4: one Message-ID, one Date): the row's id and when it was queued. */
typedef struct {
    gint64 id;
    gint64 queued_at_us;       /* microseconds since the epoch */
} OutboxStamp;

/* OutboxComposer - compose a row queued without a message (a forward is
 * composed when sent, from the stored inbound message and the
 * organisation's current row), its Message-ID and Date from stamp. NULL:
 * nothing to send (the row fails). (transfer full) */
typedef char *(*OutboxComposer)(gpointer data, const char *raw, gsize raw_len,
                                const char *org_name, const char *org_reply_to,
                                const OutboxStamp *stamp, gsize *len_out);

typedef struct OutboxSender OutboxSender;

/* outbox_sender_new - strings in relay are copied. (transfer full) */
OutboxSender *outbox_sender_new(const char *conninfo, const OutboxRelay *relay, GError **error);
/* outbox_sender_set_composer - for rows of kind whose message is NULL. */
void outbox_sender_set_composer(OutboxSender *sender, const char *kind, OutboxComposer composer,
                                gpointer data);
void outbox_sender_start(OutboxSender *sender);
void outbox_sender_stop(OutboxSender *sender);
void outbox_sender_free(OutboxSender *sender);

#endif
