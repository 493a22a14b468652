/* AVX2 Q4_0 x float product (the 4-bit output head), in the group and quad
 * order of q4_x86.h. The activations are rounded to int8 per block of 32
 * exactly as bn_q4_x_block does (same float operations, round to nearest
 * even). A pair of blocks (half a quad) is two loads of its nibbles, one
 * shift, two masks, two vpmaddubsw against the int8 activations added in
 * int16 (at most 2 * 2 * 15 * 128 = 7680), one vpmaddwd and one FMA of the
 * int32 lanes by their blocks' d_weight * d_x. */
#include <immintrin.h>
#include <string.h>

#include "gguf/gguf_types.h"
#include "kernels/q4_drive.h"

#include "arch/x86_64/kernels_x86.h"
#include "arch/x86_64/q4_x86.h"
#include "arch/x86_64/reduce_x86.h"

void bn_q4_x_round_avx2(const float *x, int64_t k, bn_q4_xq *xq)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const int64_t nb = k / 32, padded = (nb + BN_Q4_X86_GROUP - 1) / BN_Q4_X86_GROUP * BN_Q4_X86_GROUP;
    for (int64_t b = 0; b < nb; b++) {
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
        xq->dx[b] = d;
        __m256i qi[4];
        for (int j = 0; j < 4; j++) {
            const __m256 p = _mm256_mul_ps(v[j], _mm256_set1_ps(id));
            /* NaN: 0, as the reference */
            qi[j] = _mm256_and_si256(_mm256_cvtps_epi32(p), _mm256_castps_si256(_mm256_cmp_ps(p, p, _CMP_ORD_Q)));
        }
        const __m256i a = _mm256_packs_epi32(qi[0], qi[1]), c = _mm256_packs_epi32(qi[2], qi[3]);
        const __m256i b8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, c),
                                                       _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        /* values 0-15 and 16-31 of block b, each beside the other blocks'
         * of its quad */
        int8_t *xd = xq->q + bn_q4_x86_x_offset(b);
        _mm_storeu_si128((__m128i *)(void *)xd, _mm256_castsi256_si128(b8));
        _mm_storeu_si128((__m128i *)(void *)(xd + 64), _mm256_extracti128_si256(b8, 1));
        const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), b8);
        const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
        xq->c8[b] = (float)(8 * _mm_cvtsi128_si32(t));
    }
    for (int64_t b = nb; b < padded; b++) {
        int8_t *xd = xq->q + bn_q4_x86_x_offset(b);
        memset(xd, 0, 16);
        memset(xd + 64, 0, 16);
        xq->dx[b] = 0.0f;
        xq->c8[b] = 0.0f;
    }
}

/* four d_weight (f16 bits) in one integer, on the integer ALUs, which the
 * loop leaves idle: on Zen 5 a 16-lane gather of the d took most of the
 * row's time, and sixteen loads and vector inserts a sixth of it
 * (doc/design.md). The empty asm keeps each d in a general register:
 * without it GCC moves the shifts and ORs to vector instructions, three
 * times as many. */
static inline uint64_t d4(const bn_block_q4_0 *g)
{
    uint64_t d[4];
    for (int i = 0; i < 4; i++) {
        d[i] = g[i].d;
        __asm__("" : "+r"(d[i]));
    }
    return d[0] | d[1] << 16 | d[2] << 32 | d[3] << 48;
}

/* a group's sixteen d_weight (f16 bits), blocks 0-7 in the low half */
static inline __m256i group_d(const bn_block_q4_0 *g)
{
    const __m128i lo = _mm_set_epi64x((long long)d4(g + 4), (long long)d4(g));
    const __m128i hi = _mm_set_epi64x((long long)d4(g + 12), (long long)d4(g + 8));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

static float row_dot(const bn_block_q4_0 *b, int64_t nb, const bn_q4_xq *xq)
{
    /* acc[c][h]: the FMA chain c that quad i takes (i % 2), lanes 0-7 (h 0,
     * its first pair) or 8-15 (h 1) */
    __m256 acc[2][2], corr_lo = _mm256_setzero_ps(), corr_hi = corr_lo;
    acc[0][0] = acc[0][1] = acc[1][0] = acc[1][1] = corr_lo;
    const __m256i ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0x0f);
    /* the lanes of pair p (mod 4) read scales 2p and 2p + 1 of their half */
    const __m256i sel[4] = { _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3),
                             _mm256_setr_epi32(4, 4, 4, 4, 5, 5, 5, 5), _mm256_setr_epi32(6, 6, 6, 6, 7, 7, 7, 7) };
    bn_block_q4_0 pad[BN_Q4_X86_GROUP];
    for (int64_t g = 0; g < nb; g += BN_Q4_X86_GROUP) {
        const bn_block_q4_0 *gb = nb - g < BN_Q4_X86_GROUP ? bn_q4_x86_pad_group(b + g, nb - g, pad) : b + g;
        const __m256i d = group_d(gb);
        const __m256 s_lo = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(d)), _mm256_loadu_ps(xq->dx + g));
        const __m256 s_hi = _mm256_mul_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(d, 1)),
                                          _mm256_loadu_ps(xq->dx + g + 8));
        corr_lo = _mm256_fmadd_ps(s_lo, _mm256_loadu_ps(xq->c8 + g), corr_lo);
        corr_hi = _mm256_fmadd_ps(s_hi, _mm256_loadu_ps(xq->c8 + g + 8), corr_hi);
        const int8_t *q = xq->q + 32 * g;
        for (int i = 0; i < BN_Q4_X86_GROUP / 4; i++)
            for (int h = 0; h < 2; h++) {
                const int p = 2 * i + h;
                const __m256i t = _mm256_inserti128_si256(
                    _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)gb[2 * p].qs)),
                    _mm_loadu_si128((const __m128i *)(const void *)gb[2 * p + 1].qs), 1);
                const __m256i lo = _mm256_and_si256(t, m4), hi = _mm256_and_si256(_mm256_srli_epi16(t, 4), m4);
                const int8_t *xp = q + 128 * i + 32 * h;
                const __m256i s16 = _mm256_add_epi16(
                    _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(const void *)xp)),
                    _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(const void *)(xp + 64))));
                const __m256 sc = _mm256_permutevar8x32_ps(p < 4 ? s_lo : s_hi, sel[p % 4]);
                acc[i % 2][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(s16, ones)), sc, acc[i % 2][h]);
            }
    }
    return bn_x86_hsum16_halves(_mm256_add_ps(acc[0][0], acc[1][0]), _mm256_add_ps(acc[0][1], acc[1][1])) -
           bn_x86_hsum16_halves(corr_lo, corr_hi);
}

void bn_q4gemm_avx2(BN_Q4GEMM_ARGS)
{
    bn_q4gemm_drive(w, k, r0, r1, x, x_stride, n_tok, y, y_stride, bn_q4_x_round_avx2, row_dot);
}
