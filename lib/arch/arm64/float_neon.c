/* NEON F16 x F32 and Q8_0 x F32 matrix products (the output projection).
 * fcvtl widens halves exactly (subnormals included) in base armv8-a; the
 * products accumulate with fmla in float, so results differ from the scalar
 * reference in rounding only (lane order and fused multiply-add). Four rows
 * at a time share the activation loads; for a batch, the four rows stay in
 * cache while every token passes over them. */
#include <arm_neon.h>
#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf_types.h"

#include "arch/arm64/kernels_arm64.h"

#define PREFETCH_AHEAD 2048

static inline float32x4_t cvt_lo(uint16x8_t h)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(h)));
}

static inline float32x4_t cvt_hi(uint16x8_t h)
{
    return vcvt_high_f32_f16(vreinterpretq_f16_u16(h));
}

static inline float hsum4(float32x4_t a, float32x4_t b, float32x4_t c, float32x4_t d)
{
    return vaddvq_f32(vaddq_f32(vaddq_f32(a, b), vaddq_f32(c, d)));
}

/* 16 lanes of one row's partial sums (named, not an array: GCC keeps an
 * array of vectors in memory as well as in registers) */
typedef struct f16_acc {
    float32x4_t a, b, c, d;
} f16_acc;

static inline f16_acc f16_acc_zero(void)
{
    const float32x4_t z = vdupq_n_f32(0.0f);
    const f16_acc s = { z, z, z, z };
    return s;
}

/* 16 halves of a row against 16 activations */
static inline f16_acc f16_step(f16_acc s, const uint16_t *w, float32x4_t x0, float32x4_t x1, float32x4_t x2,
                               float32x4_t x3)
{
    __builtin_prefetch(w + PREFETCH_AHEAD / 2);
    const uint16x8_t h0 = vld1q_u16(w), h1 = vld1q_u16(w + 8);
    s.a = vfmaq_f32(s.a, cvt_lo(h0), x0);
    s.b = vfmaq_f32(s.b, cvt_hi(h0), x1);
    s.c = vfmaq_f32(s.c, cvt_lo(h1), x2);
    s.d = vfmaq_f32(s.d, cvt_hi(h1), x3);
    return s;
}

/* the row's sum: its 16 lanes, then the last k - i (< 16) weights */
static inline float f16_finish(f16_acc s, const uint16_t *w, const float *x, int64_t i, int64_t k)
{
    for (; i + 4 <= k; i += 4)
        s.a = vfmaq_f32(s.a, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(w + i))), vld1q_f32(x + i));
    float acc = hsum4(s.a, s.b, s.c, s.d);
    for (; i < k; i++)
        acc += bn_f16_to_f32(w[i]) * x[i];
    return acc;
}

void bn_f16gemm_neon(BN_F16GEMM_ARGS)
{
    const int64_t k16 = k & ~(int64_t)15;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4)
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * x_stride;
            const uint16_t *w0 = w + r * k, *w1 = w0 + k, *w2 = w1 + k, *w3 = w2 + k;
            f16_acc s0 = f16_acc_zero(), s1 = s0, s2 = s0, s3 = s0;
            for (int64_t i = 0; i < k16; i += 16) {
                const float32x4_t x0 = vld1q_f32(xt + i), x1 = vld1q_f32(xt + i + 4);
                const float32x4_t x2 = vld1q_f32(xt + i + 8), x3 = vld1q_f32(xt + i + 12);
                s0 = f16_step(s0, w0 + i, x0, x1, x2, x3);
                s1 = f16_step(s1, w1 + i, x0, x1, x2, x3);
                s2 = f16_step(s2, w2 + i, x0, x1, x2, x3);
                s3 = f16_step(s3, w3 + i, x0, x1, x2, x3);
            }
            float *yt = y + (size_t)t * y_stride + r;
            yt[0] = f16_finish(s0, w0, xt, k16, k);
            yt[1] = f16_finish(s1, w1, xt, k16, k);
            yt[2] = f16_finish(s2, w2, xt, k16, k);
            yt[3] = f16_finish(s3, w3, xt, k16, k);
        }
    for (; r < r1; r++)
        for (int t = 0; t < n_tok; t++) {
            const float *xt = x + (size_t)t * x_stride;
            const uint16_t *wr = w + r * k;
            f16_acc s = f16_acc_zero();
            for (int64_t i = 0; i < k16; i += 16)
                s = f16_step(s, wr + i, vld1q_f32(xt + i), vld1q_f32(xt + i + 4), vld1q_f32(xt + i + 8),
                             vld1q_f32(xt + i + 12));
            y[(size_t)t * y_stride + r] = f16_finish(s, wr, xt, k16, k);
        }
}

/* 32 int8 of a Q8_0 block as 8 float vectors times x, summed in float */
static inline float32x4_t q8_block_dot(const int8_t *qs, const float32x4_t xv[8])
{
    const int8x16_t b0 = vld1q_s8(qs), b1 = vld1q_s8(qs + 16);
    const int16x8_t h[4] = { vmovl_s8(vget_low_s8(b0)), vmovl_high_s8(b0), vmovl_s8(vget_low_s8(b1)),
                             vmovl_high_s8(b1) };
    float32x4_t a = vmulq_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(h[0]))), xv[0]);
    float32x4_t b = vmulq_f32(vcvtq_f32_s32(vmovl_high_s16(h[0])), xv[1]);
    for (int j = 1; j < 4; j++) {
        a = vfmaq_f32(a, vcvtq_f32_s32(vmovl_s16(vget_low_s16(h[j]))), xv[2 * j]);
        b = vfmaq_f32(b, vcvtq_f32_s32(vmovl_high_s16(h[j])), xv[2 * j + 1]);
    }
    return vaddq_f32(a, b);
}

/* nr rows (1 or 4) of Q8_0 against one token: each block's products are
 * summed, then scaled by the block's d into the row's accumulator */
static inline __attribute__((always_inline)) void q8_rows(const bn_block_q8_0 *w, int64_t nb, const float *x, int nr,
                                                          float *out)
{
    float32x4_t s[4];
    for (int r = 0; r < nr; r++)
        s[r] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; b++) {
        float32x4_t xv[8];
        for (int j = 0; j < 8; j++)
            xv[j] = vld1q_f32(x + 32 * b + 4 * j);
        for (int r = 0; r < nr; r++) {
            const bn_block_q8_0 *blk = w + r * nb + b;
            __builtin_prefetch((const uint8_t *)blk + PREFETCH_AHEAD);
            uint16_t dh;
            memcpy(&dh, &blk->d, 2);
            const float32x4_t d = vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(dh)));
            s[r] = vfmaq_f32(s[r], q8_block_dot(blk->qs, xv), d);
        }
    }
    for (int r = 0; r < nr; r++)
        out[r] = vaddvq_f32(s[r]);
}

void bn_q8gemm_neon(BN_Q8GEMM_ARGS)
{
    const int64_t nb = k / 32;
    const bn_block_q8_0 *base = w;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4)
        for (int t = 0; t < n_tok; t++) {
            float out[4];
            q8_rows(base + r * nb, nb, x + (size_t)t * x_stride, 4, out);
            float *yt = y + (size_t)t * y_stride + r;
            for (int j = 0; j < 4; j++)
                yt[j] = out[j];
        }
    for (; r < r1; r++)
        for (int t = 0; t < n_tok; t++)
            q8_rows(base + r * nb, nb, x + (size_t)t * x_stride, 1, y + (size_t)t * y_stride + r);
}
