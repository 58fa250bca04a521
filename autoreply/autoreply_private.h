/* autoreply_private.h - what the autoreply/ files share and nobody else
 * needs: addresses and message ids that are safe to write back out. Text
 * for one header line and the Subject's encoded words are common/
 * mime_compose.h's, shared with the forward of a bounce. */
#ifndef BOUNCER_AUTOREPLY_PRIVATE_H
#define BOUNCER_AUTOREPLY_PRIVATE_H

#include "autoreply/autoreply.h"
#include "common/mime_compose.h"

/* Named limits, in Unicode characters. */
#define AUTOREPLY_SUBJECT_MAX      200   /* original subject kept for the reply */
#define AUTOREPLY_VALUE_MAX        200   /* a placeholder value in the body */
#define AUTOREPLY_IDS_TEXT_MAX     8192  /* In-Reply-To / References kept */
#define AUTOREPLY_DETAIL_MAX       160   /* AutoreplyDecision.detail */
/* Bytes of header block read. Real ones are a few kilobytes, and Postfix
 * passes at most 100 KB as header (header_size_limit); a message may be
 * 50 MB without a blank line. GMime takes some 85 bytes of memory per
 * byte of header, so a longer block is not parsed at all, and a message
 * whose rules cannot all be read is not answered. */
#define AUTOREPLY_HEADER_MAX       (256 * 1024)
/* RFC 5321 §4.5.3.1 sizes. */
#define AUTOREPLY_LOCAL_PART_MAX   64
#define AUTOREPLY_ADDRESS_MAX      254
#define AUTOREPLY_MSGID_MAX        250
/* References written into the reply: the first and the latest ones
 * (RFC 5322 §3.6.4 lets a long chain be trimmed). */
#define AUTOREPLY_REFERENCES_MAX   20

/* autoreply_text_fold - mime_compose_fold() under its autoreply/ name,
 * which the template renderer uses. (transfer full) */
static inline char *
autoreply_text_fold(const char *text, gssize len, gsize max_chars)
{
    return mime_compose_fold(text, len, max_chars);
}

/* autoreply_address_clean - a plain addr-spec safe to write in a header
 * and to give to SMTP: white space and one pair of angle brackets
 * dropped (mime_compose_address_unwrap()), dot-atom local part (no
 * quoting), a host-name domain made lower case, RFC 5321 sizes, written
 * by GMime as it is. NULL when text is not such an address (the null
 * sender "" or "<>" included). (transfer full) */
char *autoreply_address_clean(const char *text);

/* autoreply_msgid_ok - id (without angle brackets) can be written as
 * "<id>" (RFC 5322 §3.6.4 msg-id): id-left dot-atom-text, one '@',
 * id-right dot-atom-text or "[" dtext "]" (dots anywhere), at most
 * AUTOREPLY_MSGID_MAX characters. */
gboolean autoreply_msgid_ok(const char *id);

/* autoreply_system_local_part - the name of the system-sender pattern a
 * local part matches ("mailer-daemon", "noreply", "owner-*", ...), or
 * NULL for a person. (transfer none) */
const char *autoreply_system_local_part(const char *local_part);

#endif
