/* Float-weight matmul driver: picks the dot product for the weight type.
 * Each output element is computed by one call, in one order, so results are
 * independent of the row split and of the batch size. */
#include "gguf/gguf_types.h"
#include "kernels/matmul.h"

void bn_matmul_float(const bn_tensor *w, const float *x, size_t x_stride, int n_tok, float *y,
                     size_t y_stride, int64_t r0, int64_t r1, int accumulate)
{
    const int64_t k = (int64_t)w->ne[0];
    const uint8_t *base = w->data;
    for (int64_t r = r0; r < r1; r++) {
        for (int t = 0; t < n_tok; t++) {
            const float *xf = x + (size_t)t * x_stride;
            float v;
            switch (w->type) {
            case BN_TYPE_F32:
                v = bn_dot_f32_ref((const float *)(const void *)base + r * k, xf, k);
                break;
            case BN_TYPE_F16:
                v = bn_dot_f16_ref((const uint16_t *)(const void *)base + r * k, xf, k);
                break;
            case BN_TYPE_BF16:
                v = bn_dot_bf16_ref((const uint16_t *)(const void *)base + r * k, xf, k);
                break;
            case BN_TYPE_Q8_0:
                v = bn_dot_q8_0_ref(base + (uint64_t)r * (uint64_t)(k / 32) * 34, xf, k);
                break;
            case BN_TYPE_Q4_0:
                v = bn_dot_q4_0_ref(base + (uint64_t)r * (uint64_t)(k / 32) * 18, xf, k);
                break;
            default:
                v = 0.0f; /* unreachable: types checked at load, ternary ones packed */
                break;
            }
            v *= w->out_scale;
            float *dst = y + (size_t)t * y_stride + r;
            *dst = accumulate ? *dst + v : v;
        }
    }
}
