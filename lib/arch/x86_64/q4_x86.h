/* What the x86-64 Q4_0 kernels share. A row is taken in groups of sixteen
 * blocks (a last, shorter group is copied and padded with zero blocks) and
 * each group in eight pairs of blocks. A pair's 32 bytes of nibbles, low
 * nibbles first, give 64 weights in the order
 *     block 2i 0-15, block 2i+1 0-15, block 2i 16-31, block 2i+1 16-31
 * with no shuffle (AVX-512: one masked shift of the upper copy; AVX2: one
 * shift), and x is rounded once per token straight into that order. Each
 * int32 lane then sums four products of one block, and its scale comes from
 * the group's sixteen d_weight * d_x by one permute: per pair two int32 to
 * float conversions and FMAs at AVX2, one at AVX-512, in place of a scalar
 * scale and correction per block. The "- 8" of the nibbles is one vector
 * FMA per group (8 * sum(x) by the scales). Lanes, chains and the final
 * reduction are the same at both levels (reduce_x86.h): the same bits. */
#ifndef BN_ARCH_X86_64_Q4_X86_H
#define BN_ARCH_X86_64_Q4_X86_H

#include <stdint.h>
#include <string.h>

#include "gguf/gguf_types.h"
#include "kernels/q4_drive.h"

/* blocks per group: one vector of sixteen scales */
#define BN_Q4_X86_GROUP 16

/* x rounded as bn_q4_x_block (AVX2 code, which the AVX-512 level uses too),
 * in the pair order above, padded with zero blocks to whole groups: q, dx
 * and c8 (8 * the block's sum). */
void bn_q4_x_round_avx2(const float *x, int64_t k, bn_q4_xq *xq);

/* A group's sixteen d_weight (f16 bits), read one by one: on Zen 5 a
 * 16-lane gather of them took most of the row's time (in cache, one core
 * read 22 GB/s of weights with it and 33 without, doc/design.md) */
static inline void bn_q4_x86_group_d(const bn_block_q4_0 *g, uint16_t d[BN_Q4_X86_GROUP])
{
    for (int i = 0; i < BN_Q4_X86_GROUP; i++)
        d[i] = g[i].d;
}

/* The blocks of a last group of n < 16, copied into pad and followed by
 * zero blocks, which add nothing. */
static inline const bn_block_q4_0 *bn_q4_x86_pad_group(const bn_block_q4_0 *b, int64_t n,
                                                       bn_block_q4_0 pad[BN_Q4_X86_GROUP])
{
    memset(pad, 0, sizeof(bn_block_q4_0) * BN_Q4_X86_GROUP);
    memcpy(pad, b, sizeof(bn_block_q4_0) * (size_t)n);
    return pad;
}

#endif
