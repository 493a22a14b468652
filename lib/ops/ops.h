/*
 * Scalar reference of every non-matmul op of the forward pass. Each works on
 * one token row (or one token x head) so that the graph can split work across
 * threads without changing a single rounding: results are identical for any
 * thread count and batch size.
 */
#ifndef BN_OPS_OPS_H
#define BN_OPS_OPS_H

#include <stddef.h>
#include <stdint.h>

/* y = x / rms(x) * w  (w may be NULL: no weight). The sum of squares is
 * accumulated in double. y may alias x. */
void bn_op_rmsnorm(const float *x, const float *w, float *y, int n, float eps);

/* Per-token absmax int8 quantisation (FORMATS.md): gamma = 127 / max|x|
 * (max clamped >= 1e-5), q = clamp(round_half_even(x * gamma), -128, 127).
 * Returns 1/gamma, the factor that turns integer dot products back into
 * floats; *sum receives the sum of q (for the unsigned-code correction). */
float bn_op_quantize_row_i8(const float *x, int n, int8_t *q, int32_t *sum);

/* Rotary embedding of one head vector in place. NeoX style rotates pairs
 * (i, i + n/2), normal style adjacent pairs (2i, 2i + 1); theta_i =
 * pos * base^(-2i/n). cs holds cos,sin pairs for the position (n/2 pairs),
 * from bn_op_rope_cache. */
void bn_op_rope_cache(float *cs, int n, int32_t pos, float base);
void bn_op_rope_neox(float *x, const float *cs, int n);
void bn_op_rope_norm(float *x, const float *cs, int n);

/* Gated FFN activations, h = act(gate) * up, in place into gate. */
void bn_op_relu2_mul(float *gate, const float *up, int n);
void bn_op_silu_mul(float *gate, const float *up, int n);

/* In-place softmax over n scores; returns nothing, sum accumulated in double. */
void bn_op_softmax(float *x, int n);

/* One embedding row (F32, F16, BF16 or Q8_0) as floats. */
void bn_op_embed_row(uint32_t type, const void *data, uint64_t row, int n, float *out);

#endif
