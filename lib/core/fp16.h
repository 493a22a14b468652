/* IEEE half and bfloat16 conversions, portable C (no F16C needed). */
#ifndef BN_CORE_FP16_H
#define BN_CORE_FP16_H

#include <stdint.h>
#include <string.h>

static inline float bn_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t bn_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bn_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f)                        /* inf / nan */
        return bn_f32_from_bits(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return bn_f32_from_bits(sign);
        /* subnormal: value = man * 2^-24, exact in float */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return bn_f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

/* Round-to-nearest-even conversion of a double to half, as numpy does
 * (the model generator needs it: a double rounded to float first could round
 * twice). */
uint16_t bn_f16_from_f64(double d);

/* Round-to-nearest-even float to half, by bits (the KV cache and the Q8_0
 * conversion call it per element). Equal to bn_f16_from_f64((double)f) for
 * every float (test/core/test_fp16.c). */
static inline uint16_t bn_f16_from_f32(float f)
{
    uint32_t x = bn_f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u)                   /* inf, nan */
        return sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u);
    if (x >= 0x477ff000u)                   /* >= 65520 rounds to inf */
        return sign | 0x7c00u;
    if (x < 0x38800000u) {                  /* below 2^-14: half subnormal or zero */
        /* units of 2^-24; the scaling is exact and nearbyint rounds half to even */
        return sign | (uint16_t)__builtin_nearbyintf(bn_f32_from_bits(x) * 0x1p24f);
    }
    /* normal: rebias the exponent, round 23 mantissa bits to 10, half to even */
    x = x - 0x38000000u + 0xfffu + ((x >> 13) & 1u);
    return sign | (uint16_t)(x >> 13);
}

static inline float bn_bf16_to_f32(uint16_t h)
{
    return bn_f32_from_bits((uint32_t)h << 16);
}

#endif
