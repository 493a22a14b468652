#include <math.h>

#include "ops/ops.h"

void bn_op_rmsnorm(const float *x, const float *w, float *y, int n, float eps)
{
    /* eight partial sums, combined in a fixed order: one chain of double
     * additions would be bound by their latency (this runs for every token
     * of every layer three times); the order is the same on every CPU */
    double acc[8] = { 0 };
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += (double)x[i + j] * (double)x[i + j];
    for (; i < n; i++)
        acc[i % 8] += (double)x[i] * (double)x[i];
    const double ss = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    float scale = 1.0f / sqrtf((float)(ss / n) + eps);
    if (w)
        for (i = 0; i < n; i++)
            y[i] = x[i] * scale * w[i];
    else
        for (i = 0; i < n; i++)
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
