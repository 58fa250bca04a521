/* lmtp_command.c - the pure LMTP command-line parser. */
#include "common/lmtp_command.h"

#include <string.h>

#include "common/error.h"

typedef struct {
    const char *name;
    LmtpVerb    verb;
    gboolean    takes_argument;  /* FALSE: anything after the verb is a syntax error */
} LmtpVerbEntry;

static const LmtpVerbEntry lmtp_verbs[] = {
    { "LHLO", LMTP_VERB_LHLO, TRUE },
    { "MAIL", LMTP_VERB_MAIL, TRUE },
    { "RCPT", LMTP_VERB_RCPT, TRUE },
    { "DATA", LMTP_VERB_DATA, FALSE },
    { "RSET", LMTP_VERB_RSET, FALSE },
    { "NOOP", LMTP_VERB_NOOP, TRUE },
    { "QUIT", LMTP_VERB_QUIT, FALSE },
    { "VRFY", LMTP_VERB_VRFY, TRUE },
    { "HELO", LMTP_VERB_HELO, TRUE },
    { "EHLO", LMTP_VERB_EHLO, TRUE },
};

/* lmtp_verb_name - the verb as written on the wire. */
const char *
lmtp_verb_name(LmtpVerb verb)
{
    for (gsize i = 0; i < G_N_ELEMENTS(lmtp_verbs); i++) {
        if (lmtp_verbs[i].verb == verb)
            return lmtp_verbs[i].name;
    }
    return "?";
}

/* lmtp_command_free - accepts NULL. */
void
lmtp_command_free(LmtpCommand *command)
{
    if (command == NULL)
        return;
    g_free(command->argument);
    g_free(command->address);
    g_strfreev(command->params);
    g_free(command);
}

static gboolean
lmtp_syntax_error(GError **error, const char *what)
{
    g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_SYNTAX, "Syntax error: %s", what);
    return FALSE;
}

/* lmtp_parse_path - "<" [ A-d-l ":" ] Mailbox ">" or "<>" (RFC 5321 §4.1.2).
 * Sets *address_out (source route dropped) and advances *p past the '>'. */
static gboolean
lmtp_parse_path(const char **p, char **address_out, GError **error)
{
    const char *s = *p;
    gboolean quoted = FALSE;
    GString *address;

    if (*s != '<')
        return lmtp_syntax_error(error, "address must be in angle brackets");
    s++;
    /* Obsolete source route: "@a.example,@b.example:" is ignored. It ends
     * at the first ':' inside the brackets, and a mailbox must follow. */
    if (*s == '@') {
        while ((unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f && *s != ':' &&
               *s != '<' && *s != '>')
            s++;
        if (*s != ':' || s[1] == '>')
            return lmtp_syntax_error(error, "bad source route");
        s++;
    }
    address = g_string_new(NULL);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (quoted) {
            if (c == '\\' && s[1] != '\0') {
                g_string_append_c(address, c);
                c = (unsigned char)*++s;
            } else if (c == '"') {
                quoted = FALSE;
            }
        } else if (c == '"') {
            quoted = TRUE;
        } else if (c == '>') {
            break;
        } else if (c == '<' || c == ' ' || c == '\t') {
            g_string_free(address, TRUE);
            return lmtp_syntax_error(error, "bad character in address");
        }
        if (c < 0x20 || c == 0x7f) {
            g_string_free(address, TRUE);
            return lmtp_syntax_error(error, "control character in address");
        }
        g_string_append_c(address, c);
    }
    if (*s != '>' || quoted) {
        g_string_free(address, TRUE);
        return lmtp_syntax_error(error, "unterminated address");
    }
    if (address->len > 0 && (address->str[0] == '@' || address->str[address->len - 1] == '@')) {
        g_string_free(address, TRUE);
        return lmtp_syntax_error(error, "bad address");
    }
    *address_out = g_string_free(address, FALSE);
    *p = s + 1;
    return TRUE;
}

/* lmtp_parse_params - esmtp-param *(SP esmtp-param), keyword [= value]. */
static gboolean
lmtp_parse_params(const char *s, char ***params_out, GError **error)
{
    g_autoptr(GPtrArray) params = g_ptr_array_new_with_free_func(g_free);

    for (;;) {
        const char *start;

        while (*s == ' ')
            s++;
        if (*s == '\0')
            break;
        start = s;
        if (!g_ascii_isalnum(*s))
            return lmtp_syntax_error(error, "bad parameter");
        while (g_ascii_isalnum(*s) || *s == '-')
            s++;
        if (*s == '=') {
            s++;
            if (*s == ' ' || *s == '\0')
                return lmtp_syntax_error(error, "empty parameter value");
            while (*s != '\0' && *s != ' ') {
                if ((unsigned char)*s < 0x21 || *s == '=' || (unsigned char)*s > 0x7e)
                    return lmtp_syntax_error(error, "bad parameter value");
                s++;
            }
        } else if (*s != ' ' && *s != '\0') {
            return lmtp_syntax_error(error, "bad parameter");
        }
        g_ptr_array_add(params, g_strndup(start, s - start));
    }
    g_ptr_array_add(params, NULL);
    *params_out = (char **)g_ptr_array_free(g_steal_pointer(&params), FALSE);
    return TRUE;
}

/* lmtp_parse_mail_rcpt - "FROM:<path> params" or "TO:<path> params". */
/* lmtp_address_ok - the path at *p, as MAIL or RCPT wants it; *p is left
 * after it. */
static gboolean
lmtp_address_ok(LmtpCommand *command, const char **p, GError **error)
{
    if (!lmtp_parse_path(p, &command->address, error))
        return FALSE;
    if (**p != '\0' && **p != ' ')
        return lmtp_syntax_error(error, "garbage after address");
    if (command->verb == LMTP_VERB_RCPT && command->address[0] == '\0')
        return lmtp_syntax_error(error, "empty recipient");
    if (command->address[0] != '\0' && strchr(command->address, '@') == NULL &&
        !(command->verb == LMTP_VERB_RCPT && g_ascii_strcasecmp(command->address, "postmaster") == 0))
        return lmtp_syntax_error(error, "address needs a domain");
    return TRUE;
}

static gboolean
lmtp_parse_mail_rcpt(LmtpCommand *command, const char *arg, GError **error)
{
    const char *prefix = command->verb == LMTP_VERB_MAIL ? "FROM:" : "TO:";
    gsize plen = strlen(prefix);
    const char *p = arg;

    if (g_ascii_strncasecmp(p, prefix, plen) != 0)
        return lmtp_syntax_error(error, command->verb == LMTP_VERB_MAIL
                                            ? "use MAIL FROM:<address>"
                                            : "use RCPT TO:<address>");
    p += plen;
    /* RFC 5321 allows no space here, but common clients send one. */
    while (*p == ' ')
        p++;
    if (!lmtp_address_ok(command, &p, error)) {
        /* The address itself: the enhanced code says whose (RFC 3463
         * X.1.7 sender, X.1.3 recipient), as Postfix's smtpd does. */
        if (error != NULL && *error != NULL && (*error)->code == BOUNCER_ERROR_SYNTAX)
            (*error)->code = command->verb == LMTP_VERB_MAIL ? BOUNCER_ERROR_BAD_SENDER
                                                             : BOUNCER_ERROR_BAD_RECIPIENT;
        return FALSE;
    }
    return lmtp_parse_params(p, &command->params, error);
}

/* lmtp_command_parse - split verb and argument, then parse what the verb
 * takes. A line with a NUL byte can never be a valid command. */
LmtpCommand *
lmtp_command_parse(const char *line, gsize len, GError **error)
{
    g_autoptr(LmtpCommand) command = g_new0(LmtpCommand, 1);
    const LmtpVerbEntry *entry = NULL;
    g_autofree char *text = NULL;
    gsize verb_len = 0;
    const char *arg;

    if (memchr(line, '\0', len) != NULL) {
        lmtp_syntax_error(error, "NUL byte in command");
        return NULL;
    }
    text = g_strndup(line, len);
    while (verb_len < len && text[verb_len] != ' ')
        verb_len++;
    for (gsize i = 0; i < G_N_ELEMENTS(lmtp_verbs); i++) {
        if (verb_len == 4 && g_ascii_strncasecmp(text, lmtp_verbs[i].name, 4) == 0) {
            entry = &lmtp_verbs[i];
            break;
        }
    }
    if (entry == NULL) {
        g_set_error(error, BOUNCER_ERROR, BOUNCER_ERROR_UNKNOWN_COMMAND,
                    "Error: command not recognized");
        return NULL;
    }
    command->verb = entry->verb;
    arg = text + verb_len;
    while (*arg == ' ')
        arg++;
    /* Trailing spaces are a common client sloppiness, not an error. */
    g_strchomp((char *)arg);

    if (!entry->takes_argument) {
        if (*arg != '\0') {
            lmtp_syntax_error(error, "this command takes no arguments");
            return NULL;
        }
        return g_steal_pointer(&command);
    }
    switch (command->verb) {
    case LMTP_VERB_MAIL:
    case LMTP_VERB_RCPT:
        if (!lmtp_parse_mail_rcpt(command, arg, error))
            return NULL;
        break;
    case LMTP_VERB_LHLO:
    case LMTP_VERB_VRFY:
        if (*arg == '\0') {
            lmtp_syntax_error(error, command->verb == LMTP_VERB_LHLO ? "use LHLO domain"
                                                                     : "use VRFY address");
            return NULL;
        }
        command->argument = g_strdup(arg);
        break;
    default:
        command->argument = *arg != '\0' ? g_strdup(arg) : NULL;
        break;
    }
    return g_steal_pointer(&command);
}

/* lmtp_command_param - look a MAIL/RCPT parameter up by keyword. */
const char *
lmtp_command_param(const LmtpCommand *command, const char *keyword)
{
    gsize klen = strlen(keyword);

    for (guint i = 0; command->params != NULL && command->params[i] != NULL; i++) {
        const char *p = command->params[i];

        if (g_ascii_strncasecmp(p, keyword, klen) == 0 && (p[klen] == '=' || p[klen] == '\0'))
            return p[klen] == '=' ? p + klen + 1 : "";
    }
    return NULL;
}
