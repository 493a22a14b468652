/*
 * The kernel table: one function pointer per hot operation, filled at model
 * load with the scalar reference first, then upgraded rung by rung to what
 * the CPU supports (lib/arch/<arch>/). Every variant of an entry computes
 * exactly the same integers; float entries may differ in rounding only where
 * doc/numerics.md says.
 */
#ifndef BN_KERNELS_KERNELS_H
#define BN_KERNELS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/tpack.h"

/* Quantised activations of n_tok tokens, rows of bn_tp_k_padded(k) bytes
 * (zero past k) at q + t * stride. */
typedef struct bn_qx {
    const int8_t *q;
    size_t stride;
    const float *scale;     /* per token: 1/gamma */
    const int32_t *sum;     /* per token: sum of q */
    uint8_t *work;          /* scratch of this call (this thread's), 64-byte aligned, */
    size_t work_bytes;      /* bn_kernels.tgemm_work(kp) bytes; NULL/0 = none */
    uint64_t stamp;         /* nonzero: names these activations' contents; calls with
                               the same stamp and work may reuse what the kernel
                               derived from them in work. 0: always recompute */
} bn_qx;

/* y[t * y_stride + r] (+)= packed W[r] . x[t] for the rows of tiles
 * [tile0, tile1) (rows past w->rows are not written), all n_tok tokens, with
 * the tensor's, the row's or the blocks' scales (tpack.h) as bn_tgemm_ref
 * applies them. */
#define BN_TGEMM_ARGS const bn_tpack *w, int64_t tile0, int64_t tile1, const bn_qx *x, int n_tok, \
                      float *y, size_t y_stride, int accumulate
typedef void (*bn_tgemm_fn)(BN_TGEMM_ARGS);

/* Per-token absmax int8 quantisation of n floats (FORMATS.md), writing
 * n_padded bytes (zeros past n); returns 1/gamma, *sum = sum of q. */
#define BN_QUANT_ARGS const float *x, int64_t n, int64_t n_padded, int8_t *q, int32_t *sum
typedef float (*bn_quant_fn)(BN_QUANT_ARGS);

/* y[t * y_stride + r] = F16 row r . x[t] for rows [r0, r1), x rows of k floats. */
#define BN_F16GEMM_ARGS const uint16_t *w, int64_t k, int64_t r0, int64_t r1, const float *x, \
                        size_t x_stride, int n_tok, float *y, size_t y_stride
typedef void (*bn_f16gemm_fn)(BN_F16GEMM_ARGS);

/* The same for Q8_0 rows (blocks of 32: f16 scale + 32 int8). */
#define BN_Q8GEMM_ARGS const void *w, int64_t k, int64_t r0, int64_t r1, const float *x, \
                       size_t x_stride, int n_tok, float *y, size_t y_stride
typedef void (*bn_q8gemm_fn)(BN_Q8GEMM_ARGS);

/* The same for Q4_0 rows (blocks of 32: f16 scale + 16 bytes of nibbles).
 * x is first rounded to int8 per block of 32 with the block's own scale
 * (bn_q4_x_block), the products are exact integers per block, and each
 * block's sum is scaled by d_weight * d_x in float (doc/numerics.md). */
#define BN_Q4GEMM_ARGS const void *w, int64_t k, int64_t r0, int64_t r1, const float *x, \
                       size_t x_stride, int n_tok, float *y, size_t y_stride
typedef void (*bn_q4gemm_fn)(BN_Q4GEMM_ARGS);

/* One row of k F16 weights (k a multiple of 32) as k/32 Q8_0 blocks,
 * rounded as llama.cpp quantises (d = max|w| / 127 as F16, q = w / d rounded
 * half away from zero; NaN gives 0): the output_q8 conversion at load. */
#define BN_Q8FROMF16_ARGS const uint16_t *w, int64_t k, void *out
typedef void (*bn_q8_from_f16_fn)(BN_Q8FROMF16_ARGS);

/* Causal attention of one query head over n_pos cached positions: K and V
 * rows of that head start at k / v and are kv_stride bytes apart, F16 when
 * kv_f16 else F32. scores has room for n_pos floats. out = softmax(q.K *
 * scale) . V, hd floats. */
#define BN_ATTN_ARGS const float *q, const void *k, const void *v, size_t kv_stride, int n_pos, \
                     int hd, float scale, int kv_f16, float *scores, float *out
typedef void (*bn_attn_fn)(BN_ATTN_ARGS);

/* CPU levels, in increasing order within an architecture. */
typedef enum bn_cpu_level {
    BN_LEVEL_SCALAR = 0,
    BN_LEVEL_X86_AVX2 = 1,      /* AVX2 + FMA + F16C */
    BN_LEVEL_X86_AVX512 = 2,    /* AVX-512 F/BW/VL + VNNI, OS saves ZMM state */
    BN_LEVEL_X86_AMX = 3,       /* + AMX-TILE/INT8, tile state granted to the process */
    BN_LEVEL_ARM_NEON = 1,
    BN_LEVEL_ARM_DOTPROD = 2,
    BN_LEVEL_ARM_I8MM = 3,
} bn_cpu_level;

typedef struct bn_kernels {
    const char *name;           /* level of the ternary kernel, e.g. "avx512vnni" */
    const char *float_name;     /* level of the other entries (quantiser, float products) */
    int level;
    bn_tgemm_fn tgemm;
    bn_quant_fn quant;
    bn_f16gemm_fn f16gemm;
    bn_q8gemm_fn q8gemm;
    bn_q4gemm_fn q4gemm;
    bn_attn_fn attn;
    bn_q8_from_f16_fn q8_from_f16;
    /* 0 when q8gemm multiplies by x as floats, 16 when it first rounds x to
     * int16 per block of 32 with the block's own scale (doc/numerics.md) */
    int q8_x_bits;
    /* Scratch tgemm wants per thread for activations of kp bytes (bn_qx.work),
     * NULL when it needs none. With less it is still exact, only slower. */
    size_t (*tgemm_work)(int64_t kp);
    /* Kernels of a lower level that give the same bits as the ones above
     * (checkasm checks it), NULL where there is none. A decode may use
     * them instead where they run faster on this machine: a context times
     * both on its first single-token passes (graph/kernel_pick.h). The
     * alternative ternary kernel needs no scratch. */
    bn_tgemm_fn tgemm_alt;
    bn_f16gemm_fn f16gemm_alt;
    bn_q8gemm_fn q8gemm_alt;
    bn_q4gemm_fn q4gemm_alt;
    const char *tgemm_alt_name, *float_alt_name;    /* their levels */
} bn_kernels;

/* The highest level this CPU and OS support (lib/arch/<arch>/cpu_*.c). */
int bn_cpu_detect_level(void);
const char *bn_cpu_level_name(int level);

/* Fills k for the given level (capped at what the CPU supports). */
void bn_kernels_init(bn_kernels *k, int max_level);

/* Scalar reference entries (kernels_ref.c), also the checkasm oracle. */
void bn_tgemm_ref(BN_TGEMM_ARGS);
float bn_quant_ref(BN_QUANT_ARGS);
void bn_f16gemm_ref(BN_F16GEMM_ARGS);
void bn_attn_ref(BN_ATTN_ARGS);
void bn_q8gemm_ref(BN_Q8GEMM_ARGS);
void bn_q8_from_f16_ref(BN_Q8FROMF16_ARGS);
/* The same rounding from floats (output projections stored as F32/BF16). */
void bn_q8_from_f32_ref(const float *x, int64_t k, void *out);
void bn_q4gemm_ref(BN_Q4GEMM_ARGS);
/* Rows of floats to Q4_0 as llama.cpp quantises them (d = -max / 8 with max
 * the value of largest magnitude, q = min(15, trunc(w / d + 8.5))): the
 * output_q4 conversion at load. NaN gives nibble 8 (zero). */
void bn_q4_from_f32_ref(const float *x, int64_t k, void *out);
/* One block of 32 activations as the Q4_0 products round them: d = max|x| /
 * 127, q = x * (1 / d) rounded to nearest even (NaN: 0); returns d, *sum =
 * sum of q. Every level rounds x the same way. */
float bn_q4_x_block(const float *x, int8_t *q, int32_t *sum);

#endif
