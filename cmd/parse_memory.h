/* parse_memory.h - the memory a `bouncerctl parse` run will touch, mapped
 * in bulk rather than a page fault at a time (parse_memory.c says why). */
#ifndef BOUNCER_PARSE_MEMORY_H
#define BOUNCER_PARSE_MEMORY_H

#include <glib.h>

/* What a thread that decodes the rule tables (bounce_report_warm_up) puts
 * on its heap: their compiled patterns, prefilters and host lists (750 KB
 * with them alone since three tables are run by branch, 1 300 compiled
 * patterns where there were 133; a few more rules change little). */
#define PARSE_MEMORY_TABLES (768 * 1024)
/* A parsing thread's heap once it has read a few hundred bounces: 620-810
 * KB a thread over the shared corpus, the tables included. */
#define PARSE_MEMORY_MANY (640 * 1024)
/* From how many files a run is worth PARSE_MEMORY_MANY a thread. */
#define PARSE_MEMORY_MANY_FILES 64

/* parse_memory_init - once, before the threads start: memory freed stays
 * with the process, and large blocks come from the heap as well. */
void parse_memory_init(void);
/* parse_memory_reserve - at least bytes of the calling thread's heap
 * mapped now, for its next allocations. */
void parse_memory_reserve(gsize bytes);

#endif
