/* bounce_rules.c - the PCRE2 engine behind the rule tables of
 * bounce_tables.c: each table set up on its first use, each pattern
 * compiled the first time it has to run and JIT-compiled once it has run
 * a few times, all shared read-only by all threads; each thread keeps its
 * own match data. A prefilter (bounce_prefilter.c) skips the patterns that
 * cannot match. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "bouncer/bounce_private.h"
#include "common/metrics.h"

#define RULES_OVECTOR_PAIRS 16

typedef struct {
    const BounceRule *rules;
    gsize count;
    pcre2_code **codes;       /* NULL until first needed */
    pcre2_code **jits;        /* a JIT-compiled copy once the rule is hot */
    gint *runs;               /* runs so far, counted up to BOUNCE_RULES_JIT_AFTER */
    BouncePrefilter *filter;  /* made on the first filtered use */
    const BouncePrefilterData *built_filter; /* the build's, when it fits */
    gsize filter_done;
    char ***hosts;            /* per rule: its rhost names in lower case, or NULL */
    guint16 **host_pairs;     /* per rule and name: bounce_byte_pair() of its first two bytes */
    gsize *host_group;        /* per rule: the first of the run of rules with its rhost */
    gsize *host_run_end;      /* per rule: the index after that run */
} CompiledTable;

static CompiledTable rules_compiled[BOUNCE_TABLE_COUNT];

/* rules_load_built - take what the build worked out for table (its
 * prefilter, its compiled patterns) when it was made from these very
 * rules and PCRE2 reads the block back; otherwise each pattern is compiled
 * on first use and the prefilter made then. */
static void
rules_load_built(CompiledTable *ct, BounceTable table)
{
    const BounceBuiltTable *built = &bounce_built_tables[table];
    int32_t n;

    if (ct->count == 0 || built->prefilter.count != ct->count
        || built->fingerprint != bounce_tables_fingerprint(ct->rules, ct->count))
        return;
    ct->built_filter = &built->prefilter;
    n = pcre2_serialize_get_number_of_codes(built->codes);
    if (n != (int32_t)ct->count
        || pcre2_serialize_decode(ct->codes, n, built->codes, NULL) != n) {
        /* Another PCRE2 than the build's: compile as we go. */
        for (gsize i = 0; i < ct->count; i++)
            g_clear_pointer(&ct->codes[i], pcre2_code_free);
    }
}

/* rules_name_pair - a name's first pair; BOUNCE_PAIR_BITS (always
 * looked for) for a name of one byte. Host names are screened by their
 * first two bytes before strstr(): the provider table has some 200 names,
 * a remote host a dozen byte pairs. */
static guint16
rules_name_pair(const char *name)
{
    if (name[0] == '\0' || name[1] == '\0')
        return BOUNCE_PAIR_BITS;
    return (guint16)bounce_byte_pair((guchar)name[0], (guchar)name[1]);
}

/* rules_set_next - the first rule at or after from in set (of words
 * words), or words * 64 when none is. */
static inline gsize
rules_set_next(const guint64 *set, gsize words, gsize from)
{
    gsize w = from / 64;
    guint64 bits;

    if (w >= words)
        return words * 64;
    bits = set[w] & (~G_GUINT64_CONSTANT(0) << (from % 64));
    while (bits == 0) {
        if (++w >= words)
            return words * 64;
        bits = set[w];
    }
    return w * 64 + (gsize)__builtin_ctzll(bits);
}

/* rules_table - a table ready for use, set up by whichever thread gets
 * here first. */
static const CompiledTable *
rules_table(BounceTable table)
{
    static gsize done[BOUNCE_TABLE_COUNT];
    CompiledTable *ct = &rules_compiled[table];

    if (g_once_init_enter(&done[table])) {
        ct->rules = bounce_tables_get(table, &ct->count);
        ct->codes = g_new0(pcre2_code *, ct->count + 1);
        ct->jits = g_new0(pcre2_code *, ct->count + 1);
        ct->runs = g_new0(gint, ct->count + 1);
        rules_load_built(ct, table);
        ct->hosts = g_new0(char **, ct->count + 1);
        ct->host_pairs = g_new0(guint16 *, ct->count + 1);
        ct->host_group = g_new0(gsize, ct->count + 1);
        ct->host_run_end = g_new0(gsize, ct->count + 1);
        for (gsize i = 0; i < ct->count; i++) {
            g_autofree char *lower = NULL;
            g_auto(GStrv) split = NULL;
            GPtrArray *names;

            ct->host_group[i] = i;
            if (ct->rules[i].rhost == NULL)
                continue;
            /* A provider's rules follow each other with the same names:
             * its host is then compared once for the run. */
            ct->host_group[i] = i > 0 && ct->rules[i - 1].rhost != NULL
                                        && strcmp(ct->rules[i - 1].rhost, ct->rules[i].rhost) == 0
                                    ? ct->host_group[i - 1]
                                    : i;
            lower = g_ascii_strdown(ct->rules[i].rhost, -1);
            split = g_strsplit(lower, "|", -1);
            names = g_ptr_array_new();
            for (gsize k = 0; split[k] != NULL; k++) {
                if (split[k][0] != '\0')
                    g_ptr_array_add(names, g_strdup(split[k]));
            }
            g_ptr_array_add(names, NULL);
            ct->host_pairs[i] = g_new0(guint16, names->len);
            for (guint k = 0; k + 1 < names->len; k++)
                ct->host_pairs[i][k] = rules_name_pair(g_ptr_array_index(names, k));
            ct->hosts[i] = (char **)g_ptr_array_free(names, FALSE);
        }
        for (gsize i = ct->count; i-- > 0;)
            ct->host_run_end[i] = i + 1 < ct->count && ct->host_group[i + 1] == ct->host_group[i]
                                      ? ct->host_run_end[i + 1]
                                      : i + 1;
        g_once_init_leave(&done[table], 1);
    }
    return ct;
}

/* rules_compile - rule i's pattern compiled; a pattern that does not
 * compile is a programming error caught by the first test run (tests
 * compile them all). */
static pcre2_code *
rules_compile(const CompiledTable *ct, gsize i)
{
    pcre2_code *code;
    int err = 0;
    PCRE2_SIZE at = 0;

    code = pcre2_compile((PCRE2_SPTR)ct->rules[i].pattern, PCRE2_ZERO_TERMINATED,
                         BOUNCE_RULES_PCRE2_OPTIONS, &err, &at, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];

        pcre2_get_error_message(err, msg, sizeof(msg));
        g_error("bounce rule %s does not compile at %zu: %s", ct->rules[i].id, (size_t)at,
                (const char *)msg);
    }
    return code;
}

/* rules_publish - store code in *slot unless another thread got there
 * first; the one stored. */
static pcre2_code *
rules_publish(pcre2_code **slot, pcre2_code *code)
{
    if (!g_atomic_pointer_compare_and_exchange(slot, NULL, code)) {
        pcre2_code_free(code);
        code = g_atomic_pointer_get(slot);
    }
    return code;
}

/* rules_code - rule i ready to run: the JIT copy once there is one, else
 * the interpreted code, compiled now if need be. The JIT copy is a
 * copy, not pcre2_jit_compile() on the shared code, because
 * another thread may be running that code at this moment; both copies
 * live as long as the process. Without JIT (some platforms) the
 * interpreter gives the same answers. */
static pcre2_code *
rules_code(const CompiledTable *ct, gsize i)
{
    pcre2_code *code = g_atomic_pointer_get(&ct->jits[i]);

    if (code != NULL)
        return code;
    code = g_atomic_pointer_get(&ct->codes[i]);
    if (code == NULL)
        code = rules_publish(&ct->codes[i], rules_compile(ct, i));
    if (g_atomic_int_get(&ct->runs[i]) < BOUNCE_RULES_JIT_AFTER
        && g_atomic_int_add(&ct->runs[i], 1) == BOUNCE_RULES_JIT_AFTER - 1) {
        pcre2_code *jit = pcre2_code_copy(code);

        if (jit != NULL && pcre2_jit_compile(jit, PCRE2_JIT_COMPLETE) == 0)
            return rules_publish(&ct->jits[i], jit);
        pcre2_code_free(jit);
    }
    return code;
}

/* rules_filter - ct's prefilter, set up by the first thread to want it. */
static const BouncePrefilter *
rules_filter(const CompiledTable *ct)
{
    CompiledTable *made = (CompiledTable *)ct;

    if (g_once_init_enter(&made->filter_done)) {
        made->filter = ct->built_filter != NULL ? bounce_prefilter_new_built(ct->built_filter)
                                                : bounce_prefilter_new(ct->rules, ct->count);
        g_once_init_leave(&made->filter_done, 1);
    }
    return ct->filter;
}

void
bounce_rules_warm_up(void)
{
    for (int t = 0; t < BOUNCE_TABLE_COUNT; t++)
        (void)rules_filter(rules_table((BounceTable)t));
}

/* rules_maybe - which rules of ct could match subject (one byte each, in
 * maybe); the others need not run. */
static void
rules_maybe(const CompiledTable *ct, const char *subject, gsize len, guint8 *maybe)
{
    bounce_prefilter_scan(rules_filter(ct), subject, len, maybe);
}

/* What one thread matches with: its match data, and a match context with
 * bounds on a single run of a pattern. PCRE2's own defaults let one run
 * take ten million steps and 20 GB of backtracking memory, and give
 * JIT-compiled code a 32 KB stack, on which a rule ran out on a line of a
 * few kilobytes while the interpreter, on the same line, did not: the
 * answer then hung on whether the rule had been JIT-compiled yet. A run
 * past a bound is a rule that did not match. */
#define RULES_MATCH_LIMIT   1000000     /* steps of one run */
#define RULES_DEPTH_LIMIT   100000      /* backtracking depth of the interpreter */
#define RULES_HEAP_LIMIT    (16 * 1024) /* KiB of backtracking memory */
#define RULES_JIT_STACK     (1024 * 1024)

typedef struct {
    pcre2_match_data *data;
    pcre2_match_context *context;
    pcre2_jit_stack *jit_stack;
} RulesMatcher;

static void
rules_matcher_free(gpointer p)
{
    RulesMatcher *m = p;

    pcre2_match_data_free(m->data);
    pcre2_match_context_free(m->context);
    pcre2_jit_stack_free(m->jit_stack);
    g_free(m);
}

/* rules_matcher - this thread's, made once per thread. */
static RulesMatcher *
rules_matcher(void)
{
    static GPrivate key = G_PRIVATE_INIT(rules_matcher_free);
    RulesMatcher *m = g_private_get(&key);

    if (m == NULL) {
        m = g_new0(RulesMatcher, 1);
        m->data = pcre2_match_data_create(RULES_OVECTOR_PAIRS, NULL);
        m->context = pcre2_match_context_create(NULL);
        pcre2_set_match_limit(m->context, RULES_MATCH_LIMIT);
        pcre2_set_depth_limit(m->context, RULES_DEPTH_LIMIT);
        pcre2_set_heap_limit(m->context, RULES_HEAP_LIMIT);
        /* Reserved, not used, until a run needs it; NULL (no JIT) keeps
         * the 32 KB default. */
        m->jit_stack = pcre2_jit_stack_create(32 * 1024, RULES_JIT_STACK, NULL);
        if (m->jit_stack != NULL)
            pcre2_jit_stack_assign(m->context, NULL, m->jit_stack);
        g_private_set(&key, m);
    }
    return m;
}

static gsize rules_stopped_runs;      /* atomic, pointer-sized */

guint64
bounce_rules_stopped_runs(void)
{
    return (guint64)(gsize)g_atomic_pointer_get(&rules_stopped_runs);
}

/* rules_limit_name - which bound a failed run hit, as the metric says it. */
static const char *
rules_limit_name(int rc)
{
    switch (rc) {
    case PCRE2_ERROR_MATCHLIMIT:
        return "steps";
    case PCRE2_ERROR_DEPTHLIMIT:
        return "depth";
    case PCRE2_ERROR_HEAPLIMIT:
        return "heap";
    case PCRE2_ERROR_JIT_STACKLIMIT:
        return "jit_stack";
    case PCRE2_ERROR_NOMEMORY:
        return "memory";
    default:
        return "other";
    }
}

/* rules_stopped - a run of rule i ended in an error, not an answer: a
 * bound reached (a text built to make the rule backtrack) or no memory.
 * It counts as no match, as it must for the parse to go on; the operator
 * sees how often and for which rule. */
static void
rules_stopped(const CompiledTable *ct, gsize i, int rc)
{
    g_atomic_pointer_add(&rules_stopped_runs, 1);
    metrics_counter_inc("bouncer_rule_runs_stopped_total", "rule", ct->rules[i].id, "limit",
                        rules_limit_name(rc), NULL);
}

/* rules_try - run one compiled rule; TRUE and the span of its group. */
static gboolean
rules_try(const CompiledTable *ct, gsize i, const char *subject, gsize len, gsize offset,
          BounceMatch *match_out)
{
    RulesMatcher *matcher = rules_matcher();
    pcre2_match_data *md = matcher->data;
    PCRE2_SIZE *ov;
    int rc, group;

    rc = pcre2_match(rules_code(ct, i), (PCRE2_SPTR)subject, len, offset, PCRE2_NO_UTF_CHECK, md,
                     matcher->context);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        rules_stopped(ct, i, rc);
    if (rc <= 0)
        return FALSE;
    ov = pcre2_get_ovector_pointer(md);
    group = ct->rules[i].group;
    if (group >= rc || ov[2 * group] == PCRE2_UNSET)
        group = 0;
    match_out->rule = &ct->rules[i];
    match_out->start = ov[2 * group];
    match_out->end = ov[2 * group + 1];
    match_out->match_start = ov[0];
    match_out->match_end = ov[1];
    return TRUE;
}

gboolean
bounce_rules_first(BounceTable table, const char *subject, gsize len, BounceMatch *match_out)
{
    const CompiledTable *ct;
    const BouncePrefilter *filter;
    const BouncePrefilterText *text;
    guint64 *candidates;

    g_return_val_if_fail(table < BOUNCE_TABLE_COUNT, FALSE);
    ct = rules_table(table);
    if (subject == NULL)
        return FALSE;
    /* Rule by rule, among the candidates the table's first keys give:
     * the rules after the first that matches are not asked of the
     * prefilter either. */
    filter = rules_filter(ct);
    text = bounce_prefilter_text(filter, subject, len);
    candidates = g_newa(guint64, (ct->count + 63) / 64 + 1);
    bounce_prefilter_candidates(filter, text, candidates);
    for (gsize i = rules_set_next(candidates, (ct->count + 63) / 64, 0); i < ct->count;
         i = rules_set_next(candidates, (ct->count + 63) / 64, i + 1)) {
        if (bounce_prefilter_text_maybe(filter, text, i)
            && rules_try(ct, i, subject, len, 0, match_out))
            return TRUE;
    }
    return FALSE;
}

gboolean
bounce_rules_try(BounceTable table, gsize index, const char *subject, gsize len,
                 BounceMatch *match_out)
{
    const CompiledTable *ct;

    g_return_val_if_fail(table < BOUNCE_TABLE_COUNT, FALSE);
    ct = rules_table(table);
    if (subject == NULL || index >= ct->count)
        return FALSE;
    return rules_try(ct, index, subject, len, 0, match_out);
}

gboolean
bounce_rules_try_text(BounceTable table, gsize index, const char *subject, gsize len,
                      BounceMatch *match_out)
{
    const CompiledTable *ct;
    const BouncePrefilter *filter;

    g_return_val_if_fail(table < BOUNCE_TABLE_COUNT, FALSE);
    ct = rules_table(table);
    if (subject == NULL || index >= ct->count)
        return FALSE;
    filter = rules_filter(ct);
    if (!bounce_prefilter_text_maybe(filter, bounce_prefilter_text(filter, subject, len), index))
        return FALSE;
    return rules_try(ct, index, subject, len, 0, match_out);
}

/* rules_host_is - whether host is the domain name or lies under it,
 * compared label by label: "mx.cox.net" is under "cox.net",
 * "mx.notcox.net" is not. A leading '.' of name says nothing more. */
static gboolean
rules_host_is(const char *host, gsize host_len, const char *name)
{
    gsize n;

    if (name[0] == '.')
        name++;
    n = strlen(name);
    if (n == 0 || n > host_len || memcmp(host + host_len - n, name, n) != 0)
        return FALSE;
    return n == host_len || host[host_len - n - 1] == '.';
}

/* rules_host_matches - host (in lower case, its byte pairs in pairs)
 * contains one of the names of a rule's rhost (their first pairs in
 * name_pairs), or, by_domain, is one of them or under one of them. */
static gboolean
rules_host_matches(char *const *names, const guint16 *name_pairs, const char *host,
                   gsize host_len, gboolean by_domain, const BounceBytePairs *pairs)
{
    for (gsize k = 0; names != NULL && names[k] != NULL; k++) {
        guint16 p = name_pairs[k];

        if (p < BOUNCE_PAIR_BITS && !bounce_byte_pairs_has(pairs, p))
            continue;
        if (by_domain ? rules_host_is(host, host_len, names[k]) : strstr(host, names[k]) != NULL)
            return TRUE;
    }
    return FALSE;
}

/* rules_host_name - the host name a field names, in lower case: the
 * first word of "mx.example.com. (192.0.2.1, the server for the domain
 * example.com.)" or "[mx.example.com]", without its final dot. */
static char *
rules_host_name(const char *host)
{
    gsize n;

    while (*host == '[' || *host == '<' || g_ascii_isspace(*host))
        host++;
    n = strcspn(host, " \t\r\n()[]<>;,");
    while (n > 0 && host[n - 1] == '.')
        n--;
    return g_ascii_strdown(host, (gssize)n);
}

/* rules_first_host - bounce_rules_first_rhost (host holds one of a rule's
 * names) or, by_domain, bounce_rules_first_domain (host is one of them or
 * lies under one). */
static gboolean
rules_first_host(BounceTable table, const char *host, gboolean by_domain, const char *subject,
                 gsize len, BounceMatch *match_out)
{
    const CompiledTable *ct;
    const BouncePrefilter *filter;
    const BouncePrefilterText *text = NULL;
    gboolean have_text = FALSE;
    g_autofree char *lower = NULL;
    gsize lower_len;
    BounceBytePairs pairs;
    gsize group = G_MAXSIZE;

    g_return_val_if_fail(table < BOUNCE_TABLE_COUNT, FALSE);
    ct = rules_table(table);
    if (subject == NULL || host == NULL || *host == '\0')
        return FALSE;
    lower = by_domain ? rules_host_name(host) : g_ascii_strdown(host, -1);
    lower_len = strlen(lower);
    if (lower_len == 0)
        return FALSE;
    bounce_byte_pairs_of(lower, &pairs);
    filter = rules_filter(ct);
    /* Only the few rules of this host are asked of the prefilter, not
     * the whole table; the text is read once there is one. A provider's
     * run of rules shares its names: the host is compared once for the
     * run, and a run that is not the host's is passed over whole. */
    for (gsize i = 0; i < ct->count; i++) {
        if (ct->host_group[i] != group) {
            group = ct->host_group[i];
            if (!rules_host_matches(ct->hosts[i], ct->host_pairs[i], lower, lower_len, by_domain,
                                    &pairs)) {
                i = ct->host_run_end[i] - 1;
                continue;
            }
        }
        if (!have_text) {
            text = bounce_prefilter_text(filter, subject, len);
            have_text = TRUE;
        }
        if (bounce_prefilter_text_maybe(filter, text, i)
            && rules_try(ct, i, subject, len, 0, match_out))
            return TRUE;
    }
    return FALSE;
}

gboolean
bounce_rules_first_rhost(BounceTable table, const char *host, const char *subject, gsize len,
                         BounceMatch *match_out)
{
    return rules_first_host(table, host, FALSE, subject, len, match_out);
}

gboolean
bounce_rules_first_domain(BounceTable table, const char *host, const char *subject, gsize len,
                          BounceMatch *match_out)
{
    return rules_first_host(table, host, TRUE, subject, len, match_out);
}

gboolean
bounce_rules_earliest(BounceTable table, const char *subject, gsize len, gsize offset,
                      BounceMatch *match_out)
{
    const CompiledTable *ct;
    gboolean found = FALSE;
    BounceMatch m;
    guint8 *maybe;

    g_return_val_if_fail(table < BOUNCE_TABLE_COUNT, FALSE);
    ct = rules_table(table);
    if (subject == NULL || offset >= len)
        return FALSE;
    maybe = g_newa(guint8, ct->count + 1);
    rules_maybe(ct, subject, len, maybe);
    for (gsize i = 0; i < ct->count; i++) {
        if (!maybe[i] || !rules_try(ct, i, subject, len, offset, &m))
            continue;
        if (!found || m.match_start < match_out->match_start) {
            *match_out = m;
            found = TRUE;
        }
    }
    return found;
}

/* reply_code_valid - one of the reply codes RFC 5321 and its extensions
 * define; anything else with three digits is a number, not a reply. */
static gboolean
reply_code_valid(const char *code, gsize len)
{
    static const char *const valid[] = {
        "211", "214", "220", "221", "235", "250", "251", "252", "253", "354",
        "421", "422", "430", "432", "450", "451", "452", "453", "454", "455", "456", "458", "459",
        "500", "501", "502", "503", "504", "520", "521", "523", "524", "525", "530", "533", "534",
        "535", "538", "550", "551", "552", "553", "554", "555", "556", "557",
    };

    if (len != 3)
        return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(valid); i++) {
        if (memcmp(valid[i], code, 3) == 0)
            return TRUE;
    }
    return FALSE;
}

/* The codes of the last few texts this thread asked about: a recipient's
 * diagnostic is asked about by the report, the prose reader and the
 * classifier in turn, and the recipients of one notice often share it. */
#define CODES_CACHE 4

typedef struct {
    char *text;               /* NULL: empty slot */
    gsize len;
    char status[16];
    char reply[8];
    guint64 used;
} CodesSeen;

typedef struct {
    CodesSeen seen[CODES_CACHE];
    guint64 clock;
} CodesCache;

static void
codes_cache_free(gpointer data)
{
    CodesCache *cache = data;

    for (int k = 0; k < CODES_CACHE; k++)
        g_free(cache->seen[k].text);
    g_free(cache);
}

/* codes_cache - this thread's. */
static CodesCache *
codes_cache(void)
{
    static GPrivate key = G_PRIVATE_INIT(codes_cache_free);
    CodesCache *cache = g_private_get(&key);

    if (cache == NULL) {
        cache = g_new0(CodesCache, 1);
        g_private_set(&key, cache);
    }
    return cache;
}

static void find_codes(const CompiledTable *ct, const char *text, gsize len, char status_out[16],
                       char reply_out[8]);

/* bounce_rules_find_codes - the codes of text: from this thread's cache
 * when it asked about the same text lately, else by find_codes. */
void
bounce_rules_find_codes(const char *text, char status_out[16], char reply_out[8])
{
    const CompiledTable *ct;
    CodesCache *cache;
    CodesSeen *slot = NULL;
    gsize len;

    status_out[0] = '\0';
    reply_out[0] = '\0';
    ct = rules_table(BOUNCE_TABLE_STATUS);
    if (text == NULL)
        return;
    len = strlen(text);
    cache = codes_cache();
    cache->clock++;
    for (int k = 0; k < CODES_CACHE; k++) {
        CodesSeen *c = &cache->seen[k];

        if (c->text != NULL && c->len == len && memcmp(c->text, text, len) == 0) {
            c->used = cache->clock;
            memcpy(status_out, c->status, sizeof(c->status));
            memcpy(reply_out, c->reply, sizeof(c->reply));
            return;
        }
        if (slot == NULL || c->used < slot->used)
            slot = c;
    }
    find_codes(ct, text, len, status_out, reply_out);
    g_free(slot->text);
    slot->text = g_memdup2(text, len + 1);
    slot->len = len;
    slot->used = cache->clock;
    memcpy(slot->status, status_out, sizeof(slot->status));
    memcpy(slot->reply, reply_out, sizeof(slot->reply));
}

/* find_codes - walk the STATUS table, for a text not in the cache: rules
 * with value "status" give the RFC 3463 code, "reply" the SMTP reply
 * code; the first rule of each kind that matches wins (a reply rule keeps
 * looking past numbers that are no reply code). A failure's code is
 * looked for before a success's: in a session transcript the 250s come
 * before the refusal. One walk finds both: a success's code is kept aside
 * as it is met, and used only when no rule of its kind found a failure's
 * (every rule of the kind then ran over the whole text). */
static void
find_codes(const CompiledTable *ct, const char *text, gsize len, char status_out[16],
           char reply_out[8])
{
    BounceMatch m;
    guint8 *maybe;
    char status_ok[16] = "", reply_ok[8] = "";

    maybe = g_newa(guint8, ct->count + 1);
    rules_maybe(ct, text, len, maybe);
    for (gsize i = 0; i < ct->count; i++) {
        gboolean is_status = strcmp(ct->rules[i].value, "status") == 0;
        char *dest = is_status ? status_out : reply_out;
        char *dest_ok = is_status ? status_ok : reply_ok;
        gsize cap = is_status ? 16 : 8;
        gsize offset = 0, n;

        if (dest[0] != '\0' || !maybe[i])
            continue;
        while (offset < len && rules_try(ct, i, text, len, offset, &m)) {
            if (is_status || reply_code_valid(text + m.start, m.end - m.start)) {
                gboolean success = text[m.start] == '2';
                char *to = success ? dest_ok : dest;

                if (to[0] == '\0') {
                    n = MIN(m.end - m.start, cap - 1);
                    memcpy(to, text + m.start, n);
                    to[n] = '\0';
                }
                if (!success)
                    break;
            }
            offset = m.match_end > offset ? m.match_end : offset + 1;
            /* stay on a character boundary for the UTF-8 matcher */
            while (offset < len && ((unsigned char)text[offset] & 0xC0) == 0x80)
                offset++;
        }
    }
    if (status_out[0] == '\0')
        memcpy(status_out, status_ok, sizeof(status_ok));
    if (reply_out[0] == '\0')
        memcpy(reply_out, reply_ok, sizeof(reply_ok));
}

gboolean
bounce_text_has_code(const char *text)
{
    char status[16], reply[8];

    bounce_rules_find_codes(text, status, reply);
    return status[0] != '\0' || reply[0] == '4' || reply[0] == '5';
}

void
bounce_rules_each(BounceTable table, const char *subject, gsize len, BounceRuleWantFunc wants,
                  BounceRuleFunc func, gpointer data)
{
    const CompiledTable *ct;
    const BouncePrefilter *filter;
    const BouncePrefilterText *text;
    guint64 *candidates;
    BounceMatch m;

    g_return_if_fail(table < BOUNCE_TABLE_COUNT);
    ct = rules_table(table);
    if (subject == NULL)
        return;
    /* Rule by rule, among the candidates, as bounce_rules_first: a rule
     * not wanted is not asked of the prefilter either (wants is asked
     * only of candidates, and must not mind). */
    filter = rules_filter(ct);
    text = bounce_prefilter_text(filter, subject, len);
    candidates = g_newa(guint64, (ct->count + 63) / 64 + 1);
    bounce_prefilter_candidates(filter, text, candidates);
    for (gsize i = 0; i < ct->count; i++) {
        if ((candidates[i / 64] >> (i % 64) & 1)
            && (wants == NULL || wants(&ct->rules[i], data))
            && bounce_prefilter_text_maybe(filter, text, i)
            && rules_try(ct, i, subject, len, 0, &m))
            func(&m, data);
    }
}

gboolean
bounce_rules_last(BounceTable table, const char *subject, gsize len, BounceMatch *match_out)
{
    const CompiledTable *ct;
    gboolean found = FALSE;
    BounceMatch m;
    guint8 *maybe;

    g_return_val_if_fail(table < BOUNCE_TABLE_COUNT, FALSE);
    ct = rules_table(table);
    if (subject == NULL)
        return FALSE;
    maybe = g_newa(guint8, ct->count + 1);
    rules_maybe(ct, subject, len, maybe);
    for (gsize i = 0; i < ct->count; i++) {
        gsize offset = 0;

        while (maybe[i] && offset < len && rules_try(ct, i, subject, len, offset, &m)) {
            if (!found || m.match_start > match_out->match_start) {
                *match_out = m;
                found = TRUE;
            }
            offset = m.match_end > offset ? m.match_end : offset + 1;
            /* stay on a character boundary for the UTF-8 matcher */
            while (offset < len && ((unsigned char)subject[offset] & 0xC0) == 0x80)
                offset++;
        }
    }
    return found;
}
