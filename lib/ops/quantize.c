#include <math.h>

#include "ops/ops.h"

float bn_op_quantize_row_i8(const float *x, int n, int8_t *q, int32_t *sum)
{
    float max = 0.0f;
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        max = a > max ? a : max;
    }
    if (max < 1e-5f)
        max = 1e-5f;
    float gamma = 127.0f / max;
    int32_t s = 0;
    for (int i = 0; i < n; i++) {
        float v = nearbyintf(x[i] * gamma); /* default rounding: half to even */
        v = v > 127.0f ? 127.0f : v < -128.0f ? -128.0f : v;
        q[i] = (int8_t)v;
        s += q[i];
    }
    *sum = s;
    return 1.0f / gamma;
}
