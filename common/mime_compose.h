/* mime_compose.h - the small pieces of writing a message with GMime 3.2
 * that carries text read from another message: one line of text, the raw
 * value of an unstructured header in RFC 2047 words of our own, addresses
 * GMime writes back as they are, a UTF-8 text/plain part, CRLF output.
 *
 * Nothing read from the original may start a new header line or end the
 * header block. Used by the auto-reply (autoreply/) and the forward of a
 * bounce (bouncer/), which share no code but this. Pure: no I/O. */
#ifndef BOUNCER_MIME_COMPOSE_H
#define BOUNCER_MIME_COMPOSE_H

#include <glib.h>

#include "common/gmime_autoptr.h"

/* Header lines are at most this long: RFC 2047 §2 holds a line with an
 * encoded word to 76 characters (RFC 5322 §2.1.1 any line to 78). */
#define MIME_COMPOSE_FOLD_AT      76
/* UTF-8 bytes per encoded word at most: "=?UTF-8?B?" + 60 base64 + "?="
 * is 72, under RFC 2047 §2's 75; fewer where the line has less room. */
#define MIME_COMPOSE_WORD_BYTES   45
/* A longer plain word is encoded, so no line nears RFC 5322's 998 octets. */
#define MIME_COMPOSE_PLAIN_MAX    900
/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its brackets. */
#define MIME_COMPOSE_ADDRESS_MAX  254

/* mime_compose_fold - text for one header line or one line of body: any
 * bytes read as UTF-8 (invalid sequences, and a NUL inside len, replaced
 * by U+FFFD), control characters and line or paragraph separators made
 * spaces, runs of white space made one space, trimmed, cut after
 * max_chars characters (the cut may leave one space at the end). NULL
 * gives "". len -1: up to the NUL. (transfer full) */
char *mime_compose_fold(const char *text, gssize len, gsize max_chars);

/* mime_compose_header_raw - the raw value (" ...\n", as GMime stores it)
 * of an unstructured field named name whose text is one folded line of
 * UTF-8 (mime_compose_fold()): the leading plain ASCII words as they are,
 * the rest as RFC 2047 "B" encoded words of UTF-8, no line longer than
 * MIME_COMPOSE_FOLD_AT columns. GMime 3.2's own encoder leaves words with
 * "=?" unencoded and can then fold inside an encoded word, even without
 * white space; this one cannot. (transfer full) */
char *mime_compose_header_raw(const char *name, const char *text);

/* mime_compose_set_subject - set message's Subject to text (one folded
 * line of UTF-8) and give the field the raw value of
 * mime_compose_header_raw(). */
void mime_compose_set_subject(GMimeMessage *message, const char *text);

/* mime_compose_message_new - a message with From: from and To: to (bare
 * addr-specs, mime_compose_plain_address() or stricter), Subject: subject
 * (mime_compose_set_subject()), Date: now and a new Message-ID in
 * id_domain, set in that order (GMime writes them in its own); no body
 * yet. (transfer full) */
GMimeMessage *mime_compose_message_new(const char *from, const char *to, const char *subject,
                                       const char *id_domain);
/* mime_compose_message_new_at - the same with a given Date (seconds since
 * the epoch, shown in local time) and Message-ID local part (its id-left:
 * dot-atom-text), for a message that must be the same each time it is
 * composed. (transfer full) */
GMimeMessage *mime_compose_message_new_at(const char *from, const char *to, const char *subject,
                                          const char *id_domain, gint64 date,
                                          const char *id_left);

/* mime_compose_address_unwrap - text with white space and one pair of
 * angle brackets (and the white space inside them) dropped; NULL for
 * NULL. Nothing is checked. (transfer full) */
char *mime_compose_address_unwrap(const char *text);

/* mime_compose_address_survives - GMime writes addr (a bare addr-spec) as
 * it is. GMime writes a mailbox's domain in its IDNA form: a bogus "xn--"
 * label comes out as another domain (or an empty label), which would send
 * the message somewhere else. */
gboolean mime_compose_address_survives(const char *addr);

/* mime_compose_plain_address - a plain addr-spec (mime_compose_address_
 * unwrap()) that is safe as a header address and an SMTP path, or NULL:
 * printable ASCII, no specials, one '@' with text on both sides, at most
 * MIME_COMPOSE_ADDRESS_MAX characters, written by GMime as it is.
 * (transfer full) */
char *mime_compose_plain_address(const char *text);

/* mime_compose_text_part - text/plain; charset=utf-8 holding text,
 * 7bit when it is 7-bit with short lines, else quoted-printable (readable
 * in any client). GMime's own text setter would pick a legacy charset for
 * Latin text; we promise UTF-8. (transfer full) */
GMimePart *mime_compose_text_part(const char *text);

/* mime_compose_to_crlf - object as RFC 5322 text with CRLF line ends; its
 * length in *len_out when len_out is not NULL. (transfer full) */
char *mime_compose_to_crlf(GMimeObject *object, gsize *len_out);

#endif
