#include "cv_pages.h"

#include <sys/mman.h>
#include <unistd.h>

void cv_pages_release(const void *p, uint64_t len)
{
    if (!p || !len)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)p & ~(page - 1), e = (uintptr_t)p + len;
    madvise((void *)a, e - a, MADV_DONTNEED);
}
