/*
 * The ternary weight layout every kernel reads ("packed"), made at load from
 * I2_S, TQ2_0 or TQ1_0: the same codes and scales, rearranged so that a
 * kernel streams one tile of rows front to back.
 *
 *   - codes c = w + 1 in {0, 1, 2}, 2 bits each, 4 per byte;
 *   - rows are padded to whole chunks of 256 weights (64 bytes); row r, chunk
 *     c, byte j holds weight 256c + j in bits 1:0, 256c + 64 + j in bits 3:2,
 *     256c + 128 + j in bits 5:4 and 256c + 192 + j in bits 7:6, so that each
 *     bit plane lines up with 64 consecutive activations;
 *   - BN_TP_ROWS rows form a tile, stored chunk by chunk:
 *     [tile][chunk][row in tile][64 bytes]; padding rows and weights are
 *     code 1 (zero).
 *
 * Scales (the output scale folded into each), in one of three forms:
 *   - one per tensor (`scale`): I2_S, and TQ files whose block scales are
 *     all equal; y[r] = (float)(sum_k c_rk x_k - sum_k x_k) * scale * x_scale;
 *   - one per row (`row_scales`): TQ files whose rows each have one block
 *     scale (per-channel scales); the same expression with the row's scale;
 *   - one per row and chunk (`block_scales`): any other TQ file. Each chunk's
 *     exact integer sum S_c = sum (c - 1) x over its 256 weights is folded
 *     into a float in chunk order, acc = fmaf((float)S_c, d_c, acc) from
 *     acc = 0, then y[r] = acc * x_scale.
 * A TQ block whose scale is 0 contributes nothing whatever its codes say, so
 * its codes are packed as zeros and its scale is left out of the choice: a
 * row of equal scales and a few zero-scale blocks is still per-row.
 * Every kernel level computes these expressions in this order: results are
 * bit-identical across levels (kernels_ref.c is the definition).
 */
#ifndef BN_KERNELS_TPACK_H
#define BN_KERNELS_TPACK_H

#include <stddef.h>
#include <stdint.h>

#define BN_TP_CHUNK 256
#define BN_TP_CHUNK_BYTES 64
#define BN_TP_ROWS 4

typedef struct bn_tpack {
    int64_t rows, k;            /* logical shape */
    int64_t n_chunks;           /* per row: ceil(k / 256) */
    int64_t n_tiles;            /* ceil(rows / BN_TP_ROWS) */
    const uint8_t *codes;       /* n_tiles * n_chunks * BN_TP_ROWS * 64 bytes */
    float scale;                /* with the output scale folded in; 0 with row or
                                   block scales */
    const float *row_scales;    /* NULL, or n_tiles * BN_TP_ROWS (padding rows 0) */
    const float *block_scales;  /* NULL, or [tile][chunk][row in tile] (padding 0);
                                   never both */
    void *mem;                  /* what to free (codes and scales, or only the
                                   scales when the codes are the caller's) */
    size_t bytes;               /* of codes (+ row or block scales) */
} bn_tpack;

/* Padded length of an activation row for k weights. */
static inline int64_t bn_tp_k_padded(int64_t k)
{
    return (k + BN_TP_CHUNK - 1) / BN_TP_CHUNK * BN_TP_CHUNK;
}

/* Row stride of a batch's quantised activations when the widest product
 * reads k of them: whole chunks, and a gap of 512 bytes so that rows are
 * never back to back. Measured on AMD Zen 5 (AVX-512, one thread, weights
 * from memory): a 4-token pass over K = 6912 rows ran at 260 GMAC/s
 * with rows back to back or 256 bytes apart and at 450-470 with 512 or
 * more; the 8-token pass of a 2B4T model lost a third of its down
 * projection's speed to it. */
static inline int64_t bn_tp_x_stride(int64_t k)
{
    return bn_tp_k_padded(k) + 512;
}

/* The rows of tile t that exist (the last tile may be partial). */
static inline int bn_tp_tile_rows(const bn_tpack *p, int64_t t)
{
    const int64_t left = p->rows - t * BN_TP_ROWS;
    return left < BN_TP_ROWS ? (int)left : BN_TP_ROWS;
}

/* Bytes of tile t, chunk c, row r (within the tile). */
static inline const uint8_t *bn_tp_row_chunk(const bn_tpack *p, int64_t t, int64_t c, int r)
{
    return p->codes + ((size_t)(t * p->n_chunks + c) * BN_TP_ROWS + (size_t)r) * BN_TP_CHUNK_BYTES;
}

/* The scale of row `row` when the tensor has no block scales. */
static inline float bn_tp_row_scale(const bn_tpack *p, int64_t row)
{
    return p->row_scales ? p->row_scales[row] : p->scale;
}

/* The BN_TP_ROWS block scales of tile t, chunk c (block_scales set). */
static inline const float *bn_tp_block_scales(const bn_tpack *p, int64_t t, int64_t c)
{
    return p->block_scales + (size_t)(t * p->n_chunks + c) * BN_TP_ROWS;
}

/* Bytes of packed codes for `rows` rows of k weights (a multiple of 256). */
static inline size_t bn_tpack_code_bytes(int64_t rows, int64_t k)
{
    return (size_t)((rows + BN_TP_ROWS - 1) / BN_TP_ROWS) * (size_t)(bn_tp_k_padded(k) / BN_TP_CHUNK) * BN_TP_ROWS *
           BN_TP_CHUNK_BYTES;
}

/* Packs a ternary tensor (type I2_S, TQ2_0 or TQ1_0; data as in the file) of
 * `rows` rows of k weights. out_scale multiplies the result (the optional
 * `.scale` tensor). Returns BN_OK or BN_E_NOMEM. */
int bn_tpack_make(bn_tpack *p, uint32_t type, const void *data, int64_t rows, int64_t k,
                  float tensor_scale, float out_scale);
/* The same, writing the codes to `codes` (64-byte aligned,
 * bn_tpack_code_bytes(rows, k) bytes, owned by the caller and outliving p),
 * so that a model's packs can share one huge-page backed block; only row or
 * block scales, if the tensor has them, are allocated. */
int bn_tpack_make_in(bn_tpack *p, uint8_t *codes, uint32_t type, const void *data, int64_t rows, int64_t k,
                     float tensor_scale, float out_scale);
void bn_tpack_free(bn_tpack *p);

/* Code (0, 1, 2) of weight (row, k) in a file layout: the format oracle. */
int bn_ternary_code_at(uint32_t type, const void *data, int64_t row, int64_t k_len, int64_t k);

/* The scale a file layout applies to weight (row, k) (I2_S: the tensor's). */
float bn_ternary_scale_at(uint32_t type, const void *data, int64_t row, int64_t k_len, int64_t k,
                          float tensor_scale);

#endif
