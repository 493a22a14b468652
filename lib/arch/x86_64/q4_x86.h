/* What the x86-64 Q4_0 kernels share. A row is taken in groups of sixteen
 * blocks (a last, shorter group is copied and padded with zero blocks) and
 * each group in four quads of blocks. A block's sixteen bytes of nibbles
 * hold its weights 0-15 in the low nibbles and 16-31 in the high ones, so a
 * quad's four loads, masked, give
 *     low:  block 4i 0-15, 4i+1 0-15, 4i+2 0-15, 4i+3 0-15
 *     high: block 4i 16-31, ... 4i+3 16-31
 * with no shuffle (AVX-512: one vector each; AVX2: two, a pair of blocks
 * each), and x is rounded once per token straight into that order. The low
 * and the high products of a block go to the same int32 lanes (AVX-512: two
 * vpdpbusd into one sum; AVX2: two vpmaddubsw added before one vpmaddwd), so
 * each lane sums eight products of one block, and its scale comes from the
 * group's sixteen d_weight * d_x by one permute: per quad one int32 to float
 * conversion and FMA at AVX-512, two at AVX2. The quads of a group take
 * turns between two FMA chains per lane (one chain would bound the loop by
 * the FMA latency). The "- 8" of the nibbles is one vector FMA per group (8 *
 * sum(x) by the scales). Lanes, chains and the final reduction are the same
 * at both levels (reduce_x86.h): the same bits. */
#ifndef BN_ARCH_X86_64_Q4_X86_H
#define BN_ARCH_X86_64_Q4_X86_H

#include <stdint.h>
#include <string.h>

#include "gguf/gguf_types.h"
#include "kernels/q4_drive.h"

/* blocks per group: one vector of sixteen scales */
#define BN_Q4_X86_GROUP 16

/* x rounded as bn_q4_x_block (AVX2 code, which the AVX-512 level uses too),
 * in the quad order above, padded with zero blocks to whole groups: q, dx
 * and c8 (8 * the block's sum). */
void bn_q4_x_round_avx2(const float *x, int64_t k, bn_q4_xq *xq);

/* where block b's values 0-15 go in the rounded x (64 bytes further:
 * values 16-31): its quad's 128 bytes, its place among the quad's four */
static inline int64_t bn_q4_x86_x_offset(int64_t b)
{
    return 128 * (b / 4) + 16 * (b % 4);
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
