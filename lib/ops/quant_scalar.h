/* The scalar pieces of per-token int8 quantisation (FORMATS.md), shared by
 * the reference and by the tails of every SIMD quantiser, so that all of
 * them round exactly alike. */
#ifndef BN_OPS_QUANT_SCALAR_H
#define BN_OPS_QUANT_SCALAR_H

#include <stdint.h>

/* max(max, |x[i]|) over [i, n) */
static inline float bn_absmax_tail(const float *x, int64_t i, int64_t n, float max)
{
    for (; i < n; i++) {
        float a = x[i] < 0 ? -x[i] : x[i];
        max = a > max ? a : max;
    }
    return max;
}

/* gamma = 127 / max|x|, the max clamped to at least 1e-5 */
static inline float bn_quant_gamma(float max)
{
    return 127.0f / (max < 1e-5f ? 1e-5f : max);
}

/* q[i] for i in [i, n): round half to even (the default rounding mode),
 * clamp to [-128, 127]; returns their sum */
static inline int32_t bn_quant_tail(const float *x, int64_t i, int64_t n, float gamma, int8_t *q)
{
    int32_t s = 0;
    for (; i < n; i++) {
        float v = __builtin_nearbyintf(x[i] * gamma);
        v = v > 127.0f ? 127.0f : v < -128.0f ? -128.0f : v;
        q[i] = (int8_t)v;
        s += q[i];
    }
    return s;
}

#endif
