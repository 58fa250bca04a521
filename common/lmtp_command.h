/* lmtp_command.h - the pure LMTP command-line parser (RFC 2033, RFC 5321).
 *
 * No state and no I/O: one line in, one parsed command or a BOUNCER_ERROR
 * out. The session decides what a command means in its current state. */
#ifndef BOUNCER_LMTP_COMMAND_H
#define BOUNCER_LMTP_COMMAND_H

#include <glib.h>

/* RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with its CRLF. */
#define LMTP_COMMAND_LINE_MAX 512

typedef enum {
    LMTP_VERB_LHLO,
    LMTP_VERB_MAIL,
    LMTP_VERB_RCPT,
    LMTP_VERB_DATA,
    LMTP_VERB_RSET,
    LMTP_VERB_NOOP,
    LMTP_VERB_QUIT,
    LMTP_VERB_VRFY,
    LMTP_VERB_HELO,
    LMTP_VERB_EHLO,
} LmtpVerb;

typedef struct {
    LmtpVerb  verb;
    char     *argument;  /* LHLO domain, VRFY/NOOP text; NULL when none */
    char     *address;   /* MAIL/RCPT path without brackets, "" for <> */
    char    **params;    /* MAIL/RCPT "KEYWORD=value" or "KEYWORD", NULL-terminated */
} LmtpCommand;

/* lmtp_command_parse - parse one line (without its CRLF, length len; it may
 * hold any bytes). On error sets BOUNCER_ERROR_UNKNOWN_COMMAND or
 * BOUNCER_ERROR_SYNTAX and returns NULL. (transfer full) */
LmtpCommand *lmtp_command_parse(const char *line, gsize len, GError **error);
void lmtp_command_free(LmtpCommand *command);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LmtpCommand, lmtp_command_free)

const char *lmtp_verb_name(LmtpVerb verb);

/* lmtp_command_param - value of KEYWORD in params (case-insensitive), "" for
 * a keyword without value, NULL when absent. (transfer none) */
const char *lmtp_command_param(const LmtpCommand *command, const char *keyword);

#endif
