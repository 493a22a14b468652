#include "core/checksum.h"

#include <string.h>

static inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* Each 8-byte word is multiplied in and the state rotated, so that a
 * changed, moved or missing byte changes the result; the length is mixed in
 * at the end so that trailing zeros count. */
uint64_t bn_checksum64(uint64_t h, const void *data, size_t n)
{
    const uint8_t *p = data;
    const uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xC2B2AE3D27D4EB4Full;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = rotl(h ^ (w * k1), 31) * k2;
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i);
        h = rotl(h ^ (w * k1), 31) * k2;
    }
    h ^= (uint64_t)n * k1;
    h ^= h >> 33;
    h *= k2;
    h ^= h >> 29;
    return h;
}
