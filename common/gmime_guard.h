/* gmime_guard.h - input GMime must not be given. */
#ifndef BOUNCER_GMIME_GUARD_H
#define BOUNCER_GMIME_GUARD_H

#include <glib.h>

/* More groups than any real address field has. */
#define GMIME_GUARD_MAX_GROUPS 64

/* gmime_guard_address_fields_ok - FALSE when a line of data starts an
 * address field (From, Sender, Reply-To, To, Cc or Bcc) whose value, with
 * its continuation lines, has more than GMIME_GUARD_MAX_GROUPS colons.
 * GMime parses these fields as it builds a message (an embedded one too),
 * and its address parser calls itself once per nested group with no
 * limit: some 40 000 groups, 90 KB of one field, overflow a thread's stack
 * and take the process down. One pass over data; any line counts, so a
 * body line shaped like such a field is refused too. */
gboolean gmime_guard_address_fields_ok(const char *data, gsize len);

#endif
