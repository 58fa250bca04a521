/* exec_memory.c - PCRE2's JIT code written into memory mapped in bulk.
 *
 * A rule compiled by PCRE2's JIT is written into executable memory that
 * its allocator (sljit) maps 64 KB at a time and then touches a page at a
 * time: 140 of the 670 page faults of a `bouncerctl parse` run over a few
 * hundred bounces, at about 12 us each on the virtual machines this runs
 * on, against 1.1 us a page populated when mapped (cmd/parse_memory.c has
 * the rest of the story). PCRE2 has no hook for its executable allocator,
 * so bin/bouncerctl, which links PCRE2 in, is linked with --wrap=mmap: the
 * mmap calls of the objects in its link (PCRE2's among them) come here,
 * and an anonymous executable mapping is made with MAP_POPULATE. Every
 * other mapping is passed on as it is. */
#include <stddef.h>
#include <sys/mman.h>
#include <sys/types.h>

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset);

void *
__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
    if ((prot & PROT_EXEC) && (flags & MAP_ANONYMOUS))
        flags |= MAP_POPULATE;
    return __real_mmap(addr, len, prot, flags, fd, offset);
}
