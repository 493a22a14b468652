/* NEON attention of one query head over the KV cache (F16 via fcvtl, or
 * F32). fmla and lane order make it differ from the scalar reference in
 * float rounding only. The softmax takes the reference's steps four scores
 * at a time, as the x86-64 kernels do (attention_x86.h: libm's expf per
 * score was a third of a head's time at 512 positions there). */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "arch/arm64/kernels_arm64.h"
#include "kernels/exp_poly.h"

/* exp(x) for x <= 0, four lanes (kernels/exp_poly.h); NaN stays NaN (fmax
 * propagates it) */
static inline float32x4_t exp_nonpos(float32x4_t x)
{
    const float32x4_t lo = vdupq_n_f32(BN_EXP_MIN);
    const uint32x4_t under = vcltq_f32(x, lo);
    x = vmaxq_f32(lo, x);
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, BN_EXP_LOG2E));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(BN_EXP_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(BN_EXP_LN2_LO));
    float32x4_t p = vdupq_n_f32(BN_EXP_P6);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P5), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P4), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P3), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P2), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P1), p, r);
    p = vfmaq_f32(vdupq_n_f32(BN_EXP_P0), p, r);
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    const float32x4_t v = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(v), under));
}

/* bn_op_softmax's steps: the largest score (fmaxnm: NaN skipped), exp of
 * the differences summed in double, one multiply by the reciprocal */
static void softmax(float *x, int n)
{
    float32x4_t m = vdupq_n_f32(-INFINITY);
    int i = 0;
    for (; i + 4 <= n; i += 4)
        m = vmaxnmq_f32(m, vld1q_f32(x + i));
    float max = vmaxnmvq_f32(m);
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;
    const float32x4_t mv = vdupq_n_f32(max);
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    for (i = 0; i + 4 <= n; i += 4) {
        const float32x4_t e = exp_nonpos(vsubq_f32(vld1q_f32(x + i), mv));
        vst1q_f32(x + i, e);
        s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(e)));
        s1 = vaddq_f64(s1, vcvt_high_f64_f32(e));
    }
    double sum = vaddvq_f64(vaddq_f64(s0, s1));
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (i = 0; i + 4 <= n; i += 4)
        vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), inv));
    for (; i < n; i++)
        x[i] *= inv;
}

static inline float32x4_t load4(const uint8_t *row, int i, int kv_f16)
{
    if (kv_f16) {
        uint16_t h[4];
        memcpy(h, row + 2 * (size_t)i, sizeof h);
        return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
    }
    float f[4];
    memcpy(f, row + 4 * (size_t)i, sizeof f);
    return vld1q_f32(f);
}

void bn_attn_neon(BN_ATTN_ARGS)
{
    if (hd % 16) {
        bn_attn_ref(q, k, v, kv_stride, n_pos, hd, scale, kv_f16, scores, out);
        return;
    }
    const uint8_t *kb = k, *vb = v;
    for (int p = 0; p < n_pos; p++) {
        const uint8_t *kr = kb + (size_t)p * kv_stride;
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < hd; i += 16) {
            a0 = vfmaq_f32(a0, vld1q_f32(q + i), load4(kr, i, kv_f16));
            a1 = vfmaq_f32(a1, vld1q_f32(q + i + 4), load4(kr, i + 4, kv_f16));
            a2 = vfmaq_f32(a2, vld1q_f32(q + i + 8), load4(kr, i + 8, kv_f16));
            a3 = vfmaq_f32(a3, vld1q_f32(q + i + 12), load4(kr, i + 12, kv_f16));
        }
        scores[p] = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3))) * scale;
    }
    softmax(scores, n_pos);
    /* 16 output lanes at a time over every position: V rows are read in
     * 32- or 64-byte pieces */
    for (int i = 0; i < hd; i += 16) {
        float32x4_t o0 = vdupq_n_f32(0.0f), o1 = o0, o2 = o0, o3 = o0;
        for (int p = 0; p < n_pos; p++) {
            const uint8_t *vr = vb + (size_t)p * kv_stride;
            const float a = scores[p];
            o0 = vfmaq_n_f32(o0, load4(vr, i, kv_f16), a);
            o1 = vfmaq_n_f32(o1, load4(vr, i + 4, kv_f16), a);
            o2 = vfmaq_n_f32(o2, load4(vr, i + 8, kv_f16), a);
            o3 = vfmaq_n_f32(o3, load4(vr, i + 12, kv_f16), a);
        }
        vst1q_f32(out + i, o0);
        vst1q_f32(out + i + 4, o1);
        vst1q_f32(out + i + 8, o2);
        vst1q_f32(out + i + 12, o3);
    }
}
