#include <math.h>

#include "ops/ops.h"

void bn_op_relu2_mul(float *gate, const float *up, int n)
{
    for (int i = 0; i < n; i++) {
        float r = gate[i] > 0.0f ? gate[i] : 0.0f;
        gate[i] = r * r * up[i];
    }
}

void bn_op_silu_mul(float *gate, const float *up, int n)
{
    for (int i = 0; i < n; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
