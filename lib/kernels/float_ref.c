/* Scalar reference of the float dot products (float linear weights and the
 * output projection). Eight partial sums in a fixed order, so that results
 * do not depend on how rows are split between threads. */
#include <string.h>

#include "core/fp16.h"
#include "kernels/matmul.h"

#define LANES 8

static float reduce(const float *acc)
{
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

float bn_dot_f32_ref(const float *w, const float *x, int64_t k)
{
    float acc[LANES] = { 0 };
    int64_t i = 0;
    for (; i + LANES <= k; i += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += w[i + l] * x[i + l];
    for (; i < k; i++)
        acc[i % LANES] += w[i] * x[i];
    return reduce(acc);
}

float bn_dot_f16_ref(const uint16_t *w, const float *x, int64_t k)
{
    float acc[LANES] = { 0 };
    for (int64_t i = 0; i < k; i++)
        acc[i % LANES] += bn_f16_to_f32(w[i]) * x[i];
    return reduce(acc);
}

float bn_dot_bf16_ref(const uint16_t *w, const float *x, int64_t k)
{
    float acc[LANES] = { 0 };
    for (int64_t i = 0; i < k; i++)
        acc[i % LANES] += bn_bf16_to_f32(w[i]) * x[i];
    return reduce(acc);
}

float bn_dot_q8_0_ref(const void *row, const float *x, int64_t k)
{
    const bn_block_q8_0 *b = row;
    float sum = 0.0f;
    for (int64_t ib = 0; ib < k / 32; ib++, x += 32) {
        float acc[LANES] = { 0 };
        for (int i = 0; i < 32; i++)
            acc[i % LANES] += (float)b[ib].qs[i] * x[i];
        uint16_t d;
        memcpy(&d, &b[ib].d, 2);
        sum += reduce(acc) * bn_f16_to_f32(d);
    }
    return sum;
}
