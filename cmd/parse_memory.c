/* parse_memory.c - the memory a `bouncerctl parse` run will touch, mapped
 * in bulk rather than a page fault at a time.
 *
 * On the virtual machines this runs on, the first touch of a page costs
 * about 12 us (the fault goes through the host), a page populated in bulk
 * (MADV_POPULATE_WRITE) 1.1 us, and a run over a few hundred bounces
 * touched some 670 pages: a sixth of its CPU time. Two kinds of page were
 * most of them:
 *
 * - the heap: each parsing thread's malloc arena grows to 600-800 KB, a
 *   fault per page as it grows. parse_memory_reserve() maps what a thread
 *   will use up front; parse_memory_init() keeps glibc from giving it back
 *   when it is freed (the trim threshold) and from serving large blocks
 *   (a long bounce, a text's trigram map) with mappings of their own that
 *   would be faulted in again each time (the mmap threshold);
 * - PCRE2's JIT: the compiled code of a rule is written into executable
 *   memory that sljit maps 64 KB at a time; cmd/exec_memory.c populates
 *   it when it is mapped.
 *
 * Populating a page that is never used costs one eleventh of a fault: the
 * sizes (parse_memory.h) are what the threads reached on the shared
 * corpus. Nothing here changes what is parsed, and a kernel without
 * MADV_POPULATE_WRITE (before Linux 5.14) simply faults as before. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmd/parse_memory.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Blocks up to this size come from the arena: a text's trigram map (512 KB
 * at most) and a message of up to 4 MB, most bounces. A larger one gets a
 * mapping of its own, as glibc gives it by default. */
#define PARSE_MEMORY_MMAP_THRESHOLD (4 * 1024 * 1024)
/* Free memory at the top of a heap kept rather than given back: more than
 * the threads reserve. */
#define PARSE_MEMORY_TRIM_THRESHOLD (16 * 1024 * 1024)

void
parse_memory_init(void)
{
    mallopt(M_MMAP_THRESHOLD, PARSE_MEMORY_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, PARSE_MEMORY_TRIM_THRESHOLD);
}

/* populate - the whole pages of [start, start + len), mapped and written
 * now; left to fault in when the kernel cannot. */
static void
populate(void *start, gsize len)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t from = ((uintptr_t)start + page - 1) & ~(page - 1);
    uintptr_t to = ((uintptr_t)start + len) & ~(page - 1);

    if (to > from)
        (void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
}

void
parse_memory_reserve(gsize bytes)
{
    /* Carved from the top of the thread's arena and given back to it: its
     * pages stay mapped for what comes next. */
    void *block = bytes > 0 ? malloc(bytes) : NULL;

    if (block == NULL)
        return;
    populate(block, bytes);
    free(block);
}
