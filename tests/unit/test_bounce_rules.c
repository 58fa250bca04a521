/* test_bounce_rules.c - the rule engine gives one answer for a rule and a
 * text, whether the rule runs interpreted (its first run) or JIT-compiled
 * (from its second). */
#include <string.h>

#include "bouncer/bounce_private.h"

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
    for (int run = 0; run < 3; run++) {
        memset(&again, 0, sizeof(again));
        g_assert_true(bounce_rules_try(BOUNCE_TABLE_RECIPIENT, rule, line->str, line->len, &again));
        g_assert_cmpuint(again.start, ==, first.start);
        g_assert_cmpuint(again.end, ==, first.end);
    }
    g_assert_cmpuint(first.end - first.start, ==, strlen("user@a") + 3000 * 2);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bounce/rules/jit-and-interpreter-agree", test_rules_jit_and_interpreter_agree);
    return g_test_run();
}
