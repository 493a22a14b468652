/* NEON Q4_0 x float product (the 4-bit output head). The activations are
 * rounded to int8 per block of 32 as bn_q4_x_block does (maxNum skips NaN
 * as the reference's comparison does; vcvtn rounds to nearest even and
 * turns NaN into 0); each block is four widening multiplies of the nibbles
 * with them, pairwise-added to four int32 lanes and scaled by d_weight *
 * d_x in one FMA. The "- 8" of the nibbles is one scalar product per block. */
#include <arm_neon.h>
#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "kernels/q4_drive.h"

#include "arch/arm64/kernels_arm64.h"

static void round_x(const float *x, int64_t k, bn_q4_xq *xq)
{
    int8_t *q = xq->q;
    for (int64_t b = 0; b < k / 32; b++) {
        float32x4_t v[8], m = vdupq_n_f32(0.0f);
        for (int j = 0; j < 8; j++) {
            v[j] = vld1q_f32(x + 32 * b + 4 * j);
            m = vmaxnmq_f32(vabsq_f32(v[j]), m);
        }
        const float d = vmaxnmvq_f32(m) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        xq->dx[b] = d;
        int32x4_t s = vdupq_n_s32(0);
        for (int j = 0; j < 8; j += 2) {
            const int32x4_t a = vcvtnq_s32_f32(vmulq_n_f32(v[j], id)), c = vcvtnq_s32_f32(vmulq_n_f32(v[j + 1], id));
            s = vaddq_s32(s, vaddq_s32(a, c));
            const int16x8_t h = vcombine_s16(vmovn_s32(a), vmovn_s32(c));
            vst1_s8(q + 32 * b + 4 * j, vmovn_s16(h));
        }
        xq->sum[b] = vaddvq_s32(s);
    }
}

static float row_dot(const bn_block_q4_0 *b, int64_t nb, const bn_q4_xq *xq)
{
    const int8_t *q = xq->q;
    const float *dx = xq->dx;
    const int32_t *sum = xq->sum;
    float32x4_t acc = vdupq_n_f32(0.0f);
    float corr = 0.0f;
    const uint8x16_t m = vdupq_n_u8(15);
    for (int64_t j = 0; j < nb; j++) {
        const uint8x16_t v = vld1q_u8(b[j].qs);
        const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, m)), hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
        const int8x16_t x0 = vld1q_s8(q + 32 * j), x1 = vld1q_s8(q + 32 * j + 16);
        int16x8_t p0 = vmull_s8(vget_low_s8(lo), vget_low_s8(x0));
        p0 = vmlal_s8(p0, vget_high_s8(lo), vget_high_s8(x0));     /* |p| <= 2 * 15 * 127 */
        int16x8_t p1 = vmull_s8(vget_low_s8(hi), vget_low_s8(x1));
        p1 = vmlal_s8(p1, vget_high_s8(hi), vget_high_s8(x1));
        const int32x4_t s32 = vpadalq_s16(vpaddlq_s16(p0), p1);
        uint16_t dh;
        memcpy(&dh, &b[j].d, 2);
        const float s = bn_f16_to_f32(dh) * dx[j];
        acc = vfmaq_n_f32(acc, vcvtq_f32_s32(s32), s);
        corr += (float)(8 * sum[j]) * s;
    }
    return vaddvq_f32(acc) - corr;
}

void bn_q4gemm_neon(BN_Q4GEMM_ARGS)
{
    bn_q4gemm_drive(w, k, r0, r1, x, x_stride, n_tok, y, y_stride, round_x, row_dot);
}
