/* Entry points of the x86-64 kernel objects, each built with its own flags. */
#ifndef BN_ARCH_X86_KERNELS_H
#define BN_ARCH_X86_KERNELS_H

#include "kernels/kernels.h"

void bn_tgemm_avx2(BN_TGEMM_ARGS);
float bn_quant_avx2(BN_QUANT_ARGS);
void bn_f16gemm_avx2(BN_F16GEMM_ARGS);
void bn_attn_avx2(BN_ATTN_ARGS);
void bn_q8gemm_avx2(BN_Q8GEMM_ARGS);

void bn_tgemm_avx512(BN_TGEMM_ARGS);
float bn_quant_avx512(BN_QUANT_ARGS);
void bn_f16gemm_avx512(BN_F16GEMM_ARGS);
void bn_attn_avx512(BN_ATTN_ARGS);
void bn_q8gemm_avx512(BN_Q8GEMM_ARGS);

#endif
