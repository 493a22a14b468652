/* NEON (armv8-a) ternary GEMV/GEMM over the packed layout (tpack.h), for
 * cores without the dot-product extension (Cortex-A53/A72, the Raspberry Pi
 * 3 and 4).
 *
 * The extracted planes (ternary_arm64.h: at most 2, 8, 32 and 2) multiply the
 * int8 activations with smlal/smlal2 into int16 lanes, which are widened into
 * int32 once per 256-weight chunk. Per lane and chunk: planes 0+3 add 16
 * products of at most 2 * 128, plane 1 adds 8 of at most 8 * 128, plane 2 8
 * of 32 * x with x in [-128, 127], in [-32768, 32512]: int16 holds every
 * partial sum exactly. */
#include "arch/arm64/kernels_arm64.h"
#include "arch/arm64/ternary_arm64.h"

static inline int16x8_t mla(int16x8_t acc, uint8x16_t wp, int8x16_t xv)
{
    const int8x16_t ws = vreinterpretq_s8_u8(wp);
    acc = vmlal_s8(acc, vget_low_s8(ws), vget_low_s8(xv));
    return vmlal_high_s8(acc, ws, xv);
}

/* One chunk of a tile, added to each row's int32 lanes. */
static inline __attribute__((always_inline)) void chunk_sums(const uint8_t *p, const int8_t *xc, int32x4_t acc[4])
{
    const uint8x16_t m0 = vdupq_n_u8(0x03), m1 = vdupq_n_u8(0x0c), m2 = vdupq_n_u8(0x30);
    int16x8_t s03[4], s1[4], s2[4];
    for (int r = 0; r < 4; r++)
        s03[r] = s1[r] = s2[r] = vdupq_n_s16(0);
    for (int h = 0; h < 4; h++) {
        const int8x16_t x0 = vld1q_s8(xc + 16 * h), x1 = vld1q_s8(xc + 64 + 16 * h);
        const int8x16_t x2 = vld1q_s8(xc + 128 + 16 * h), x3 = vld1q_s8(xc + 192 + 16 * h);
        for (int r = 0; r < 4; r++) {
            const uint8x16_t wv = vld1q_u8(p + r * BN_TP_CHUNK_BYTES + 16 * h);
            s03[r] = mla(s03[r], vandq_u8(wv, m0), x0);
            s1[r] = mla(s1[r], vandq_u8(wv, m1), x1);
            s2[r] = mla(s2[r], vandq_u8(wv, m2), x2);
            s03[r] = mla(s03[r], vshrq_n_u8(wv, 6), x3);
        }
    }
    /* planes 1 and 2 are shifted back as they are widened: their lanes
     * are multiples of 4 and 16 */
    for (int r = 0; r < 4; r++) {
        acc[r] = vpadalq_s16(acc[r], s03[r]);
        acc[r] = vsraq_n_s32(acc[r], vpaddlq_s16(s1[r]), 2);
        acc[r] = vsraq_n_s32(acc[r], vpaddlq_s16(s2[r]), 4);
    }
}

static inline void tile_dot(const uint8_t *tile, int64_t n_chunks, const int8_t *x, int32_t out[4])
{
    int32x4_t acc[4];
    for (int r = 0; r < 4; r++)
        acc[r] = vdupq_n_s32(0);
    for (int64_t c = 0; c < n_chunks; c++) {
        const uint8_t *p = tile + c * BN_A64_CHUNK_STRIDE;
        bn_a64_prefetch(p);
        chunk_sums(p, x + c * BN_TP_CHUNK, acc);
    }
    for (int r = 0; r < 4; r++)
        out[r] = vaddvq_s32(acc[r]);
}

/* block scales: one chunk's sums (c - 1) . x of the 4 rows */
static inline int32x4_t chunk_dot(const uint8_t *p, const int8_t *xc)
{
    int32x4_t acc[4];
    for (int r = 0; r < 4; r++)
        acc[r] = vdupq_n_s32(0);
    bn_a64_prefetch(p);
    chunk_sums(p, xc, acc);
    return vsubq_s32(bn_a64_sum4(acc[0], acc[1], acc[2], acc[3]), vdupq_n_s32(bn_a64_chunk_xsum(xc)));
}

void bn_tgemm_neon(BN_TGEMM_ARGS)
{
    if (w->block_scales)
        bn_a64_tgemm_blocks(w, tile0, tile1, x, n_tok, y, y_stride, accumulate, chunk_dot);
    else
        bn_a64_tgemm_tiles(w, tile0, tile1, x, n_tok, y, y_stride, accumulate, tile_dot);
}
