/* bounce_private.h - what the parser's own files share; nothing outside
 * bouncer/ includes this.
 *
 * The flow of one parse:
 *   bounce_mime_read()      bytes -> BounceParts (top headers, report parts,
 *                           human-readable text, returned original headers)
 *   bounce_dsn_read()       delivery-status fields -> recipients
 *   bounce_arf_read()       feedback-report fields -> recipients
 *   bounce_prose_read()     prose bounces -> recipients, with the rule tables
 *   bounce_classify()       each recipient: status, reply code, reason, hard
 */
#ifndef BOUNCER_BOUNCE_PRIVATE_H
#define BOUNCER_BOUNCE_PRIVATE_H

#include <glib.h>
#include <string.h>

#include "bouncer/bounce_report.h"

/* Named limits: nothing a sender controls may make us recurse or loop
 * without bound. */
#define BOUNCE_MAX_MIME_DEPTH     16        /* nested multiparts and message/rfc822 */
#define BOUNCE_MAX_PARTS          256       /* MIME parts looked at per message */
#define BOUNCE_MAX_TEXT           (256 * 1024) /* human-readable text kept */
#define BOUNCE_MAX_RECIPIENTS     1000
#define BOUNCE_MAX_DIAGNOSTIC     2048      /* bytes of one recipient's diagnostic */
/* Header-like fields read from one block. A delivery-status body is one
 * block holding every recipient's fields (6 to 10 each): the limit must
 * let BOUNCE_MAX_RECIPIENTS of them through, or recipients past the first
 * hundred would be lost without a word. */
#define BOUNCE_MAX_FIELDS         (BOUNCE_MAX_RECIPIENTS * 16 + 64)

/* --- header-like fields ("Name: value", folded) ---------------------- */

typedef struct {
    char *name;               /* as written (kept in the list's string chunk) */
    const char *raw;          /* the value as written, continuation lines joined */
    gsize raw_len;
    char *value;              /* unfolded, trimmed, valid UTF-8: made on first read */
} BounceField;

/* bounce_field_value - the field's value, folded (bounce_fold) the first
 * time it is asked for: most fields of a header block are never read. */
const char *bounce_field_value(const BounceField *field);
/* bounce_field_is - the field's name is name, ignoring ASCII case. Most
 * names differ in their first letter: those cost no call. */
static inline gboolean
bounce_field_is(const BounceField *field, const char *name)
{
    return (field->name[0] | 0x20) == (name[0] | 0x20) && g_ascii_strcasecmp(field->name, name) == 0;
}

typedef struct {
    GArray *fields;           /* BounceField */
    GStringChunk *text;       /* the fields' names and raw values */
} BounceFields;

BounceFields *bounce_fields_new(void);
void bounce_fields_free(BounceFields *fields);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BounceFields, bounce_fields_free)
void bounce_fields_add(BounceFields *fields, const char *name, gsize name_len,
                       const char *value, gsize value_len);
/* bounce_fields_parse - read "Name: value" lines from text (LF line ends)
 * until a blank line or len; returns how many bytes were consumed. Lines
 * that are not fields are skipped when lenient, else end the block. */
gsize bounce_fields_parse(BounceFields *fields, const char *text, gsize len, gboolean lenient);
/* bounce_text_find_name - the first "name:" in [p, end) with name compared
 * without ASCII case (name without the colon), or NULL; a pointer to its
 * first byte. Looks for the colons, which memchr finds fast. */
const char *bounce_text_find_name(const char *p, const char *end, const char *name);
/* bounce_fields_get - first value of name (case-insensitive), or NULL. (transfer none) */
const char *bounce_fields_get(const BounceFields *fields, const char *name);
/* bounce_fields_get_text - first value of name with its RFC 2047 encoded
 * words decoded, as valid UTF-8; NULL when there is none. What the
 * header rules read: a Subject "=?utf-8?q?R=C3=A9ponse_automatique?="
 * says "Réponse automatique". (transfer full) */
char *bounce_fields_get_text(const BounceFields *fields, const char *name);

/* --- the message taken apart ------------------------------------------ */

typedef enum {
    BOUNCE_REPORT_NONE,
    BOUNCE_REPORT_DSN,        /* message/delivery-status or global form */
    BOUNCE_REPORT_ARF,        /* message/feedback-report */
} BounceReportType;

typedef struct {
    BounceFields *headers;        /* the message's own header fields */
    char *subject;                /* its Subject, encoded words decoded, or NULL */
    const char *subject_bare;     /* the same without the tags a gateway puts
                                   * before it ("[EXTERNAL] ", "***SPAM*** "):
                                   * what rules anchored at its start read;
                                   * points into subject, or NULL */
    char *content_type;           /* top-level "type/subtype", lower case */
    BounceReportType report_type;
    GString *report;              /* delivery-status or feedback-report text */
    GString *text;                /* human-readable text, UTF-8, LF line ends */
    BounceFields *original;       /* returned original's headers, or NULL */
    GString *original_body;       /* start of the returned original's body */
    gboolean truncated;           /* limits hit while reading */
} BounceParts;

/* bounce_mime_normalize - LF line ends (from CRLF or CR), NUL bytes made
 * spaces, so that every later step sees one form. (transfer full) */
GByteArray *bounce_mime_normalize(const char *data, gsize len);
void bounce_parts_clear(BounceParts *parts);
/* bounce_text_to_utf8 - bytes in charset (NULL: unknown) as valid UTF-8. (transfer full) */
char *bounce_text_to_utf8(const char *data, gsize len, const char *charset);

/* How bounce_mime_read takes a message apart: the splitter of
 * bounce_split.c with GMime for what it declines (AUTO, what every caller
 * wants), or one of the two alone, for the tests that hold them to the
 * same answers. SPLIT fails with "declined" where AUTO would use GMime. */
typedef enum {
    BOUNCE_MIME_AUTO,
    BOUNCE_MIME_GMIME,
    BOUNCE_MIME_SPLIT,
} BounceMimeMode;

/* bounce_mime_read - take apart the message of len bytes at data, in the
 * form bounce_mime_normalize gives (LF line ends, no NUL byte), which need
 * not be followed by a NUL: it is read where it is, and stays the
 * caller's. FALSE with *error_out set (static string) when nothing can be
 * read. */
gboolean bounce_mime_read(const char *data, gsize len, BounceParts *parts, BounceMimeMode mode,
                          const char **error_out);

/* What one walk over the parts of a message keeps between parts. */
typedef struct {
    BounceParts *parts;
    GString *html;            /* HTML text, used only when there is no plain text */
    guint seen;               /* parts looked at */
} BounceMimeWalk;

/* What a leaf part is to the readers, decided from its type alone (and
 * from what the walk already has: the first report and original win). */
typedef enum {
    BOUNCE_LEAF_IGNORE,
    BOUNCE_LEAF_DSN,          /* message/delivery-status, global form */
    BOUNCE_LEAF_ARF,          /* message/feedback-report */
    BOUNCE_LEAF_HEADERS,      /* the returned original's headers as text */
    BOUNCE_LEAF_TEXT,         /* text/... */
    BOUNCE_LEAF_HTML,         /* text/html */
    BOUNCE_LEAF_MAYBE_DSN,    /* application/octet-stream: a delivery-status
                               * part some gateways relabel, taken as one
                               * only when its content reads as DSN fields */
} BounceLeafKind;

BounceLeafKind bounce_mime_leaf_kind(const BounceParts *parts, const char *type, gsize type_len,
                                     const char *subtype, gsize subtype_len);
/* bounce_mime_leaf_take - keep the decoded content of a leaf of that kind;
 * charset may be NULL. */
void bounce_mime_leaf_take(BounceMimeWalk *walk, BounceLeafKind kind, const guint8 *data, gsize len,
                           const char *charset);
/* bounce_mime_decode - a leaf's content with its transfer encoding undone
 * by GMime's own decoders (base64 when base64, else quoted-printable),
 * the blanks a transport added at the ends of quoted-printable lines
 * deleted first; both MIME readers decode through it. Its length in
 * *len_out. (transfer full) */
guint8 *bounce_mime_decode(const char *p, gsize len, gboolean base64, gsize *len_out);
/* bounce_split_read - the parts of the normalised message into walk, read
 * as GMime reads them but without GMime; the top-level headers are already
 * in walk->parts. FALSE when the message leaves the shapes it reads
 * exactly (walk->parts then needs a reset before GMime reads it). */
gboolean bounce_split_read(const char *data, gsize len, BounceMimeWalk *walk);

/* --- readers of the report formats ------------------------------------ */

BounceRecipient *bounce_recipient_new(void);
void bounce_recipient_free(BounceRecipient *rcpt);
void bounce_recipient_set(char **slot, const char *value);

/* bounce_addr_clean - "rfc822; <User@Example.COM>" -> "User@example.com",
 * NULL when no address is in value. (transfer full) */
char *bounce_addr_clean(const char *value);
/* bounce_fold - whitespace runs folded to one space, trimmed, capped. (transfer full) */
char *bounce_fold(const char *text, gsize len);

void bounce_dsn_read(BounceReport *report, const BounceParts *parts);
void bounce_dsn_read_text(BounceReport *report, const char *text, gsize len);
void bounce_arf_read(BounceReport *report, const BounceParts *parts);
/* bounce_arf_read_headers - a complaint that is only a returned message
 * (Hotmail JMRP): TRUE when the subject says so. */
gboolean bounce_arf_read_headers(BounceReport *report, const BounceParts *parts);
/* bounce_ses_read - an Amazon SES notification (JSON body); sets the kind.
 * TRUE when it was one and named recipients. */
gboolean bounce_ses_read(BounceReport *report, const BounceParts *parts);
/* bounce_prose_read - TRUE when the text reads as a bounce; recipients are
 * added to report; the returned original's headers found inline are kept
 * in parts->original. */
gboolean bounce_prose_read(BounceReport *report, BounceParts *parts);
/* A report's prose text read once for its recipient lines, to fill the DSN
 * recipients that have no diagnostic (bounce_prose.c). */
typedef struct BounceProseIndex BounceProseIndex;
BounceProseIndex *bounce_prose_index_new(const BounceParts *parts);
void bounce_prose_index_free(BounceProseIndex *index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BounceProseIndex, bounce_prose_index_free)
/* bounce_prose_index_diagnostic_for - the prose text's diagnostic for addr
 * (or for the only recipient when addr is NULL), or NULL. (transfer full) */
char *bounce_prose_index_diagnostic_for(BounceProseIndex *index, const char *addr);
/* bounce_mta_name - which MTA or gateway wrote the bounce (the MTA table:
 * a header only it sets, or its own wording), or NULL. (transfer none) */
const char *bounce_mta_name(const BounceParts *parts);
/* bounce_mta_preset - what the reporting MTA's own words (mta, may be
 * NULL) decide for one recipient before the generic rules: the reason
 * (rcpt->reason and ->rule) and the SMTP command its wording implies. */
void bounce_mta_preset(BounceRecipient *rcpt, const char *mta);
/* bounce_mta_preset_from - the reason the MTA's own words in text decide
 * for rcpt, when it has none yet. */
void bounce_mta_preset_from(BounceRecipient *rcpt, const char *mta, const char *text);
/* bounce_subject_is_forward - someone forwarded what follows ("Fwd:
 * Undelivered Mail Returned to Sender"): its first "Forwarded message"
 * line starts the bounce, not the returned original. */
gboolean bounce_subject_is_forward(const BounceParts *parts);
/* bounce_reason_is_final - reason says the address or its domain is gone
 * (userunknown, hostunknown, hasmoved, notaccept): the reasons that can
 * make a bounce hard. */
gboolean bounce_reason_is_final(const char *reason);
/* bounce_line_is_quoted_header - line (past blanks and "> ") is a header
 * line a mail client writes over what it quotes or forwards ("From:",
 * "To:", "Von:", "De :", "An:", "Gesendet:", ...): it names who got and
 * who sent that mail, never who failed. */
gboolean bounce_line_is_quoted_header(const char *line, gsize len);
/* bounce_subject_is_reply - someone answers what follows ("Re:", "AW:",
 * "SV:", "回复:", ...). */
gboolean bounce_subject_is_reply(const BounceParts *parts);
/* bounce_from_daemon - the message's sender is a mailer-daemon, postmaster
 * or the like (the BOUNCE_FROM table, on the decoded From); rule_out, when
 * not NULL, gets the rule's id. */
gboolean bounce_from_daemon(const BounceParts *parts, const char **rule_out);
/* bounce_autoreply_check - TRUE for an auto-reply (headers or subject). */
gboolean bounce_autoreply_check(const BounceParts *parts, const char **rule_out);
/* bounce_autoreply_generated - TRUE for a message marked
 * "Auto-Submitted: auto-generated" (or auto-notified) that is not from a
 * mailer-daemon: an automatic answer that does not call itself a reply
 * (ticket acknowledgements, "I have left"). Weaker than
 * bounce_autoreply_check: asked only of what is not a bounce. */
gboolean bounce_autoreply_generated(const BounceParts *parts, const char **rule_out);

/* --- rule tables ------------------------------------------------------- */

typedef enum {
    BOUNCE_TABLE_BOUNCE_SUBJECT,   /* subjects of bounces */
    BOUNCE_TABLE_BOUNCE_FROM,      /* senders of bounces */
    BOUNCE_TABLE_BOUNCE_BODY,      /* body wording that only bounces use */
    BOUNCE_TABLE_AUTOREPLY_SUBJECT,/* out-of-office subjects */
    BOUNCE_TABLE_ORIGINAL_MARK,    /* where the returned original starts */
    BOUNCE_TABLE_RECIPIENT,        /* lines naming a failed recipient */
    BOUNCE_TABLE_RECIPIENT_LAST,   /* recipient lines of the last resort */
    BOUNCE_TABLE_REASON,           /* diagnostic text -> reason */
    BOUNCE_TABLE_RHOST_REASON,     /* provider-specific wording -> reason */
    BOUNCE_TABLE_STATUS,           /* status codes inside diagnostic text */
    BOUNCE_TABLE_DELAYED,          /* wording of a delay notice */
    BOUNCE_TABLE_DELIVERED,        /* wording of a delivery that worked */
    BOUNCE_TABLE_DELIVERED_NOTICE, /* notices that only report successes */
    BOUNCE_TABLE_COMPLAINT_SUBJECT,/* complaints without an ARF part */
    BOUNCE_TABLE_COMMAND,          /* the SMTP command a failure answered */
    BOUNCE_TABLE_VENDOR_REASON,    /* a vendor's own error code -> reason, anywhere */
    BOUNCE_TABLE_MTA,              /* which MTA wrote the bounce (value: its name) */
    BOUNCE_TABLE_MTA_REASON,       /* that MTA's own wording -> reason (rhost: its name) */
    BOUNCE_TABLE_MTA_COMMAND,      /* that MTA's wording -> SMTP command (rhost: its name) */
    BOUNCE_TABLE_MDA_REASON,       /* a local delivery agent's line in the text -> reason */
    BOUNCE_TABLE_REMOTE_HOST,      /* the remote host a failure's text names (group 1) */
    BOUNCE_TABLE_COUNT
} BounceTable;

typedef struct {
    const char *id;           /* stable name, kept with each event */
    const char *value;        /* table-specific: a reason, a group name, ... */
    int group;                /* capture group of interest, 0 for none */
    const char *pattern;      /* PCRE2, matched case-insensitively */
    const char *rhost;        /* RHOST table: part of the remote host or the
                               * recipient's domain ('|' between several);
                               * REASON table: the SMTP command the rule is
                               * limited to (NULL: any); MTA table: the
                               * header matched (NULL: the text); MTA_REASON
                               * and MTA_COMMAND: the MTA's name */
} BounceRule;

typedef struct {
    const BounceRule *rule;
    gsize start, end;         /* of the capture group (or whole match) */
    gsize match_start, match_end; /* of the whole match */
} BounceMatch;

/* bounce_tables_get - the rules of one table (bounce_tables.c), in the
 * order they are tried: in the tables whose readers only ask which rule
 * matched, one rule per branch of a rule's top-level alternation, under
 * the rule's id. (transfer none) */
const BounceRule *bounce_tables_get(BounceTable table, gsize *count_out);
/* bounce_tables_written - the rules of one table as written, before they
 * are split by branch. (transfer none) */
const BounceRule *bounce_tables_written(BounceTable table, gsize *count_out);
/* bounce_pattern_branches - the offsets of the '|' that divide pattern at
 * its top level (up to max, in at): how many, or 0 when it is one branch
 * or its branches could not stand apart (bounce_tables.c). */
gsize bounce_pattern_branches(const char *pattern, gsize *at, gsize max);

/* bounce_tables_fingerprint - a hash of the rules' ids and patterns: tells
 * whether data worked out from a table at build time is still its own. */
guint64 bounce_tables_fingerprint(const BounceRule *rules, gsize count);

/* The options every rule pattern is compiled with. */
#define BOUNCE_RULES_PCRE2_OPTIONS \
    (PCRE2_CASELESS | PCRE2_UTF | PCRE2_MULTILINE | PCRE2_UCP)

/* A table's prefilter (bounce_prefilter.c): which of its rules could match a
 * text at all, from the literal words their patterns require. */
typedef struct BouncePrefilter BouncePrefilter;

#define BOUNCE_PREFILTER_MAX_KEYS 8
/* One of the words of a rule's prefilter. A rule's words come in branches
 * of clauses, stored in that order; a match of the rule contains a word of
 * every clause of (at least) one branch. Per word: the hashes of the
 * trigrams of it that are looked up in a text's map (none for a word of
 * one or two bytes), then, when they are all there, the word itself (lower
 * case), looked for in the text folded the same way. The word is kept in
 * its prefilter's block of text, by offset: a table of pointers written by
 * the build would be relocated at every start, a page fault for each of its
 * pages (docs/performance.md). */
typedef struct {
    guint32 keys[BOUNCE_PREFILTER_MAX_KEYS];
    guint8 nkeys;
    guint8 branch;            /* which of the rule's branches, from 0 */
    guint8 clause;            /* which of the branch's clauses, from 0 */
    guint16 len;
    guint32 text_at;          /* in BouncePrefilterData.text, NUL after it */
} BouncePrefilterWord;
/* What a prefilter works out from its words to look them up fast
 * (bounce_prefilter.c says what each array holds). Per word: key0,
 * key_end, clause_end, branch_end; the gates: gate_key (ngates),
 * gate_start (ngates + 1), gate_rules and gate_words (gate_start[ngates]);
 * always, (count + 63) / 64 words of a set of rules. */
typedef struct {
    const guint32 *key0;
    const guint32 *key_end;
    const guint32 *clause_end;
    const guint32 *branch_end;
    guint32 ngates;
    const guint32 *gate_key;
    const guint32 *gate_start;
    const guint32 *gate_rules;
    const guint32 *gate_words;
    const guint64 *always;
} BouncePrefilterIndex;
/* A table's prefilter as plain arrays: what the build writes out
 * (bounce_rules_gen), so that a process need not work it out again. */
typedef struct {
    gsize count;              /* rules */
    guint trigrams;           /* TRUE when a word has trigrams to look up */
    const guint32 *first;     /* per rule: its first word in words[] */
    const guint32 *nwords;    /* per rule, all branches: 0 = always tried */
    const BouncePrefilterWord *words;
    gsize nwords_total;
    const char *text;         /* every word's text, each ended by a NUL */
    const BouncePrefilterIndex *index;  /* the build's; NULL in a prefilter's own data */
} BouncePrefilterData;

/* bounce_prefilter_new - the words of each rule's pattern. (transfer full) */
BouncePrefilter *bounce_prefilter_new(const BounceRule *rules, gsize count);
/* bounce_prefilter_new_built - a prefilter over arrays that outlive it
 * (the ones the build wrote). (transfer full) */
BouncePrefilter *bounce_prefilter_new_built(const BouncePrefilterData *data);
/* bounce_prefilter_data - its arrays. (transfer none) */
const BouncePrefilterData *bounce_prefilter_data(const BouncePrefilter *filter);
/* bounce_prefilter_index - the arrays it worked out from them. (transfer none) */
const BouncePrefilterIndex *bounce_prefilter_index(const BouncePrefilter *filter);
void bounce_prefilter_free(BouncePrefilter *filter);

/* What the build works out once per rule table and compiles into the
 * program (bouncer/gen/bounce_rules_gen.c writes it): the fingerprint of
 * the table it was made from, the table's prefilter, and its patterns
 * compiled and serialized by PCRE2 (pcre2_serialize_encode, all in one
 * block). Used only when the fingerprint is that of the table compiled in
 * and PCRE2 takes the block back; otherwise the table is worked out at
 * run time as before. */
typedef struct {
    guint64 fingerprint;
    BouncePrefilterData prefilter;
    const guint8 *codes;
    gsize codes_len;
} BounceBuiltTable;
extern const BounceBuiltTable bounce_built_tables[BOUNCE_TABLE_COUNT];
/* bounce_prefilter_scan - maybe[i] (one byte per rule) FALSE when rule i
 * cannot match subject[0..len), TRUE when it could. */
void bounce_prefilter_scan(const BouncePrefilter *filter, const char *subject, gsize len,
                           guint8 *maybe);
/* A text as a prefilter reads it (its trigrams, its folded bytes), kept by
 * the calling thread: valid until the thread's next call of
 * bounce_prefilter_text or _scan, and only with the filter it was asked
 * of. NULL when the filter has no words. */
typedef struct BouncePrefilterText BouncePrefilterText;
const BouncePrefilterText *bounce_prefilter_text(const BouncePrefilter *filter,
                                                 const char *subject, gsize len);
/* bounce_prefilter_text_maybe - whether rule could match text, as _scan
 * would say: for callers that stop at the first rule that matches, or
 * want a few rules of a big table, so need not ask of the rest. A NULL
 * text (a filter without words) lets every rule run. */
gboolean bounce_prefilter_text_maybe(const BouncePrefilter *filter,
                                     const BouncePrefilterText *text, gsize rule);
/* bounce_prefilter_candidates - the rules (bit i of set, (rules + 63) / 64
 * words) that bounce_prefilter_text_maybe could let run on text; the
 * others it would not. For callers that ask about most rules of a table:
 * one pass over the table's first keys instead of a walk per rule. */
void bounce_prefilter_candidates(const BouncePrefilter *filter, const BouncePrefilterText *text,
                                 guint64 *set);

/* The byte pairs of a short string in a map of BOUNCE_PAIR_BITS bits: a
 * word none of whose pairs is set there is not in the string, and need not
 * be looked for (the provider rules' host names in a remote host, the
 * section words in a heading). */
#define BOUNCE_PAIR_BITS 1024

typedef struct {
    guint64 bits[BOUNCE_PAIR_BITS / 64];
} BounceBytePairs;

/* bounce_byte_pair - where the pair a, b falls in a BounceBytePairs. */
static inline guint
bounce_byte_pair(guchar a, guchar b)
{
    return ((guint)a * 131u + b) % BOUNCE_PAIR_BITS;
}

/* bounce_byte_pairs_of - the pairs of s. */
static inline void
bounce_byte_pairs_of(const char *s, BounceBytePairs *out)
{
    memset(out, 0, sizeof(*out));
    for (gsize i = 0; s[i] != '\0' && s[i + 1] != '\0'; i++) {
        guint k = bounce_byte_pair((guchar)s[i], (guchar)s[i + 1]);

        out->bits[k / 64] |= G_GUINT64_CONSTANT(1) << (k % 64);
    }
}

/* bounce_byte_pairs_has - pair k (bounce_byte_pair) is in pairs. */
static inline gboolean
bounce_byte_pairs_has(const BounceBytePairs *pairs, guint k)
{
    return (pairs->bits[k / 64] >> (k % 64) & 1) != 0;
}

/* bounce_rules_first - first rule of table that matches subject[0..len);
 * fills match_out. Thread-safe; sets tables up and compiles patterns on
 * first use. */
gboolean bounce_rules_first(BounceTable table, const char *subject, gsize len, BounceMatch *match_out);
/* bounce_rules_first_rhost - like first, over the rules whose rhost (or one
 * of its '|'-separated names) is a substring of host, compared without
 * case: for the MTA tables, whose rhost is an MTA's name ("McAfee",
 * "fml"). A host name goes to bounce_rules_first_domain. */
gboolean bounce_rules_first_rhost(BounceTable table, const char *host, const char *subject,
                                  gsize len, BounceMatch *match_out);
/* bounce_rules_first_domain - like first, over the rules whose rhost (or
 * one of its '|'-separated domain names) host is or lies under, compared
 * label by label without case: "mx.cox.net" is under "cox.net",
 * "mx.notcox.net" and "cox.net.example.org" are not. host may be a
 * field's whole value ("mx.example.com. (192.0.2.1, ...)"): its first
 * word is the name. */
gboolean bounce_rules_first_domain(BounceTable table, const char *host, const char *subject,
                                   gsize len, BounceMatch *match_out);
/* bounce_rules_try - whether rule number index of table matches subject;
 * fills match_out. */
gboolean bounce_rules_try(BounceTable table, gsize index, const char *subject, gsize len,
                          BounceMatch *match_out);
/* bounce_rules_try_text - bounce_rules_try, asking the table's prefilter
 * first: for a long text (a message's whole text) that most rules'
 * words are not in. */
gboolean bounce_rules_try_text(BounceTable table, gsize index, const char *subject, gsize len,
                               BounceMatch *match_out);
/* bounce_rules_earliest - from offset on, the match that starts first among
 * all rules of table (for scanning a text line by line). */
gboolean bounce_rules_earliest(BounceTable table, const char *subject, gsize len, gsize offset,
                               BounceMatch *match_out);
/* A JIT compile costs about as much as a hundred interpreted runs of a
 * typical rule over a typical diagnostic, and most rules run rarely: a
 * rule is JIT-compiled on its BOUNCE_RULES_JIT_AFTER-th run. On a virtual
 * machine where first touching a page is dear, the executable memory a
 * compile writes counts too: the sixth run rather than the second made
 * a corpus parse 2-3% faster there, for 2% more instructions (a rule run
 * five times or fewer stays interpreted; the long alternations run
 * dozens of times and are compiled as before). */
#define BOUNCE_RULES_JIT_AFTER 6

/* bounce_rules_warm_up - every table and its prefilter set up now. */
void bounce_rules_warm_up(void);
/* bounce_rules_stopped_runs - pattern runs a bound stopped (see
 * RULES_MATCH_LIMIT in bounce_rules.c) since the process started, in all
 * threads. Each is also counted in bouncer_rule_runs_stopped_total. */
guint64 bounce_rules_stopped_runs(void);
typedef void (*BounceRuleFunc)(const BounceMatch *match, gpointer data);
/* A BounceRuleWantFunc tells, as the walk reaches it, whether a rule's
 * match would still mean anything: a rule not wanted is not run. It is
 * asked only of rules whose words could be in the text, so it must not
 * count on being asked of every rule. */
typedef gboolean (*BounceRuleWantFunc)(const BounceRule *rule, gpointer data);
/* bounce_rules_each - in table order, call func for every rule of table
 * that wants (NULL: all) asks for and that matches. */
void bounce_rules_each(BounceTable table, const char *subject, gsize len, BounceRuleWantFunc wants,
                       BounceRuleFunc func, gpointer data);
/* bounce_rules_last - the match that starts last in the text, over all
 * rules (the last SMTP command of a transcript). */
gboolean bounce_rules_last(BounceTable table, const char *subject, gsize len, BounceMatch *match_out);
/* bounce_rules_find_codes - the RFC 3463 code and SMTP reply code in text.
 * Either out may come back "" when absent. */
void bounce_rules_find_codes(const char *text, char status_out[16], char reply_out[8]);
/* bounce_text_has_code - text carries an RFC 3463 status code, or an SMTP
 * reply code of a failure (4xx, 5xx). */
gboolean bounce_text_has_code(const char *text);

/* --- classification ----------------------------------------------------- */

/* bounce_command_name - the SMTP step a command word names, as recipients
 * carry it (RCPT, MAIL, DATA, HELO, CONN): "rcpt to", "MAIL FROM", "end of
 * data", "EHLO", "initial connection"; NULL for any other (QUIT, RSET). */
const char *bounce_command_name(const char *word, gsize len);

/* bounce_command_last - the SMTP step the last command named in text
 * answered (as bounce_command_name); BOUNCE_COMMAND_NONE when that
 * command is none of them (QUIT, RSET), NULL when text names none. */
const char *bounce_command_last(const char *text, gsize len);

/* BOUNCE_COMMAND_NONE - no step known: as a command_hint, the text names
 * commands for other recipients only. */
extern const char BOUNCE_COMMAND_NONE[];

/* bounce_classify - fill status/replycode/reason/hard/bounce_type/... of one
 * recipient from what the readers left in it; context is the message's
 * human-readable text (for the SMTP command of a transcript), may be NULL;
 * command_hint the command the text shows for this recipient (a session
 * transcript's, or its own paragraph's), BOUNCE_COMMAND_NONE when the text
 * names commands for others only, or NULL: the last one in context;
 * reporting_mta the report's Reporting-MTA, or NULL (a provider's rules go
 * by it when no remote host is known). */
void bounce_classify(BounceRecipient *rcpt, BounceKind kind, const char *context, gsize context_len,
                     const char *command_hint, const char *reporting_mta);
/* bounce_reason_from_status - the reason an RFC 3463 code stands for, or NULL. */
const char *bounce_reason_from_status(const char *status);

#endif
