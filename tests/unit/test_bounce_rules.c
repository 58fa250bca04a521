/* test_bounce_rules.c - the rule engine gives one answer for a rule and a
 * text, whether the rule runs interpreted (its first runs) or JIT-compiled
 * (from its BOUNCE_RULES_JIT_AFTER-th); a run stopped by a bound is no
 * match, and counted; a text's codes are its own, whatever was asked
 * before it; a provider's rules are found by its host names; a table run
 * by branch finds the rules its patterns as written find. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "bouncer/bounce_private.h"
#include "common/metrics.h"
#include "testutil.h"

/* rule_index - the number of the rule named id in table. */
static gsize
rule_index(BounceTable table, const char *id)
{
    gsize count;
    const BounceRule *rules = bounce_tables_get(table, &count);

    for (gsize i = 0; i < count; i++) {
        if (strcmp(rules[i].id, id) == 0)
            return i;
    }
    g_error("no rule %s", id);
}

/* A Sendmail recipient line whose domain has thousands of labels: each
 * label is one more turn of a repeated group, and JIT-compiled code keeps
 * them on its stack. On PCRE2's 32 KB default the JIT-compiled rule gave
 * up (no match) where the interpreter, on its first run, matched. */
static void
test_rules_jit_and_interpreter_agree(void)
{
    gsize rule = rule_index(BOUNCE_TABLE_RECIPIENT, "rcpt-sendmail-dots");
    g_autoptr(GString) line = g_string_new("550 <user@a");
    BounceMatch first, again;

    for (int i = 0; i < 3000; i++)
        g_string_append(line, ".b");
    g_string_append(line, ">... User unknown\n");

    g_assert_true(bounce_rules_try(BOUNCE_TABLE_RECIPIENT, rule, line->str, line->len, &first));
    /* Past the run that compiles it, so some runs are the JIT's. */
    for (int run = 0; run < BOUNCE_RULES_JIT_AFTER + 2; run++) {
        memset(&again, 0, sizeof(again));
        g_assert_true(bounce_rules_try(BOUNCE_TABLE_RECIPIENT, rule, line->str, line->len, &again));
        g_assert_cmpuint(again.start, ==, first.start);
        g_assert_cmpuint(again.end, ==, first.end);
    }
    g_assert_cmpuint(first.end - first.start, ==, strlen("user@a") + 3000 * 2);
}

/* metric_sum - the sum of the metric's lines that start with prefix (its
 * name and first labels). */
static guint64
metric_sum(const char *text, const char *prefix)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    guint64 sum = 0;

    for (gsize i = 0; lines[i] != NULL; i++) {
        const char *value = strrchr(lines[i], ' ');

        if (g_str_has_prefix(lines[i], prefix) && value != NULL)
            sum += g_ascii_strtoull(value + 1, NULL, 10);
    }
    return sum;
}

/* The same line with 60 000 labels (120 KB, under the 256 KiB a text may
 * have): past the interpreter's depth bound, or the JIT stack once the
 * rule is compiled. Each run is no match, and each is counted, in
 * bounce_rules_stopped_runs() and in the metric, under the rule's id and
 * the bound. */
#define RUNS (BOUNCE_RULES_JIT_AFTER + 1)

static void
test_rules_stopped_runs_counted(void)
{
    gsize rule = rule_index(BOUNCE_TABLE_RECIPIENT, "rcpt-sendmail-dots");
    g_autoptr(GString) line = g_string_new("550 <user@a");
    guint64 before = bounce_rules_stopped_runs();
    const char *prefix = "bouncer_rule_runs_stopped_total{rule=\"rcpt-sendmail-dots\",limit=";
    g_autofree char *text = NULL;
    g_autofree char *text_before = metrics_render();
    BounceMatch m;

    for (int i = 0; i < 60000; i++)
        g_string_append(line, ".b");
    g_string_append(line, ">... User unknown\n");
    /* Enough runs to be sure of both: interpreted ones, and JIT-compiled
     * ones, whichever this process's earlier runs of the rule were. */
    for (int run = 0; run < RUNS; run++)
        g_assert_false(bounce_rules_try(BOUNCE_TABLE_RECIPIENT, rule, line->str, line->len, &m));
    g_assert_cmpuint(bounce_rules_stopped_runs() - before, ==, RUNS);

    text = metrics_render();
    g_assert_nonnull(strstr(text, "# TYPE bouncer_rule_runs_stopped_total counter"));
    g_assert_cmpuint(metric_sum(text, prefix) - metric_sum(text_before, prefix), ==, RUNS);
    g_assert_nonnull(strstr(text, "limit=\"jit_stack\"}"));

    /* A run that simply does not match is not one of them. */
    g_assert_false(bounce_rules_try(BOUNCE_TABLE_RECIPIENT, rule, "no address here\n", 16, &m));
    g_assert_cmpuint(bounce_rules_stopped_runs() - before, ==, RUNS);
}

/* codes_are - the codes found in text are status and reply. */
static void
codes_are(const char *text, const char *status, const char *reply)
{
    char s[16], r[8];

    bounce_rules_find_codes(text, s, r);
    g_assert_cmpstr(s, ==, status);
    g_assert_cmpstr(r, ==, reply);
}

/* The codes of the thread's last few texts are kept: they must be those of
 * the text's bytes, not of where it lies or how long it is. One buffer,
 * written over with other codes of the same length, gives the new ones;
 * more texts than are kept, asked in turn, each give their own. */
static void
test_rules_codes_follow_the_text(void)
{
    char buf[64];

    g_strlcpy(buf, "550 5.1.1 <x@example.com>: user unknown", sizeof(buf));
    codes_are(buf, "5.1.1", "550");
    memcpy(buf, "452 4.2.2", 9);
    codes_are(buf, "4.2.2", "452");
    memcpy(buf, "550 5.1.1", 9);
    codes_are(buf, "5.1.1", "550");
    buf[9] = '\0';
    codes_are(buf, "5.1.1", "550");
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 6; i++) {
            g_autofree char *text = g_strdup_printf("55%d 5.7.%d denied", i % 5, i);
            g_autofree char *status = g_strdup_printf("5.7.%d", i);
            g_autofree char *reply = g_strdup_printf("55%d", i % 5);

            codes_are(text, status, reply);
        }
    }
    codes_are("no codes at all", "", "");
    codes_are("", "", "");
    codes_are(NULL, "", "");
}

/* Threads asking at once each get their own texts' codes. */
static gpointer
codes_thread(gpointer data)
{
    int id = GPOINTER_TO_INT(data);
    char buf[32];

    for (int i = 0; i < 2000; i++) {
        int n = (i * 7 + id) % 10;

        g_snprintf(buf, sizeof(buf), "55%d 5.%d.%d no", n % 5, id, n);
        {
            char status[16], reply[8], want_status[16], want_reply[8];

            bounce_rules_find_codes(buf, status, reply);
            g_snprintf(want_status, sizeof(want_status), "5.%d.%d", id, n);
            g_snprintf(want_reply, sizeof(want_reply), "55%d", n % 5);
            if (strcmp(status, want_status) != 0 || strcmp(reply, want_reply) != 0)
                return GINT_TO_POINTER(1);
        }
    }
    return GINT_TO_POINTER(0);
}

static void
test_rules_codes_threads(void)
{
    GThread *threads[4];

    for (int t = 0; t < 4; t++)
        threads[t] = g_thread_new("codes", codes_thread, GINT_TO_POINTER(t + 1));
    for (int t = 0; t < 4; t++)
        g_assert_null(g_thread_join(threads[t]));
}

/* A provider's rules are found by any of its names, whatever other
 * provider's rules come before or after them in the table: the host
 * itself, a host under it (by domain), or a host containing it (by
 * remote host); not a host that only ends with its letters. */
static void
test_rules_provider_by_host(void)
{
    const char *text = "452 4.5.3 Your message has too many recipients.";
    gsize len = strlen(text);
    BounceMatch m;

    g_assert_true(bounce_rules_first_domain(BOUNCE_TABLE_RHOST_REASON, "google.com", text, len, &m));
    g_assert_cmpstr(m.rule->id, ==, "rhost-google-toomany");
    g_assert_true(bounce_rules_first_domain(BOUNCE_TABLE_RHOST_REASON, "MX.Google.COM. (192.0.2.1)",
                                            text, len, &m));
    g_assert_cmpstr(m.rule->id, ==, "rhost-google-toomany");
    g_assert_true(bounce_rules_first_domain(BOUNCE_TABLE_RHOST_REASON, "[smtp-relay.gmail.com]",
                                            text, len, &m));
    g_assert_cmpstr(m.rule->id, ==, "rhost-google-toomany");
    g_assert_false(bounce_rules_first_domain(BOUNCE_TABLE_RHOST_REASON, "notgoogle.com", text, len,
                                             &m));
    g_assert_false(bounce_rules_first_domain(BOUNCE_TABLE_RHOST_REASON, "g", text, len, &m));

    text = "550 No such user here";
    len = strlen(text);
    g_assert_true(bounce_rules_first_rhost(BOUNCE_TABLE_MTA_REASON, "McAfee", text, len, &m));
    g_assert_cmpstr(m.rule->id, ==, "mcafee-user");
    g_assert_true(bounce_rules_first_rhost(BOUNCE_TABLE_MTA_REASON, "MessageLabs", text, len, &m));
    g_assert_cmpstr(m.rule->id, ==, "messagelabs-user");
    g_assert_false(bounce_rules_first_rhost(BOUNCE_TABLE_MTA_REASON, "postfix", text, len, &m));
}

/* A pattern divides at its top-level '|' only: not inside a group or a
 * character class, not at an escaped one, and not at all where a branch
 * could mean something else alone. */
static void
test_rules_pattern_branches(void)
{
    static const struct {
        const char *pattern;
        gsize n;
        gsize at[2];
    } cases[] = {
        { "a|b(?:c|d)", 1, { 1 } },
        { "user (?:unknown|not found)|no such user", 1, { 26 } },
        { "[|]x|y", 1, { 4 } },
        { "[]|]|x", 1, { 4 } },
        { "[^]|]|x", 1, { 5 } },
        { "\\|a|b", 1, { 3 } },
        { "[[:alpha:]|]x|y", 1, { 13 } },
        { "(?<=a)b|c|(?<!d)e", 2, { 7, 9 } },
        { "(?>a|b)c|(?=x)y", 1, { 8 } },
        { "abc", 0, { 0 } },
        { "(?:a|b)", 0, { 0 } },
        { "(?i)a|b", 0, { 0 } },          /* the option holds for b too */
        { "(a)|\\1", 0, { 0 } },         /* a back reference */
        { "(?<name>a)|b", 0, { 0 } },
        { "(?|(a)|(b))|c", 0, { 0 } },
        { "\\Qa|b\\E|c", 0, { 0 } },
        { "(*UTF)a|b", 0, { 0 } },
        { "a\\c|b", 0, { 0 } },          /* \c| is one character */
        { "a)|b", 0, { 0 } },
        { "(a|b", 0, { 0 } },
        { "[a|b", 0, { 0 } },
    };
    gsize one[1];

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        gsize at[2] = { 0, 0 };
        gsize n = bounce_pattern_branches(cases[i].pattern, at, 2);

        g_test_message("%s", cases[i].pattern);
        g_assert_cmpuint(n, ==, cases[i].n);
        for (gsize k = 0; k < n; k++)
            g_assert_cmpuint(at[k], ==, cases[i].at[k]);
    }
    /* more branches than there is room for: kept whole */
    g_assert_cmpuint(bounce_pattern_branches("a|b", one, 1), ==, 1);
    g_assert_cmpuint(bounce_pattern_branches("a|b|c", one, 1), ==, 0);
}

static void
ids_add(const BounceMatch *m, gpointer data)
{
    GHashTable *ids = data;

    g_hash_table_add(ids, (gpointer)m->rule->id);
}

/* A table run by branch says of every fixture which of its rules match
 * (bounce_rules_each) and which matches first (bounce_rules_first) as its
 * rules as written say, each compiled whole here. */
static void
test_rules_branches_find_the_written_rules(void)
{
    g_autoptr(GPtrArray) paths = testutil_fixture_paths();
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
    pcre2_match_data *md = pcre2_match_data_create(16, NULL);
    guint split = 0;

    for (guint i = 0; i < paths->len; i++) {
        g_autoptr(GBytes) data = testutil_read_file(g_ptr_array_index(paths, i));
        gsize len = 0;
        const char *bytes = g_bytes_get_data(data, &len);

        g_ptr_array_add(texts, g_utf8_make_valid(bytes, (gssize)len));
    }
    g_assert_cmpuint(texts->len, >, 500);

    for (int t = 0; t < BOUNCE_TABLE_COUNT; t++) {
        gsize count = 0, written_count = 0;
        const BounceRule *written = bounce_tables_written((BounceTable)t, &written_count);
        g_autoptr(GPtrArray) codes = g_ptr_array_new_with_free_func((GDestroyNotify)pcre2_code_free);

        (void)bounce_tables_get((BounceTable)t, &count);
        if (count == written_count)
            continue;
        split++;
        for (gsize i = 0; i < written_count; i++) {
            int err = 0;
            PCRE2_SIZE at = 0;
            pcre2_code *code = pcre2_compile((PCRE2_SPTR)written[i].pattern, PCRE2_ZERO_TERMINATED,
                                             BOUNCE_RULES_PCRE2_OPTIONS, &err, &at, NULL);

            g_assert_nonnull(code);
            pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
            g_ptr_array_add(codes, code);
        }
        for (guint k = 0; k < texts->len; k++) {
            const char *text = g_ptr_array_index(texts, k);
            gsize len = strlen(text);
            g_autoptr(GHashTable) want = g_hash_table_new(g_str_hash, g_str_equal);
            g_autoptr(GHashTable) got = g_hash_table_new(g_str_hash, g_str_equal);
            const char *first = NULL;
            GHashTableIter iter;
            gpointer id;
            BounceMatch m;

            for (gsize i = 0; i < written_count; i++) {
                if (pcre2_match(g_ptr_array_index(codes, i), (PCRE2_SPTR)text, len, 0, 0, md, NULL)
                    > 0) {
                    g_hash_table_add(want, (gpointer)written[i].id);
                    if (first == NULL)
                        first = written[i].id;
                }
            }
            bounce_rules_each((BounceTable)t, text, len, NULL, ids_add, got);
            g_assert_cmpuint(g_hash_table_size(got), ==, g_hash_table_size(want));
            g_hash_table_iter_init(&iter, want);
            while (g_hash_table_iter_next(&iter, &id, NULL))
                g_assert_true(g_hash_table_contains(got, id));
            if (first == NULL)
                g_assert_false(bounce_rules_first((BounceTable)t, text, len, &m));
            else
                g_assert_true(bounce_rules_first((BounceTable)t, text, len, &m)
                              && strcmp(m.rule->id, first) == 0);
        }
    }
    g_assert_cmpuint(split, >=, 3);
    pcre2_match_data_free(md);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/rules/jit-and-interpreter-agree", test_rules_jit_and_interpreter_agree);
    g_test_add_func("/bounce/rules/stopped-runs-counted", test_rules_stopped_runs_counted);
    g_test_add_func("/bounce/rules/codes-follow-the-text", test_rules_codes_follow_the_text);
    g_test_add_func("/bounce/rules/codes-threads", test_rules_codes_threads);
    g_test_add_func("/bounce/rules/provider-by-host", test_rules_provider_by_host);
    g_test_add_func("/bounce/rules/pattern-branches", test_rules_pattern_branches);
    g_test_add_func("/bounce/rules/branches-find-the-written-rules",
                    test_rules_branches_find_the_written_rules);
    return g_test_run();
}
