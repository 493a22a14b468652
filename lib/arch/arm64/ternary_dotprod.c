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
    if (w->block_scales)
        bn_a64_tgemm_blocks(w, tile0, tile1, x, n_tok, y, y_stride, accumulate, bn_a64_chunk_dot_sdot);
    else
        bn_a64_tgemm_tiles(w, tile0, tile1, x, n_tok, y, y_stride, accumulate, bn_a64_tile_dot_sdot);
}
