/* NEON per-token int8 quantisation: bit-identical to bn_op_quantize_row_i8.
 * fcvtns rounds half to even, as nearbyintf does in the default rounding
 * mode, and saturates to int32; the saturating narrows then clamp to
 * [-128, 127] as the reference's float clamp does. fmaxnm skips a NaN as the
 * reference's `a > max` does. */
#include <arm_neon.h>
#include <string.h>

#include "arch/arm64/kernels_arm64.h"
#include "ops/quant_scalar.h"

float bn_quant_neon(BN_QUANT_ARGS)
{
    float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = vmaxnmq_f32(m0, vabsq_f32(vld1q_f32(x + i)));
        m1 = vmaxnmq_f32(m1, vabsq_f32(vld1q_f32(x + i + 4)));
    }
    float max = vmaxnmvq_f32(vmaxnmq_f32(m0, m1));
    max = bn_absmax_tail(x, i, n, max);
    const float gamma = bn_quant_gamma(max);
    int32x4_t vsum = vdupq_n_s32(0);
    for (i = 0; i + 16 <= n; i += 16) {
        int32x4_t v[4];
        for (int j = 0; j < 4; j++)
            v[j] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + i + 4 * j), gamma));
        const int16x8_t lo = vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]));
        const int16x8_t hi = vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3]));
        const int8x16_t q8 = vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi));
        vst1q_s8(q + i, q8);
        /* the sum of the clamped values: widen the int8 back */
        vsum = vpadalq_s16(vsum, vpaddlq_s8(q8));
    }
    int32_t s = vaddvq_s32(vsum) + bn_quant_tail(x, i, n, gamma, q);
    memset(q + n, 0, (size_t)(n_padded - n));
    *sum = s;
    return 1.0f / gamma;
}
