/* What the x86-64 Q4_0 kernels share: the activations rounded to int8 per
 * block of 32 (as bn_q4_x_block), in AVX2, which the AVX-512 level uses too. */
#ifndef BN_ARCH_X86_64_Q4_X86_H
#define BN_ARCH_X86_64_Q4_X86_H

#include <stdint.h>

/* k/32 blocks of x: int8 q[k], scales dx[k/32], sums of q sum[k/32]. */
void bn_q4_x_round_avx2(const float *x, int64_t k, int8_t *q, float *dx, int32_t *sum);

#endif
