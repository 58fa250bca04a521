/* bounce_forward.h - the message that tells an organisation its email
 * could not be delivered: a short explanation per failed recipient, in
 * words a bookkeeper understands, with the report attached.
 *
 * Pure: no database, no sockets. Whether a report is forwarded at all
 * (organisation known, rate limit) is the caller's decision. */
#ifndef BOUNCER_BOUNCE_FORWARD_H
#define BOUNCER_BOUNCE_FORWARD_H

#include <glib.h>

#include "bouncer/bounce_report.h"

/* bounce_forward_explain - what happened, in plain words, for a reason of
 * the Sisimai taxonomy ("userunknown" -> "the mailbox does not exist");
 * NULL or an unknown reason gives "it could not be delivered".
 * (transfer none) */
const char *bounce_forward_explain(const char *reason);

/* bounce_forward_compose - the forward of report to org_reply_to (RFC
 * 5322, CRLF line ends): From from_mailbox, To org_reply_to, a Subject
 * saying what failed, Auto-Submitted: auto-generated, a new Message-ID in
 * message_id_domain (NULL: from_mailbox's domain) and Date; a
 * multipart/mixed of a text/plain explanation (greeting org_name when not
 * NULL) listing each recipient whose action is "failed", and raw (the
 * report as received) as a message/rfc822 attachment with its line ends
 * made CRLF (message/global in base64 when it has 8-bit bytes: the whole
 * is 7-bit). The caller sends it with MAIL FROM:<>.
 *
 * An automatic reply (kind AUTOREPLY) is forwarded with a note saying what
 * it is, and attached the same way.
 *
 * NULL when there is nothing to forward: no failed recipient (and not an
 * automatic reply), a complaint
 * (ARF: a complainant is never named to the sender), or an org_reply_to
 * or from_mailbox that is not a plain address. (transfer full) */
char *bounce_forward_compose(const BounceReport *report, const char *raw, gsize raw_len,
                             const char *from_mailbox, const char *org_name,
                             const char *org_reply_to, const char *message_id_domain,
                             gsize *len_out);

/* bounce_forward_compose_queued - the same for outbox row queue_id,
 * queued at queued_at_us (microseconds since the epoch): its Date is that
 * time and its Message-ID <fwd.QUEUE_ID.QUEUED_AT_US@domain>, so every
 * attempt sends the same message and a copy the relay accepted twice (a
 * reply lost after DATA) can be told for what it is. (transfer full) */
char *bounce_forward_compose_queued(const BounceReport *report, const char *raw, gsize raw_len,
                                    const char *from_mailbox, const char *org_name,
                                    const char *org_reply_to, const char *message_id_domain,
                                    gint64 queue_id, gint64 queued_at_us, gsize *len_out);

#endif
