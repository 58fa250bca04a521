/* fuzz_mime_split.c - libFuzzer target: the MIME splitter of
 * bouncer/bounce_split.c against GMime. Whatever the splitter reads (it may
 * decline and leave a message to GMime) must come out exactly as GMime
 * reads it: the same report, text, returned headers and flags. A
 * difference is the finding. Not one where GMime is never given the
 * message: a line shaped like an address field with more groups than its
 * parser survives (common/gmime_guard.h) is refused before GMime, even
 * in a body, while the splitter, which parses no addresses, reads on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bouncer/bounce_private.h"
#include "common/gmime_guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* parts_dump - everything bounce_mime_read leaves for the readers. */
static GString *
parts_dump(const BounceParts *parts, gboolean ok, const char *error)
{
    GString *out = g_string_new(NULL);

    if (!ok) {
        g_string_append_printf(out, "error %s\n", error);
        return out;
    }
    g_string_append_printf(out, "type %s report %d truncated %d\n", parts->content_type,
                           parts->report_type, parts->truncated);
    g_string_append_printf(out, "report %zu [%s]\n", parts->report->len, parts->report->str);
    g_string_append_printf(out, "text %zu [%s]\n", parts->text->len, parts->text->str);
    if (parts->original == NULL) {
        g_string_append(out, "original none\n");
        return out;
    }
    for (guint i = 0; i < parts->original->fields->len; i++) {
        const BounceField *f = &g_array_index(parts->original->fields, BounceField, i);

        g_string_append_printf(out, "original %s: %s\n", f->name, f->value);
    }
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GByteArray) norm = bounce_mime_normalize((const char *)data, size);
    BounceParts by_gmime, by_split;
    const char *error_gmime = NULL, *error_split = NULL;
    gboolean ok_gmime, ok_split;

    ok_split = bounce_mime_read((const char *)norm->data, norm->len,
                                &by_split, BOUNCE_MIME_SPLIT, &error_split);
    if (ok_split || strcmp(error_split, "declined") != 0) {
        g_autoptr(GString) want = NULL;
        g_autoptr(GString) got = NULL;

        ok_gmime = bounce_mime_read((const char *)norm->data, norm->len,
                                    &by_gmime, BOUNCE_MIME_GMIME, &error_gmime);
        if (!ok_gmime && !gmime_guard_address_fields_ok((const char *)norm->data, norm->len)) {
            bounce_parts_clear(&by_gmime);
            bounce_parts_clear(&by_split);
            return 0;
        }
        want = parts_dump(&by_gmime, ok_gmime, error_gmime);
        got = parts_dump(&by_split, ok_split, error_split);
        if (strcmp(want->str, got->str) != 0) {
            fprintf(stderr, "--- GMime\n%s--- splitter\n%s", want->str, got->str);
            abort();
        }
        bounce_parts_clear(&by_gmime);
    }
    bounce_parts_clear(&by_split);
    return 0;
}
