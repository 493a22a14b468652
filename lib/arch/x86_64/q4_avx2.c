/* AVX2 Q4_0 x float product (the 4-bit output head). The activations are
 * rounded to int8 per block of 32 exactly as bn_q4_x_block does (same
 * float operations, round to nearest even); each block is one unpacking of
 * the nibbles, one vpmaddubsw + vpmaddwd against the int8 activations, and
 * one FMA of the eight int32 lanes by d_weight * d_x. The "- 8" of the
 * nibbles is folded into one scalar product per block. */
#include <immintrin.h>
#include <string.h>

#include "gguf/gguf_types.h"
#include "kernels/q4_drive.h"

#include "arch/x86_64/kernels_x86.h"
#include "arch/x86_64/q4_x86.h"
#include "arch/x86_64/reduce_x86.h"

void bn_q4_x_round_avx2(const float *x, int64_t k, int8_t *q, float *dx, int32_t *sum)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < k / 32; b++) {
        const float *xb = x + 32 * b;
        __m256 v[4], m = _mm256_setzero_ps();
        for (int j = 0; j < 4; j++) {
            v[j] = _mm256_loadu_ps(xb + 8 * j);
            m = _mm256_max_ps(_mm256_and_ps(v[j], abs_mask), m);   /* NaN skipped, as the reference */
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float d = _mm_cvtss_f32(h) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        dx[b] = d;
        __m256i qi[4];
        for (int j = 0; j < 4; j++) {
            const __m256 p = _mm256_mul_ps(v[j], _mm256_set1_ps(id));
            /* NaN: 0, as the reference */
            qi[j] = _mm256_and_si256(_mm256_cvtps_epi32(p), _mm256_castps_si256(_mm256_cmp_ps(p, p, _CMP_ORD_Q)));
        }
        const __m256i a = _mm256_packs_epi32(qi[0], qi[1]), c = _mm256_packs_epi32(qi[2], qi[3]);
        const __m256i b8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, c),
                                                       _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(void *)(q + 32 * b), b8);
        const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), b8);
        const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
        sum[b] = _mm_cvtsi128_si32(t);
    }
}

static inline __m256i nibbles(const bn_block_q4_0 *b)
{
    const __m128i q = _mm_loadu_si128((const __m128i *)(const void *)b->qs), m = _mm_set1_epi8(0x0f);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

static float row_dot(const bn_block_q4_0 *b, int64_t nb, const int8_t *q, const float *dx, const int32_t *sum)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    const __m256i ones = _mm256_set1_epi16(1);
    float corr = 0.0f;
    int64_t j = 0;
    for (; j + 2 <= nb; j += 2) {
        _mm_prefetch((const char *)(b + j) + 4096, _MM_HINT_T0);
        uint16_t d0, d1;
        memcpy(&d0, &b[j].d, 2);
        memcpy(&d1, &b[j + 1].d, 2);
        const float s0 = _cvtsh_ss(d0) * dx[j], s1 = _cvtsh_ss(d1) * dx[j + 1];
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles(b + j),
                                             _mm256_loadu_si256((const __m256i *)(const void *)(q + 32 * j))), ones);
        const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles(b + j + 1),
                                             _mm256_loadu_si256((const __m256i *)(const void *)(q + 32 * j + 32))), ones);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(s0), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(s1), acc1);
        corr += (float)(8 * sum[j]) * s0 + (float)(8 * sum[j + 1]) * s1;
    }
    for (; j < nb; j++) {
        uint16_t d0;
        memcpy(&d0, &b[j].d, 2);
        const float s0 = _cvtsh_ss(d0) * dx[j];
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles(b + j),
                                             _mm256_loadu_si256((const __m256i *)(const void *)(q + 32 * j))), ones);
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(s0), acc0);
        corr += (float)(8 * sum[j]) * s0;
    }
    return bn_x86_hsum16_halves(acc0, acc1) - corr;
}

void bn_q4gemm_avx2(BN_Q4GEMM_ARGS)
{
    bn_q4gemm_drive(w, k, r0, r1, x, x_stride, n_tok, y, y_stride, bn_q4_x_round_avx2, row_dot);
}
