#include <math.h>

#include "ops/ops.h"

void bn_op_rope_cache(float *cs, int n, int32_t pos, float base)
{
    /* in double: positions up to 2^24 keep full float precision */
    for (int i = 0; i < n / 2; i++) {
        double theta = (double)pos * pow((double)base, -2.0 * i / n);
        cs[2 * i] = (float)cos(theta);
        cs[2 * i + 1] = (float)sin(theta);
    }
}

void bn_op_rope_neox(float *x, const float *cs, int n)
{
    int h = n / 2;
    for (int i = 0; i < h; i++) {
        float c = cs[2 * i], s = cs[2 * i + 1];
        float a = x[i], b = x[i + h];
        x[i] = a * c - b * s;
        x[i + h] = a * s + b * c;
    }
}

void bn_op_rope_norm(float *x, const float *cs, int n)
{
    for (int i = 0; i < n / 2; i++) {
        float c = cs[2 * i], s = cs[2 * i + 1];
        float a = x[2 * i], b = x[2 * i + 1];
        x[2 * i] = a * c - b * s;
        x[2 * i + 1] = a * s + b * c;
    }
}
