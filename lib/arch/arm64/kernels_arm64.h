/* Entry points of the arm64 kernel objects, each built with its own flags
 * (meson.build): NEON (armv8-a), dotprod (armv8.2-a+dotprod) and i8mm
 * (armv8.2-a+dotprod+i8mm). The float entries and the quantiser gain nothing
 * from the later extensions: the table keeps the NEON ones at every level. */
#ifndef BN_ARCH_ARM64_KERNELS_H
#define BN_ARCH_ARM64_KERNELS_H

#include "kernels/kernels.h"

void bn_tgemm_neon(BN_TGEMM_ARGS);
float bn_quant_neon(BN_QUANT_ARGS);
void bn_f16gemm_neon(BN_F16GEMM_ARGS);
void bn_q8gemm_neon(BN_Q8GEMM_ARGS);
void bn_q4gemm_neon(BN_Q4GEMM_ARGS);
void bn_attn_neon(BN_ATTN_ARGS);

void bn_tgemm_dotprod(BN_TGEMM_ARGS);

void bn_tgemm_i8mm(BN_TGEMM_ARGS);

#endif
