/* test_bounce_prefilter.c - the rule prefilter may skip a pattern only when
 * it cannot match: table-driven cases for the words it takes from
 * patterns, and every rule of every table against the texts of the
 * fixtures, compiled here with PCRE2 as bounce_rules.c compiles them. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "bouncer/bounce_private.h"
#include "tests/unit/testutil.h"

/* pattern_code - a pattern compiled with the flags of the rule tables,
 * kept for the whole test run. (transfer none) */
static pcre2_code *
pattern_code(const char *pattern)
{
    static GHashTable *codes;
    pcre2_code *code;
    int err = 0;
    PCRE2_SIZE at = 0;

    if (codes == NULL)
        codes = g_hash_table_new(g_direct_hash, g_direct_equal);
    code = g_hash_table_lookup(codes, pattern);
    if (code != NULL)
        return code;
    code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                         BOUNCE_RULES_PCRE2_OPTIONS, &err, &at, NULL);
    if (code == NULL)
        g_error("pattern %s does not compile", pattern);
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    g_hash_table_insert(codes, (gpointer)pattern, code);
    return code;
}

/* pattern_matches - what PCRE2 says. */
static gboolean
pattern_matches(const char *pattern, const char *subject, gsize len)
{
    static pcre2_match_data *md;

    if (md == NULL)
        md = pcre2_match_data_create(16, NULL);
    return pcre2_match(pattern_code(pattern), (PCRE2_SPTR)subject, len, 0, 0, md, NULL) > 0;
}

/* filter_says - whether the prefilter of a one-rule table lets it run. */
static gboolean
filter_says(const char *pattern, const char *subject)
{
    BounceRule rule = { "test", NULL, 0, pattern, NULL };
    BouncePrefilter *pf = bounce_prefilter_new(&rule, 1);
    guint8 maybe = 0;

    bounce_prefilter_scan(pf, subject, strlen(subject), &maybe);
    bounce_prefilter_free(pf);
    return maybe;
}

static void
test_prefilter_words(void)
{
    static const struct {
        const char *pattern, *subject;
        gboolean skip;          /* the filter must skip the rule */
    } cases[] = {
        { "user(?:name)? unknown", "550 Username Unknown", FALSE },
        { "user(?:name)? unknown", "550 user is not known", TRUE },
        { "mailbox (?:is )?full|quota exceeded", "552 QUOTA EXCEEDED", FALSE },
        { "mailbox (?:is )?full|quota exceeded", "452 try again later", TRUE },
        { "no such (?:user|mailbox)\\b", "no such mailbox here", FALSE },
        { "no such (?:user|mailbox)\\b", "no such address", TRUE },
        /* every n-gram looked up is there, the phrase is not */
        { "user unknown", "for unknown reasons the user was known", TRUE },
        { "user unknown", "for unknown reasons the USER  UNKNOWN", TRUE },
        { "user unknown", "for unknown reasons the USER UNKNOWN", FALSE },
        /* a word of each part of a sequence: one of the first two and
         * one of the last two */
        { "(?:mailbox|recipient) \\S+ (?:not found|unknown)", "Mailbox x@y.example unknown", FALSE },
        { "(?:mailbox|recipient) \\S+ (?:not found|unknown)", "your mailbox is over quota", TRUE },
        { "(?:mailbox|recipient) \\S+ (?:not found|unknown)", "the user is unknown", TRUE },
        /* ... for one alternative or another, not half of each */
        { "user \\S+ unknown|no \\S+ mailbox", "user x@y.example unknown", FALSE },
        { "user \\S+ unknown|no \\S+ mailbox", "no such mailbox", FALSE },
        { "user \\S+ unknown|no \\S+ mailbox", "user x@y.example: mailbox full", TRUE },
        /* nested: (a and b) or (c and d) inside a group keeps a clause
         * of each pairing */
        { "^(?:user \\S+ unknown|no \\S+ mailbox)$", "mailbox of user unknown", FALSE },
        { "^(?:user \\S+ unknown|no \\S+ mailbox)$", "nothing to see", TRUE },
        /* eight ASCII bytes are lowered at once: capitals at every
         * offset, and the bytes beside A and Z ('@', '[') left alone */
        { "user unknown", "1234567USER UNKNOWN", FALSE },
        { "user unknown", "12345678uSER uNKNOWn", FALSE },
        { "user unknown", "12345678USER-UNKNOWN", TRUE },
        { "a@b\\[z\\]`", "0123456789A@B[Z]`", FALSE },
        { "a@b\\[z\\]`", "0123456789A`B{Z}@", TRUE },
        { "user unknown", "\xc3\xa9t\xc3\xa9: 1234567USER UNKNOWN", FALSE },
        /* a character that may be absent or repeat keeps the words
         * around it apart: "oxsus0*1_101" is in "OXSUS0001_101", which
         * holds neither "oxsus01_101" nor "oxsus1_101" */
        { "\\boxsus0*1_101\\b", "Connection refused - OXSUS0001_101", FALSE },
        { "\\boxsus0*1_101\\b", "Connection refused - OXSUS1_101", FALSE },
        { "ab{0,3}c", "xabbbcx", FALSE },
        { "ab{0,3}c", "xacx", FALSE },
        { "ab?c", "xacx", FALSE },
        { "ab*c", "nothing here", TRUE },
        /* classes, repeats, anchors and escapes */
        { "[245]\\.\\d\\.\\d", "status 5.1.1", FALSE },
        { "[245]\\.\\d\\.\\d", "status 3.1.1", TRUE },
        { "^\\s*-+ original message -+$", "---- Original Message ----", FALSE },
        { "x-unix;|procmail", "Diagnostic-Code: X-UNIX; 67", FALSE },
        { "x-unix;|procmail", "Diagnostic-Code: smtp; 550", TRUE },
        { "\\bspam\\b|unsolicited", "UNSOLICITED bulk", FALSE },
        /* a positive lookahead's or lookbehind's words are in the text
         * too (beside the match or not), though not joined to the words
         * beside it; a negative one's say nothing */
        { "^\\S+@\\S+(?=,? zugestellt, weil)", "x@y.example zugestellt, weil", FALSE },
        { "^\\S+@\\S+(?=,? zugestellt, weil)", "x@y.example wurde zugestellt", TRUE },
        { "user(?= unknown)", "user unknown", FALSE },
        { "user(?= unknown)", "unknown user", TRUE },
        { "user(?= unknown) unknown", "user unknown", FALSE },
        { "x(?! unknown)user", "xuser", FALSE },
        { "(?:user(?= unknown)|mailbox(?= full)) \\S+", "mailbox full", FALSE },
        { "(?:user(?= unknown)|mailbox(?= full)) \\S+", "mailbox unknown", TRUE },
        { "^<?(\\S+@\\S+)>?(?= invalid address\\b)", "x@y.example Invalid Address", FALSE },
        { "^<?(\\S+@\\S+)>?(?= invalid address\\b)", "x@y.example unknown", TRUE },
        { "(?<=mailbox )full", "MAILBOX FULL", FALSE },
        { "(?<=mailbox )full", "disk full", TRUE },
        { "(?=.*quota)\\S+@\\S+", "x@y.example: quota", FALSE },
        { "(?=.*quota)\\S+@\\S+", "x@y.example: unknown", TRUE },
        { "(?!not )found", "found", FALSE },
        { "(?:(?=a\\b)|b)c", "bc", FALSE },
        /* what the filter cannot read is always tried */
        { "(?i)anything", "nothing alike", FALSE },
        { "a{,3}b", "zzz", FALSE },
        { "(\\w+)@\\1", "zzz", FALSE },
        { "[^a-z]+", "ABC", FALSE },
        /* caseless matching beyond ASCII: the long s and the Kelvin sign
         * are an s and a k to PCRE2 */
        { "mailbox is full", "mailbox i\xc5\xbf full", FALSE },
        { "kb exceeded", "\xe2\x84\xaa" "B exceeded", FALSE },
        /* characters without case are matched as bytes */
        { "宛先不明|user unknown", "エラー: 宛先不明です", FALSE },
        { "宛先不明|user unknown", "エラーです", TRUE },
        /* letters with case outside ASCII: not used as words */
        { "échec de livraison", "ÉCHEC DE LIVRAISON", FALSE },
        /* but the Russian alphabet's are, in either case, and the old
         * letter forms PCRE2 folds onto them */
        { "ящик переполнен", "ЯЩИК ПЕРЕПОЛНЕН", FALSE },
        { "ящик переполнен", "Ящик получателя переполнен", TRUE },
        { "ч[её]рном списке", "IP в ЧЁРНОМ СПИСКЕ", FALSE },
        { "ёлка", "ЁЛКА", FALSE },
        { "спам", "\xe1\xb2\x83\xd0\x9f\xd0\x90\xd0\x9c", FALSE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        gboolean runs = filter_says(cases[i].pattern, cases[i].subject);
        gboolean matches = pattern_matches(cases[i].pattern, cases[i].subject,
                                           strlen(cases[i].subject));

        if (matches && !runs)
            g_error("%s on \"%s\": skipped, but it matches", cases[i].pattern, cases[i].subject);
        if (runs == cases[i].skip)
            g_error("%s on \"%s\": got %s, want %s", cases[i].pattern, cases[i].subject,
                    runs ? "run" : "skip", cases[i].skip ? "skip" : "run");
    }
}

/* check_tables - every rule of every table on subject: never skipped
 * where PCRE2 finds a match. Returns how many matched. */
static guint
check_tables(const char *subject, gsize len)
{
    guint matched = 0;

    static BouncePrefilter *filters[BOUNCE_TABLE_COUNT];

    for (int t = 0; t < BOUNCE_TABLE_COUNT; t++) {
        gsize count = 0;
        const BounceRule *rules = bounce_tables_get((BounceTable)t, &count);
        BouncePrefilter *pf = filters[t] != NULL ? filters[t] : bounce_prefilter_new(rules, count);
        g_autofree guint8 *maybe = g_new0(guint8, count + 1);
        const BouncePrefilterText *text;

        BounceMatch first;
        gboolean found = bounce_rules_first((BounceTable)t, subject, len, &first);
        gboolean expected = FALSE;

        filters[t] = pf;
        bounce_prefilter_scan(pf, subject, len, maybe);
        text = bounce_prefilter_text(pf, subject, len);
        for (gsize i = 0; i < count; i++) {
            /* one rule asked alone gets the answer the table scan gives
             * (which asks only the candidates its first keys let in) */
            if (bounce_prefilter_text_maybe(pf, text, i) != (maybe[i] != 0))
                g_error("rule %s on \"%.80s\": alone %d, in the scan %d", rules[i].id, subject,
                        !maybe[i], maybe[i]);
            if (!pattern_matches(rules[i].pattern, subject, len))
                continue;
            /* bounce_rules_first, which asks rule by rule, stops at the
             * first rule a plain loop finds */
            if (!expected && (!found || first.rule != &rules[i]))
                g_error("table %d on \"%.80s\": first rule %s, want %s", t, subject,
                        found ? first.rule->id : "none", rules[i].id);
            expected = TRUE;
            matched++;
            if (!maybe[i])
                g_error("rule %s matches \"%.80s\" but the filter skips it", rules[i].id, subject);
        }
        if (found && !expected)
            g_error("table %d on \"%.80s\": first rule %s, but no pattern matches", t, subject,
                    first.rule->id);
    }
    return matched;
}

/* test_prefilter_tables - the real tables over the fixtures: the texts the
 * rules are written for. */
static void
test_prefilter_tables(void)
{
    g_autofree char *dir = g_build_filename(testutil_source_dir(), "tests/fixtures/bounces", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint files = 0, matched = 0;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d)) != NULL) {
        g_autofree char *rel = NULL;
        g_autoptr(GBytes) bytes = NULL;
        g_autofree char *text = NULL;
        gsize len;
        const char *data;
        g_auto(GStrv) lines = NULL;

        if (!g_str_has_suffix(name, ".eml"))
            continue;
        rel = g_build_filename("tests/fixtures/bounces", name, NULL);
        bytes = testutil_read_file(rel);
        data = g_bytes_get_data(bytes, &len);
        text = g_utf8_make_valid(data, len);
        files++;
        matched += check_tables(text, strlen(text));
        /* and line by line, as the recipient rules see a text */
        lines = g_strsplit(text, "\n", -1);
        for (gsize k = 0; lines[k] != NULL; k++)
            matched += check_tables(lines[k], strlen(lines[k]));
    }
    if (files == 0 || matched == 0)
        g_error("got %u fixtures and %u matches, want some of each", files, matched);
}

/* test_prefilter_shared_text - a thread keeps the texts it read for the
 * next filter: one read by a filter whose words are all too short for
 * trigrams (only folded) must get its trigrams when a filter that looks
 * them up reads it next, and the other way round. */
static void
test_prefilter_shared_text(void)
{
    static const BounceRule shorts[] = { { "at", "x", 0, "@", NULL }, { "code", "x", 0, "5\\.", NULL } };
    static const BounceRule longs[] = { { "unknown", "x", 0, "user unknown", NULL },
                                        { "full", "x", 0, "mailbox (?:is )?full", NULL } };
    static const char *const subjects[] = {
        "550 5.1.1 <a@example.org>: user unknown",
        "452 4.2.2 mailbox is full",
        "no address, no code, nothing known",
    };
    BouncePrefilter *a = bounce_prefilter_new(shorts, G_N_ELEMENTS(shorts));
    BouncePrefilter *b = bounce_prefilter_new(longs, G_N_ELEMENTS(longs));

    g_assert_false(bounce_prefilter_data(a)->trigrams);
    g_assert_true(bounce_prefilter_data(b)->trigrams);
    for (int order = 0; order < 2; order++) {
        for (gsize k = 0; k < G_N_ELEMENTS(subjects); k++) {
            /* a copy per round: the cache keys on the bytes, not the pointer */
            g_autofree char *subject = g_strdup(subjects[k]);
            gsize len = strlen(subject);
            BouncePrefilter *filters[2] = { order == 0 ? a : b, order == 0 ? b : a };
            const BounceRule *rules[2] = { order == 0 ? shorts : longs, order == 0 ? longs : shorts };

            for (int f = 0; f < 2; f++) {
                const BouncePrefilterText *text = bounce_prefilter_text(filters[f], subject, len);

                for (gsize i = 0; i < 2; i++) {
                    gboolean runs = bounce_prefilter_text_maybe(filters[f], text, i);
                    gboolean matches = pattern_matches(rules[f][i].pattern, subject, len);

                    if (runs != matches)
                        g_error("rule %s on \"%s\" (filter %d of 2): %s, but it %s",
                                rules[f][i].id, subject, f + 1, runs ? "runs" : "is skipped",
                                matches ? "matches" : "does not match");
                }
            }
        }
    }
    bounce_prefilter_free(a);
    bounce_prefilter_free(b);
}

/* test_prefilter_built - what the build compiled in is what the tables
 * give at run time: same fingerprint, same prefilter arrays, and a block
 * of compiled patterns this PCRE2 reads back whole, one per rule, each
 * answering as a fresh compile does. A stale or unreadable block would
 * only be slow (bounce_rules.c falls back), so only a test notices. */
static void
test_prefilter_built(void)
{
    for (guint t = 0; t < BOUNCE_TABLE_COUNT; t++) {
        gsize count = 0;
        const BounceRule *rules = bounce_tables_get(t, &count);
        const BounceBuiltTable *built = &bounce_built_tables[t];
        BouncePrefilter *pf = bounce_prefilter_new(rules, count);
        const BouncePrefilterData *d = bounce_prefilter_data(pf);
        pcre2_code **codes = g_new0(pcre2_code *, count + 1);
        g_autofree char *what = g_strdup_printf("table %u", t);

        g_assert_cmpuint(built->fingerprint, ==, bounce_tables_fingerprint(rules, count));
        g_assert_cmpuint(built->prefilter.count, ==, count);
        g_assert_cmpuint(built->prefilter.trigrams, ==, d->trigrams);
        g_assert_cmpuint(built->prefilter.nwords_total, ==, d->nwords_total);
        g_assert_cmpmem(built->prefilter.first, count * sizeof(guint32), d->first,
                        count * sizeof(guint32));
        g_assert_cmpmem(built->prefilter.nwords, count * sizeof(guint32), d->nwords,
                        count * sizeof(guint32));
        for (gsize w = 0; w < d->nwords_total; w++) {
            g_assert_cmpuint(built->prefilter.words[w].nkeys, ==, d->words[w].nkeys);
            g_assert_cmpuint(built->prefilter.words[w].branch, ==, d->words[w].branch);
            g_assert_cmpuint(built->prefilter.words[w].clause, ==, d->words[w].clause);
            g_assert_cmpuint(built->prefilter.words[w].len, ==, d->words[w].len);
            g_assert_cmpuint(built->prefilter.words[w].text_at, ==, d->words[w].text_at);
            g_assert_cmpstr(built->prefilter.text + built->prefilter.words[w].text_at, ==,
                            d->text + d->words[w].text_at);
            g_assert_cmpmem(built->prefilter.words[w].keys, sizeof(d->words[w].keys),
                            d->words[w].keys, sizeof(d->words[w].keys));
        }
        if (count > 0) {
            g_assert_cmpint(pcre2_serialize_get_number_of_codes(built->codes), ==, (int)count);
            g_assert_cmpint(pcre2_serialize_decode(codes, (int32_t)count, built->codes, NULL), ==,
                            (int)count);
        }
        for (gsize i = 0; i < count; i++) {
            static const char *const subjects[] = {
                "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
                "452 4.2.2 Mailbox full, quota exceeded",
                "Delivery Status Notification (Failure)",
                "",
            };
            pcre2_match_data *md = pcre2_match_data_create(16, NULL);

            for (gsize k = 0; k < G_N_ELEMENTS(subjects); k++) {
                const char *subject = subjects[k];
                gboolean a = pcre2_match(codes[i], (PCRE2_SPTR)subject, strlen(subject), 0, 0, md,
                                         NULL) > 0;

                if (a != pattern_matches(rules[i].pattern, subject, strlen(subject)))
                    g_error("%s rule %s: the built pattern disagrees on \"%s\"", what,
                            rules[i].id, subject);
            }
            pcre2_match_data_free(md);
            pcre2_code_free(codes[i]);
        }
        g_free(codes);
        bounce_prefilter_free(pf);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/prefilter/words", test_prefilter_words);
    g_test_add_func("/bounce/prefilter/tables", test_prefilter_tables);
    g_test_add_func("/bounce/prefilter/shared-text", test_prefilter_shared_text);
    g_test_add_func("/bounce/prefilter/built", test_prefilter_built);
    return g_test_run();
}
