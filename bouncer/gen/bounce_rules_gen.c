/* bounce_rules_gen.c - run by the build: writes, as C, what every process
 * would otherwise work out from the rule tables when it first uses them:
 * each table's prefilter and its patterns compiled by PCRE2 and serialized
 * (bounce_rules.c loads them back with pcre2_serialize_decode). About a
 * quarter of the time `bouncerctl parse` spent on a few hundred bounces
 * went to compiling patterns and prefilters it could have been given.
 *
 *   bounce_rules_gen > bounce_rules_built.c */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/bounce_private.h"

static void
print_bytes(const char *name, const guint8 *bytes, gsize len)
{
    printf("static const guint8 %s[%zu] = {", name, len > 0 ? len : 1);
    for (gsize i = 0; i < len; i++)
        printf("%s%u,", i % 24 == 0 ? "\n    " : "", bytes[i]);
    printf("%s\n};\n", len > 0 ? "" : " 0");
}

/* gen_codes - every pattern of the table compiled, serialized in one
 * block; exits on a pattern that does not compile (a build error). */
static void
gen_codes(guint t, const BounceRule *rules, gsize count)
{
    pcre2_code **codes = g_new0(pcre2_code *, count + 1);
    uint8_t *bytes = NULL;
    PCRE2_SIZE size = 0;
    g_autofree char *name = g_strdup_printf("table%u_codes", t);
    int32_t rc;

    for (gsize i = 0; i < count; i++) {
        int err = 0;
        PCRE2_SIZE at = 0;

        codes[i] = pcre2_compile((PCRE2_SPTR)rules[i].pattern, PCRE2_ZERO_TERMINATED,
                                 BOUNCE_RULES_PCRE2_OPTIONS, &err, &at, NULL);
        if (codes[i] == NULL) {
            PCRE2_UCHAR msg[256];

            pcre2_get_error_message(err, msg, sizeof(msg));
            fprintf(stderr, "bounce_rules_gen: rule %s does not compile at %zu: %s\n",
                    rules[i].id, (size_t)at, (const char *)msg);
            exit(1);
        }
    }
    rc = count > 0 ? pcre2_serialize_encode((const pcre2_code **)codes, (int32_t)count, &bytes,
                                            &size, NULL)
                   : 0;
    if (rc < 0) {
        fprintf(stderr, "bounce_rules_gen: cannot serialize table %u (error %d)\n", t, rc);
        exit(1);
    }
    print_bytes(name, bytes, size);
    pcre2_serialize_free(bytes);
    for (gsize i = 0; i < count; i++)
        pcre2_code_free(codes[i]);
    g_free(codes);
}

/* gen_string - s as a C string literal: printable ASCII as it is, any
 * other byte (and the quote, the backslash and '?', against trigraphs) as
 * a three-digit octal escape. */
static void
gen_string(const char *s, gsize len)
{
    putchar('"');
    for (gsize i = 0; i < len; i++) {
        guchar c = (guchar)s[i];

        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '?')
            putchar(c);
        else
            printf("\\%03o", c);
    }
    putchar('"');
}

/* gen_u32 - one array of the table's prefilter index. */
static void
gen_u32(guint t, const char *name, const guint32 *values, gsize n)
{
    printf("static const guint32 table%u_%s[%zu] = {", t, name, n + 1);
    for (gsize i = 0; i < n; i++)
        printf("%s%uu,", i % 12 == 0 ? "\n    " : "", values[i]);
    printf("\n    0\n};\n");
}

/* gen_index - what the prefilter works out from its words, written out so
 * that a process starts with it (bounce_prefilter_new_built). */
static void
gen_index(guint t, gsize count, gsize nwords, const BouncePrefilterIndex *ix)
{
    gsize set_words = (count + 63) / 64;

    gen_u32(t, "key0", ix->key0, nwords);
    gen_u32(t, "key_end", ix->key_end, nwords);
    gen_u32(t, "clause_end", ix->clause_end, nwords);
    gen_u32(t, "branch_end", ix->branch_end, nwords);
    gen_u32(t, "gate_key", ix->gate_key, ix->ngates);
    gen_u32(t, "gate_start", ix->gate_start, ix->ngates + 1);
    gen_u32(t, "gate_rules", ix->gate_rules, ix->gate_start[ix->ngates]);
    gen_u32(t, "gate_words", ix->gate_words, ix->gate_start[ix->ngates]);
    printf("static const guint64 table%u_always[%zu] = {", t, set_words + 1);
    for (gsize i = 0; i < set_words; i++)
        printf("\n    G_GUINT64_CONSTANT(%" G_GUINT64_FORMAT "),", ix->always[i]);
    printf("\n    0\n};\n");
    printf("static const BouncePrefilterIndex table%u_index = {\n"
           "    table%u_key0, table%u_key_end, table%u_clause_end, table%u_branch_end,\n"
           "    %u, table%u_gate_key, table%u_gate_start, table%u_gate_rules, table%u_gate_words,\n"
           "    table%u_always\n};\n",
           t, t, t, t, t, ix->ngates, t, t, t, t, t);
}

/* gen_prefilter - the table's prefilter arrays; its entry of
 * bounce_built_tables[] appended to entries. */
static void
gen_prefilter(guint t, const BounceRule *rules, gsize count, GString *entries)
{
    BouncePrefilter *pf = bounce_prefilter_new(rules, count);
    const BouncePrefilterData *d = bounce_prefilter_data(pf);

    printf("static const guint32 table%u_first[%zu] = {", t, count + 1);
    for (gsize i = 0; i <= count; i++)
        printf("%s%u,", i % 16 == 0 ? "\n    " : "", i < count ? d->first[i] : 0);
    printf("\n};\nstatic const guint32 table%u_nwords[%zu] = {", t, count + 1);
    for (gsize i = 0; i <= count; i++)
        printf("%s%u,", i % 16 == 0 ? "\n    " : "", i < count ? d->nwords[i] : 0);
    printf("\n};\nstatic const BouncePrefilterWord table%u_words[%zu] = {\n", t, d->nwords_total + 1);
    for (gsize i = 0; i < d->nwords_total; i++) {
        printf("    { {");
        for (int k = 0; k < BOUNCE_PREFILTER_MAX_KEYS; k++)
            printf("%s%uu", k ? "," : "", d->words[i].keys[k]);
        printf("}, %u, %u, %u, %u, %uu },\n", d->words[i].nkeys, d->words[i].branch,
               d->words[i].clause, d->words[i].len, d->words[i].text_at);
    }
    printf("    { {0}, 0, 0, 0, 0, 0 }\n};\n");
    /* The words' block of text as it is, a word and its NUL a line:
     * offsets into it, as pointers would be relocated at every start. */
    gsize text_len = 0;
    for (gsize i = 0; i < d->nwords_total; i++)
        text_len = MAX(text_len, d->words[i].text_at + d->words[i].len + 1u);
    printf("static const char table%u_text[] =", t);
    for (gsize at = 0, len; at < text_len; at += len) {
        len = strlen(d->text + at) + 1;
        printf("\n    ");
        gen_string(d->text + at, len);
    }
    printf("%s;\n", text_len > 0 ? "" : " \"\"");
    gen_index(t, count, d->nwords_total, bounce_prefilter_index(pf));
    g_string_append_printf(entries,
                           "    { G_GUINT64_CONSTANT(%" G_GUINT64_FORMAT "),\n"
                           "      { %zu, %u, table%u_first, table%u_nwords, table%u_words, %zu,\n"
                           "        table%u_text, &table%u_index },\n"
                           "      table%u_codes, sizeof(table%u_codes) },\n",
                           bounce_tables_fingerprint(rules, count), count, d->trigrams, t, t, t,
                           d->nwords_total, t, t, t, t);
    bounce_prefilter_free(pf);
}

int
main(void)
{
    g_autoptr(GString) entries = g_string_new(NULL);

    printf("/* Written by bouncer/gen/bounce_rules_gen.c from bouncer/bounce_tables.c:\n"
           " * do not edit. PCRE2 %d.%d. */\n"
           "#include \"bouncer/bounce_private.h\"\n\n",
           PCRE2_MAJOR, PCRE2_MINOR);
    for (guint t = 0; t < BOUNCE_TABLE_COUNT; t++) {
        gsize count = 0;
        const BounceRule *rules = bounce_tables_get(t, &count);

        gen_prefilter(t, rules, count, entries);
        gen_codes(t, rules, count);
        printf("\n");
    }
    printf("const BounceBuiltTable bounce_built_tables[BOUNCE_TABLE_COUNT] = {\n%s};\n",
           entries->str);
    return fflush(stdout) == 0 ? 0 : 1;
}
