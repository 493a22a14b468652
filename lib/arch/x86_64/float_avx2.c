/* AVX2 F16 x F32 matrix products (the output projection), FMA in 8 lanes. */
#include <immintrin.h>
#include <string.h>

#include "gguf/gguf_types.h"

#include "arch/x86_64/kernels_x86.h"

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

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
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < k; i++)
        s += _cvtsh_ss(w[i]) * x[i];
    return s;
}

void bn_f16gemm_avx2(BN_F16GEMM_ARGS)
{
    for (int64_t r = r0; r < r1; r++)
        for (int t = 0; t < n_tok; t++)
            y[(size_t)t * y_stride + r] = row_dot(w + r * k, x + (size_t)t * x_stride, k);
}

void bn_q8gemm_avx2(BN_Q8GEMM_ARGS)
{
    const int64_t nb = k / 32;
    const bn_block_q8_0 *base = w;
    for (int64_t r = r0; r < r1; r++) {
        const bn_block_q8_0 *br = base + r * nb;
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * x_stride;
            __m256 s0 = _mm256_setzero_ps(), s1 = s0;
            for (int64_t b = 0; b < nb; b++) {
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
            y[(size_t)t * y_stride + r] = hsum8(_mm256_add_ps(s0, s1));
        }
    }
}
