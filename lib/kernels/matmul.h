/*
 * Matrix products of the forward pass: y = W x for a batch of tokens.
 * Ternary weights take the int8-quantised activations (integer dot products,
 * scales applied afterwards as the models were trained); float weights take
 * the float activations.
 */
#ifndef BN_KERNELS_MATMUL_H
#define BN_KERNELS_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* Activations of a batch, row t at f + t * stride_f / q + t * stride_q. */
typedef struct bn_act {
    const float *f;
    const int8_t *q;
    const float *qscale;    /* per token: 1/gamma */
    const int32_t *qsum;    /* per token: sum of q */
    size_t stride_f, stride_q;
} bn_act;

/* For rows r in [r0, r1) and tokens t in [0, n_tok):
 * y[t * y_stride + r] = (accumulate ? y[...] : 0) + out_scale * (W[r] . x[t]). */
void bn_matmul(const bn_tensor *w, const bn_act *x, int n_tok, float *y, size_t y_stride,
               int64_t r0, int64_t r1, int accumulate);

/* Dot products of one weight row, scalar reference (kernels_ref.c). Ternary
 * ones return the integer sum; TQ formats fold in their block scales. */
int32_t bn_dot_i2s_ref(const uint8_t *codes, uint64_t first, const int8_t *x, int64_t k);
float bn_dot_tq2_0_ref(const void *row, const int8_t *x, int64_t k);
float bn_dot_tq1_0_ref(const void *row, const int8_t *x, int64_t k);
float bn_dot_f32_ref(const float *w, const float *x, int64_t k);
float bn_dot_f16_ref(const uint16_t *w, const float *x, int64_t k);
float bn_dot_bf16_ref(const uint16_t *w, const float *x, int64_t k);
float bn_dot_q8_0_ref(const void *row, const float *x, int64_t k);

#endif
