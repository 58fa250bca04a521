/* fuzz_rules.c - libFuzzer target: the rule prefilter against PCRE2. Any
 * text (made valid UTF-8, as the parser's texts are) through every table:
 * a rule the prefilter skips must not match, PCRE2 compiled here with the
 * flags of bounce_rules.c says whether it does; and bounce_rules_first,
 * which asks the prefilter rule by rule, must stop at the first rule that
 * matches. A table run by branch must find first the rule its patterns as
 * written find first. A skipped match or another first rule is the
 * finding. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/bounce_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* rule_code - a rule's pattern compiled, kept for the run. (transfer none) */
static pcre2_code *
rule_code(GHashTable *codes, const BounceRule *rule)
{
    pcre2_code *code = g_hash_table_lookup(codes, rule->pattern);
    int err = 0;
    PCRE2_SIZE at = 0;

    if (code == NULL) {
        code = pcre2_compile((PCRE2_SPTR)rule->pattern, PCRE2_ZERO_TERMINATED,
                             PCRE2_CASELESS | PCRE2_UTF | PCRE2_MULTILINE | PCRE2_UCP, &err, &at,
                             NULL);
        if (code == NULL)
            abort();
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
        g_hash_table_insert(codes, (gpointer)rule->pattern, code);
    }
    return code;
}

/* written_first - for a table run by branch, the first rule as written to
 * match text must be the rule of run, the first branch to match. */
static void
written_first(BounceTable table, GHashTable *codes, pcre2_match_data *md, const char *text,
              gsize len, const BounceRule *run)
{
    gsize count = 0, written_count = 0;
    const BounceRule *written = bounce_tables_written(table, &written_count);

    (void)bounce_tables_get(table, &count);
    if (count == written_count)
        return;
    for (gsize i = 0; i < written_count; i++) {
        if (pcre2_match(rule_code(codes, &written[i]), (PCRE2_SPTR)text, len, 0, 0, md, NULL) > 0) {
            if (run == NULL || strcmp(run->id, written[i].id) != 0) {
                fprintf(stderr, "table %d: %s matches first as written, %s by branch\n", table,
                        written[i].id, run != NULL ? run->id : "none");
                abort();
            }
            return;
        }
    }
    if (run != NULL) {
        fprintf(stderr, "table %d: no rule as written matches, %s by branch\n", table, run->id);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static BouncePrefilter *filters[BOUNCE_TABLE_COUNT];
    static GHashTable *codes;
    static pcre2_match_data *md;
    g_autofree char *text = g_utf8_make_valid((const char *)data, size);
    gsize len = strlen(text);

    if (codes == NULL) {
        codes = g_hash_table_new(g_direct_hash, g_direct_equal);
        md = pcre2_match_data_create(16, NULL);
    }
    for (int t = 0; t < BOUNCE_TABLE_COUNT; t++) {
        gsize count = 0;
        const BounceRule *rules = bounce_tables_get((BounceTable)t, &count);
        g_autofree guint8 *maybe = g_new0(guint8, count + 1);
        const BounceRule *want = NULL;
        BounceMatch first;
        gboolean found;

        if (filters[t] == NULL)
            filters[t] = bounce_prefilter_new(rules, count);
        bounce_prefilter_scan(filters[t], text, len, maybe);
        for (gsize i = 0; i < count; i++) {
            gboolean matches;

            if (maybe[i] && want != NULL)
                continue;       /* nothing left to learn from this rule */
            matches = pcre2_match(rule_code(codes, &rules[i]), (PCRE2_SPTR)text, len, 0, 0, md,
                                  NULL) > 0;
            if (!maybe[i] && matches) {
                fprintf(stderr, "rule %s matches but the prefilter skips it\n", rules[i].id);
                abort();
            }
            if (matches && want == NULL)
                want = &rules[i];
        }
        found = bounce_rules_first((BounceTable)t, text, len, &first);
        if ((found ? first.rule : NULL) != want) {
            fprintf(stderr, "table %d: bounce_rules_first gives %s, the first match is %s\n", t,
                    found ? first.rule->id : "none", want != NULL ? want->id : "none");
            abort();
        }
        written_first((BounceTable)t, codes, md, text, len, want);
    }
    return 0;
}
