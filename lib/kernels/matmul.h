/*
 * Float-weight matrix products (F32, F16, BF16, Q8_0 rows against float
 * activations) in scalar C: the path for float linear weights that have no
 * kernel-table entry, and the dot products that serve as oracles. Ternary
 * weights never come here: they are packed at load and go through the
 * kernel table (kernels.h); the file-layout ternary dots below are the
 * format oracles of the tests.
 */
#ifndef BN_KERNELS_MATMUL_H
#define BN_KERNELS_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* For float weights, rows r in [r0, r1) and tokens t in [0, n_tok), x row t
 * at x + t * x_stride:
 * y[t * y_stride + r] = (accumulate ? y[...] : 0) + out_scale * (W[r] . x[t]). */
void bn_matmul_float(const bn_tensor *w, const float *x, size_t x_stride, int n_tok, float *y,
                     size_t y_stride, int64_t r0, int64_t r1, int accumulate);

/* Dot products of one weight row, scalar reference (kernels_ref.c). Ternary
 * ones return the integer sum; TQ formats fold in their block scales. */
int32_t bn_dot_i2s_ref(const uint8_t *codes, uint64_t first, const int8_t *x, int64_t k);
float bn_dot_tq2_0_ref(const void *row, const int8_t *x, int64_t k);
float bn_dot_tq1_0_ref(const void *row, const int8_t *x, int64_t k);
float bn_dot_f32_ref(const float *w, const float *x, int64_t k);
float bn_dot_f16_ref(const uint16_t *w, const float *x, int64_t k);
float bn_dot_bf16_ref(const uint16_t *w, const float *x, int64_t k);
float bn_dot_q8_0_ref(const void *row, const float *x, int64_t k);
/* Q4_0 rows against x rounded to int8 per block (q4_ref.c, bn_q4_x_block). */
float bn_dot_q4_0_ref(const void *row, const float *x, int64_t k);

#endif
