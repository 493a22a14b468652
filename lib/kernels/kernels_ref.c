/* Scalar reference of the kernel table: straightforward loops over the packed
 * layout, the oracle every SIMD variant is tested against. */
#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "ops/ops.h"

/* sum over one chunk of code * x */
static int32_t chunk_dot(const uint8_t *b, const int8_t *x)
{
    int32_t s = 0;
    for (int j = 0; j < 64; j++)
        s += (b[j] & 3) * x[j] + ((b[j] >> 2) & 3) * x[64 + j] + ((b[j] >> 4) & 3) * x[128 + j]
             + (b[j] >> 6) * x[192 + j];
    return s;
}

static void store(float *y, float v, int accumulate)
{
    *y = accumulate ? *y + v : v;
}

void bn_tgemm_ref(BN_TGEMM_ARGS)
{
    for (int64_t t = tile0; t < tile1; t++)
        for (int r = 0; r < BN_TP_ROWS; r++) {
            int64_t row = t * BN_TP_ROWS + r;
            if (row >= w->rows)
                break;
            for (int i = 0; i < n_tok; i++) {
                const int8_t *xq = x->q + (size_t)i * x->stride;
                int32_t dot = 0;
                for (int64_t c = 0; c < w->n_chunks; c++)
                    dot += chunk_dot(bn_tp_row_chunk(w, t, c, r), xq + c * BN_TP_CHUNK);
                store(y + (size_t)i * y_stride + row, (float)(dot - x->sum[i]) * w->scale * x->scale[i],
                      accumulate);
            }
        }
}

void bn_tgemm_blockscaled_ref(BN_TGEMM_ARGS)
{
    for (int64_t t = tile0; t < tile1; t++)
        for (int r = 0; r < BN_TP_ROWS; r++) {
            int64_t row = t * BN_TP_ROWS + r;
            if (row >= w->rows)
                break;
            for (int i = 0; i < n_tok; i++) {
                const int8_t *xq = x->q + (size_t)i * x->stride;
                float acc = 0.0f;
                for (int64_t c = 0; c < w->n_chunks; c++) {
                    int32_t xs = 0;
                    for (int j = 0; j < BN_TP_CHUNK; j++)
                        xs += xq[c * BN_TP_CHUNK + j];
                    int32_t dot = chunk_dot(bn_tp_row_chunk(w, t, c, r), xq + c * BN_TP_CHUNK) - xs;
                    acc += (float)dot * w->block_scales[row * w->n_chunks + c];
                }
                store(y + (size_t)i * y_stride + row, acc * x->scale[i], accumulate);
            }
        }
}

float bn_quant_ref(BN_QUANT_ARGS)
{
    float inv = bn_op_quantize_row_i8(x, (int)n, q, sum);
    memset(q + n, 0, (size_t)(n_padded - n));
    return inv;
}

void bn_f16gemm_ref(BN_F16GEMM_ARGS)
{
    for (int64_t r = r0; r < r1; r++)
        for (int t = 0; t < n_tok; t++)
            y[(size_t)t * y_stride + r] = bn_dot_f16_ref(w + r * k, x + (size_t)t * x_stride, k);
}

void bn_attn_ref(BN_ATTN_ARGS)
{
    const uint8_t *kb = k, *vb = v;
    for (int p = 0; p < n_pos; p++) {
        const uint8_t *kr = kb + (size_t)p * kv_stride;
        float acc = 0.0f;
        if (kv_f16)
            for (int i = 0; i < hd; i++)
                acc += q[i] * bn_f16_to_f32(((const uint16_t *)(const void *)kr)[i]);
        else
            for (int i = 0; i < hd; i++)
                acc += q[i] * ((const float *)(const void *)kr)[i];
        scores[p] = acc * scale;
    }
    bn_op_softmax(scores, n_pos);
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int p = 0; p < n_pos; p++) {
        const uint8_t *vr = vb + (size_t)p * kv_stride;
        const float a = scores[p];
        if (kv_f16)
            for (int i = 0; i < hd; i++)
                out[i] += a * bn_f16_to_f32(((const uint16_t *)(const void *)vr)[i]);
        else
            for (int i = 0; i < hd; i++)
                out[i] += a * ((const float *)(const void *)vr)[i];
    }
}

void bn_q8gemm_ref(BN_Q8GEMM_ARGS)
{
    const size_t row_bytes = (size_t)(k / 32) * sizeof(bn_block_q8_0);
    for (int64_t r = r0; r < r1; r++)
        for (int t = 0; t < n_tok; t++)
            y[(size_t)t * y_stride + r] = bn_dot_q8_0_ref((const uint8_t *)w + (size_t)r * row_bytes,
                                                          x + (size_t)t * x_stride, k);
}
