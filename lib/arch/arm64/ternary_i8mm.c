/* i8mm (armv8.2-a+dotprod+i8mm: usmmla) ternary GEMM over the packed layout:
 * Neoverse V1/N2, Cortex-A710 and later, Apple M2 and later.
 *
 * usmmla multiplies a 2x8 unsigned by a 2x8 signed int8 matrix into a 2x2
 * int32 block: two weight rows against two tokens, 32 useful products per
 * instruction where sdot gives 16. The weight operand pairs 8 bytes of two
 * rows (one zip per 16 bytes and row pair, shared by the four planes and by
 * every token); the activation operand pairs 8 bytes of two tokens. A tile of
 * 4 rows against 4 tokens keeps 12 accumulators (2 row pairs x 2 token pairs
 * x planes 0+3, 1, 2).
 *
 * With one token the second half of every usmmla would be wasted: decode (and
 * the last token of an odd batch) takes the sdot tile kernel instead. */
#include "arch/arm64/kernels_arm64.h"
#include "arch/arm64/ternary_arm64.h"

#if !defined(__ARM_FEATURE_MATMUL_INT8) || !defined(__ARM_FEATURE_DOTPROD)
#error "ternary_i8mm.c needs -march=armv8.2-a+dotprod+i8mm"
#endif

/* 64-bit halves: lo = (a[0..7], b[0..7]), hi = (a[8..15], b[8..15]) */
static inline uint8x16_t zip_lo(uint8x16_t a, uint8x16_t b)
{
    return vreinterpretq_u8_u64(vzip1q_u64(vreinterpretq_u64_u8(a), vreinterpretq_u64_u8(b)));
}

static inline uint8x16_t zip_hi(uint8x16_t a, uint8x16_t b)
{
    return vreinterpretq_u8_u64(vzip2q_u64(vreinterpretq_u64_u8(a), vreinterpretq_u64_u8(b)));
}

static inline uint8x16_t plane(uint8x16_t w, int q)
{
    switch (q) {
    case 0: return vandq_u8(w, vdupq_n_u8(0x03));
    case 1: return vandq_u8(w, vdupq_n_u8(0x0c));
    case 2: return vandq_u8(w, vdupq_n_u8(0x30));
    default: return vshrq_n_u8(w, 6);
    }
}

/* sum_k code[r][k] * x_t[k] for the 4 rows of a tile and 2 * np tokens
 * (np = 1 or 2; a constant after inlining), out[t][r]. */
static inline __attribute__((always_inline)) void tile_mm(const uint8_t *tile, int64_t n_chunks, const int8_t *x,
                                                          size_t xs, int np, int32_t out[4][4])
{
    int32x4_t a03[2][2], a1[2][2], a2[2][2];    /* [row pair][token pair] */
    for (int rp = 0; rp < 2; rp++)
        for (int tp = 0; tp < 2; tp++)
            a03[rp][tp] = a1[rp][tp] = a2[rp][tp] = vdupq_n_s32(0);
    for (int64_t c = 0; c < n_chunks; c++) {
        const uint8_t *p = tile + c * BN_A64_CHUNK_STRIDE;
        const int8_t *xc = x + c * BN_TP_CHUNK;
        bn_a64_prefetch(p);
        for (int h = 0; h < 4; h++) {
            uint8x16_t wr[4];
            for (int r = 0; r < 4; r++)
                wr[r] = vld1q_u8(p + r * BN_TP_CHUNK_BYTES + 16 * h);
            const uint8x16_t wz[2][2] = { { zip_lo(wr[0], wr[1]), zip_hi(wr[0], wr[1]) },
                                          { zip_lo(wr[2], wr[3]), zip_hi(wr[2], wr[3]) } };
            for (int q = 0; q < 4; q++) {
                /* plane q of the two row pairs, then each token pair in turn:
                 * few live registers besides the 12 accumulators */
                const uint8x16_t wp[2][2] = { { plane(wz[0][0], q), plane(wz[0][1], q) },
                                              { plane(wz[1][0], q), plane(wz[1][1], q) } };
                for (int tp = 0; tp < np; tp++) {
                    const int8_t *xt = xc + (size_t)(2 * tp) * xs + 64 * q + 16 * h;
                    const uint8x16_t xa = vreinterpretq_u8_s8(vld1q_s8(xt));
                    const uint8x16_t xb = vreinterpretq_u8_s8(vld1q_s8(xt + xs));
                    const int8x16_t xz[2] = { vreinterpretq_s8_u8(zip_lo(xa, xb)), vreinterpretq_s8_u8(zip_hi(xa, xb)) };
                    for (int rp = 0; rp < 2; rp++)
                        for (int half = 0; half < 2; half++) {
                            if (q == 1)
                                a1[rp][tp] = vusmmlaq_s32(a1[rp][tp], wp[rp][half], xz[half]);
                            else if (q == 2)
                                a2[rp][tp] = vusmmlaq_s32(a2[rp][tp], wp[rp][half], xz[half]);
                            else
                                a03[rp][tp] = vusmmlaq_s32(a03[rp][tp], wp[rp][half], xz[half]);
                        }
                }
            }
        }
    }
    /* lane 2i + j of block [rp][tp] is row 2rp + i, token 2tp + j; every lane
     * of a1 (a2) is a multiple of 4 (16) */
    for (int rp = 0; rp < 2; rp++)
        for (int tp = 0; tp < np; tp++) {
            int32_t v[4];
            vst1q_s32(v, vaddq_s32(a03[rp][tp], vaddq_s32(vshrq_n_s32(a1[rp][tp], 2), vshrq_n_s32(a2[rp][tp], 4))));
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    out[2 * tp + j][2 * rp + i] = v[2 * i + j];
        }
}

void bn_tgemm_i8mm(BN_TGEMM_ARGS)
{
    /* block scales: the dotprod level's kernel (one token at a time) */
    if (w->block_scales) {
        bn_a64_tgemm_blocks(w, tile0, tile1, x, n_tok, y, y_stride, accumulate, bn_a64_chunk_dot_sdot);
        return;
    }
    const size_t tile_bytes = (size_t)w->n_chunks * BN_A64_CHUNK_STRIDE;
    for (int64_t t = tile0; t < tile1; t++) {
        const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
        const int rows = bn_tp_tile_rows(w, t);
        int i = 0;
        while (i < n_tok) {
            int32_t dot[4][4];
            int n;
            if (n_tok - i >= 4) {
                tile_mm(tile, w->n_chunks, x->q + (size_t)i * x->stride, x->stride, 2, dot);
                n = 4;
            } else if (n_tok - i >= 2) {
                tile_mm(tile, w->n_chunks, x->q + (size_t)i * x->stride, x->stride, 1, dot);
                n = 2;
            } else {
                bn_a64_tile_dot_sdot(tile, w->n_chunks, x->q + (size_t)i * x->stride, dot[0]);
                n = 1;
            }
            for (int j = 0; j < n; j++) {
                float *yi = y + (size_t)(i + j) * y_stride + t * BN_TP_ROWS;
                for (int r = 0; r < rows; r++)
                    bn_a64_store(yi + r, dot[j][r], w, t * BN_TP_ROWS + r, x, i + j, accumulate);
            }
            i += n;
        }
    }
}
