/* AVX-512 F16 and Q8_0 x F32 matrix products (the output projection and
 * Q8_0 linears). FMA in 16 lanes: rounding differs from the scalar reference
 * within float accuracy, and equals the AVX2 kernels bit for bit (the lanes'
 * chains and their reduction as reduce_x86.h fixes). */
#include <immintrin.h>
#include <string.h>

#include "gguf/gguf_types.h"

#include "arch/x86_64/kernels_x86.h"
#include "arch/x86_64/reduce_x86.h"

/* bytes ahead of each row to prefetch. The four rows of a group are 2k bytes
 * apart, so from 16 KB on most prefetches land in the next groups: on the
 * 2-core Emerald Rapids machine that read the 0.66 GB head 11 % faster with
 * 2 threads than 2 KB ahead (median of 30 interleaved pairs; 4 and 8 KB
 * were no better than 2). */
#define F16_PREFETCH_AHEAD 16384

static inline __m512 f16_fma(const uint16_t *w, __m512 x, __m512 acc)
{
    return _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const void *)w)), x, acc);
}

/* Four rows against NT tokens (a compile-time 2 to 4 once inlined): each
 * step widens the rows' halves to float once and feeds them to every
 * token, where a token at a time would widen them once per token. The
 * accumulator of each (token, row) sees exactly the FMAs of the one-token
 * loop below in the same order, so a token's result does not depend on how
 * many ride along. */
static inline __attribute__((always_inline)) void rows4_tokens(const uint16_t *w0, int64_t k, const float *x,
                                                               size_t x_stride, const int nt, float *y,
                                                               size_t y_stride)
{
    const uint16_t *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
    __m512 s[4][4];
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < 4; j++)
            s[t][j] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        _mm_prefetch((const char *)(w0 + i) + F16_PREFETCH_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)(w1 + i) + F16_PREFETCH_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)(w2 + i) + F16_PREFETCH_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)(w3 + i) + F16_PREFETCH_AHEAD, _MM_HINT_T0);
        const __m512 a0 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w0 + i)));
        const __m512 a1 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w1 + i)));
        const __m512 a2 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w2 + i)));
        const __m512 a3 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w3 + i)));
        const __m512 b0 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w0 + i + 16)));
        const __m512 b1 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w1 + i + 16)));
        const __m512 b2 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w2 + i + 16)));
        const __m512 b3 = _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w3 + i + 16)));
        for (int t = 0; t < nt; t++) {
            const float *xt = x + (size_t)t * x_stride;
            const __m512 xa = _mm512_loadu_ps(xt + i), xb = _mm512_loadu_ps(xt + i + 16);
            s[t][0] = _mm512_fmadd_ps(a0, xa, s[t][0]);
            s[t][1] = _mm512_fmadd_ps(a1, xa, s[t][1]);
            s[t][2] = _mm512_fmadd_ps(a2, xa, s[t][2]);
            s[t][3] = _mm512_fmadd_ps(a3, xa, s[t][3]);
            s[t][0] = _mm512_fmadd_ps(b0, xb, s[t][0]);
            s[t][1] = _mm512_fmadd_ps(b1, xb, s[t][1]);
            s[t][2] = _mm512_fmadd_ps(b2, xb, s[t][2]);
            s[t][3] = _mm512_fmadd_ps(b3, xb, s[t][3]);
        }
    }
    if (i + 16 <= k) {
        for (int t = 0; t < nt; t++) {
            const __m512 xv = _mm512_loadu_ps(x + (size_t)t * x_stride + i);
            s[t][0] = f16_fma(w0 + i, xv, s[t][0]);
            s[t][1] = f16_fma(w1 + i, xv, s[t][1]);
            s[t][2] = f16_fma(w2 + i, xv, s[t][2]);
            s[t][3] = f16_fma(w3 + i, xv, s[t][3]);
        }
        i += 16;
    }
    const uint16_t *wr[4] = { w0, w1, w2, w3 };
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < 4; j++)
            y[(size_t)t * y_stride + j] = bn_x86_f16_tail(wr[j], x + (size_t)t * x_stride, i, k,
                                                          bn_x86_hsum16(s[t][j]));
}

/* Four rows at a time share the activation loads; for a batch, groups of up
 * to four tokens share each widening of the rows (rows4_tokens). One cache
 * line of each row per step, one prefetch per line. */
void bn_f16gemm_avx512(BN_F16GEMM_ARGS)
{
    int64_t r = r0;
    if (n_tok > 1) {
        for (; r + 4 <= r1; r += 4) {
            int t = 0;
            for (; t + 4 <= n_tok; t += 4)
                rows4_tokens(w + r * k, k, x + (size_t)t * x_stride, x_stride, 4, y + (size_t)t * y_stride + r,
                             y_stride);
            switch (n_tok - t) {
            case 3: rows4_tokens(w + r * k, k, x + (size_t)t * x_stride, x_stride, 3, y + (size_t)t * y_stride + r,
                                 y_stride); break;
            case 2: rows4_tokens(w + r * k, k, x + (size_t)t * x_stride, x_stride, 2, y + (size_t)t * y_stride + r,
                                 y_stride); break;
            case 1: rows4_tokens(w + r * k, k, x + (size_t)t * x_stride, x_stride, 1, y + (size_t)t * y_stride + r,
                                 y_stride); break;
            default: break;
            }
        }
    }
    for (; r + 4 <= r1; r += 4) {
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * x_stride;
            float *yt = y + (size_t)t * y_stride;
            const uint16_t *w0 = w + r * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            int64_t i = 0;
            for (; i + 32 <= k; i += 32) {
                _mm_prefetch((const char *)(w0 + i) + F16_PREFETCH_AHEAD, _MM_HINT_T0);
                _mm_prefetch((const char *)(w1 + i) + F16_PREFETCH_AHEAD, _MM_HINT_T0);
                _mm_prefetch((const char *)(w2 + i) + F16_PREFETCH_AHEAD, _MM_HINT_T0);
                _mm_prefetch((const char *)(w3 + i) + F16_PREFETCH_AHEAD, _MM_HINT_T0);
                const __m512 xa = _mm512_loadu_ps(xt + i), xb = _mm512_loadu_ps(xt + i + 16);
                s0 = f16_fma(w0 + i, xa, s0);
                s1 = f16_fma(w1 + i, xa, s1);
                s2 = f16_fma(w2 + i, xa, s2);
                s3 = f16_fma(w3 + i, xa, s3);
                s0 = f16_fma(w0 + i + 16, xb, s0);
                s1 = f16_fma(w1 + i + 16, xb, s1);
                s2 = f16_fma(w2 + i + 16, xb, s2);
                s3 = f16_fma(w3 + i + 16, xb, s3);
            }
            if (i + 16 <= k) {
                const __m512 xv = _mm512_loadu_ps(xt + i);
                s0 = f16_fma(w0 + i, xv, s0);
                s1 = f16_fma(w1 + i, xv, s1);
                s2 = f16_fma(w2 + i, xv, s2);
                s3 = f16_fma(w3 + i, xv, s3);
                i += 16;
            }
            yt[r] = bn_x86_f16_tail(w0, xt, i, k, bn_x86_hsum16(s0));
            yt[r + 1] = bn_x86_f16_tail(w1, xt, i, k, bn_x86_hsum16(s1));
            yt[r + 2] = bn_x86_f16_tail(w2, xt, i, k, bn_x86_hsum16(s2));
            yt[r + 3] = bn_x86_f16_tail(w3, xt, i, k, bn_x86_hsum16(s3));
        }
    }
    for (; r < r1; r++) {
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * x_stride;
            const uint16_t *wr = w + r * k;
            __m512 s0 = _mm512_setzero_ps();
            int64_t i = 0;
            for (; i + 16 <= k; i += 16)
                s0 = f16_fma(wr + i, _mm512_loadu_ps(xt + i), s0);
            y[(size_t)t * y_stride + r] = bn_x86_f16_tail(wr, xt, i, k, bn_x86_hsum16(s0));
        }
    }
}

/* Q8_0 rows. Widening every int8 weight to float costs more than reading it
 * (the kernel would be compute-bound at about half the memory bandwidth), so
 * the activations are quantised instead, to int16 per block of 32 with the
 * block's own scale (|error| <= 0.5 * max|x_block| / 32767 per element,
 * doc/numerics.md): a block is then one widening of the weights to int16
 * and one vpmaddwd, and the sixteen int32 lanes are scaled in float by
 * d_weight * d_x. The quantisation is a function of x alone, so a token's
 * result does not depend on the batch or the rows it is computed with. */

/* longest row quantised on the stack, 17 KB of it (bn_decode runs on the
 * caller's thread, whose stack may be small); longer rows take the float
 * kernel */
#define Q8_K_MAX 8192
/* rows per pass for a batch: each token is quantised once per pass */
#define Q8_ROWS_PER_PASS 32

/* x (k floats, k a multiple of 32) as int16 blocks xq[k] and scales dx[k/32]. */
static void quantise_x16(const float *x, int64_t k, int16_t *xq, float *dx)
{
    for (int64_t b = 0; b < k / 32; b++) {
        const __m512 v0 = _mm512_loadu_ps(x + 32 * b), v1 = _mm512_loadu_ps(x + 32 * b + 16);
        const float max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        dx[b] = max / 32767.0f;
        const __m512 inv = _mm512_set1_ps(max > 0.0f ? 32767.0f / max : 0.0f);
        /* round to nearest; the saturating narrow keeps +-32767 */
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, inv));
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, inv));
        _mm256_storeu_si256((__m256i *)(void *)(xq + 32 * b), _mm512_cvtsepi32_epi16(q0));
        _mm256_storeu_si256((__m256i *)(void *)(xq + 32 * b + 16), _mm512_cvtsepi32_epi16(q1));
    }
}

/* acc + (block . x16) * sc (sc from memory: an embedded broadcast, no shuffle) */
static inline __m512 q8_block_x16(const bn_block_q8_0 *blk, const int16_t *x16, const float *sc, __m512 acc)
{
    const __m512i w16 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)blk->qs));
    const __m512i p = _mm512_madd_epi16(w16, _mm512_loadu_si512(x16));
    /* GCC turns a broadcast of a value it just stored into a shuffle; the
     * asm keeps the load-port broadcast */
    const __m512 f = _mm512_cvtepi32_ps(p);
    __asm__("vfmadd231ps %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(f), "m"(*sc));
    return acc;
}

/* One Q8_0 row against int16 blocks: sixteen blocks per step, the scales
 * d_weight * d_x of the sixteen computed first. */
static float q8_row_x16(const bn_block_q8_0 *br, int64_t nb, const int16_t *xq, const float *dx)
{
    /* four accumulators: one FMA chain would bound the loop by its latency */
    _Alignas(64) float sc[16];
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t b0 = 0; b0 < nb; b0 += 16) {
        const int n = nb - b0 < 16 ? (int)(nb - b0) : 16;
        const bn_block_q8_0 *blk = br + b0;
        for (int l = 0; l < 9; l++)
            _mm_prefetch((const char *)blk + 4096 + 64 * l, _MM_HINT_T0);
        /* weight scale times activation scale of each block */
        for (int j = 0; j < n; j++) {
            uint16_t dh;
            memcpy(&dh, &blk[j].d, 2);
            sc[j] = _cvtsh_ss(dh) * dx[b0 + j];
        }
        const int16_t *xb = xq + 32 * b0;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            a0 = q8_block_x16(&blk[j], xb + 32 * j, &sc[j], a0);
            a1 = q8_block_x16(&blk[j + 1], xb + 32 * (j + 1), &sc[j + 1], a1);
            a2 = q8_block_x16(&blk[j + 2], xb + 32 * (j + 2), &sc[j + 2], a2);
            a3 = q8_block_x16(&blk[j + 3], xb + 32 * (j + 3), &sc[j + 3], a3);
        }
        for (; j < n; j++)
            a0 = q8_block_x16(&blk[j], xb + 32 * j, &sc[j], a0);
    }
    return bn_x86_hsum16(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* The float form, for rows too long for the stack buffers: each block's
 * int8 widened to float; lane j takes elements j and 16 + j of each block,
 * the AVX2 kernel's chains. */
static inline __m512 q8_block_half(const bn_block_q8_0 *b, int half, __m512 d)
{
    __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(b->qs + 16 * half))));
    return _mm512_mul_ps(v, d);
}

static float q8_row_f32(const bn_block_q8_0 *br, int64_t nb, const float *xt)
{
    __m512 s = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        _mm_prefetch((const char *)(br + b) + 1024, _MM_HINT_T0);
        uint16_t dh;
        memcpy(&dh, &br[b].d, 2);
        const __m512 d = _mm512_set1_ps(_cvtsh_ss(dh));
        s = _mm512_fmadd_ps(q8_block_half(&br[b], 0, d), _mm512_loadu_ps(xt + 32 * b), s);
        s = _mm512_fmadd_ps(q8_block_half(&br[b], 1, d), _mm512_loadu_ps(xt + 32 * b + 16), s);
    }
    return bn_x86_hsum16(s);
}

void bn_q8gemm_avx512(BN_Q8GEMM_ARGS)
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
        /* decode: two halves of the rows read side by side, two streams of
         * misses in flight instead of one */
        const int64_t mid = r0 + (r1 - r0) / 2;
        for (int64_t a = r0, b = mid; b < r1; a++, b++) {
            if (a < mid)
                y[a] = q8_row_x16(base + a * nb, nb, xq, dx);
            y[b] = q8_row_x16(base + b * nb, nb, xq, dx);
        }
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
