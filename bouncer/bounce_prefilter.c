/* bounce_prefilter.c - which rules of a table could match a text, told in
 * one pass over it instead of running every pattern.
 *
 * Most rule patterns are long alternations of phrases that PCRE2 has to
 * try at every offset of the text, and most rules never match. From each
 * pattern we take sets of literal words (clauses) such that every match
 * contains a word of each ("user unknown" or "no such user" ...; or, for
 * "(?:mailbox|recipient) \S+ (?:not found|unknown)", one of the first two
 * and one of the last two), and from the text the set of 3-byte sequences
 * it has: a rule with a clause none of whose words can be there is not
 * tried.
 * A word whose sequences are all there (a word of one or two bytes has
 * none to look up) is then looked for whole, in the text folded as the
 * sequences were read: phrases of
 * common words ("error following") have their sequences in most texts,
 * and a search for the phrase costs less than running the pattern over
 * the text (two runs in five over the shared corpus were of rules whose
 * phrases were not there). A rule whose pattern we cannot read that way
 * (or whose words are too short to say anything) is always tried, so the
 * filter only ever skips patterns that could not have matched: the
 * answers are those of trying every rule. tests/unit/test_bounce_prefilter.c
 * and tests/fuzz/fuzz_rules.c check exactly that.
 *
 * Matching is caseless (PCRE2_CASELESS with PCRE2_UCP): words are kept in
 * lower case and the text is lowered as it is read. Under Unicode case
 * folding two characters outside ASCII match ASCII letters, the Kelvin
 * sign (k) and the long s (s); the text reader maps them (and the dotted
 * and dotless i, to be safe) to those letters. Any other non-ASCII
 * character matches no literal ASCII character of a pattern. The Russian
 * alphabet's letters (А-я, Ё, ё) are read in either case as one byte of
 * their own, in the patterns and the text alike, and so are the old
 * letter forms that PCRE2 folds onto them (U+1C80-U+1C86). */
#include <string.h>

#include "bouncer/bounce_private.h"

#define PF_MAX_EXACT      16    /* strings a sub-pattern may be spelled out as */
#define PF_MAX_EXACT_LEN  48
#define PF_MAX_KEYS       8     /* trigrams checked per word */
#define PF_MAX_CLAUSES    4     /* word sets kept per sub-pattern, the best */

/* What a sub-pattern says about the text it matches: the exact strings it
 * can match (NULL: too many or unknown), or else clauses: sets of words,
 * every match containing a word of each (NULL: nothing known). */
typedef struct {
    GPtrArray *exact;
    GPtrArray *all;           /* of GPtrArray of strings, best first */
} PfInfo;

typedef struct {
    const char *p;            /* where the pattern is read */
    gboolean failed;          /* syntax we do not follow: no words */
} PfParser;

typedef BouncePrefilterWord PfWord;
G_STATIC_ASSERT(PF_MAX_KEYS == BOUNCE_PREFILTER_MAX_KEYS);

struct BouncePrefilter {
    BouncePrefilterData data;
    gboolean built;           /* arrays compiled into the program, not ours */
    /* Per word, side by side: its first trigram key (0, which no key
     * is: none), on which most words fail, and where its clause and its
     * branch end (the rule's word after them, counted from its first):
     * a clause met needs no more of its words looked at, and a clause
     * not met, no more of its branch. key_end: the next word of the
     * clause with another key0.
     * The gates: each first key of a word in the first clause of a
     * branch (a rule runs only when one of its branches' first clauses
     * has a word there, and the word's first key is then in the text),
     * sorted, with the rules that have such a word (gate_words beside
     * gate_rules: the word, whose other keys must be there too), and the
     * rules that pass whatever the text (always: no words, or a
     * first-clause word too short for a key). A text's candidate rules
     * are found from the gates: one look-up per key of the table instead
     * of a walk per rule. */
    BouncePrefilterIndex ix;  /* built: the build's; else worked out here */
};

/* --- sets of strings ----------------------------------------------------- */

static GPtrArray *
pf_set_new(void)
{
    return g_ptr_array_new_with_free_func(g_free);
}

static void
pf_set_add(GPtrArray *set, const char *s)
{
    for (guint i = 0; i < set->len; i++) {
        if (strcmp(g_ptr_array_index(set, i), s) == 0)
            return;
    }
    g_ptr_array_add(set, g_strdup(s));
}

static gboolean
pf_set_has_empty(const GPtrArray *set)
{
    for (guint i = 0; i < set->len; i++) {
        if (*(const char *)g_ptr_array_index(set, i) == '\0')
            return TRUE;
    }
    return FALSE;
}

/* pf_set_weakest - length of the shortest string: how much the set says. */
static gsize
pf_set_weakest(const GPtrArray *set)
{
    gsize min = G_MAXSIZE;

    for (guint i = 0; i < set->len; i++)
        min = MIN(min, strlen(g_ptr_array_index(set, i)));
    return set->len > 0 ? min : 0;
}

static void
pf_info_clear(PfInfo *info)
{
    g_clear_pointer(&info->exact, g_ptr_array_unref);
    g_clear_pointer(&info->all, g_ptr_array_unref);
}

/* pf_info_word - the info of one exact string. */
static PfInfo
pf_info_string(const char *s)
{
    PfInfo info = { pf_set_new(), NULL };

    pf_set_add(info.exact, s);
    return info;
}

/* pf_set_better - whether word set a says more than b: its shortest word
 * longer, or as long with fewer words. */
static gboolean
pf_set_better(const GPtrArray *a, const GPtrArray *b)
{
    gsize wa = pf_set_weakest(a), wb = pf_set_weakest(b);

    return wa > wb || (wa == wb && a->len < b->len);
}

/* pf_set_within - every word of a is in b: a match with a word of a has
 * one of b. */
static gboolean
pf_set_within(const GPtrArray *a, const GPtrArray *b)
{
    for (guint i = 0; i < a->len; i++) {
        gboolean found = FALSE;

        for (guint j = 0; j < b->len && !found; j++)
            found = strcmp(g_ptr_array_index(a, i), g_ptr_array_index(b, j)) == 0;
        if (!found)
            return FALSE;
    }
    return TRUE;
}

static GPtrArray *
pf_clauses_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
}

/* pf_clauses_add - one more clause (taken); only the PF_MAX_CLAUSES that
 * say most are kept, best first (dropping a clause only lets more rules
 * run). An empty clause says nothing and a clause implied by one already
 * there adds nothing. */
static void
pf_clauses_add(GPtrArray *clauses, GPtrArray *clause)
{
    guint at = clauses->len;

    for (guint i = 0; i < clauses->len && clause->len > 0; i++) {
        if (pf_set_within(g_ptr_array_index(clauses, i), clause)) {
            g_ptr_array_set_size(clause, 0);
            break;
        }
    }
    if (clause->len == 0) {
        g_ptr_array_unref(clause);
        return;
    }
    while (at > 0 && pf_set_better(clause, g_ptr_array_index(clauses, at - 1)))
        at--;
    g_ptr_array_insert(clauses, (gint)at, clause);
    if (clauses->len > PF_MAX_CLAUSES)
        g_ptr_array_remove_index(clauses, clauses->len - 1);
}

/* pf_take_clauses - the clauses every match satisfies, or NULL; takes
 * them out of info. (transfer full) */
static GPtrArray *
pf_take_clauses(PfInfo *info)
{
    GPtrArray *out = NULL;

    if (info->exact != NULL && !pf_set_has_empty(info->exact)) {
        out = pf_clauses_new();
        pf_clauses_add(out, g_steal_pointer(&info->exact));
    } else if (info->exact == NULL && info->all != NULL) {
        out = g_steal_pointer(&info->all);
    }
    pf_info_clear(info);
    if (out != NULL && out->len == 0)
        g_clear_pointer(&out, g_ptr_array_unref);
    return out;
}

/* pf_clauses_join - both a's clauses and b's (a match of a sequence has
 * what each part's matches have). Consumes both; either may be NULL. */
static GPtrArray *
pf_clauses_join(GPtrArray *a, GPtrArray *b)
{
    if (a == NULL)
        return b;
    if (b != NULL) {
        while (b->len > 0)
            pf_clauses_add(a, g_ptr_array_steal_index(b, 0));
        g_ptr_array_unref(b);
    }
    return a;
}

/* pf_concat - a followed by b. Consumes both. */
static PfInfo
pf_concat(PfInfo a, PfInfo b)
{
    PfInfo out = { NULL, NULL };

    /* the empty string on either side: the other one as it is */
    if (a.exact != NULL && a.exact->len == 1 && *(const char *)g_ptr_array_index(a.exact, 0) == '\0') {
        pf_info_clear(&a);
        return b;
    }
    if (b.exact != NULL && b.exact->len == 1 && *(const char *)g_ptr_array_index(b.exact, 0) == '\0') {
        pf_info_clear(&b);
        return a;
    }

    if (a.exact != NULL && b.exact != NULL && a.exact->len * b.exact->len <= PF_MAX_EXACT) {
        gboolean too_long = FALSE;

        out.exact = pf_set_new();
        for (guint i = 0; i < a.exact->len; i++) {
            for (guint j = 0; j < b.exact->len; j++) {
                g_autofree char *s = g_strconcat(g_ptr_array_index(a.exact, i),
                                                 g_ptr_array_index(b.exact, j), NULL);

                too_long = too_long || strlen(s) > PF_MAX_EXACT_LEN;
                pf_set_add(out.exact, s);
            }
        }
        if (too_long) {
            /* still every match, but no longer worth joining further */
            out.all = pf_take_clauses(&out);
        }
    } else {
        out.all = pf_clauses_join(pf_take_clauses(&a), pf_take_clauses(&b));
    }
    pf_info_clear(&a);
    pf_info_clear(&b);
    return out;
}

/* pf_alternate - a or b. Consumes both. */
static PfInfo
pf_alternate(PfInfo a, PfInfo b)
{
    PfInfo out = { NULL, NULL };
    GPtrArray *ra, *rb;

    if (a.exact != NULL && b.exact != NULL && a.exact->len + b.exact->len <= PF_MAX_EXACT) {
        out.exact = g_steal_pointer(&a.exact);
        for (guint i = 0; i < b.exact->len; i++)
            pf_set_add(out.exact, g_ptr_array_index(b.exact, i));
    } else {
        /* (a1 and a2) or (b1 and b2) = (a1 or b1) and (a1 or b2) and ... */
        ra = pf_take_clauses(&a);
        rb = pf_take_clauses(&b);
        if (ra != NULL && rb != NULL) {
            out.all = pf_clauses_new();
            for (guint i = 0; i < ra->len; i++) {
                for (guint j = 0; j < rb->len; j++) {
                    GPtrArray *one = pf_set_new();
                    const GPtrArray *x = g_ptr_array_index(ra, i), *y = g_ptr_array_index(rb, j);

                    for (guint k = 0; k < x->len; k++)
                        pf_set_add(one, g_ptr_array_index(x, k));
                    for (guint k = 0; k < y->len; k++)
                        pf_set_add(one, g_ptr_array_index(y, k));
                    pf_clauses_add(out.all, one);
                }
            }
        }
        if (ra != NULL)
            g_ptr_array_unref(ra);
        if (rb != NULL)
            g_ptr_array_unref(rb);
    }
    pf_info_clear(&a);
    pf_info_clear(&b);
    return out;
}

/* --- reading a PCRE2 pattern -------------------------------------------- */

static PfInfo pf_parse_alternation(PfParser *ps);

/* pf_cyrillic - the byte a letter of the Russian alphabet (U+0410-U+044F,
 * U+0401, U+0451), of either case, is read as: 0x80 and the small
 * letter's place from а, ё 0xA0. Bytes that also begin or continue other
 * characters: a word of them found where there is none only costs a
 * pattern run. */
static inline guchar
pf_cyrillic(guint32 u)
{
    if (u == 0x0401 || u == 0x0451)
        return 0xA0;
    return (guchar)(0x80 + ((u - 0x0410) & 0x1F));
}

/* pf_literal - the bytes a literal character c is matched as (caseless):
 * ASCII lowered; the Russian alphabet's letters as pf_cyrillic's byte;
 * CJK punctuation, kana, ideographs and hangul, which have no case, as
 * their UTF-8 bytes; 0 bytes for any other character, whose case
 * variants we do not follow. */
static gsize
pf_literal(guint32 c, char out[8])
{
    if (c == 0)
        return 0;
    if (c < 128) {
        out[0] = g_ascii_tolower((char)c);
        return 1;
    }
    if ((c >= 0x0410 && c <= 0x044F) || c == 0x0401 || c == 0x0451) {
        out[0] = (char)pf_cyrillic(c);
        return 1;
    }
    if ((c >= 0x3000 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF)
        || (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xFF61 && c <= 0xFF9F))
        return g_unichar_to_utf8(c, out);
    return 0;
}

/* pf_char - one literal character. */
static PfInfo
pf_char(guint32 c)
{
    char s[8] = { 0 };

    if (pf_literal(c, s) == 0)
        return (PfInfo){ NULL, NULL };
    return pf_info_string(s);
}

/* pf_utf8 - the UTF-8 character at ps->p (moved past it), G_MAXUINT32 when
 * malformed. */
static guint32
pf_utf8(PfParser *ps)
{
    const char *start = ps->p;
    gunichar c;

    ps->p++;
    while (((guchar)*ps->p & 0xC0) == 0x80)
        ps->p++;
    c = g_utf8_get_char_validated(start, ps->p - start);
    return c == (gunichar)-1 || c == (gunichar)-2 ? G_MAXUINT32 : c;
}

/* pf_hex - \xHH or \x{HHHH}; G_MAXUINT32 when malformed. */
static guint32
pf_hex(PfParser *ps)
{
    guint32 v = 0;
    int n = 0;

    if (*ps->p == '{') {
        ps->p++;
        while (g_ascii_isxdigit(*ps->p) && n < 8) {
            v = v * 16 + g_ascii_xdigit_value(*ps->p++);
            n++;
        }
        if (*ps->p != '}' || n == 0)
            return G_MAXUINT32;
        ps->p++;
        return v;
    }
    while (g_ascii_isxdigit(*ps->p) && n < 2) {
        v = v * 16 + g_ascii_xdigit_value(*ps->p++);
        n++;
    }
    return v;
}

/* pf_escape - after a backslash outside a class: a literal, an assertion
 * (empty), a class of characters or a back reference (unknown). */
static PfInfo
pf_escape(PfParser *ps)
{
    char c = *ps->p;

    if (c == '\0') {
        ps->failed = TRUE;
        return (PfInfo){ NULL, NULL };
    }
    ps->p++;
    switch (c) {
    case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
        return pf_info_string("");
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S': case 'h': case 'H':
    case 'v': case 'V': case 'R': case 'N': case 'X': case 'C':
        return (PfInfo){ NULL, NULL };
    case 'p': case 'P':
        if (*ps->p == '{') {
            while (*ps->p != '\0' && *ps->p != '}')
                ps->p++;
            if (*ps->p == '}')
                ps->p++;
            else
                ps->failed = TRUE;
        } else if (*ps->p != '\0') {
            ps->p++;
        }
        return (PfInfo){ NULL, NULL };
    case 't': return pf_char('\t');
    case 'n': return pf_char('\n');
    case 'r': return pf_char('\r');
    case 'f': return pf_char('\f');
    case 'e': return pf_char(27);
    case 'a': return pf_char(7);
    case 'x': {
        guint32 v = pf_hex(ps);

        if (v == G_MAXUINT32)
            ps->failed = TRUE;
        return pf_char(v);
    }
    default:
        break;
    }
    if (g_ascii_isdigit(c) || c == 'g' || c == 'k' || c == 'c' || c == 'o' || c == 'Q'
        || c == 'E' || c == 'u' || c == 'U' || c == 'L' || c == 'l' || c == 'N') {
        /* back references, octal, control letters, \Q..\E: not followed */
        ps->failed = TRUE;
        return (PfInfo){ NULL, NULL };
    }
    if (g_ascii_isalnum(c)) {
        ps->failed = TRUE;
        return (PfInfo){ NULL, NULL };
    }
    return pf_char((guchar)c);       /* an escaped punctuation character */
}

/* pf_class - a [...] class: its characters when there are a few ASCII
 * ones, else one unknown character. */
static PfInfo
pf_class(PfParser *ps)
{
    gboolean negated = FALSE, unknown = FALSE;
    guint8 seen[128] = { 0 };
    gsize distinct = 0;
    gboolean first = TRUE;

    if (*ps->p == '^') {
        negated = TRUE;
        ps->p++;
    }
    for (;;) {
        guint32 lo;
        char c = *ps->p;

        if (c == '\0') {
            ps->failed = TRUE;
            return (PfInfo){ NULL, NULL };
        }
        if (c == ']' && !first) {
            ps->p++;
            break;
        }
        first = FALSE;
        if (c == '[' && ps->p[1] == ':') {
            const char *end = strstr(ps->p + 2, ":]");

            if (end == NULL) {
                ps->failed = TRUE;
                return (PfInfo){ NULL, NULL };
            }
            ps->p = end + 2;
            unknown = TRUE;
            continue;
        }
        if (c == '\\') {
            char e = ps->p[1];

            ps->p += 2;
            if (e == 'x') {
                lo = pf_hex(ps);
                if (lo == G_MAXUINT32) {
                    ps->failed = TRUE;
                    return (PfInfo){ NULL, NULL };
                }
            } else if (e == 't') {
                lo = '\t';
            } else if (e == 'n') {
                lo = '\n';
            } else if (e == 'r') {
                lo = '\r';
            } else if (e != '\0' && !g_ascii_isalnum(e)) {
                lo = (guchar)e;
            } else if (e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S'
                       || e == 'h' || e == 'H' || e == 'v' || e == 'V') {
                unknown = TRUE;
                continue;
            } else {
                ps->failed = TRUE;
                return (PfInfo){ NULL, NULL };
            }
        } else if ((guchar)c >= 0x80) {
            /* a UTF-8 character: skip its continuation bytes */
            ps->p++;
            while (((guchar)*ps->p & 0xC0) == 0x80)
                ps->p++;
            unknown = TRUE;
            continue;
        } else {
            lo = (guchar)c;
            ps->p++;
        }
        if (*ps->p == '-' && ps->p[1] != ']' && ps->p[1] != '\0') {
            /* a range lo-hi */
            guint32 hi;

            ps->p++;
            if (*ps->p == '\\' || (guchar)*ps->p >= 0x80 || *ps->p == '[') {
                ps->failed = TRUE;
                return (PfInfo){ NULL, NULL };
            }
            hi = (guchar)*ps->p++;
            if (hi < lo || hi - lo > 16 || hi >= 128) {
                unknown = TRUE;
                continue;
            }
            for (guint32 x = lo; x <= hi; x++) {
                guint8 l = (guint8)g_ascii_tolower((char)x);

                distinct += !seen[l];
                seen[l] = 1;
            }
            continue;
        }
        if (lo >= 128 || lo == 0) {
            unknown = TRUE;
            continue;
        }
        {
            guint8 l = (guint8)g_ascii_tolower((char)lo);

            distinct += !seen[l];
            seen[l] = 1;
        }
    }
    if (negated || unknown || distinct == 0 || distinct > 6)
        return (PfInfo){ NULL, NULL };
    {
        PfInfo info = { pf_set_new(), NULL };

        for (int x = 1; x < 128; x++) {
            char s[2] = { (char)x, '\0' };

            if (seen[x])
                pf_set_add(info.exact, s);
        }
        return info;
    }
}

/* pf_group - after "(": the group's info; lookarounds match nothing,
 * but what a positive lookahead or lookbehind requires the text has. */
static PfInfo
pf_group(PfParser *ps)
{
    gboolean lookaround = FALSE, positive = FALSE;
    PfInfo inner;

    if (*ps->p == '*') {
        ps->failed = TRUE;              /* (*VERB) */
        return (PfInfo){ NULL, NULL };
    }
    if (*ps->p == '?') {
        const char *q = ps->p + 1;

        if (*q == ':' || *q == '>' || *q == '|') {
            ps->p = q + 1;
        } else if (*q == '=' || *q == '!') {
            lookaround = TRUE;
            positive = *q == '=';
            ps->p = q + 1;
        } else if (*q == '<' && (q[1] == '=' || q[1] == '!')) {
            lookaround = TRUE;
            positive = q[1] == '=';
            ps->p = q + 2;
        } else if ((*q == '<' && g_ascii_isalpha(q[1])) || (*q == 'P' && q[1] == '<') || *q == '\'') {
            char close = *q == '\'' ? '\'' : '>';
            const char *end = strchr(q + 1, close);

            if (end == NULL) {
                ps->failed = TRUE;
                return (PfInfo){ NULL, NULL };
            }
            ps->p = end + 1;
        } else {
            ps->failed = TRUE;          /* flags, comments, conditions, recursion */
            return (PfInfo){ NULL, NULL };
        }
    }
    inner = pf_parse_alternation(ps);
    if (*ps->p != ')') {
        ps->failed = TRUE;
        pf_info_clear(&inner);
        return (PfInfo){ NULL, NULL };
    }
    ps->p++;
    if (lookaround && positive) {
        /* A positive lookaround matches no bytes of its own, but what
         * it asserts is in the subject (PCRE2 looks neither past its end
         * nor before its start): its words are the text's, though not
         * next to the match's own. */
        PfInfo out = { NULL, pf_take_clauses(&inner) };

        if (out.all == NULL)
            return pf_info_string("");
        return out;
    }
    if (lookaround) {
        pf_info_clear(&inner);
        return pf_info_string("");
    }
    return inner;
}

/* pf_atom - one atom of a sequence. */
static PfInfo
pf_atom(PfParser *ps)
{
    char c = *ps->p;

    if ((guchar)c >= 0x80) {
        guint32 u = pf_utf8(ps);

        return u == G_MAXUINT32 ? (PfInfo){ NULL, NULL } : pf_char(u);
    }
    ps->p++;
    switch (c) {
    case '(':
        return pf_group(ps);
    case '[':
        return pf_class(ps);
    case '\\':
        return pf_escape(ps);
    case '.':
        return (PfInfo){ NULL, NULL };
    case '^':
    case '$':
        return pf_info_string("");
    case '*': case '+': case '?': case '{':
        ps->failed = TRUE;              /* a quantifier with nothing before it */
        return (PfInfo){ NULL, NULL };
    default:
        return pf_char((guchar)c);
    }
}

/* pf_quantifier - after an atom: its minimum count (-1: no quantifier);
 * *many TRUE when it may occur more than once ("*", "+", "{0,3}"). */
static int
pf_quantifier(PfParser *ps, gboolean *many)
{
    int min = -1;

    *many = FALSE;
    switch (*ps->p) {
    case '?':
        min = 0;
        ps->p++;
        break;
    case '*':
        min = 0;
        *many = TRUE;
        ps->p++;
        break;
    case '+':
        min = 1;
        *many = TRUE;
        ps->p++;
        break;
    case '{': {
        const char *q = ps->p + 1;
        int n = 0, digits = 0;

        while (g_ascii_isdigit(*q) && digits < 6) {
            n = n * 10 + (*q++ - '0');
            digits++;
        }
        if (digits == 0) {
            ps->failed = TRUE;          /* "{" as a literal, or "{,m}" */
            return -1;
        }
        if (*q == ',') {
            int m = 0, mdigits = 0;

            q++;
            while (g_ascii_isdigit(*q)) {
                m = mdigits < 6 ? m * 10 + (*q - '0') : m;
                mdigits++;
                q++;
            }
            *many = mdigits == 0 || m > 1;      /* "{n,}" or "{n,m}" with m > 1 */
        } else {
            *many = n > 1;
        }
        if (*q != '}') {
            ps->failed = TRUE;
            return -1;
        }
        ps->p = q + 1;
        min = n;
        break;
    }
    default:
        return -1;
    }
    if (*ps->p == '?' || *ps->p == '+')
        ps->p++;                        /* lazy or possessive */
    return min;
}

/* A run of literal characters, read before it becomes one string. */
typedef struct {
    char bytes[PF_MAX_EXACT_LEN * 2 + 8];
    gsize len;
} PfRun;

/* pf_run_char - when a plain literal character (not quantified) is at
 * ps->p and run has room: append its bytes to run and move past it. */
static gboolean
pf_run_char(PfParser *ps, PfRun *run)
{
    const char *p = ps->p, *next;
    char bytes[8] = { 0 };
    gsize n;

    if ((guchar)*p >= 0x80) {
        PfParser probe = *ps;
        guint32 u = pf_utf8(&probe);

        if (u == G_MAXUINT32 || (n = pf_literal(u, bytes)) == 0)
            return FALSE;
        next = probe.p;
    } else if (*p == '\\' && p[1] != '\0' && !g_ascii_isalnum(p[1])) {
        bytes[0] = p[1];
        n = 1;
        next = p + 2;
    } else if (*p != '\0' && strchr("\\()[].^$|*+?{", *p) == NULL) {
        bytes[0] = g_ascii_tolower(*p);
        n = 1;
        next = p + 1;
    } else {
        return FALSE;
    }
    if (*next == '?' || *next == '*' || *next == '+' || *next == '{'
        || run->len + n >= sizeof(run->bytes))
        return FALSE;
    memcpy(run->bytes + run->len, bytes, n);
    run->len += n;
    run->bytes[run->len] = '\0';
    ps->p = next;
    return TRUE;
}

/* pf_parse_sequence - atoms up to '|' or ')'. */
static PfInfo
pf_parse_sequence(PfParser *ps)
{
    PfInfo info = pf_info_string("");
    PfRun run;

    while (!ps->failed && *ps->p != '\0' && *ps->p != '|' && *ps->p != ')') {
        PfInfo atom;
        gboolean many;
        int min;

        run.len = 0;
        if (pf_run_char(ps, &run)) {
            while (pf_run_char(ps, &run))
                ;
            info = pf_concat(info, pf_info_string(run.bytes));
            continue;
        }
        atom = pf_atom(ps);
        min = ps->failed ? -1 : pf_quantifier(ps, &many);

        if (min == 0) {
            /* may be absent: only the empty string is sure; and when it
             * may also repeat ("0*" in "oxsus0*1_101"), none of its exact
             * strings is, so the words around it are apart */
            if (atom.exact != NULL && !many) {
                pf_set_add(atom.exact, "");
            } else {
                pf_info_clear(&atom);
            }
            g_clear_pointer(&atom.all, g_ptr_array_unref);
        } else if (min > 0) {
            /* at least once: what one occurrence must contain */
            GPtrArray *req = pf_take_clauses(&atom);

            atom.all = req;
        }
        info = pf_concat(info, atom);
    }
    return info;
}

static PfInfo
pf_parse_alternation(PfParser *ps)
{
    PfInfo info = pf_parse_sequence(ps);

    while (!ps->failed && *ps->p == '|') {
        ps->p++;
        info = pf_alternate(info, pf_parse_sequence(ps));
    }
    return info;
}

/* pf_clause_tidy - in a clause, a word that contains another one says
 * nothing more. */
static void
pf_clause_tidy(GPtrArray *words)
{
    for (guint i = 0; i < words->len;) {
        const char *w = g_ptr_array_index(words, i);
        gboolean redundant = FALSE;

        for (guint j = 0; j < words->len && !redundant; j++) {
            const char *o = g_ptr_array_index(words, j);

            redundant = j != i && strstr(w, o) != NULL && (strlen(o) < strlen(w) || j < i);
        }
        if (redundant)
            g_ptr_array_remove_index(words, i);
        else
            i++;
    }
}

/* pf_words - what every match of pattern has, as branches: each one
 * clauses (sets of words, a word of each in the match), and a match
 * meets every clause of at least one branch. The pattern's top-level
 * alternatives are its branches, less those of one clause, which make one
 * branch together (one word of any of their clauses). NULL when nothing
 * is sure. (transfer full: of GPtrArray of clauses) */
static GPtrArray *
pf_words(const char *pattern)
{
    PfParser ps = { pattern, FALSE };
    g_autoptr(GPtrArray) branches = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    GPtrArray *single = NULL;          /* the words of the one-clause branches */
    GPtrArray *out;

    for (;;) {
        PfInfo info = pf_parse_sequence(&ps);
        GPtrArray *clauses = ps.failed ? NULL : pf_take_clauses(&info);

        pf_info_clear(&info);
        if (clauses == NULL)
            return NULL;        /* an alternative we know nothing of */
        g_ptr_array_add(branches, clauses);
        if (*ps.p != '|')
            break;
        ps.p++;
    }
    if (*ps.p != '\0')
        return NULL;
    out = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
    for (guint b = 0; b < branches->len; b++) {
        GPtrArray *clauses = g_ptr_array_index(branches, b);

        if (clauses->len == 1) {
            const GPtrArray *words = g_ptr_array_index(clauses, 0);

            if (single == NULL)
                single = pf_set_new();
            for (guint k = 0; k < words->len; k++)
                pf_set_add(single, g_ptr_array_index(words, k));
        } else {
            g_ptr_array_add(out, g_ptr_array_ref(clauses));
        }
    }
    if (single != NULL) {
        GPtrArray *clauses = pf_clauses_new();

        g_ptr_array_add(clauses, single);
        g_ptr_array_insert(out, 0, clauses);
    }
    if (out->len > G_MAXUINT8) {
        g_ptr_array_unref(out);
        return NULL;            /* too many branches to number: always run */
    }
    for (guint b = 0; b < out->len; b++) {
        GPtrArray *clauses = g_ptr_array_index(out, b);

        for (guint c = 0; c < clauses->len; c++)
            pf_clause_tidy(g_ptr_array_index(clauses, c));
    }
    return out;
}

/* --- trigram keys -------------------------------------------------------- */

/* pf_key - the hash of an n-gram (its n bytes in the low bits of gram;
 * only trigrams are used now); a text's map of 2^b bits uses the top b
 * bits. */
static inline guint32
pf_key(guint32 n, guint32 gram)
{
    return (n << 24 | gram) * 0x9E3779B1u;
}

/* pf_word_keys - the trigrams of a word checked in a text. A word of one
 * or two bytes has none: it is looked for whole straight away, and a
 * search for one byte costs less than the map of its bytes would. */
static void
pf_word_keys(const char *word, PfWord *out)
{
    gsize len = strlen(word);
    const guchar *w = (const guchar *)word;

    out->nkeys = 0;
    out->len = (guint16)len;
    if (len >= 3) {
        /* Every third trigram, up to the last: a word that is not in the
         * text rarely has all of them there. */
        gsize last = len - 3, step = last / (PF_MAX_KEYS - 1) + 1;

        for (gsize at = 0;; at = MIN(at + MAX(step, 3), last)) {
            out->keys[out->nkeys++] = pf_key(3, (guint32)w[at] << 16 | (guint32)w[at + 1] << 8
                                                   | w[at + 2]);
            if (at == last || out->nkeys == PF_MAX_KEYS)
                break;
        }
    }
}

/* pf_word_cmp - words by first key, then text (in the block of text):
 * the same order every build. */
static int
pf_word_cmp(const void *a, const void *b, void *text)
{
    const PfWord *x = a, *y = b;
    guint32 kx = x->nkeys > 0 ? x->keys[0] : 0, ky = y->nkeys > 0 ? y->keys[0] : 0;

    if (kx != ky)
        return kx < ky ? -1 : 1;
    return strcmp((const char *)text + x->text_at, (const char *)text + y->text_at);
}

/* pf_keys_first - pf->ix.key0, key_end, clause_end and branch_end from its
 * words.
 * pf_key() is never 0: its factor is odd and what it multiplies has bit
 * 24 or 25 set. */
static void
pf_keys_first(BouncePrefilter *pf)
{
    const PfWord *words = pf->data.words;
    guint32 *key0 = g_new(guint32, pf->data.nwords_total + 1);
    guint32 *key_end = g_new(guint32, pf->data.nwords_total + 1);
    guint32 *clause_end = g_new(guint32, pf->data.nwords_total + 1);
    guint32 *branch_end = g_new(guint32, pf->data.nwords_total + 1);

    for (gsize i = 0; i < pf->data.nwords_total; i++)
        key0[i] = words[i].nkeys > 0 ? words[i].keys[0] : 0;
    for (gsize r = 0; r < pf->data.count; r++) {
        guint32 first = pf->data.first[r], n = pf->data.nwords[r];
        guint32 kend = n, cend = n, bend = n;

        for (guint32 j = n; j-- > 0;) {
            const PfWord *w = &words[first + j], *next = w + 1;

            if (j + 1 < n && next->branch != w->branch)
                kend = cend = bend = j + 1;
            else if (j + 1 < n && next->clause != w->clause)
                kend = cend = j + 1;
            else if (j + 1 < n && key0[first + j + 1] != key0[first + j])
                kend = j + 1;
            key_end[first + j] = kend;
            clause_end[first + j] = cend;
            branch_end[first + j] = bend;
        }
    }
    pf->ix.key0 = key0;
    pf->ix.key_end = key_end;
    pf->ix.clause_end = clause_end;
    pf->ix.branch_end = branch_end;
}

typedef struct {
    guint32 key, rule, word;
} PfGate;

static int
pf_gate_cmp(const void *a, const void *b)
{
    const PfGate *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    return x->word < y->word ? -1 : x->word > y->word;
}

/* pf_gates_make - pf's gates and always-set, from its words and ends. */
static void
pf_gates_make(BouncePrefilter *pf)
{
    GArray *gates = g_array_new(FALSE, FALSE, sizeof(PfGate));
    gsize words = (pf->data.count + 63) / 64;
    guint64 *always_set = g_new0(guint64, words + 1);
    guint32 *gate_key, *gate_start, *gate_rules, *gate_words;
    guint32 n = 0;

    for (gsize r = 0; r < pf->data.count; r++) {
        guint32 first = pf->data.first[r], nw = pf->data.nwords[r];
        gboolean always = nw == 0;

        for (guint32 j = 0; j < nw && !always; j = pf->ix.branch_end[first + j]) {
            for (guint32 k = j; k < pf->ix.clause_end[first + j]; k++) {
                PfGate g = { pf->ix.key0[first + k], (guint32)r, first + k };

                if (g.key == 0) {
                    always = TRUE;
                    break;
                }
                g_array_append_val(gates, g);
            }
        }
        if (always)
            always_set[r / 64] |= G_GUINT64_CONSTANT(1) << (r % 64);
    }
    if (gates->len > 0)
        qsort(gates->data, gates->len, sizeof(PfGate), pf_gate_cmp);
    gate_key = g_new(guint32, gates->len + 1);
    gate_start = g_new(guint32, gates->len + 2);
    gate_rules = g_new(guint32, gates->len + 1);
    gate_words = g_new(guint32, gates->len + 1);
    for (guint i = 0, out = 0; i < gates->len; i++) {
        const PfGate *g = &g_array_index(gates, PfGate, i);

        if (n == 0 || gate_key[n - 1] != g->key) {
            gate_key[n] = g->key;
            gate_start[n] = out;
            n++;
        }
        gate_rules[out] = g->rule;
        gate_words[out++] = g->word;
        gate_start[n] = out;
    }
    if (n == 0)
        gate_start[0] = 0;
    pf->ix.ngates = n;
    pf->ix.gate_key = gate_key;
    pf->ix.gate_start = gate_start;
    pf->ix.gate_rules = gate_rules;
    pf->ix.gate_words = gate_words;
    pf->ix.always = always_set;
    g_array_free(gates, TRUE);
}

BouncePrefilter *
bounce_prefilter_new(const BounceRule *rules, gsize count)
{
    BouncePrefilter *pf = g_new0(BouncePrefilter, 1);
    GArray *words = g_array_new(FALSE, FALSE, sizeof(PfWord));
    GString *text = g_string_new(NULL);
    guint32 *first = g_new0(guint32, count + 1);
    guint32 *nwords = g_new0(guint32, count + 1);

    for (gsize i = 0; i < count; i++) {
        g_autoptr(GPtrArray) branches = pf_words(rules[i].pattern);

        first[i] = words->len;
        if (branches == NULL)
            continue;
        /* A rule's words branch by branch and, in a branch, clause by
         * clause, the one that says most first (it fails most often, and
         * the others need not be looked at). */
        for (guint b = 0; b < branches->len; b++) {
            const GPtrArray *clauses = g_ptr_array_index(branches, b);

            for (guint c = 0; c < clauses->len; c++) {
                const GPtrArray *set = g_ptr_array_index(clauses, c);
                guint from = words->len;

                for (guint j = 0; j < set->len; j++) {
                    /* unused keys zero: the build writes them out */
                    const char *word = g_ptr_array_index(set, j);
                    PfWord w = { { 0 }, 0, (guint8)b, (guint8)c, 0, (guint32)text->len };

                    pf_word_keys(word, &w);
                    g_string_append_len(text, word, (gssize)w.len + 1);
                    pf->data.trigrams = pf->data.trigrams || w.nkeys > 0;
                    g_array_append_val(words, w);
                }
                /* Words of one first trigram side by side: when it is not
                 * in a text, they are passed over together. */
                qsort_r(&g_array_index(words, PfWord, from), words->len - from, sizeof(PfWord),
                        pf_word_cmp, text->str);
            }
        }
        nwords[i] = words->len - first[i];
    }
    pf->data.count = count;
    pf->data.first = first;
    pf->data.nwords = nwords;
    pf->data.nwords_total = words->len;
    pf->data.words = (PfWord *)g_array_free(words, FALSE);
    pf->data.text = g_string_free(text, FALSE);
    pf_keys_first(pf);
    pf_gates_make(pf);
    return pf;
}

BouncePrefilter *
bounce_prefilter_new_built(const BouncePrefilterData *data)
{
    BouncePrefilter *pf = g_new0(BouncePrefilter, 1);

    pf->data = *data;
    pf->built = TRUE;
    pf->ix = *data->index;      /* worked out by the build too: nothing to do at start */
    return pf;
}

const BouncePrefilterData *
bounce_prefilter_data(const BouncePrefilter *pf)
{
    return &pf->data;
}

const BouncePrefilterIndex *
bounce_prefilter_index(const BouncePrefilter *pf)
{
    return &pf->ix;
}

void
bounce_prefilter_free(BouncePrefilter *pf)
{
    if (pf == NULL)
        return;
    if (!pf->built) {
        g_free((gpointer)pf->data.text);
        g_free((gpointer)pf->data.first);
        g_free((gpointer)pf->data.nwords);
        g_free((gpointer)pf->data.words);
        g_free((gpointer)pf->ix.key0);
        g_free((gpointer)pf->ix.key_end);
        g_free((gpointer)pf->ix.clause_end);
        g_free((gpointer)pf->ix.branch_end);
        g_free((gpointer)pf->ix.gate_key);
        g_free((gpointer)pf->ix.gate_start);
        g_free((gpointer)pf->ix.gate_rules);
        g_free((gpointer)pf->ix.gate_words);
        g_free((gpointer)pf->ix.always);
    }
    g_free(pf);
}

/* pf_fold_utf8 - a non-ASCII character of the text as the caseless
 * matcher may see it against a pattern's literal: the few letters that
 * fold to ASCII ones (long s, Kelvin sign, dotted and dotless i: the last
 * two never do, but mapping more only costs a pattern run) as those, the
 * Russian alphabet's letters and the old forms that fold onto them as
 * pf_cyrillic's byte, other bytes as they are. Advances *i past what it
 * read. */
static guchar
pf_fold_utf8(const guchar *s, gsize len, gsize *i)
{
    guchar c = s[*i];

    if ((c == 0xD0 || c == 0xD1) && *i + 1 < len && (s[*i + 1] & 0xC0) == 0x80) {
        guint32 u = (guint32)(c & 0x1F) << 6 | (s[*i + 1] & 0x3F);

        if ((u >= 0x0410 && u <= 0x044F) || u == 0x0401 || u == 0x0451) {
            *i += 2;
            return pf_cyrillic(u);
        }
    }
    if (c == 0xE1 && *i + 2 < len && s[*i + 1] == 0xB2 && s[*i + 2] >= 0x80 && s[*i + 2] <= 0x86) {
        /* U+1C80-U+1C86: rounded ve, long-legged de, narrow o, wide es,
         * tall te, three-legged te, tall hard sign */
        static const guint16 folds[] = { 0x0432, 0x0434, 0x043E, 0x0441, 0x0442, 0x0442, 0x044A };
        guint32 u = folds[s[*i + 2] - 0x80];

        *i += 3;
        return pf_cyrillic(u);
    }

    if (c == 0xC5 && *i + 1 < len && s[*i + 1] == 0xBF) {
        *i += 2;
        return 's';                     /* U+017F LATIN SMALL LETTER LONG S */
    }
    if (c == 0xC4 && *i + 1 < len && (s[*i + 1] == 0xB0 || s[*i + 1] == 0xB1)) {
        *i += 2;
        return 'i';                     /* U+0130, U+0131 */
    }
    if (c == 0xE2 && *i + 2 < len && s[*i + 1] == 0x84 && s[*i + 2] == 0xAA) {
        *i += 3;
        return 'k';                     /* U+212A KELVIN SIGN */
    }
    (*i)++;
    return c;
}

/* pf_fold_at - the character at *i as the words are written (ASCII
 * lowered, see pf_fold_utf8 for the rest); advances *i past it. */
static inline guint32
pf_fold_at(const guchar *s, gsize len, gsize *i)
{
    guint32 c = s[*i];

    if (G_LIKELY(c < 0x80)) {
        (*i)++;
        return c | (guint32)(c - 'A' < 26) << 5;
    }
    return pf_fold_utf8(s, len, i);
}

/* The trigrams of one text: a bit map, kept for the few texts last seen by
 * this thread (the same diagnostic goes through several tables). */
typedef struct BouncePrefilterText PfTextMap;
struct BouncePrefilterText {
    char *text;
    gsize len;
    guint64 *map;
    guint32 shift;            /* 32 - log2(bits of the map) */
    gboolean trigrams;        /* the map holds the text's trigrams */
    guint64 used;             /* for least-recently-used replacement */
    char *folded;             /* the text as the words are written */
    gsize folded_len;
    gsize folded_size;        /* bytes allocated */
    gboolean has_folded;      /* folded is this text's */
};

#define PF_CACHE 4
#define PF_REUSE_SLACK 256    /* bytes past twice a text's length */

typedef struct {
    PfTextMap maps[PF_CACHE];
    guint64 clock;
} PfCache;

static void
pf_cache_free(gpointer data)
{
    PfCache *cache = data;

    for (int i = 0; i < PF_CACHE; i++) {
        g_free(cache->maps[i].text);
        g_free(cache->maps[i].map);
        g_free(cache->maps[i].folded);
    }
    g_free(cache);
}

/* pf_map_fold - write m's text folded (the bytes the words are written
 * in) without making its map: for tables whose words are all short. */
static void
pf_map_fold(PfTextMap *m)
{
    const guchar *s = (const guchar *)m->text;
    gsize i = 0, n = 0, len = m->len;

    while (i < len)
        m->folded[n++] = (char)pf_fold_at(s, len, &i);
    m->folded[n] = '\0';
    m->folded_len = n;
}

/* pf_ascii_lower8 - eight ASCII bytes (none with the top bit set) with
 * their capital letters lowered, all at once. */
static inline guint64
pf_ascii_lower8(guint64 w)
{
    const guint64 ones = G_GUINT64_CONSTANT(0x0101010101010101);
    guint64 at_least_a = w + ones * (0x80 - 'A');        /* top bit: byte >= 'A' */
    guint64 past_z = w + ones * (0x80 - 'Z' - 1);        /* top bit: byte > 'Z' */

    return w | ((at_least_a & ~past_z & ones * 0x80) >> 2);
}

/* pf_map_trigrams - put the trigrams of m's text in its map, and write the
 * folded text in the same pass (the same bytes the trigrams are made of).
 * Its fold is pf_map_fold's written again on purpose: folding first and
 * reading the trigrams back from the folded text made a warm corpus pass
 * 0.5-1% slower. Eight ASCII bytes at a time are lowered together, and
 * the loop keeps its position in a register: a byte at a time, through
 * pf_fold_utf8's pointer, it took 31 instructions a byte; now about 11. */
static void
pf_map_trigrams(PfTextMap *m)
{
    const guchar *s = (const guchar *)m->text;
    guint32 window = 0, shift, bits = 8192;
    gsize i = 0, n = 0, len = m->len;
    guchar *out = (guchar *)m->folded;
    guint64 *map;

    /* PF_MAP_GRAM: trigram g is in the text; PF_MAP_ONE: one more byte,
     * c, read into window (whose low three bytes are the last three). */
#define PF_MAP_GRAM(g)                                                   \
    do {                                                                 \
        guint32 k_ = pf_key(3, (g)) >> shift;                            \
        map[k_ >> 6] |= G_GUINT64_CONSTANT(1) << (k_ & 63);              \
    } while (0)
#define PF_MAP_ONE(c)                                                    \
    do {                                                                 \
        window = window << 8 | (c);                                      \
        if (G_LIKELY(++n >= 3))                                          \
            PF_MAP_GRAM(window & 0xFFFFFF);                              \
    } while (0)

    /* About 16 bits per byte of text keeps false hits (which only cost a
     * pattern run) rare. */
    while (bits < len * 16 && bits < (1u << 22))
        bits <<= 1;
    if (m->map == NULL || (1u << (32 - m->shift)) != bits) {
        g_free(m->map);
        m->map = g_new(guint64, bits / 64);
        m->shift = 32 - (guint32)g_bit_storage(bits - 1);
    }
    memset(m->map, 0, bits / 8);
    map = m->map;
    shift = m->shift;
    while (i < len) {
        guint64 w;

        if (len - i >= 8) {
            /* The first byte highest: each trigram within the eight is
             * then one shift away. */
            memcpy(&w, s + i, 8);
            w = GUINT64_FROM_BE(w);
            if (G_LIKELY((w & G_GUINT64_CONSTANT(0x8080808080808080)) == 0)) {
                guint64 be;

                w = pf_ascii_lower8(w);
                be = GUINT64_TO_BE(w);
                memcpy(out + n, &be, 8);
                if (G_LIKELY(n >= 2)) {         /* every byte ends a trigram */
                    PF_MAP_GRAM((window << 8 | (guint32)(w >> 56)) & 0xFFFFFF);
                    PF_MAP_GRAM((window << 16 | (guint32)(w >> 48)) & 0xFFFFFF);
                    PF_MAP_GRAM((guint32)(w >> 40) & 0xFFFFFF);
                    PF_MAP_GRAM((guint32)(w >> 32) & 0xFFFFFF);
                    PF_MAP_GRAM((guint32)(w >> 24) & 0xFFFFFF);
                    PF_MAP_GRAM((guint32)(w >> 16) & 0xFFFFFF);
                    PF_MAP_GRAM((guint32)(w >> 8) & 0xFFFFFF);
                    PF_MAP_GRAM((guint32)w & 0xFFFFFF);
                    window = (guint32)w;
                    n += 8;
                } else {
                    for (int b = 7; b >= 0; b--)
                        PF_MAP_ONE((guint32)(w >> (8 * b)) & 0xFF);
                }
                i += 8;
                continue;
            }
        }
        {
            gsize at = i;               /* i itself stays in a register */
            guint32 c = pf_fold_at(s, len, &at);

            i = at;
            out[n] = (guchar)c;
            PF_MAP_ONE(c);
        }
    }
#undef PF_MAP_ONE
#undef PF_MAP_GRAM
    out[n] = '\0';
    m->folded_len = n;
    m->has_folded = TRUE;
    m->trigrams = TRUE;
}

/* pf_map_add - m's text ready for words: folded, and its trigrams mapped
 * when they are wanted. */
static void
pf_map_add(PfTextMap *m, gboolean trigrams)
{
    if (m->folded_size < m->len + 1) {
        g_free(m->folded);
        m->folded_size = m->len + 1;
        m->folded = g_malloc(m->folded_size);
    }
    if (trigrams && !m->trigrams) {
        pf_map_trigrams(m);
    } else if (!m->has_folded) {
        pf_map_fold(m);
        m->has_folded = TRUE;
    }
}

/* pf_text_map - subject ready for words (and its trigrams mapped when
 * they are wanted): from this thread's cache when it saw the same bytes
 * last, else made now. (transfer none) */
static const PfTextMap *
pf_text_map(const char *subject, gsize len, gboolean trigrams)
{
    static GPrivate key = G_PRIVATE_INIT(pf_cache_free);
    PfCache *cache = g_private_get(&key);
    PfTextMap *m = NULL;

    if (cache == NULL) {
        cache = g_new0(PfCache, 1);
        g_private_set(&key, cache);
    }
    cache->clock++;
    for (int k = 0; k < PF_CACHE; k++) {
        PfTextMap *c = &cache->maps[k];

        /* The map of a text that starts with subject has every trigram
         * and word of subject: using it can only let more rules run. Not
         * of a text much longer, though: each word looked for whole is
         * looked for in all of it, and the lines of a body, each the
         * start of the body, made that quadratic. */
        if (c->text != NULL && c->len >= len && c->len - len <= len + PF_REUSE_SLACK
            && memcmp(c->text, subject, len) == 0) {
            c->used = cache->clock;
            pf_map_add(c, trigrams);
            return c;
        }
        if (m == NULL || c->used < m->used)
            m = c;
    }
    g_free(m->text);
    m->text = g_memdup2(subject, len + 1);
    m->len = len;
    m->trigrams = FALSE;
    m->has_folded = FALSE;
    m->used = cache->clock;
    pf_map_add(m, trigrams);
    return m;
}

/* pf_word_in - the word is in m's text, not just its trigrams: a phrase of
 * common words ("error following") has them in most texts. */
static gboolean
pf_word_in(const BouncePrefilter *pf, const PfTextMap *m, const PfWord *word)
{
    const char *at = m->folded, *end = m->folded + m->folded_len;
    const char *w = pf->data.text + word->text_at;

    if (word->len > 2)
        return memmem(at, end - at, w, word->len) != NULL;
    /* One or two bytes: memchr for the first, which libc does many bytes
     * at a time (its memmem goes byte by byte for these). */
    while ((at = memchr(at, w[0], end - at)) != NULL) {
        if (word->len == 1 || (at + 1 < end && at[1] == w[1]))
            return TRUE;
        at++;
    }
    return FALSE;
}

/* pf_key_there - whether key is in m's text (0, no key: maybe). */
static inline gboolean
pf_key_there(const PfTextMap *m, guint32 key)
{
    guint32 b = key >> m->shift;

    return key == 0 || ((m->map[b >> 6] >> (b & 63)) & 1);
}

/* pf_word_there - whether word number j of the table, whose first key is
 * in m's text, is there whole. */
static inline gboolean
pf_word_there(const BouncePrefilter *pf, const PfTextMap *m, guint32 j)
{
    const PfWord *word = pf->data.words + j;

    for (int k = 1; k < word->nkeys; k++) {
        if (!pf_key_there(m, word->keys[k]))
            return FALSE;
    }
    return pf_word_in(pf, m, word);
}

/* pf_rule_maybe - whether rule r's words let it run on m's text: each
 * clause of one of its branches has a word there. */
static gboolean
pf_rule_maybe(const BouncePrefilter *pf, const PfTextMap *m, gsize r)
{
    guint32 first = pf->data.first[r], nwords = pf->data.nwords[r];
    const guint32 *key0 = pf->ix.key0 + first, *key_end = pf->ix.key_end + first;
    const guint32 *clause_end = pf->ix.clause_end + first, *branch_end = pf->ix.branch_end + first;
    guint32 j = 0;

    if (nwords == 0)
        return TRUE;
    while (j < nwords) {
        guint32 cend = clause_end[j], k = j;
        gboolean found = FALSE;

        while (k < cend && !found) {
            if (!pf_key_there(m, key0[k]))
                k = key_end[k];         /* no word of this first key */
            else
                found = pf_word_there(pf, m, first + k++);
        }
        if (!found)
            j = branch_end[j];          /* this branch is out */
        else if (cend == branch_end[j])
            return TRUE;                /* every clause of it met */
        else
            j = cend;
    }
    return FALSE;
}

const BouncePrefilterText *
bounce_prefilter_text(const BouncePrefilter *pf, const char *subject, gsize len)
{
    if (pf->data.nwords_total == 0)
        return NULL;            /* no rule has words: nothing to look up */
    return pf_text_map(subject, len, pf->data.trigrams);
}

gboolean
bounce_prefilter_text_maybe(const BouncePrefilter *pf, const BouncePrefilterText *text,
                            gsize rule)
{
    g_return_val_if_fail(rule < pf->data.count, TRUE);
    if (pf->data.nwords[rule] == 0 || text == NULL)
        return TRUE;
    return pf_rule_maybe(pf, text, rule);
}

void
bounce_prefilter_candidates(const BouncePrefilter *pf, const BouncePrefilterText *text,
                            guint64 *set)
{
    gsize words = (pf->data.count + 63) / 64;

    if (text == NULL) {
        memset(set, 0xFF, words * sizeof(guint64));     /* no rule has words */
        return;
    }
    memcpy(set, pf->ix.always, words * sizeof(guint64));
    for (guint32 g = 0; g < pf->ix.ngates; g++) {
        if (!pf_key_there(text, pf->ix.gate_key[g]))
            continue;
        for (guint32 i = pf->ix.gate_start[g]; i < pf->ix.gate_start[g + 1]; i++) {
            const PfWord *word = pf->data.words + pf->ix.gate_words[i];
            guint32 r = pf->ix.gate_rules[i];
            int k = 1;

            if (set[r / 64] >> (r % 64) & 1)
                continue;       /* a candidate already */
            while (k < word->nkeys && pf_key_there(text, word->keys[k]))
                k++;
            if (k == word->nkeys)
                set[r / 64] |= G_GUINT64_CONSTANT(1) << (r % 64);
        }
    }
}

void
bounce_prefilter_scan(const BouncePrefilter *pf, const char *subject, gsize len, guint8 *maybe)
{
    const PfTextMap *m;
    guint64 *set;

    if (pf->data.nwords_total == 0) {
        memset(maybe, 1, pf->data.count);    /* no rule has words */
        return;
    }
    m = pf_text_map(subject, len, pf->data.trigrams);
    set = g_newa(guint64, (pf->data.count + 63) / 64 + 1);
    bounce_prefilter_candidates(pf, m, set);
    for (gsize r = 0; r < pf->data.count; r++)
        maybe[r] = (set[r / 64] >> (r % 64) & 1) && pf_rule_maybe(pf, m, r);
}
