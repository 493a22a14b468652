/* SipHash-1-3 (Aumasson and Bernstein; one compression round, three
 * finalization rounds): a keyed hash whose collisions cannot be found
 * without the key. Words are read in the machine's byte order, which only
 * changes the values, not their quality. */
#ifndef BN_TOKENIZER_SIPHASH_H
#define BN_TOKENIZER_SIPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct bn_hash_key {
    uint64_t k[2];
} bn_hash_key;

#define BN_SIP_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define BN_SIPROUND(v0, v1, v2, v3)                                                          \
    do {                                                                                     \
        v0 += v1; v1 = BN_SIP_ROTL(v1, 13); v1 ^= v0; v0 = BN_SIP_ROTL(v0, 32);              \
        v2 += v3; v3 = BN_SIP_ROTL(v3, 16); v3 ^= v2;                                        \
        v0 += v3; v3 = BN_SIP_ROTL(v3, 21); v3 ^= v0;                                        \
        v2 += v1; v1 = BN_SIP_ROTL(v1, 17); v1 ^= v2; v2 = BN_SIP_ROTL(v2, 32);              \
    } while (0)

static inline uint64_t bn_siphash13(const bn_hash_key *key, const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t v0 = 0x736F6D6570736575ull ^ key->k[0], v1 = 0x646F72616E646F6Dull ^ key->k[1];
    uint64_t v2 = 0x6C7967656E657261ull ^ key->k[0], v3 = 0x7465646279746573ull ^ key->k[1];
    uint64_t last = (uint64_t)n << 56, m;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&m, s, 8);
        v3 ^= m;
        BN_SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    for (size_t i = 0; i < n; i++)
        last |= (uint64_t)s[i] << (8 * i);
    v3 ^= last;
    BN_SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xFF;
    BN_SIPROUND(v0, v1, v2, v3);
    BN_SIPROUND(v0, v1, v2, v3);
    BN_SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* The hash of one 64-bit word (the same as of its 8 bytes). */
static inline uint64_t bn_siphash13_u64(const bn_hash_key *key, uint64_t w)
{
    return bn_siphash13(key, &w, sizeof w);
}

#endif
