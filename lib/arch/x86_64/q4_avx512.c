/* AVX-512 VNNI Q4_0 x float product (the 4-bit output head): two blocks per
 * step, their nibbles unpacked into one 64-byte vector and multiplied with
 * the int8 activations by one vpdpbusd (sixteen int32 lanes, eight per
 * block), each half scaled by its block's d_weight * d_x in one FMA. The
 * activations are rounded as bn_q4_x_block does (q4_avx2.c), and the lanes
 * are summed as the AVX2 kernel sums them (reduce_x86.h): the same bits. */
#include <immintrin.h>
#include <string.h>

#include "gguf/gguf_types.h"
#include "kernels/q4_drive.h"

#include "arch/x86_64/kernels_x86.h"
#include "arch/x86_64/q4_x86.h"
#include "arch/x86_64/reduce_x86.h"

static inline __m256i nibbles(const bn_block_q4_0 *b)
{
    const __m128i q = _mm_loadu_si128((const __m128i *)(const void *)b->qs), m = _mm_set1_epi8(0x0f);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

static inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
    return acc;
}

static float row_dot(const bn_block_q4_0 *b, int64_t nb, const int8_t *q, const float *dx, const int32_t *sum)
{
    __m512 acc = _mm512_setzero_ps();
    float corr = 0.0f;
    int64_t j = 0;
    for (; j + 2 <= nb; j += 2) {
        _mm_prefetch((const char *)(b + j) + 8192, _MM_HINT_T0);
        uint16_t d0, d1;
        memcpy(&d0, &b[j].d, 2);
        memcpy(&d1, &b[j + 1].d, 2);
        const float s0 = _cvtsh_ss(d0) * dx[j], s1 = _cvtsh_ss(d1) * dx[j + 1];
        const __m512i wv = _mm512_inserti64x4(_mm512_castsi256_si512(nibbles(b + j)), nibbles(b + j + 1), 1);
        const __m512i p = dpbusd(_mm512_setzero_si512(), wv, _mm512_loadu_si512(q + 32 * j));
        const __m512 sv = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(s0)),
                                                              _mm256_castps_pd(_mm256_set1_ps(s1)), 1));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sv, acc);
        corr += (float)(8 * sum[j]) * s0 + (float)(8 * sum[j + 1]) * s1;
    }
    if (j < nb) {
        /* the odd block into lanes 0-7 only, where the AVX2 kernel puts it */
        uint16_t d0;
        memcpy(&d0, &b[j].d, 2);
        const float s0 = _cvtsh_ss(d0) * dx[j];
        const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), nibbles(b + j),
                                              _mm256_loadu_si256((const __m256i *)(const void *)(q + 32 * j)));
        acc = _mm512_mask3_fmadd_ps(_mm512_castps256_ps512(_mm256_cvtepi32_ps(p)), _mm512_set1_ps(s0), acc,
                                    (__mmask16)0x00ff);
        corr += (float)(8 * sum[j]) * s0;
    }
    return bn_x86_hsum16(acc) - corr;
}

void bn_q4gemm_avx512(BN_Q4GEMM_ARGS)
{
    bn_q4gemm_drive(w, k, r0, r1, x, x_stride, n_tok, y, y_stride, bn_q4_x_round_avx2, row_dot);
}
