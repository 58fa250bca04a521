/* fuzz_parser.c - libFuzzer target: any bytes through the bounce parser,
 * the mbox splitter and the JSON writer. Crashes, sanitizer reports and
 * invalid JSON are the findings. */
#include <stdint.h>
#include <stdlib.h>

#include <json-glib/json-glib.h>

#include "bouncer/bounce_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GPtrArray) messages = bounce_split_mbox((const char *)data, size);

    for (guint i = 0; i < messages->len; i++) {
        gsize len = 0;
        const char *msg = g_bytes_get_data(g_ptr_array_index(messages, i), &len);
        g_autoptr(BounceReport) report = bounce_report_parse(msg, len);
        g_autofree char *json = bounce_report_to_json(report, "fuzz", FALSE);
        g_autoptr(JsonParser) parser = json_parser_new();

        /* What we print must always be JSON a consumer can read. */
        if (!json_parser_load_from_data(parser, json, -1, NULL))
            abort();
        (void)bounce_report_is_automated(report);
    }
    return 0;
}
