#include "ops/ops.h"
#include "ops/quant_scalar.h"

float bn_op_quantize_row_i8(const float *x, int n, int8_t *q, int32_t *sum)
{
    const float gamma = bn_quant_gamma(bn_absmax_tail(x, 0, n, 0.0f));
    *sum = bn_quant_tail(x, 0, n, gamma, q);
    return 1.0f / gamma;
}
