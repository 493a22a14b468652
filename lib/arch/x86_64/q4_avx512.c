/* AVX-512 VNNI Q4_0 x float product (the 4-bit output head), in the group
 * and pair order of q4_x86.h: a pair of blocks is one 32-byte load of its
 * nibbles copied to both halves of a vector, one masked shift of the upper
 * half and one mask, one vpdpbusd against the int8 activations (sixteen
 * int32 lanes, four products each), and one FMA by the lanes' d_weight *
 * d_x, picked from the group's sixteen by one permute. The activations are
 * rounded as bn_q4_x_block does (q4_avx2.c), and lanes and reduction are
 * the AVX2 kernel's: the same bits. */
#include <immintrin.h>
#include <string.h>

#include "gguf/gguf_types.h"
#include "kernels/q4_drive.h"

#include "arch/x86_64/kernels_x86.h"
#include "arch/x86_64/q4_x86.h"
#include "arch/x86_64/reduce_x86.h"

/* bytes ahead of a group its lines are prefetched (about 1 % faster decode
 * than none or 1 KB in interleaved rounds) */
#define BN_Q4_PF 4096

static inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
    return acc;
}

/* the lanes of pair i read scales 2i (lanes 0-3, 8-11) and 2i + 1 */
static const int32_t pair_scales[BN_Q4_X86_GROUP / 2][16] = {
#define BN_Q4_SEL(i) { 2 * (i), 2 * (i), 2 * (i), 2 * (i), 2 * (i) + 1, 2 * (i) + 1, 2 * (i) + 1, 2 * (i) + 1, \
                       2 * (i), 2 * (i), 2 * (i), 2 * (i), 2 * (i) + 1, 2 * (i) + 1, 2 * (i) + 1, 2 * (i) + 1 }
    BN_Q4_SEL(0), BN_Q4_SEL(1), BN_Q4_SEL(2), BN_Q4_SEL(3), BN_Q4_SEL(4), BN_Q4_SEL(5), BN_Q4_SEL(6), BN_Q4_SEL(7)
#undef BN_Q4_SEL
};

static float row_dot(const bn_block_q4_0 *b, int64_t nb, const bn_q4_xq *xq)
{
    __m512 acc = _mm512_setzero_ps(), corr = acc;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    bn_block_q4_0 pad[BN_Q4_X86_GROUP];
    for (int64_t g = 0; g < nb; g += BN_Q4_X86_GROUP) {
        const bn_block_q4_0 *gb = nb - g < BN_Q4_X86_GROUP ? bn_q4_x86_pad_group(b + g, nb - g, pad) : b + g;
        for (int l = 0; l < 5; l++)
            _mm_prefetch((const char *)gb + BN_Q4_PF + 64 * l, _MM_HINT_T0);
        uint16_t d[BN_Q4_X86_GROUP];
        bn_q4_x86_group_d(gb, d);
        const __m512 s = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)d)),
                                       _mm512_loadu_ps(xq->dx + g));
        corr = _mm512_fmadd_ps(s, _mm512_loadu_ps(xq->c8 + g), corr);
        const int8_t *q = xq->q + 32 * g;
        for (int i = 0; i < BN_Q4_X86_GROUP / 2; i++) {
            const __m256i t = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)gb[2 * i].qs)),
                _mm_loadu_si128((const __m128i *)(const void *)gb[2 * i + 1].qs), 1);
            const __m512i t2 = _mm512_inserti64x4(_mm512_castsi256_si512(t), t, 1);
            const __m512i wv = _mm512_and_si512(_mm512_mask_srli_epi16(t2, (__mmask32)0xffff0000u, t2, 4), m4);
            const __m512i p = dpbusd(_mm512_setzero_si512(), wv, _mm512_loadu_si512(q + 64 * i));
            const __m512 sc = _mm512_permutexvar_ps(_mm512_loadu_si512(pair_scales[i]), s);
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sc, acc);
        }
    }
    return bn_x86_hsum16(acc) - bn_x86_hsum16(corr);
}

void bn_q4gemm_avx512(BN_Q4GEMM_ARGS)
{
    bn_q4gemm_drive(w, k, r0, r1, x, x_stride, n_tok, y, y_stride, bn_q4_x_round_avx2, row_dot);
}
