#include "cv_pages.h"

#include "core/platform.h"

void cv_pages_release(const void *p, uint64_t len)
{
    if (!p || !len)
        return;
    uintptr_t page = (uintptr_t)bn_page_size();
    uintptr_t a = (uintptr_t)p & ~(page - 1), e = (uintptr_t)p + len;
    bn_release_mapped((void *)a, e - a);
}
