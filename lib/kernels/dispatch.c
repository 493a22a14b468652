/* Fills the kernel table: the scalar reference first, then each level the
 * CPU supports up to the cap. Built with baseline flags: nothing here may
 * execute an instruction the CPU lacks. */
#include <string.h>

#include "kernels/kernels.h"

#if defined(__x86_64__)
#include "arch/x86_64/kernels_x86.h"
#elif defined(__aarch64__)
#include "arch/arm64/kernels_arm64.h"
#endif

void bn_kernels_init(bn_kernels *k, int max_level)
{
    memset(k, 0, sizeof *k);
    k->name = "scalar";
    k->level = BN_LEVEL_SCALAR;
    k->tgemm = bn_tgemm_ref;
    k->quant = bn_quant_ref;
    k->f16gemm = bn_f16gemm_ref;
    k->attn = bn_attn_ref;
    k->q8gemm = bn_q8gemm_ref;
    k->q4gemm = bn_q4gemm_ref;
    k->q8_from_f16 = bn_q8_from_f16_ref;
    int level = bn_cpu_detect_level();
    if (max_level >= 0 && max_level < level)
        level = max_level;
#if defined(__x86_64__)
    if (level >= BN_LEVEL_X86_AVX2) {
        k->tgemm = bn_tgemm_avx2;
        k->quant = bn_quant_avx2;
        k->f16gemm = bn_f16gemm_avx2;
        k->attn = bn_attn_avx2;
        k->q8gemm = bn_q8gemm_avx2;
        k->q4gemm = bn_q4gemm_avx2;
        k->q8_from_f16 = bn_q8_from_f16_avx2;
        k->q8_x_bits = 16;
        k->level = BN_LEVEL_X86_AVX2;
    }
    if (level >= BN_LEVEL_X86_AVX512) {
        k->tgemm = bn_tgemm_avx512;
        k->quant = bn_quant_avx512;
        k->f16gemm = bn_f16gemm_avx512;
        k->attn = bn_attn_avx512;
        k->q8gemm = bn_q8gemm_avx512;
        k->q4gemm = bn_q4gemm_avx512;
        k->level = BN_LEVEL_X86_AVX512;
        /* the same bits: reduce_x86.h */
        k->tgemm_alt = bn_tgemm_avx2;
        k->f16gemm_alt = bn_f16gemm_avx2;
        k->q8gemm_alt = bn_q8gemm_avx2;
        k->q4gemm_alt = bn_q4gemm_avx2;
        k->tgemm_alt_name = k->float_alt_name = bn_cpu_level_name(BN_LEVEL_X86_AVX2);
    }
#if defined(BN_HAVE_AMX)
    /* the tile state is requested only when AMX is going to be used */
    if (level >= BN_LEVEL_X86_AMX && bn_x86_amx_enable()) {
        k->tgemm = bn_tgemm_amx;
        k->tgemm_work = bn_tgemm_work_amx;     /* one token: the AVX-512 kernel; the alternative stays AVX2 */
        k->level = BN_LEVEL_X86_AMX;
    }
#endif
#elif defined(__aarch64__)
    /* the float entries and the quantiser stay NEON at every level */
    if (level >= BN_LEVEL_ARM_NEON) {
        k->tgemm = bn_tgemm_neon;
        k->quant = bn_quant_neon;
        k->f16gemm = bn_f16gemm_neon;
        k->attn = bn_attn_neon;
        k->q8gemm = bn_q8gemm_neon;
        k->q4gemm = bn_q4gemm_neon;
        k->level = BN_LEVEL_ARM_NEON;
    }
    /* every ternary kernel gives the reference's bits: the level below is
     * the alternative */
    if (level >= BN_LEVEL_ARM_DOTPROD) {
        k->tgemm = bn_tgemm_dotprod;
        k->tgemm_alt = bn_tgemm_neon;
        k->tgemm_alt_name = bn_cpu_level_name(BN_LEVEL_ARM_NEON);
        k->level = BN_LEVEL_ARM_DOTPROD;
    }
    if (level >= BN_LEVEL_ARM_I8MM) {
        k->tgemm = bn_tgemm_i8mm;
        k->tgemm_alt = bn_tgemm_dotprod;
        k->tgemm_alt_name = bn_cpu_level_name(BN_LEVEL_ARM_DOTPROD);
        k->level = BN_LEVEL_ARM_I8MM;
    }
#endif
    k->name = bn_cpu_level_name(k->level);
    k->float_name = k->name;
#if defined(__x86_64__)
    if (k->level == BN_LEVEL_X86_AMX)
        k->float_name = bn_cpu_level_name(BN_LEVEL_X86_AVX512);
#endif
#if defined(__aarch64__)
    if (k->level >= BN_LEVEL_ARM_NEON)
        k->float_name = bn_cpu_level_name(BN_LEVEL_ARM_NEON);
#endif
}
