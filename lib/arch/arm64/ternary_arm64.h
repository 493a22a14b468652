/* What the arm64 ternary kernels share (static inline: each object compiles
 * it with its own flags).
 *
 * A 64-byte row chunk of the packed layout (tpack.h) holds four bit planes
 * lined up with 64 consecutive activations. One operation per 16 bytes and
 * plane extracts them: planes 0, 1 and 2 are masked in place (code * 4^p, at
 * most 32, which fits a signed byte), plane 3 is shifted down (code). Planes
 * 0 and 3 then share an accumulator; planes 1 and 2 have their own, shifted
 * back (exactly: every lane is a multiple of 4^p) once per row. */
#ifndef BN_ARCH_ARM64_TERNARY_H
#define BN_ARCH_ARM64_TERNARY_H

#include <arm_neon.h>

#include "kernels/kernels.h"

/* bytes ahead of the current chunk to prefetch (the tile is one sequential
 * stream); not tuned on hardware yet, see doc/arm64.md */
#define BN_A64_PREFETCH_AHEAD 2048

#define BN_A64_CHUNK_STRIDE (BN_TP_ROWS * BN_TP_CHUNK_BYTES)    /* a row's chunks are this far apart */

/* The reference's epilogue, same operations in the same order (no FMA):
 * the result is bit-identical whatever the kernel. */
static inline void bn_a64_store(float *y, int32_t dot, const bn_tpack *w, int64_t row, const bn_qx *x, int tok,
                                int accumulate)
{
    const float v = (float)(dot - x->sum[tok]) * bn_tp_row_scale(w, row) * x->scale[tok];
    *y = accumulate ? *y + v : v;
}

/* A tile's dot products for one token, by one level's kernel. */
typedef void (*bn_a64_tile_dot_fn)(const uint8_t *tile, int64_t n_chunks, const int8_t *x, int32_t out[4]);

/* Tiles [tile0, tile1), one token at a time: for a batch the tile (at most a
 * few KB per 4 rows) stays in L1 while every token passes over it. Inlined
 * into each level's object, with that level's tile_dot. */
static inline __attribute__((always_inline)) void bn_a64_tgemm_tiles(BN_TGEMM_ARGS, bn_a64_tile_dot_fn tile_dot)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_A64_CHUNK_STRIDE;
    for (int64_t t = tile0; t < tile1; t++) {
        const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
        const int rows = bn_tp_tile_rows(w, t);
        for (int i = 0; i < n_tok; i++) {
            int32_t dot[4];
            tile_dot(tile, w->n_chunks, x->q + (size_t)i * x->stride, dot);
            float *yi = y + (size_t)i * y_stride + t * BN_TP_ROWS;
            for (int r = 0; r < rows; r++)
                bn_a64_store(yi + r, dot[r], w, t * BN_TP_ROWS + r, x, i, accumulate);
        }
    }
}

/* Block scales (tpack.h): the sums (c - 1) . x of one chunk for the 4 rows
 * of a tile, by one level's kernel. */
typedef int32x4_t (*bn_a64_chunk_dot_fn)(const uint8_t *p, const int8_t *xc);

/* sum of a chunk's 256 activations */
static inline int32_t bn_a64_chunk_xsum(const int8_t *xc)
{
    int16x8_t s = vdupq_n_s16(0);
    for (int j = 0; j < BN_TP_CHUNK; j += 16)
        s = vpadalq_s8(s, vld1q_s8(xc + j));     /* at most 16 * 256 per lane */
    return vaddlvq_s16(s);
}

/* four rows' int32 lanes -> their four sums */
static inline int32x4_t bn_a64_sum4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d)
{
    return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

/* Tiles [tile0, tile1) of a tensor with block scales, one token at a time:
 * each chunk's four row sums folded in chunk order with one convert and one
 * FMA (the reference's fmaf), then times the token's scale. */
static inline __attribute__((always_inline)) void bn_a64_tgemm_blocks(BN_TGEMM_ARGS, bn_a64_chunk_dot_fn chunk_dot)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_A64_CHUNK_STRIDE;
    for (int64_t t = tile0; t < tile1; t++) {
        const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
        const int rows = bn_tp_tile_rows(w, t);
        for (int i = 0; i < n_tok; i++) {
            const int8_t *xq = x->q + (size_t)i * x->stride;
            float32x4_t acc = vdupq_n_f32(0.0f);
            for (int64_t c = 0; c < w->n_chunks; c++) {
                const int32x4_t s = chunk_dot(tile + c * BN_A64_CHUNK_STRIDE, xq + c * BN_TP_CHUNK);
                acc = vfmaq_f32(acc, vcvtq_f32_s32(s), vld1q_f32(bn_tp_block_scales(w, t, c)));
            }
            float v[4];
            vst1q_f32(v, vmulq_n_f32(acc, x->scale[i]));
            float *yi = y + (size_t)i * y_stride + t * BN_TP_ROWS;
            for (int r = 0; r < rows; r++)
                yi[r] = accumulate ? yi[r] + v[r] : v[r];
        }
    }
}

/* planes 0+3, 1 (x4) and 2 (x16) of per-lane sums into one dot product */
static inline int32_t bn_a64_combine(int32x4_t a03, int32x4_t a1, int32x4_t a2)
{
    return vaddvq_s32(vaddq_s32(a03, vaddq_s32(vshrq_n_s32(a1, 2), vshrq_n_s32(a2, 4))));
}

static inline void bn_a64_prefetch(const uint8_t *p)
{
    __builtin_prefetch(p + BN_A64_PREFETCH_AHEAD);
    __builtin_prefetch(p + BN_A64_PREFETCH_AHEAD + 64);
    __builtin_prefetch(p + BN_A64_PREFETCH_AHEAD + 128);
    __builtin_prefetch(p + BN_A64_PREFETCH_AHEAD + 192);
}

#if defined(__ARM_FEATURE_DOTPROD)
/* One chunk of a tile into the sdot accumulators (planes 0+3, 1, 2 per row):
 * 4 activation vectors shared by the 4 rows; per 16 weight bytes (64
 * weights): 1 load, 4 extractions, 4 sdot. */
static inline __attribute__((always_inline)) void bn_a64_sdot_chunk(const uint8_t *p, const int8_t *xc,
                                                                    int32x4_t a03[4], int32x4_t a1[4],
                                                                    int32x4_t a2[4])
{
    const uint8x16_t m0 = vdupq_n_u8(0x03), m1 = vdupq_n_u8(0x0c), m2 = vdupq_n_u8(0x30);
    for (int h = 0; h < 4; h++) {
        const int8x16_t x0 = vld1q_s8(xc + 16 * h), x1 = vld1q_s8(xc + 64 + 16 * h);
        const int8x16_t x2 = vld1q_s8(xc + 128 + 16 * h), x3 = vld1q_s8(xc + 192 + 16 * h);
        for (int r = 0; r < 4; r++) {
            const uint8x16_t wv = vld1q_u8(p + r * BN_TP_CHUNK_BYTES + 16 * h);
            a03[r] = vdotq_s32(a03[r], vreinterpretq_s8_u8(vandq_u8(wv, m0)), x0);
            a1[r] = vdotq_s32(a1[r], vreinterpretq_s8_u8(vandq_u8(wv, m1)), x1);
            a2[r] = vdotq_s32(a2[r], vreinterpretq_s8_u8(vandq_u8(wv, m2)), x2);
            a03[r] = vdotq_s32(a03[r], vreinterpretq_s8_u8(vshrq_n_u8(wv, 6)), x3);
        }
    }
}

/* sdot kernel of one tile (4 rows) against one token: the decode GEMV of the
 * dotprod and i8mm levels. 12 accumulators. */
static inline void bn_a64_tile_dot_sdot(const uint8_t *tile, int64_t n_chunks, const int8_t *x, int32_t out[4])
{
    int32x4_t a03[4], a1[4], a2[4];
    for (int r = 0; r < 4; r++)
        a03[r] = a1[r] = a2[r] = vdupq_n_s32(0);
    for (int64_t c = 0; c < n_chunks; c++) {
        const uint8_t *p = tile + c * BN_A64_CHUNK_STRIDE;
        bn_a64_prefetch(p);
        bn_a64_sdot_chunk(p, x + c * BN_TP_CHUNK, a03, a1, a2);
    }
    for (int r = 0; r < 4; r++)
        out[r] = bn_a64_combine(a03[r], a1[r], a2[r]);
}

/* The block-scale chunk of the dotprod and i8mm levels. */
static inline int32x4_t bn_a64_chunk_dot_sdot(const uint8_t *p, const int8_t *xc)
{
    int32x4_t a03[4], a1[4], a2[4], s[4];
    for (int r = 0; r < 4; r++)
        a03[r] = a1[r] = a2[r] = vdupq_n_s32(0);
    bn_a64_prefetch(p);
    bn_a64_sdot_chunk(p, xc, a03, a1, a2);
    for (int r = 0; r < 4; r++)
        s[r] = vaddq_s32(a03[r], vaddq_s32(vshrq_n_s32(a1[r], 2), vshrq_n_s32(a2[r], 4)));
    return vsubq_s32(bn_a64_sum4(s[0], s[1], s[2], s[3]), vdupq_n_s32(bn_a64_chunk_xsum(xc)));
}
#endif

#endif
