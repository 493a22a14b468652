#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops/ops.h"

/* relu by masking the bits: the same values as `g > 0 ? g : 0` for every
 * input (NaN and -0 give +0), but without a branch on a random sign, which
 * the compiler kept and which mispredicted on every other element. */
void bn_op_relu2_mul(float *gate, const float *up, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t bits;
        float r;
        memcpy(&bits, &gate[i], sizeof bits);
        bits &= -(uint32_t)(gate[i] > 0.0f);
        memcpy(&r, &bits, sizeof r);
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
