/*
 * The counter-based random numbers of the synthetic models (splitmix64).
 *
 * Every value is a pure function of (seed, tensor name, flat index), so any
 * weight can be regenerated without the file and chunks can be produced in
 * any order:
 *   key(name) = mix64(fnv1a64(name) + seed * GOLDEN)
 *   r_i       = mix64(key + (i + 1) * GOLDEN)
 */
#ifndef BN_MKMODEL_RNG_H
#define BN_MKMODEL_RNG_H

#include <stdint.h>

#define BN_MKMODEL_GOLDEN 0x9E3779B97F4A7C15ull

/* The splitmix64 finaliser (all arithmetic mod 2^64). */
static inline uint64_t bn_mkmodel_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* r_i: the i-th output (from 0) of splitmix64 seeded with key. */
static inline uint64_t bn_mkmodel_stream(uint64_t key, uint64_t i)
{
    return bn_mkmodel_mix64(key + (i + 1) * BN_MKMODEL_GOLDEN);
}

/* The top 24 bits as a double in [0, 1): exact, and the same on any machine. */
static inline double bn_mkmodel_uniform01(uint64_t r)
{
    return (double)(r >> 40) * (1.0 / 16777216.0);
}

/* A weight code in {0, 1, 2} (weight = code - 1), unbiased to 2^-32. */
static inline uint8_t bn_mkmodel_ternary_code(uint64_t r)
{
    return (uint8_t)(((r >> 32) * 3u) >> 32);
}

uint64_t bn_mkmodel_fnv1a64(const char *s);

/* The stream key of a tensor; the seed is taken mod 2^64 (negative seeds
 * wrap as two's complement). */
uint64_t bn_mkmodel_tensor_key(int64_t seed, const char *name);

/*
 * The per-tensor scale of a ternary weight with rows of k elements, already
 * rounded to half precision so that it is exact in every output type:
 * f16((0.75 + 0.5 u) / sqrt(2k/3)), u the first uniform of key(name + "#scale").
 */
double bn_mkmodel_ternary_scale(int64_t seed, const char *name, uint64_t k);

#endif
