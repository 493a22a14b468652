/* AVX-512 F16 x F32 matrix products (the output projection). FMA in 16 lanes:
 * rounding differs from the scalar reference within float accuracy. */
#include <immintrin.h>
#include <string.h>

#include "gguf/gguf_types.h"

#include "arch/x86_64/kernels_x86.h"

/* Four rows at a time share the activation loads; for a batch, the four rows
 * stay in cache while every token passes over them. */
void bn_f16gemm_avx512(BN_F16GEMM_ARGS)
{
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * x_stride;
            float *yt = y + (size_t)t * y_stride;
            const uint16_t *w0 = w + r * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            int64_t i = 0;
            for (; i + 16 <= k; i += 16) {
                _mm_prefetch((const char *)(w0 + i) + 2048, _MM_HINT_T0);
                _mm_prefetch((const char *)(w1 + i) + 2048, _MM_HINT_T0);
                _mm_prefetch((const char *)(w2 + i) + 2048, _MM_HINT_T0);
                _mm_prefetch((const char *)(w3 + i) + 2048, _MM_HINT_T0);
                const __m512 xv = _mm512_loadu_ps(xt + i);
                s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w0 + i))), xv, s0);
                s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w1 + i))), xv, s1);
                s2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w2 + i))), xv, s2);
                s3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w3 + i))), xv, s3);
            }
            if (i < k) {
                const __mmask16 m = (__mmask16)((1u << (k - i)) - 1);
                const __m512 xv = _mm512_maskz_loadu_ps(m, xt + i);
                s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w0 + i)), xv, s0);
                s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w1 + i)), xv, s1);
                s2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w2 + i)), xv, s2);
                s3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w3 + i)), xv, s3);
            }
            yt[r] = _mm512_reduce_add_ps(s0);
            yt[r + 1] = _mm512_reduce_add_ps(s1);
            yt[r + 2] = _mm512_reduce_add_ps(s2);
            yt[r + 3] = _mm512_reduce_add_ps(s3);
        }
    }
    for (; r < r1; r++) {
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * x_stride;
            float *yt = y + (size_t)t * y_stride;
            const uint16_t *wr = w + r * k;
            __m512 s0 = _mm512_setzero_ps();
            for (int64_t i = 0; i < k; i += 16) {
                const __mmask16 m = k - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (k - i)) - 1);
                s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, wr + i)),
                                     _mm512_maskz_loadu_ps(m, xt + i), s0);
            }
            yt[r] = _mm512_reduce_add_ps(s0);
        }
    }
}

/* Q8_0 rows: each block's int8 are widened, scaled by the block's d and
 * accumulated against x in float. Four rows share the activation loads. */
static inline __m512 q8_block_half(const bn_block_q8_0 *b, int half, __m512 d)
{
    __m512 v = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(b->qs + 16 * half))));
    return _mm512_mul_ps(v, d);
}

void bn_q8gemm_avx512(BN_Q8GEMM_ARGS)
{
    const int64_t nb = k / 32;
    const bn_block_q8_0 *base = w;
    for (int64_t r = r0; r < r1; r++) {
        const bn_block_q8_0 *br = base + r * nb;
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * x_stride;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0;
            for (int64_t b = 0; b < nb; b++) {
                _mm_prefetch((const char *)(br + b) + 1024, _MM_HINT_T0);
                uint16_t dh;
                memcpy(&dh, &br[b].d, 2);
                const __m512 d = _mm512_set1_ps(_cvtsh_ss(dh));
                s0 = _mm512_fmadd_ps(q8_block_half(&br[b], 0, d), _mm512_loadu_ps(xt + 32 * b), s0);
                s1 = _mm512_fmadd_ps(q8_block_half(&br[b], 1, d), _mm512_loadu_ps(xt + 32 * b + 16), s1);
            }
            y[(size_t)t * y_stride + r] = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
        }
    }
}
