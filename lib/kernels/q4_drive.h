/* The loop every Q4_0 product shares (lib/arch/<arch>/q4_*.c): passes of
 * rows, each token's activations rounded to int8 blocks once per pass, then
 * one row at a time. Each ISA file gives its rounding and row functions;
 * being static inline with constant function arguments, the loop compiles
 * into each file with its own flags and calls them directly. */
#ifndef BN_KERNELS_Q4_DRIVE_H
#define BN_KERNELS_Q4_DRIVE_H

#include <stdint.h>

#include "gguf/gguf_types.h"
#include "kernels/kernels.h"

/* Rows of up to this many weights are rounded on the stack (13 KB); longer
 * ones take the reference. Rows per pass: each token's x is rounded once per
 * pass, while the pass's rows stay in cache for every token. */
#define BN_Q4_K_MAX 8192
#define BN_Q4_ROWS_PER_PASS 32
/* room for a kernel that pads x to whole groups of this many blocks */
#define BN_Q4_PAD_BLOCKS 16

/* One token's x rounded as bn_q4_x_block does, k/32 blocks: int8 values,
 * each block's scale dx and the sum of its values (as an integer, and as
 * 8 * sum in float: the "- 8" of the nibbles). Each kernel fills what its
 * rows read, in the order they read it (x86-64 interleaves pairs of blocks,
 * q4_x86.h), and may pad with zero blocks up to BN_Q4_PAD_BLOCKS more. */
typedef struct {
    int8_t q[BN_Q4_K_MAX + 32 * BN_Q4_PAD_BLOCKS];
    float dx[BN_Q4_K_MAX / 32 + BN_Q4_PAD_BLOCKS];
    int32_t sum[BN_Q4_K_MAX / 32 + BN_Q4_PAD_BLOCKS];
    float c8[BN_Q4_K_MAX / 32 + BN_Q4_PAD_BLOCKS];
} bn_q4_xq;

typedef void (*bn_q4_round_fn)(const float *x, int64_t k, bn_q4_xq *xq);
/* One row of nb blocks against rounded activations. */
typedef float (*bn_q4_row_fn)(const bn_block_q4_0 *b, int64_t nb, const bn_q4_xq *xq);

static inline void bn_q4gemm_drive(BN_Q4GEMM_ARGS, bn_q4_round_fn round_x, bn_q4_row_fn row_dot)
{
    if (k > BN_Q4_K_MAX) {
        bn_q4gemm_ref(w, k, r0, r1, x, x_stride, n_tok, y, y_stride);
        return;
    }
    const int64_t nb = k / 32;
    const bn_block_q4_0 *base = w;
    bn_q4_xq xq;
    if (n_tok == 1) {
        /* decode: x rounded once, not once per pass (a sixth of the work
         * per pass of 32 rows of 2560) */
        round_x(x, k, &xq);
        for (int64_t r = r0; r < r1; r++)
            y[r] = row_dot(base + r * nb, nb, &xq);
        return;
    }
    for (int64_t p0 = r0; p0 < r1; p0 += BN_Q4_ROWS_PER_PASS) {
        const int64_t p1 = r1 - p0 < BN_Q4_ROWS_PER_PASS ? r1 : p0 + BN_Q4_ROWS_PER_PASS;
        for (int t = 0; t < n_tok; t++) {
            round_x(x + (size_t)t * x_stride, k, &xq);
            for (int64_t r = p0; r < p1; r++)
                y[(size_t)t * y_stride + r] = row_dot(base + r * nb, nb, &xq);
        }
    }
}

#endif
