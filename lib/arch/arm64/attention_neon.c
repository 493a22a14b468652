/* NEON attention of one query head over the KV cache (F16 via fcvtl, or
 * F32). fmla and lane order make it differ from the scalar reference in
 * float rounding only; the softmax is the shared scalar one. */
#include <arm_neon.h>
#include <string.h>

#include "arch/arm64/kernels_arm64.h"
#include "ops/ops.h"

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
    bn_op_softmax(scores, n_pos);
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
