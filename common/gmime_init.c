/* gmime_init.c - one-time GMime initialisation. */
#include "common/gmime_autoptr.h"

/* gmime_init_once - GMime's global tables must be set up before any thread
 * parses; g_once makes the first caller do it and the others wait. */
void
gmime_init_once(void)
{
    static gsize done = 0;

    if (g_once_init_enter(&done)) {
        g_mime_init();
        g_once_init_leave(&done, 1);
    }
}
