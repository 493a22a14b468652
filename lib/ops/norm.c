#include <math.h>

#include "ops/ops.h"

void bn_op_rmsnorm(const float *x, const float *w, float *y, int n, float eps)
{
    double ss = 0.0;
    for (int i = 0; i < n; i++)
        ss += (double)x[i] * (double)x[i];
    float scale = 1.0f / sqrtf((float)(ss / n) + eps);
    if (w)
        for (int i = 0; i < n; i++)
            y[i] = x[i] * scale * w[i];
    else
        for (int i = 0; i < n; i++)
            y[i] = x[i] * scale;
}

void bn_op_softmax(float *x, int n)
{
    float max = -INFINITY;
    for (int i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++)
        x[i] *= inv;
}
