/* bounce_split.c - the common MIME shapes taken apart without GMime.
 *
 * GMime builds an object for every part of a message, the returned
 * original and its attachments included, and that was most of the time of
 * a parse. This reader follows GMime's parser (gmime-parser.c, 3.2) step by
 * step over the normalised message (LF line ends, no NUL bytes): the same
 * boundary rules, the same part contents, the same header values. It reads
 * the returned original no further than its header block, and declines
 * (FALSE) whenever the message leaves the shapes it reads exactly as GMime
 * does: a header line that is not "Name: value", a Content-Type with
 * comments, RFC 2231 or RFC 2047 parameters, a second Content-Type, a
 * boundary where a header was expected, uuencode, deep nesting. GMime then
 * reads that message. tests/unit/test_bounce_mime.c and the fuzz target
 * tests/fuzz/fuzz_mime_split.c hold the two to the same answers.
 *
 * One quirk of GMime's needs care: it reads in 4 KiB pieces and looks for
 * a boundary at the start of a piece even in the middle of a long line (or
 * of a header line that crosses a piece). Where that could matter -- a
 * boundary string after "--" anywhere but at the start of a short line --
 * we decline. */
#include <string.h>

#include "bouncer/bounce_private.h"
#include "common/gmime_autoptr.h"

#define SPLIT_MAX_DEPTH    8     /* nesting beyond this goes to GMime */
#define SPLIT_MAX_PARTS    128   /* parts per message, likewise */
#define SPLIT_MAX_BOUNDS   8     /* open multiparts */
#define SPLIT_SAFE_LINE    120   /* GMime reads lines up to 128 bytes whole */

/* What a scan for the next boundary line found (GMime's BoundaryType). */
typedef enum {
    SPLIT_BOUND_NONE,
    SPLIT_BOUND_EOS,
    SPLIT_BOUND_IMMEDIATE,       /* the innermost multipart's boundary */
    SPLIT_BOUND_IMMEDIATE_END,   /* ... its closing form "--b--" */
    SPLIT_BOUND_PARENT,          /* an enclosing multipart's boundary */
    SPLIT_BOUND_PARENT_END,
} SplitBound;

typedef struct {
    char *dashed;             /* "--" + boundary */
    gsize len;                /* of dashed */
    gsize core_len;           /* of the boundary without trailing '-' and blanks */
    gsize next;               /* next offset of dashed at or after the scan, cached */
    gsize next_from;          /* where that search started */
} SplitBoundary;

typedef struct {
    const char *data;
    gsize len;
    gsize pos;                /* always at the start of a line */
    SplitBoundary bounds[SPLIT_MAX_BOUNDS];
    guint nbounds;
    SplitBound bound;         /* where the last scan stopped */
    gboolean declined;
    guint parts;
    BounceMimeWalk *walk;
} Split;

/* A span of the message. */
typedef struct {
    const char *p;
    gsize len;
} SplitSpan;

/* The part headers the parser itself reads. */
typedef struct {
    SplitSpan ctype, cte;     /* raw values; p NULL when absent */
    gsize body;               /* offset after the blank line */
} SplitHead;

typedef enum {
    SPLIT_ENC_RAW,            /* 7bit, 8bit, binary and unknown */
    SPLIT_ENC_BASE64,
    SPLIT_ENC_QP,
} SplitEncoding;

/* A part's Content-Type as GMime reads it. */
typedef struct {
    SplitSpan type, subtype;
    SplitSpan boundary, charset;  /* p NULL when absent */
    SplitEncoding encoding;
    gboolean encoded_message; /* message/rfc822 in base64/QP: a leaf to GMime */
} SplitType;

static void split_object(Split *s, const SplitType *ct, guint depth);

/* split_decline - leave this message to GMime. */
static void
split_decline(Split *s)
{
    s->declined = TRUE;
}

static gboolean
split_span_is(SplitSpan span, const char *word)
{
    return strlen(word) == span.len && g_ascii_strncasecmp(span.p, word, span.len) == 0;
}

/* split_eol - offset of the '\n' that ends the line at pos, or len. */
static gsize
split_eol(const Split *s, gsize pos)
{
    const char *nl = memchr(s->data + pos, '\n', s->len - pos);

    return nl != NULL ? (gsize)(nl - s->data) : s->len;
}

/* split_is_boundary - GMime's is_boundary(): the line is "--b" (or "--b--"
 * when final), then only blanks. */
static gboolean
split_is_boundary(const char *line, gsize len, const SplitBoundary *b, gboolean final)
{
    gsize want = b->len + (final ? 2 : 0);

    if (want > len || memcmp(line, b->dashed, b->len) != 0)
        return FALSE;
    if (final && (line[b->len] != '-' || line[b->len + 1] != '-'))
        return FALSE;
    for (gsize i = want; i < len; i++) {
        if (line[i] != ' ' && line[i] != '\t')
            return FALSE;
    }
    return TRUE;
}

/* split_check_boundary - GMime's check_boundary(): innermost multipart
 * first, the closing form before the plain one. */
static SplitBound
split_check_boundary(const Split *s, gsize pos, gsize len)
{
    const char *line = s->data + pos;

    if (len < 2 || line[0] != '-' || line[1] != '-')
        return SPLIT_BOUND_NONE;
    for (guint i = s->nbounds; i-- > 0;) {
        gboolean top = i + 1 == s->nbounds;

        if (split_is_boundary(line, len, &s->bounds[i], TRUE))
            return top ? SPLIT_BOUND_IMMEDIATE_END : SPLIT_BOUND_PARENT_END;
        if (split_is_boundary(line, len, &s->bounds[i], FALSE))
            return top ? SPLIT_BOUND_IMMEDIATE : SPLIT_BOUND_PARENT;
    }
    return SPLIT_BOUND_NONE;
}

/* split_next_dashed - the first offset at or after from where "--b" of any
 * open multipart starts, or len. */
static gsize
split_next_dashed(Split *s, gsize from)
{
    gsize best = s->len;

    for (guint i = 0; i < s->nbounds; i++) {
        SplitBoundary *b = &s->bounds[i];

        if (b->next < from || b->next_from > from) {
            const char *hit = memmem(s->data + from, s->len - from, b->dashed, b->len);

            b->next = hit != NULL ? (gsize)(hit - s->data) : s->len;
            b->next_from = from;
        }
        best = MIN(best, b->next);
    }
    return best;
}

/* split_line_start - pos begins a line. */
static gboolean
split_line_start(const Split *s, gsize pos)
{
    return pos == 0 || s->data[pos - 1] == '\n';
}

/* split_find_boundary - from a line start, the first line that is a
 * boundary of an open multipart: s->bound says which, the return value is
 * its offset (len, SPLIT_BOUND_EOS when none). A "--b" in a line long
 * enough for GMime to read in pieces declines. */
static gsize
split_find_boundary(Split *s, gsize from)
{
    gsize at = from;

    for (;;) {
        gsize hit = split_next_dashed(s, at), eol, bol;
        const char *nl;
        SplitBound found;

        if (hit >= s->len) {
            s->bound = SPLIT_BOUND_EOS;
            return s->len;
        }
        eol = split_eol(s, hit);
        nl = hit > from ? memrchr(s->data + from, '\n', hit - from) : NULL;
        bol = nl != NULL ? (gsize)(nl - s->data) + 1 : from;
        if (eol - bol > SPLIT_SAFE_LINE) {
            split_decline(s);
            s->bound = SPLIT_BOUND_EOS;
            return s->len;
        }
        if (bol == hit) {
            found = split_check_boundary(s, hit, eol - hit);
            if (found != SPLIT_BOUND_NONE) {
                s->bound = found;
                return hit;
            }
        }
        at = hit + 1;
    }
}

/* split_first_line - what the line at pos is, checked on its own (the first
 * line of a part); a long one GMime may check in pieces declines. */
static SplitBound
split_first_line(Split *s)
{
    gsize eol = split_eol(s, s->pos);

    if (eol - s->pos > SPLIT_SAFE_LINE && s->data[s->pos] == '-') {
        split_decline(s);
        return SPLIT_BOUND_EOS;
    }
    return split_check_boundary(s, s->pos, eol - s->pos);
}

/* split_scan_content - GMime's parser_scan_content(): the lines up to the
 * next boundary line; the line end before the boundary belongs to it.
 * s->pos is left on the boundary line. */
static SplitSpan
split_scan_content(Split *s)
{
    gsize start = s->pos, at;
    SplitSpan content;

    if (s->nbounds == 0) {
        at = s->len;
        s->bound = SPLIT_BOUND_EOS;
    } else {
        at = split_find_boundary(s, start);
    }
    content.p = s->data + start;
    content.len = at - start;
    if (s->bound != SPLIT_BOUND_EOS && content.len > 0)
        content.len--;
    s->pos = at;
    return content;
}

/* split_skip_line - GMime's parser_skip_line(): past the line at pos;
 * FALSE when it had no line end. */
static gboolean
split_skip_line(Split *s)
{
    gsize eol = split_eol(s, s->pos);

    if (eol >= s->len) {
        s->pos = s->len;
        return FALSE;
    }
    s->pos = eol + 1;
    return TRUE;
}

/* split_push - open a multipart's boundary. */
static gboolean
split_push(Split *s, SplitSpan boundary)
{
    SplitBoundary *b;
    gsize core = boundary.len;

    if (s->nbounds == SPLIT_MAX_BOUNDS || boundary.len == 0)
        return FALSE;
    while (core > 0 && (boundary.p[core - 1] == '-' || boundary.p[core - 1] == ' '
                        || boundary.p[core - 1] == '\t'))
        core--;
    if (core == 0)
        return FALSE;
    b = &s->bounds[s->nbounds++];
    b->len = boundary.len + 2;
    b->dashed = g_malloc(b->len + 1);
    b->dashed[0] = '-';
    b->dashed[1] = '-';
    memcpy(b->dashed + 2, boundary.p, boundary.len);
    b->dashed[b->len] = '\0';
    b->core_len = core;
    b->next = 0;
    b->next_from = G_MAXSIZE;
    return TRUE;
}

static void
split_pop(Split *s)
{
    g_free(s->bounds[--s->nbounds].dashed);
}

/* What a byte is to split_field_name: part of a name, a blank, the colon,
 * or a byte no name has (a control character). */
enum { SPLIT_NAME, SPLIT_BLANK, SPLIT_COLON, SPLIT_BAD };
static const guint8 split_name_class[256] = {
    [0 ... 8] = SPLIT_BAD, ['\t'] = SPLIT_BLANK, [10 ... 31] = SPLIT_BAD, [' '] = SPLIT_BLANK,
    [':'] = SPLIT_COLON, [127] = SPLIT_BAD,
};

/* split_field_name - GMime's field-name rule: up to the colon, no control
 * characters, blanks only between the name and the colon. The name's
 * length without those blanks, -1 when the line is no header field, -2
 * for a line that starts with the colon (GMime's line check calls it no
 * field, but once a field came before, it keeps it with an empty name). */
static gssize
split_field_name(const char *line, gsize len)
{
    const guint8 *p = (const guint8 *)line;
    gsize i = 0, end;

    if (len > 0 && line[0] == ':')
        return -2;
    while (i < len && split_name_class[p[i]] == SPLIT_NAME)
        i++;
    end = i;
    while (i < len && split_name_class[p[i]] == SPLIT_BLANK)
        i++;
    return i < len && split_name_class[p[i]] == SPLIT_COLON ? (gssize)end : -1;
}

/* split_head_field - one complete header: note the ones the parser reads,
 * keep it in fields when asked. */
static void
split_head_field(Split *s, SplitHead *head, BounceFields *fields, SplitSpan name, SplitSpan value)
{
    SplitSpan *slot = NULL;

    if (split_span_is(name, "Content-Type"))
        slot = &head->ctype;
    else if (split_span_is(name, "Content-Transfer-Encoding"))
        slot = &head->cte;
    if (slot != NULL) {
        /* GMime takes the last, bounce_fields_get() the first. */
        if (slot->p != NULL)
            split_decline(s);
        *slot = value;
    }
    if (fields != NULL && (name.len < 8 || g_ascii_strncasecmp(name.p, "Content-", 8) != 0))
        bounce_fields_add(fields, name.p, name.len, value.p, value.len);
}

/* split_head_hazards - a boundary string in a header block anywhere but at
 * the start of a short line: GMime could see a boundary there. */
static gboolean
split_head_hazards(Split *s, gsize start, gsize end)
{
    for (guint i = 0; i < s->nbounds; i++) {
        const SplitBoundary *b = &s->bounds[i];
        const char *p = s->data + start, *stop = s->data + end;
        const char *hit;

        while (p < stop && (hit = memmem(p, stop - p, b->dashed, b->len)) != NULL) {
            gsize at = hit - s->data;

            if (!split_line_start(s, at) || split_eol(s, at) - at > SPLIT_SAFE_LINE)
                return TRUE;
            p = hit + 1;
        }
    }
    return FALSE;
}

/* split_headers - GMime's step_headers() over the header block at s->pos,
 * up to its blank line. As in GMime, a line after the first field that is
 * no header field is dropped together with its continuation lines. Fields
 * other than Content-* go to fields when it is not NULL (the returned
 * original's, as GMime gives them to the message). Declines at a boundary
 * inside the block, at junk before the first field and at the end of the
 * message before the blank line. */
static gboolean
split_headers(Split *s, SplitHead *head, BounceFields *fields)
{
    gsize pos = s->pos, start = s->pos;
    SplitSpan name = { NULL, 0 }, value = { NULL, 0 };
    gboolean in_field = FALSE, seen = FALSE;

    memset(head, 0, sizeof(*head));
    for (;;) {
        const char *line = s->data + pos;
        gsize eol, len;
        gssize nlen;

        if (pos >= s->len) {
            split_decline(s);
            return FALSE;
        }
        eol = split_eol(s, pos);
        len = eol - pos;
        if (len == 0) {
            head->body = eol + 1;
            break;
        }
        if (s->nbounds > 0 && split_check_boundary(s, pos, len) != SPLIT_BOUND_NONE) {
            split_decline(s);       /* a part without content */
            return FALSE;
        }
        if ((line[0] == ' ' || line[0] == '\t') && in_field) {
            if (name.p != NULL)
                value.len = eol - (gsize)(value.p - s->data);
        } else {
            nlen = split_field_name(line, len);
            if (name.p != NULL)
                split_head_field(s, head, fields, name, value);
            name.p = NULL;
            if (nlen == -2)
                nlen = seen ? 0 : -1;
            else if (nlen == 0)
                nlen = -1;          /* " : value" before any field: junk */
            if (nlen >= 0) {
                name.p = line;
                name.len = nlen;
                value.p = memchr(line, ':', len) + 1;
                value.len = eol - (gsize)(value.p - s->data);
                in_field = seen = TRUE;
            } else if (seen) {
                in_field = TRUE;    /* junk, with its continuation lines */
            } else {
                /* Before the first field GMime drops junk line by line,
                 * except a line cut by its 4 KiB reads: the piece it has
                 * already kept swallows the next field. */
                split_decline(s);
                return FALSE;
            }
        }
        if (eol >= s->len) {
            split_decline(s);
            return FALSE;
        }
        pos = eol + 1;
    }
    if (name.p != NULL)
        split_head_field(s, head, fields, name, value);
    if (s->nbounds > 0 && split_head_hazards(s, start, head->body))
        split_decline(s);
    s->pos = head->body;
    return !s->declined;
}

/* GMime's character classes (gmime-table-private.h), and the bytes that
 * make a header value one we do not read as GMime does: a table, as these
 * are asked of every byte of every Content-Type. */
enum {
    SPLIT_C_LWSP = 1,          /* blank or line end */
    SPLIT_C_TTOKEN = 2,        /* token character */
    SPLIT_C_UNPLAIN = 4,       /* control byte but tab and LF, DEL, 8-bit, '(', '\\' */
};

static const guint8 split_ctype[256] = {
    [0 ... 8] = SPLIT_C_UNPLAIN, ['\t'] = SPLIT_C_LWSP, ['\n'] = SPLIT_C_LWSP,
    [11 ... 12] = SPLIT_C_UNPLAIN, ['\r'] = SPLIT_C_LWSP | SPLIT_C_UNPLAIN,
    [14 ... 31] = SPLIT_C_UNPLAIN, [' '] = SPLIT_C_LWSP,
    ['!'] = SPLIT_C_TTOKEN, ['#' ... '\''] = SPLIT_C_TTOKEN, ['('] = SPLIT_C_UNPLAIN,
    ['*' ... '+'] = SPLIT_C_TTOKEN, ['-' ... '.'] = SPLIT_C_TTOKEN, ['0' ... '9'] = SPLIT_C_TTOKEN,
    ['A' ... 'Z'] = SPLIT_C_TTOKEN, ['\\'] = SPLIT_C_UNPLAIN, ['^' ... '~'] = SPLIT_C_TTOKEN,
    [127 ... 255] = SPLIT_C_UNPLAIN,
};

static gboolean
split_is_lwsp(char c)
{
    return (split_ctype[(unsigned char)c] & SPLIT_C_LWSP) != 0;
}

static gboolean
split_is_ttoken(char c)
{
    return (split_ctype[(unsigned char)c] & SPLIT_C_TTOKEN) != 0;
}

/* split_value_plain - a header value GMime reads as we do: ASCII without
 * controls, comments, escapes or encoded words. */
static gboolean
split_value_plain(SplitSpan v)
{
    for (gsize i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];

        if (split_ctype[c] & SPLIT_C_UNPLAIN)
            return FALSE;
        if (c == '=' && i + 1 < v.len && v.p[i + 1] == '?')
            return FALSE;
    }
    return TRUE;
}

/* split_params - GMime's decode_param_list() in its loose mode, for
 * "; name=token" and "; name=\"quoted\"" lists; boundary and charset are
 * the first of their name. FALSE for anything else. */
static gboolean
split_params(const char *p, const char *end, SplitType *ct)
{
    for (;;) {
        SplitSpan name, value;

        while (p < end && split_is_lwsp(*p))
            p++;
        if (p == end)
            return TRUE;
        name.p = p;
        while (p < end && split_is_ttoken(*p) && *p != '*')
            p++;
        name.len = p - name.p;
        while (p < end && split_is_lwsp(*p))
            p++;
        if (p < end && *p == '*')
            return FALSE;   /* RFC 2231: name*=, name*0= */
        if (name.len == 0 || p == end || *p != '=') {
            /* GMime drops a parameter without a value, and goes on only
             * when it was an empty one (";;"). */
            if (name.len == 0 && p < end && *p == ';') {
                p++;
                continue;
            }
            return TRUE;
        }
        p++;
        while (p < end && split_is_lwsp(*p))
            p++;
        if (p < end && *p == '"') {
            value.p = ++p;
            while (p < end && *p != '"' && *p != '\n')
                p++;
            if (p == end || *p != '"')
                return FALSE;
            value.len = p - value.p;
            p++;
        } else if (p < end && split_is_ttoken(*p)) {
            /* loose: up to ';', trailing blanks dropped */
            value.p = p;
            while (p < end && *p != ';')
                p++;
            value.len = p - value.p;
            while (value.len > 0 && split_is_lwsp(value.p[value.len - 1]))
                value.len--;
            if (memchr(value.p, '\n', value.len) != NULL)
                return FALSE;       /* folded: GMime unfolds it first */
        } else {
            return FALSE;
        }
        if (split_span_is(name, "boundary") && ct->boundary.p == NULL)
            ct->boundary = value;
        else if (split_span_is(name, "charset") && ct->charset.p == NULL)
            ct->charset = value;
        while (p < end && split_is_lwsp(*p))
            p++;
        if (p == end || *p != ';')
            return TRUE;            /* GMime stops at what is not a ';' */
        p++;
    }
}

/* split_encoding - GMime's g_mime_content_encoding_from_string(). */
static gboolean
split_encoding(SplitSpan v, SplitType *ct)
{
    static const struct { const char *name; int enc; } names[] = {
        { "7bit", SPLIT_ENC_RAW }, { "8bit", SPLIT_ENC_RAW }, { "7-bit", SPLIT_ENC_RAW },
        { "8-bit", SPLIT_ENC_RAW }, { "binary", SPLIT_ENC_RAW }, { "base64", SPLIT_ENC_BASE64 },
        { "quoted-printable", SPLIT_ENC_QP }, { "uuencode", -1 }, { "x-uuencode", -1 },
        { "x-uue", -1 },
    };
    const char *p, *end;

    ct->encoding = SPLIT_ENC_RAW;
    if (v.p == NULL)
        return TRUE;
    if (!split_value_plain(v))
        return FALSE;
    p = v.p;
    end = v.p + v.len;
    while (p < end && split_is_lwsp(*p))
        p++;
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        gsize n = strlen(names[i].name);

        if ((gsize)(end - p) >= n && g_ascii_strncasecmp(p, names[i].name, n) == 0
            && (p + n == end || split_is_lwsp(p[n]))) {
            if (names[i].enc < 0)
                return FALSE;       /* uuencode: GMime's own filter */
            ct->encoding = names[i].enc;
            return TRUE;
        }
    }
    return TRUE;                    /* unknown: the bytes as they are */
}

/* split_type - the Content-Type of a part (GMime's parser_content_type()
 * and _g_mime_content_type_parse()): the default when absent, FALSE when
 * present in a form we do not read exactly as GMime does. */
static gboolean
split_type(const SplitHead *head, gboolean in_digest, SplitType *ct)
{
    SplitSpan v = head->ctype;
    const char *p, *end;

    memset(ct, 0, sizeof(*ct));
    if (!split_encoding(head->cte, ct))
        return FALSE;
    if (v.p == NULL) {
        /* RFC 2046 §5.1.5: a digest's parts are messages by default. */
        ct->type.p = in_digest ? "message" : "text";
        ct->subtype.p = in_digest ? "rfc822" : "plain";
    } else {
        if (!split_value_plain(v))
            return FALSE;
        p = v.p;
        end = v.p + v.len;
        while (p < end && split_is_lwsp(*p))
            p++;
        ct->type.p = p;
        while (p < end && split_is_ttoken(*p))
            p++;
        ct->type.len = p - ct->type.p;
        while (p < end && split_is_lwsp(*p))
            p++;
        if (ct->type.len == 0 || p == end || *p != '/')
            return FALSE;
        p++;
        while (p < end && split_is_lwsp(*p))
            p++;
        ct->subtype.p = p;
        while (p < end && split_is_ttoken(*p))
            p++;
        ct->subtype.len = p - ct->subtype.p;
        if (ct->subtype.len == 0)
            return FALSE;
        /* what follows the subtype up to ';' is skipped */
        while (p < end && *p != ';')
            p++;
        if (p < end && !split_params(p + 1, end, ct))
            return FALSE;
    }
    ct->type.len = ct->type.len != 0 ? ct->type.len : strlen(ct->type.p);
    ct->subtype.len = ct->subtype.len != 0 ? ct->subtype.len : strlen(ct->subtype.p);
    if (split_span_is(ct->type, "message")
        && (split_span_is(ct->subtype, "rfc822") || split_span_is(ct->subtype, "rfc2822")
            || split_span_is(ct->subtype, "global") || split_span_is(ct->subtype, "news")))
        ct->encoded_message = ct->encoding != SPLIT_ENC_RAW;
    return TRUE;
}

/* split_leaf_content - a leaf's content decoded, handed to the readers
 * when its type is one they want. */
static void
split_leaf_content(Split *s, const SplitType *ct, SplitSpan content)
{
    BounceLeafKind kind = bounce_mime_leaf_kind(s->walk->parts, ct->type.p, ct->type.len,
                                                ct->subtype.p, ct->subtype.len);
    g_autofree char *charset = NULL;
    g_autofree guint8 *decoded = NULL;
    const guint8 *data = (const guint8 *)content.p;
    gsize len = content.len;

    if (kind == BOUNCE_LEAF_IGNORE)
        return;
    if (ct->charset.p != NULL)
        charset = g_strndup(ct->charset.p, ct->charset.len);
    if (ct->encoding != SPLIT_ENC_RAW) {
        decoded = bounce_mime_decode(content.p, content.len, ct->encoding == SPLIT_ENC_BASE64, &len);
        data = decoded;
    }
    bounce_mime_leaf_take(s->walk, kind, data, len, charset);
}

/* split_message_part - GMime's parser_scan_message_part(): a returned
 * message whose headers we keep and whose body we only step over, to the
 * first boundary line of the enclosing multiparts. */
static void
split_message_part(Split *s)
{
    g_autoptr(BounceFields) fields = NULL;
    SplitHead head;
    gsize start = s->pos, at;

    if (s->pos >= s->len) {
        s->bound = SPLIT_BOUND_EOS;
        return;
    }
    if (s->nbounds > 0) {
        /* an empty message/rfc822 part */
        SplitBound first = split_first_line(s);

        if (first != SPLIT_BOUND_NONE) {
            s->bound = first;
            return;
        }
    }
    fields = bounce_fields_new();
    if (!split_headers(s, &head, fields))
        return;
    if (s->walk->parts->original == NULL)
        s->walk->parts->original = g_steal_pointer(&fields);

    /* GMime reads the whole message, but however it is built, its reading
     * ends at the first line that is a boundary of ours -- unless one of
     * its own boundaries is (nearly) ours, which we cannot tell without
     * reading it: decline when our boundary appears in it at all. */
    if (s->nbounds == 0) {
        s->bound = SPLIT_BOUND_EOS;
        s->pos = s->len;
        return;
    }
    at = split_find_boundary(s, s->pos);
    for (guint i = 0; i < s->nbounds && !s->declined; i++) {
        const SplitBoundary *b = &s->bounds[i];

        if (memmem(s->data + start, at - start, b->dashed + 2, b->core_len) != NULL)
            split_decline(s);
    }
    s->pos = at;
}

/* split_subparts - GMime's parser_scan_multipart_subparts(). */
static SplitBound
split_subparts(Split *s, const SplitType *parent, guint depth)
{
    gboolean digest = split_span_is(parent->subtype, "digest");

    do {
        SplitHead head;
        SplitType ct;
        SplitBound first;

        if (!split_skip_line(s) || s->pos >= s->len) {
            s->bound = SPLIT_BOUND_EOS;
            break;
        }
        /* a boundary right after the boundary: an empty part */
        first = split_first_line(s);
        if (first != SPLIT_BOUND_NONE) {
            s->bound = first;
            if (first == SPLIT_BOUND_IMMEDIATE)
                continue;
            break;
        }
        if (!split_headers(s, &head, NULL) || !split_type(&head, digest, &ct)) {
            split_decline(s);
            break;
        }
        split_object(s, &ct, depth + 1);
    } while (!s->declined && s->bound == SPLIT_BOUND_IMMEDIATE);
    return s->bound;
}

/* split_found_immediate - GMime's found_immediate_boundary(): the boundary
 * line at pos is that of the (now) innermost multipart. */
static gboolean
split_found_immediate(const Split *s, gboolean final)
{
    gsize eol = split_eol(s, s->pos);

    return split_is_boundary(s->data + s->pos, eol - s->pos, &s->bounds[s->nbounds - 1], final);
}

/* split_multipart - GMime's parser_construct_multipart(). */
static void
split_multipart(Split *s, const SplitType *ct, guint depth)
{
    if (ct->boundary.p == NULL) {
        (void)split_scan_content(s);     /* all of it is the prologue */
        return;
    }
    if (!split_push(s, ct->boundary)) {
        split_decline(s);
        return;
    }
    (void)split_scan_content(s);         /* prologue */
    if (s->bound == SPLIT_BOUND_IMMEDIATE && !s->declined)
        s->bound = split_subparts(s, ct, depth);
    if (s->declined) {
        split_pop(s);
        return;
    }
    if (s->bound == SPLIT_BOUND_IMMEDIATE_END) {
        (void)split_skip_line(s);
        split_pop(s);
        (void)split_scan_content(s);     /* epilogue */
        return;
    }
    split_pop(s);
    if (s->nbounds == 0)
        return;
    if (s->bound == SPLIT_BOUND_PARENT_END && split_found_immediate(s, TRUE))
        s->bound = SPLIT_BOUND_IMMEDIATE_END;
    else if (s->bound == SPLIT_BOUND_PARENT && split_found_immediate(s, FALSE))
        s->bound = SPLIT_BOUND_IMMEDIATE;
}

/* split_object - one part, built and walked at once (GMime builds the tree
 * first, then bounce_mime.c walks it depth-first: the same order). */
static void
split_object(Split *s, const SplitType *ct, guint depth)
{
    if (s->declined)
        return;
    /* Below GMime's and the walk's own limits, so neither ever applies. */
    if (depth > SPLIT_MAX_DEPTH || ++s->parts > SPLIT_MAX_PARTS) {
        split_decline(s);
        return;
    }
    s->walk->seen++;
    if (split_span_is(ct->type, "multipart")) {
        split_multipart(s, ct, depth);
        return;
    }
    if (split_span_is(ct->type, "message") && !ct->encoded_message
        && (split_span_is(ct->subtype, "rfc822") || split_span_is(ct->subtype, "rfc2822")
            || split_span_is(ct->subtype, "global") || split_span_is(ct->subtype, "news"))) {
        split_message_part(s);
        return;
    }
    split_leaf_content(s, ct, split_scan_content(s));
}

gboolean
bounce_split_read(const char *data, gsize len, BounceMimeWalk *walk)
{
    Split s = { .data = data, .len = len, .walk = walk };
    SplitHead head;
    SplitType ct;

    if (!split_headers(&s, &head, NULL) || !split_type(&head, FALSE, &ct))
        return FALSE;
    /* What GMime gives: the message object's own content type, which its
     * parser never sets (the Content-Type belongs to the top part). */
    walk->parts->content_type = g_strdup("text/plain");
    split_object(&s, &ct, 0);
    while (s.nbounds > 0)
        split_pop(&s);
    return !s.declined;
}
