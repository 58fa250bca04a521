/* error.h - the one error domain whose codes become LMTP replies.
 *
 * Every failure is temporary or permanent. Code that can fail while a
 * message is being received sets a BOUNCER_ERROR (or its own domain, which
 * counts as temporary), and lmtp_reply_for_error() is the only place that
 * turns an error into a reply. */
#ifndef BOUNCER_ERROR_H
#define BOUNCER_ERROR_H

#include <glib.h>

#define BOUNCER_ERROR (bouncer_error_quark())
GQuark bouncer_error_quark(void);

typedef enum {
    BOUNCER_ERROR_TEMPORARY,      /* 451 4.3.0: database down, out of resources */
    BOUNCER_ERROR_NO_SUCH_USER,   /* 550 5.1.1: unknown mailbox, bad token */
    BOUNCER_ERROR_SYNTAX,         /* 501 5.5.4: bad arguments */
    BOUNCER_ERROR_BAD_SENDER,     /* 501 5.1.7: MAIL FROM address syntax */
    BOUNCER_ERROR_BAD_RECIPIENT,  /* 501 5.1.3: RCPT TO address syntax */
    BOUNCER_ERROR_UNKNOWN_COMMAND,/* 500 5.5.2 */
    BOUNCER_ERROR_BAD_SEQUENCE,   /* 503 5.5.1 */
    BOUNCER_ERROR_PARAMETER,      /* 555 5.5.4: unsupported MAIL/RCPT parameter */
    BOUNCER_ERROR_TOO_BIG,        /* 552 5.3.4 */
    BOUNCER_ERROR_TOO_MANY_RCPTS, /* 452 4.5.3 */
    BOUNCER_ERROR_NO_ROOM,        /* 452 4.3.1: no memory for the message now */
    BOUNCER_ERROR_CONFIG,         /* start-up only */
} BouncerErrorCode;

#endif
