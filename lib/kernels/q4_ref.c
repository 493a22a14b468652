/* Q4_0 (4-bit blocks of 32, GGUF type 2) in scalar C: the output_q4
 * conversion at load and the reference of the Q4_0 x float product, which
 * every SIMD level reproduces in its integers (doc/numerics.md). */
#include <math.h>
#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"

static void q4_block_from_f32(const float *x, bn_block_q4_0 *out)
{
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < 32; i++) {
        const float a = fabsf(x[i]);
        if (amax < a) {             /* NaN never wins */
            amax = a;
            max = x[i];
        }
    }
    const float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = bn_f16_from_f32(d);
    memcpy(&out->d, &dh, 2);
    for (int i = 0; i < 16; i++) {
        const float v0 = x[i] * id + 8.5f, v1 = x[16 + i] * id + 8.5f;
        /* v in [0.5, 16.5] (NaN: the middle, 8): truncate, cap at 15 */
        const int q0 = v0 == v0 ? (int)v0 : 8, q1 = v1 == v1 ? (int)v1 : 8;
        out->qs[i] = (uint8_t)((q0 > 15 ? 15 : q0) | (q1 > 15 ? 15 : q1) << 4);
    }
}

void bn_q4_from_f32_ref(const float *x, int64_t k, void *out)
{
    bn_block_q4_0 *b = out;
    for (int64_t i = 0; i < k / 32; i++)
        q4_block_from_f32(x + 32 * i, b + i);
}

float bn_q4_x_block(const float *x, int8_t *q, int32_t *sum)
{
    float amax = 0.0f;
    for (int i = 0; i < 32; i++) {
        const float a = fabsf(x[i]);
        amax = a > amax ? a : amax;
    }
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    int32_t s = 0;
    for (int i = 0; i < 32; i++) {
        const float v = x[i] * id;
        q[i] = (int8_t)(v == v ? (int)nearbyintf(v) : 0);
        s += q[i];
    }
    *sum = s;
    return d;
}

/* One row against one token: the blocks' float results added in order. */
float bn_dot_q4_0_ref(const void *row, const float *x, int64_t k)
{
    const bn_block_q4_0 *b = row;
    float acc = 0.0f;
    for (int64_t j = 0; j < k / 32; j++) {
        int8_t q[32];
        int32_t sum;
        const float dx = bn_q4_x_block(x + 32 * j, q, &sum);
        int32_t dot = 0;
        for (int i = 0; i < 16; i++)
            dot += (int32_t)(b[j].qs[i] & 15) * q[i] + (int32_t)(b[j].qs[i] >> 4) * q[16 + i];
        uint16_t dh;
        memcpy(&dh, &b[j].d, 2);
        acc += (float)(dot - 8 * sum) * (bn_f16_to_f32(dh) * dx);
    }
    return acc;
}

void bn_q4gemm_ref(BN_Q4GEMM_ARGS)
{
    const size_t row_blocks = (size_t)(k / 32);
    for (int64_t r = r0; r < r1; r++)
        for (int t = 0; t < n_tok; t++)
            y[(size_t)t * y_stride + r] = bn_dot_q4_0_ref((const bn_block_q4_0 *)w + (size_t)r * row_blocks,
                                                          x + (size_t)t * x_stride, k);
}
