/* What the x86-64 attention kernels share. The softmax: the reference's steps
 * (bn_op_softmax: the largest score, NaN skipped; exp of the differences,
 * summed in double; one multiply by the reciprocal), eight lanes at a time.
 * With libm's expf per score the softmax took a third of a head's time at
 * 512 positions (Zen 5, scores in cache). Included by files built with AVX2
 * and FMA at least. */
#ifndef BN_ARCH_X86_64_ATTENTION_X86_H
#define BN_ARCH_X86_64_ATTENTION_X86_H

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/exp_poly.h"

/* exp(x) for x <= 0, eight lanes (kernels/exp_poly.h). NaN stays NaN. */
static inline __m256 bn_x86_exp_nonpos(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(BN_EXP_MIN);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(lo, x);   /* a NaN x is the second operand: kept */
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(BN_EXP_LOG2E)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(BN_EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(BN_EXP_LN2_LO), r);
    __m256 p = _mm256_set1_ps(BN_EXP_P6);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P5));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(BN_EXP_P0));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

static inline void bn_x86_softmax(float *x, int n)
{
    __m256 m = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);   /* a NaN score is the first operand: skipped */
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float max = _mm_cvtss_f32(h);
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;
    const __m256 mv = _mm256_set1_ps(max);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = bn_x86_exp_nonpos(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        _mm256_storeu_ps(x + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    const __m256d s = _mm256_add_pd(s0, s1);
    __m128d d = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(d, _mm_unpackhi_pd(d, d)));
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    const __m256 iv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), iv));
    for (; i < n; i++)
        x[i] *= inv;
}

/* Bytes [off, off + bytes) of cache row p + BN_X86_KV_AHEAD (rows stride
 * bytes apart from base), asked for ahead of use while that row is one of
 * the n_pos being read: a head reads its slice of each position's row
 * (rows n_kv_dim elements apart), runs too short for the hardware
 * prefetchers to follow far enough (from memory, 512 positions: 16.0 to
 * 12.5 ns per head and position with 16 rows ahead) */
#define BN_X86_KV_AHEAD 16

static inline void bn_x86_prefetch_kv(const uint8_t *base, int p, int n_pos, size_t stride, size_t off, int bytes)
{
    if (p + BN_X86_KV_AHEAD >= n_pos)
        return;
    const uint8_t *row = base + (size_t)(p + BN_X86_KV_AHEAD) * stride + off;
    for (int b = 0; b < bytes; b += 64)
        _mm_prefetch((const char *)row + b, _MM_HINT_T0);
}

#endif
