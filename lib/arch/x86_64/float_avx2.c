/* AVX2 F16 and Q8_0 x F32 matrix products (the output projection and Q8_0
 * linears): sixteen lanes as two __m256, in the order reduce_x86.h fixes,
 * so that they give the AVX-512 kernels' bits. */
#include <immintrin.h>
#include <string.h>

#include "gguf/gguf_types.h"

#include "arch/x86_64/kernels_x86.h"
#include "arch/x86_64/reduce_x86.h"

static inline float row_dot(const uint16_t *w, const float *x, int64_t k)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        _mm_prefetch((const char *)(w + i) + 2048, _MM_HINT_T0);
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const void *)(w + i))), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const void *)(w + i + 8))),
                             _mm256_loadu_ps(x + i + 8), s1);
    }
    return bn_x86_f16_tail(w, x, i, k, bn_x86_hsum16_halves(s0, s1));
}

/* One row against NT tokens (2 to 4 once inlined): each 16 weights are
 * widened once for all of them. Per token the same FMAs in the same order
 * as row_dot, so the result does not depend on the batch. */
static inline __attribute__((always_inline)) void row_dot_tokens(const uint16_t *w, const float *x, size_t x_stride,
                                                                 int64_t k, const int nt, float *y, size_t y_stride)
{
    __m256 s0[4], s1[4];
    for (int t = 0; t < nt; t++)
        s0[t] = s1[t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        _mm_prefetch((const char *)(w + i) + 2048, _MM_HINT_T0);
        const __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const void *)(w + i)));
        const __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const void *)(w + i + 8)));
        for (int t = 0; t < nt; t++) {
            const float *xt = x + (size_t)t * x_stride;
            s0[t] = _mm256_fmadd_ps(a, _mm256_loadu_ps(xt + i), s0[t]);
            s1[t] = _mm256_fmadd_ps(b, _mm256_loadu_ps(xt + i + 8), s1[t]);
        }
    }
    for (int t = 0; t < nt; t++) {
        const float *xt = x + (size_t)t * x_stride;
        y[(size_t)t * y_stride] = bn_x86_f16_tail(w, xt, i, k, bn_x86_hsum16_halves(s0[t], s1[t]));
    }
}

void bn_f16gemm_avx2(BN_F16GEMM_ARGS)
{
    for (int64_t r = r0; r < r1; r++) {
        int t = 0;
        for (; t + 4 <= n_tok; t += 4)
            row_dot_tokens(w + r * k, x + (size_t)t * x_stride, x_stride, k, 4, y + (size_t)t * y_stride + r, y_stride);
        switch (n_tok - t) {
        case 3: row_dot_tokens(w + r * k, x + (size_t)t * x_stride, x_stride, k, 3, y + (size_t)t * y_stride + r,
                               y_stride); break;
        case 2: row_dot_tokens(w + r * k, x + (size_t)t * x_stride, x_stride, k, 2, y + (size_t)t * y_stride + r,
                               y_stride); break;
        case 1: y[(size_t)t * y_stride + r] = row_dot(w + r * k, x + (size_t)t * x_stride, k); break;
        default: break;
        }
    }
}

/* Q8_0 rows, as the AVX-512 kernel computes them (float_avx512.c has the
 * reasons): the activations rounded to int16 per block of 32 with the
 * block's own scale, a block one widening of the weights to int16 and two
 * vpmaddwd, the sixteen int32 lanes scaled in float by d_weight * d_x into
 * four accumulators taken in turn within each step of sixteen blocks. Rows
 * longer than Q8_K_MAX widen the weights to float instead. */
#define Q8_K_MAX 8192
#define Q8_ROWS_PER_PASS 32

static void quantise_x16(const float *x, int64_t k, int16_t *xq, float *dx)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < k / 32; b++) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int j = 0; j < 4; j++) {
            v[j] = _mm256_loadu_ps(x + 32 * b + 8 * j);
            m = _mm256_max_ps(_mm256_and_ps(v[j], abs_mask), m);
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float max = _mm_cvtss_f32(h);
        dx[b] = max / 32767.0f;
        const __m256 inv = _mm256_set1_ps(max > 0.0f ? 32767.0f / max : 0.0f);
        __m256i q[4];
        for (int j = 0; j < 4; j++)
            q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], inv));    /* to nearest */
        /* saturating packs work within 128-bit halves: put the quarters back */
        const __m256i a = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8);
        const __m256i c = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xd8);
        _mm256_storeu_si256((__m256i *)(void *)(xq + 32 * b), a);
        _mm256_storeu_si256((__m256i *)(void *)(xq + 32 * b + 16), c);
    }
}

/* lanes 0-7 (elements 0-15) and 8-15 (16-31) of a block, scaled by *sc */
static inline void q8_block_x16(const bn_block_q8_0 *blk, const int16_t *x16, float sc, __m256 *lo, __m256 *hi)
{
    const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)blk->qs));
    const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(blk->qs + 16)));
    const __m256i p0 = _mm256_madd_epi16(w0, _mm256_loadu_si256((const __m256i *)(const void *)x16));
    const __m256i p1 = _mm256_madd_epi16(w1, _mm256_loadu_si256((const __m256i *)(const void *)(x16 + 16)));
    const __m256 s = _mm256_set1_ps(sc);
    *lo = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), s, *lo);
    *hi = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), s, *hi);
}

static float q8_row_x16(const bn_block_q8_0 *br, int64_t nb, const int16_t *xq, const float *dx)
{
    float sc[16];
    __m256 a[4][2];
    for (int j = 0; j < 4; j++)
        a[j][0] = a[j][1] = _mm256_setzero_ps();
    for (int64_t b0 = 0; b0 < nb; b0 += 16) {
        const int n = nb - b0 < 16 ? (int)(nb - b0) : 16;
        const bn_block_q8_0 *blk = br + b0;
        for (int l = 0; l < 9; l++)
            _mm_prefetch((const char *)blk + 4096 + 64 * l, _MM_HINT_T0);
        for (int j = 0; j < n; j++) {
            uint16_t dh;
            memcpy(&dh, &blk[j].d, 2);
            sc[j] = _cvtsh_ss(dh) * dx[b0 + j];
        }
        const int16_t *xb = xq + 32 * b0;
        int j = 0;
        for (; j + 4 <= n; j += 4)
            for (int u = 0; u < 4; u++)
                q8_block_x16(&blk[j + u], xb + 32 * (j + u), sc[j + u], &a[u][0], &a[u][1]);
        for (; j < n; j++)
            q8_block_x16(&blk[j], xb + 32 * j, sc[j], &a[0][0], &a[0][1]);
    }
    const __m256 lo = _mm256_add_ps(_mm256_add_ps(a[0][0], a[1][0]), _mm256_add_ps(a[2][0], a[3][0]));
    const __m256 hi = _mm256_add_ps(_mm256_add_ps(a[0][1], a[1][1]), _mm256_add_ps(a[2][1], a[3][1]));
    return bn_x86_hsum16_halves(lo, hi);
}

/* the float form: lanes 0-7 take elements 0-7 then 16-23 of each block,
 * lanes 8-15 elements 8-15 then 24-31 */
static float q8_row_f32(const bn_block_q8_0 *br, int64_t nb, const float *xt)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    for (int64_t b = 0; b < nb; b++) {
        _mm_prefetch((const char *)(br + b) + 1024, _MM_HINT_T0);
        uint16_t dh;
        memcpy(&dh, &br[b].d, 2);
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(dh));
        for (int h = 0; h < 4; h += 2) {
            __m256 w0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const void *)(br[b].qs + 8 * h))));
            __m256 w1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const void *)(br[b].qs + 8 * h + 8))));
            s0 = _mm256_fmadd_ps(_mm256_mul_ps(w0, d), _mm256_loadu_ps(xt + 32 * b + 8 * h), s0);
            s1 = _mm256_fmadd_ps(_mm256_mul_ps(w1, d), _mm256_loadu_ps(xt + 32 * b + 8 * h + 8), s1);
        }
    }
    return bn_x86_hsum16_halves(s0, s1);
}

void bn_q8gemm_avx2(BN_Q8GEMM_ARGS)
{
    const int64_t nb = k / 32;
    const bn_block_q8_0 *base = w;
    if (k > Q8_K_MAX) {
        for (int64_t r = r0; r < r1; r++)
            for (int t = 0; t < n_tok; t++)
                y[(size_t)t * y_stride + r] = q8_row_f32(base + r * nb, nb, x + (size_t)t * x_stride);
        return;
    }
    int16_t xq[Q8_K_MAX];
    float dx[Q8_K_MAX / 32];
    if (n_tok == 1) {
        quantise_x16(x, k, xq, dx);
        for (int64_t r = r0; r < r1; r++)
            y[r] = q8_row_x16(base + r * nb, nb, xq, dx);
        return;
    }
    for (int64_t p0 = r0; p0 < r1; p0 += Q8_ROWS_PER_PASS) {
        const int64_t p1 = r1 - p0 < Q8_ROWS_PER_PASS ? r1 : p0 + Q8_ROWS_PER_PASS;
        for (int t = 0; t < n_tok; t++) {
            quantise_x16(x + (size_t)t * x_stride, k, xq, dx);
            for (int64_t r = p0; r < p1; r++)
                y[(size_t)t * y_stride + r] = q8_row_x16(base + r * nb, nb, xq, dx);
        }
    }
}

/* F16 rows to Q8_0, bit-identical to bn_q8_from_f16_ref: the F16 to float
 * conversion is exact, d and 1/d are the same scalar operations, and the
 * rounding half away from zero is done on the exact fraction. */
void bn_q8_from_f16_avx2(BN_Q8FROMF16_ARGS)
{
    bn_block_q8_0 *out_b = out;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 half = _mm256_set1_ps(0.5f), mhalf = _mm256_set1_ps(-0.5f), one = _mm256_set1_ps(1.0f);
    for (int64_t b = 0; b < k / 32; b++) {
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int j = 0; j < 4; j++) {
            v[j] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(w + 32 * b + 8 * j)));
            /* max(a, amax) keeps amax where a is NaN, as the reference does */
            amax = _mm256_max_ps(_mm256_and_ps(v[j], abs_mask), amax);
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const float d = _mm_cvtss_f32(m) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = (uint16_t)_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
        memcpy(&out_b[b].d, &dh, 2);
        __m256i q[4];
        for (int j = 0; j < 4; j++) {
            const __m256 p = _mm256_mul_ps(v[j], _mm256_set1_ps(id));
            const __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 frac = _mm256_sub_ps(p, t);
            __m256 r = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ), one));
            r = _mm256_sub_ps(r, _mm256_and_ps(_mm256_cmp_ps(frac, mhalf, _CMP_LE_OQ), one));
            r = _mm256_and_ps(r, _mm256_cmp_ps(p, p, _CMP_ORD_Q));   /* NaN -> 0 */
            q[j] = _mm256_cvttps_epi32(r);
        }
        /* packs work within 128-bit halves: restore the order afterwards */
        const __m256i w16a = _mm256_packs_epi32(q[0], q[1]), w16b = _mm256_packs_epi32(q[2], q[3]);
        const __m256i b8 = _mm256_packs_epi16(w16a, w16b);
        const __m256i ordered = _mm256_permutevar8x32_epi32(b8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(void *)out_b[b].qs, ordered);
    }
}
