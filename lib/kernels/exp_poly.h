/* exp(x) for x <= 0 as the attention kernels' softmax evaluates it, several
 * scores at a time (lib/arch/x86_64/attention_x86.h, arm64/attention_neon.c):
 * x = n ln2 + r with ln2 in two parts (Cody-Waite, |r| <= ln2 / 2), e^r by
 * its Taylor polynomial of degree 6 (truncation below 1.2e-7 relative),
 * times 2^n built in the exponent bits: within a few ulp of expf. Below
 * BN_EXP_MIN (2^-126, where 2^n would leave the normal range) the result is
 * 0: such a softmax weight is under 1e-38 of the largest, 1. One set of
 * constants, so that every level computes the same approximation. */
#ifndef BN_KERNELS_EXP_POLY_H
#define BN_KERNELS_EXP_POLY_H

#define BN_EXP_MIN (-87.3f)
#define BN_EXP_LOG2E 1.44269504f
#define BN_EXP_LN2_HI 0.693359375f
#define BN_EXP_LN2_LO (-2.12194440e-4f)
/* e^r = 1 + r (1 + r (1/2 + r (1/6 + r (1/24 + r (1/120 + r / 720))))) */
#define BN_EXP_P6 (1.0f / 720.0f)
#define BN_EXP_P5 (1.0f / 120.0f)
#define BN_EXP_P4 (1.0f / 24.0f)
#define BN_EXP_P3 (1.0f / 6.0f)
#define BN_EXP_P2 0.5f
#define BN_EXP_P1 1.0f
#define BN_EXP_P0 1.0f

#endif
