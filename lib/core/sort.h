/* Sorting index arrays with a context, portably (qsort_r differs between
 * glibc and the BSDs). */
#ifndef BN_CORE_SORT_H
#define BN_CORE_SORT_H

#include <stddef.h>
#include <stdint.h>

typedef int (*bn_index_cmp_fn)(uint32_t a, uint32_t b, const void *ctx);

/* Heap sort: O(n log n) worst case whatever a hostile input holds. */
void bn_sort_indexes(uint32_t *idx, size_t n, bn_index_cmp_fn cmp, const void *ctx);

#endif
