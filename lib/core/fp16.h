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

/* Round-to-nearest-even conversion of a double to half, as numpy does. */
uint16_t bn_f16_from_f64(double d);

static inline uint16_t bn_f16_from_f32(float f)
{
    return bn_f16_from_f64((double)f); /* exact widening, single rounding */
}

static inline float bn_bf16_to_f32(uint16_t h)
{
    return bn_f32_from_bits((uint32_t)h << 16);
}

#endif
