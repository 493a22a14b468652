/* Overflow-checked size arithmetic for values that come from untrusted files.
 * Each helper returns 1 and stores the result when it fits, 0 otherwise. */
#ifndef BN_CORE_CHECKED_H
#define BN_CORE_CHECKED_H

#include <stddef.h>
#include <stdint.h>

static inline int bn_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

static inline int bn_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline int bn_mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* Rounds n up to a multiple of the power of two `align`. */
static inline int bn_align_u64(uint64_t n, uint64_t align, uint64_t *out)
{
    uint64_t t;
    if (!bn_add_u64(n, align - 1, &t))
        return 0;
    *out = t & ~(align - 1);
    return 1;
}

#endif
