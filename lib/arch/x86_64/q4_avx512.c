/* AVX-512 VNNI Q4_0 x float product (the 4-bit output head), in the group
 * and quad order of q4_x86.h: a quad of blocks is four 16-byte loads of its
 * nibbles into one vector, one shift and two masks, two vpdpbusd against
 * the int8 activations into one sum (sixteen int32 lanes, eight products of
 * one block each), and one FMA by the lanes' d_weight * d_x, picked from
 * the group's sixteen by one permute. The activations are rounded as
 * bn_q4_x_block does (q4_avx2.c), and lanes, chains and reduction are the
 * AVX2 kernel's: the same bits. */
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

/* the lanes of quad i read scales 4i (lanes 0-3), 4i + 1, 4i + 2, 4i + 3 */
static const int32_t quad_scales[BN_Q4_X86_GROUP / 4][16] = {
#define BN_Q4_SEL(i) { 4 * (i), 4 * (i), 4 * (i), 4 * (i), 4 * (i) + 1, 4 * (i) + 1, 4 * (i) + 1, 4 * (i) + 1, \
                       4 * (i) + 2, 4 * (i) + 2, 4 * (i) + 2, 4 * (i) + 2, 4 * (i) + 3, 4 * (i) + 3, 4 * (i) + 3, 4 * (i) + 3 }
    BN_Q4_SEL(0), BN_Q4_SEL(1), BN_Q4_SEL(2), BN_Q4_SEL(3)
#undef BN_Q4_SEL
};

/* A group's sixteen d_weight (f16 bits; word 9 i of its 288 bytes) by two
 * two-register word permutes, of bytes 0-127 and 144-271: a few
 * instructions in place of sixteen loads and inserts (doc/design.md) */
static inline __m256i group_d(const bn_block_q4_0 *g)
{
    const uint8_t *p = (const uint8_t *)g;
    const __m512i words = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           0, 0, 0, 0, 0, 0, 0, 0, 63, 54, 45, 36, 27, 18, 9, 0);
    const __m512i lo = _mm512_permutex2var_epi16(_mm512_loadu_si512(p), words, _mm512_loadu_si512(p + 64));
    const __m512i hi = _mm512_permutex2var_epi16(_mm512_loadu_si512(p + 144), words, _mm512_loadu_si512(p + 208));
    return _mm256_inserti128_si256(_mm512_castsi512_si256(lo), _mm512_castsi512_si128(hi), 1);
}

static inline __m512i quad_nibbles(const bn_block_q4_0 *b)
{
    const __m256i lo = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)b[0].qs)),
        _mm_loadu_si128((const __m128i *)(const void *)b[1].qs), 1);
    const __m256i hi = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)b[2].qs)),
        _mm_loadu_si128((const __m128i *)(const void *)b[3].qs), 1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

static float row_dot(const bn_block_q4_0 *b, int64_t nb, const bn_q4_xq *xq)
{
    /* quad i adds to chain i % 2 */
    __m512 acc[2] = { _mm512_setzero_ps(), _mm512_setzero_ps() }, corr = _mm512_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    bn_block_q4_0 pad[BN_Q4_X86_GROUP];
    for (int64_t g = 0; g < nb; g += BN_Q4_X86_GROUP) {
        const bn_block_q4_0 *gb = nb - g < BN_Q4_X86_GROUP ? bn_q4_x86_pad_group(b + g, nb - g, pad) : b + g;
        for (int l = 0; l < 5; l++)
            _mm_prefetch((const char *)gb + BN_Q4_PF + 64 * l, _MM_HINT_T0);
        const __m512 s = _mm512_mul_ps(_mm512_cvtph_ps(group_d(gb)), _mm512_loadu_ps(xq->dx + g));
        corr = _mm512_fmadd_ps(s, _mm512_loadu_ps(xq->c8 + g), corr);
        const int8_t *q = xq->q + 32 * g;
        for (int i = 0; i < BN_Q4_X86_GROUP / 4; i++) {
            const __m512i w = quad_nibbles(gb + 4 * i);
            const __m512i lo = _mm512_and_si512(w, m4), hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), m4);
            __m512i p = dpbusd(_mm512_setzero_si512(), lo, _mm512_loadu_si512(q + 128 * i));
            p = dpbusd(p, hi, _mm512_loadu_si512(q + 128 * i + 64));
            const __m512 sc = _mm512_permutexvar_ps(_mm512_loadu_si512(quad_scales[i]), s);
            acc[i % 2] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), sc, acc[i % 2]);
        }
    }
    return bn_x86_hsum16(_mm512_add_ps(acc[0], acc[1])) - bn_x86_hsum16(corr);
}

void bn_q4gemm_avx512(BN_Q4GEMM_ARGS)
{
    bn_q4gemm_drive(w, k, r0, r1, x, x_stride, n_tok, y, y_stride, bn_q4_x_round_avx2, row_dot);
}
