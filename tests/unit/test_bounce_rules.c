/* test_bounce_rules.c - the rule engine gives one answer for a rule and a
 * text, whether the rule runs interpreted (its first runs) or JIT-compiled
 * (from its BOUNCE_RULES_JIT_AFTER-th); a run stopped by a bound is no
 * match, and counted. */
#include <string.h>

#include "bouncer/bounce_private.h"
#include "common/metrics.h"

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

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/rules/jit-and-interpreter-agree", test_rules_jit_and_interpreter_agree);
    g_test_add_func("/bounce/rules/stopped-runs-counted", test_rules_stopped_runs_counted);
    return g_test_run();
}
