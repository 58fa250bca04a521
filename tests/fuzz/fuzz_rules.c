/* fuzz_rules.c - libFuzzer target: the rule prefilter against PCRE2. Any
 * text (made valid UTF-8, as the parser's texts are) through every table:
 * a rule the prefilter skips must not match. A skipped match is the
 * finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/bounce_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static BouncePrefilter *filters[BOUNCE_TABLE_COUNT];
    g_autofree char *text = g_utf8_make_valid((const char *)data, size);
    gsize len = strlen(text);

    for (int t = 0; t < BOUNCE_TABLE_COUNT; t++) {
        gsize count = 0;
        const BounceRule *rules = bounce_tables_get((BounceTable)t, &count);
        g_autofree guint8 *maybe = g_new0(guint8, count + 1);

        if (filters[t] == NULL)
            filters[t] = bounce_prefilter_new(rules, count);
        bounce_prefilter_scan(filters[t], text, len, maybe);
        for (gsize i = 0; i < count; i++) {
            BounceMatch m;

            if (!maybe[i] && bounce_rules_try((BounceTable)t, i, text, len, &m)) {
                fprintf(stderr, "rule %s matches but the prefilter skips it\n", rules[i].id);
                abort();
            }
        }
    }
    return 0;
}
