/* Batch matmul driver: picks the dot product for the weight type and applies
 * the scales. Each output element is computed by one call, in one order, so
 * results are independent of the row split and of the batch size. */
#include "gguf/gguf_types.h"
#include "kernels/matmul.h"

void bn_matmul(const bn_tensor *w, const bn_act *x, int n_tok, float *y, size_t y_stride,
               int64_t r0, int64_t r1, int accumulate)
{
    const int64_t k = (int64_t)w->ne[0];
    const uint8_t *base = w->data;
    for (int64_t r = r0; r < r1; r++) {
        for (int t = 0; t < n_tok; t++) {
            const int8_t *xq = x->q + (size_t)t * x->stride_q;
            const float *xf = x->f + (size_t)t * x->stride_f;
            float v;
            switch (w->type) {
            case BN_TYPE_I2_S:
                v = (float)bn_dot_i2s_ref(base, (uint64_t)r * (uint64_t)k, xq, k) * w->scale
                    * x->qscale[t];
                break;
            case BN_TYPE_TQ2_0:
                v = bn_dot_tq2_0_ref(base + (uint64_t)r * (uint64_t)(k / 256) * 66, xq, k) * x->qscale[t];
                break;
            case BN_TYPE_TQ1_0:
                v = bn_dot_tq1_0_ref(base + (uint64_t)r * (uint64_t)(k / 256) * 54, xq, k) * x->qscale[t];
                break;
            case BN_TYPE_F32:
                v = bn_dot_f32_ref((const float *)base + r * k, xf, k);
                break;
            case BN_TYPE_F16:
                v = bn_dot_f16_ref((const uint16_t *)base + r * k, xf, k);
                break;
            case BN_TYPE_BF16:
                v = bn_dot_bf16_ref((const uint16_t *)base + r * k, xf, k);
                break;
            case BN_TYPE_Q8_0:
                v = bn_dot_q8_0_ref(base + (uint64_t)r * (uint64_t)(k / 32) * 34, xf, k);
                break;
            default:
                v = 0.0f; /* unreachable: types checked at load */
                break;
            }
            v *= w->out_scale;
            float *dst = y + (size_t)t * y_stride + r;
            *dst = accumulate ? *dst + v : v;
        }
    }
}
