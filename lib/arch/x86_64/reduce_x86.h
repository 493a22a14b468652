/* The order every x86-64 float product (F16, Q8_0 and Q4_0 rows) sums in.
 * A row's terms go to sixteen lanes (AVX2 keeps them as two __m256, lanes
 * 0-7 and 8-15; AVX-512 as one __m512), each lane one FMA chain in the same
 * order, and the lanes are reduced in one fixed tree: the two halves of
 * eight added, then halves of four, then (0+2, 1+3), then the two. With the
 * same chains and this tree the AVX2 and AVX-512 kernels give the same bits,
 * so the library may pick either per CPU (doc/design.md, "One kernel per
 * product"). Included by files built with AVX2 and FMA at least. */
#ifndef BN_ARCH_X86_64_REDUCE_X86_H
#define BN_ARCH_X86_64_REDUCE_X86_H

#include <immintrin.h>
#include <stdint.h>

static inline float bn_x86_hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* sixteen lanes held as lanes 0-7 and 8-15 */
static inline float bn_x86_hsum16_halves(__m256 lo, __m256 hi)
{
    return bn_x86_hsum8(_mm256_add_ps(lo, hi));
}

#if defined(__AVX512F__)
static inline float bn_x86_hsum16(__m512 v)
{
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    return bn_x86_hsum16_halves(_mm512_castps512_ps256(v), hi);
}
#endif

/* The terms of an F16 row past its last whole sixteen, one by one after the
 * reduction. */
static inline float bn_x86_f16_tail(const uint16_t *w, const float *x, int64_t i, int64_t k, float s)
{
    for (; i < k; i++)
        s += _cvtsh_ss(w[i]) * x[i];
    return s;
}

#endif
