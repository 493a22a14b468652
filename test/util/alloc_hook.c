#include "alloc_hook.h"

#include <stdatomic.h>
#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_bn_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_bn_aligned_alloc(size_t a, size_t n);

/* atomic: the library allocates from several threads while loading */
static _Atomic long n_allocs;
static _Atomic long fail_after = -1;

void bn_test_alloc_fail_after(long n)
{
    fail_after = n;
}

long bn_test_alloc_count(void)
{
    return n_allocs;
}

static int should_fail(void)
{
    atomic_fetch_add(&n_allocs, 1);
    long f = atomic_load(&fail_after);
    while (f > 0)
        if (atomic_compare_exchange_weak(&fail_after, &f, f - 1))
            return 0;
    return f == 0;
}

void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return should_fail() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }
void *__wrap_bn_aligned_alloc(size_t a, size_t n) { return should_fail() ? NULL : __real_bn_aligned_alloc(a, n); }
