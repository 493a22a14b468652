/* Dot-product (armv8.2-a+dotprod: sdot) ternary GEMV/GEMM over the packed
 * layout: Cortex-A55/A76 (Raspberry Pi 5), Neoverse N1, Apple M1. The tile
 * kernel is in ternary_arm64.h, shared with the i8mm object's decode path.
 * sdot adds four int8 products into each int32 lane: no int16 stage. */
#include "arch/arm64/kernels_arm64.h"
#include "arch/arm64/ternary_arm64.h"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "ternary_dotprod.c needs -march=armv8.2-a+dotprod"
#endif

void bn_tgemm_dotprod(BN_TGEMM_ARGS)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_A64_CHUNK_STRIDE;
    for (int64_t t = tile0; t < tile1; t++) {
        const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
        const int rows = bn_a64_tile_rows(w, t);
        for (int i = 0; i < n_tok; i++) {
            int32_t dot[4];
            bn_a64_tile_dot_sdot(tile, w->n_chunks, x->q + (size_t)i * x->stride, dot);
            float *yi = y + (size_t)i * y_stride + t * BN_TP_ROWS;
            for (int r = 0; r < rows; r++)
                bn_a64_store(yi + r, dot[r], w, x, i, accumulate);
        }
    }
}
