/* Allocation-failure injection for tests linked with
 * bn_test_alloc_hook_dep: the link wraps malloc, calloc, realloc and
 * bn_aligned_alloc (-Wl,--wrap) so that the library's Nth allocation can fail. */
#ifndef BN_TEST_ALLOC_HOOK_H
#define BN_TEST_ALLOC_HOOK_H

/* Allocations left before every further one fails; -1 (the start) = never. */
void bn_test_alloc_fail_after(long n);

/* Allocations seen since the program started (counted even when none fail). */
long bn_test_alloc_count(void);

#endif
