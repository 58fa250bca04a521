/* testutil.h - small helpers shared by the test programs. */
#ifndef BOUNCER_TESTUTIL_H
#define BOUNCER_TESTUTIL_H

#include <glib.h>

/* testutil_source_dir - the project's top directory (BOUNCER_SRCDIR, else "."). */
const char *testutil_source_dir(void);

/* testutil_read_file - whole file under the source dir, or abort the test. (transfer full) */
GBytes *testutil_read_file(const char *relative_path);

/* testutil_fixture_paths - every NAME.eml of the bounce fixtures
 * (tests/fixtures/bounces and tests/fixtures/formats), relative to the
 * source dir, in name order. (transfer full) */
GPtrArray *testutil_fixture_paths(void);

/* testutil_add_fixture_tests - one test per NAME.eml of the bounce
 * fixtures (tests/fixtures/bounces and tests/fixtures/formats), in name
 * order, at PREFIX/bounces/NAME.eml ...; each gets its path relative to
 * the source dir ("tests/fixtures/formats/NAME.eml") as data. */
void testutil_add_fixture_tests(const char *prefix, GTestDataFunc func);

/* testutil_parse_each - the buffer parsed as `bouncerctl parse` parses a
 * file: one BounceReport per message of an mbox (one for a plain
 * message). (transfer full: a GPtrArray that frees its reports) */
GPtrArray *testutil_parse_each(const char *data, gsize len);

/* testutil_pg_conninfo - conninfo of the test PostgreSQL started by tests/run.sh,
 * or NULL when there is none (tests that need it then skip). (transfer none) */
const char *testutil_pg_conninfo(void);

#endif
