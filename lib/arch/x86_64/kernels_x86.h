/* Entry points of the x86-64 kernel objects, each built with its own flags. */
#ifndef BN_ARCH_X86_KERNELS_H
#define BN_ARCH_X86_KERNELS_H

#include "kernels/kernels.h"

/* Before a loop over registers (an array of vectors indexed by constants):
 * unrolled completely at any optimisation level, or the array lives in
 * memory (GCC unrolls such loops by itself only at -O3). */
#define BN_UNROLL _Pragma("GCC unroll 16")

void bn_tgemm_avx2(BN_TGEMM_ARGS);
/* the part of bn_tgemm_avx2 for tensors with block scales */
void bn_tgemm_blocks_avx2(BN_TGEMM_ARGS);
float bn_quant_avx2(BN_QUANT_ARGS);
void bn_f16gemm_avx2(BN_F16GEMM_ARGS);
void bn_attn_avx2(BN_ATTN_ARGS);
void bn_q8gemm_avx2(BN_Q8GEMM_ARGS);
void bn_q4gemm_avx2(BN_Q4GEMM_ARGS);
void bn_q8_from_f16_avx2(BN_Q8FROMF16_ARGS);

void bn_tgemm_avx512(BN_TGEMM_ARGS);
void bn_tgemm_blocks_avx512(BN_TGEMM_ARGS);
float bn_quant_avx512(BN_QUANT_ARGS);
void bn_f16gemm_avx512(BN_F16GEMM_ARGS);
void bn_attn_avx512(BN_ATTN_ARGS);
void bn_q8gemm_avx512(BN_Q8GEMM_ARGS);
void bn_q4gemm_avx512(BN_Q4GEMM_ARGS);

/* AMX: the prompt GEMM (decode goes to bn_tgemm_avx512). */
void bn_tgemm_amx(BN_TGEMM_ARGS);
size_t bn_tgemm_work_amx(int64_t kp);
/* Asks the OS for the AMX tile state for this process (Linux: arch_prctl);
 * 1 when granted. */
int bn_x86_amx_enable(void);

#endif
