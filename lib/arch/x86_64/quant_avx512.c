/* AVX-512 per-token int8 quantisation: bit-identical to bn_op_quantize_row_i8
 * (same float operations, same rounding). */
#include <immintrin.h>
#include <string.h>

#include "arch/x86_64/kernels_x86.h"
#include "ops/quant_scalar.h"

float bn_quant_avx512(BN_QUANT_ARGS)
{
    __m512 vmax = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
    float max = _mm512_reduce_max_ps(vmax);
    max = bn_absmax_tail(x, i, n, max);
    const float gamma = bn_quant_gamma(max);
    const __m512 g = _mm512_set1_ps(gamma);
    __m512i vsum = _mm512_setzero_si512();
    for (i = 0; i + 16 <= n; i += 16) {
        /* cvtps2dq rounds half to even (default MXCSR), as nearbyintf does;
         * the saturating narrow clamps to [-128, 127] */
        __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), g));
        v = _mm512_max_epi32(_mm512_min_epi32(v, _mm512_set1_epi32(127)), _mm512_set1_epi32(-128));
        vsum = _mm512_add_epi32(vsum, v);
        _mm_storeu_si128((__m128i *)(void *)(q + i), _mm512_cvtepi32_epi8(v));
    }
    int32_t s = _mm512_reduce_add_epi32(vsum) + bn_quant_tail(x, i, n, gamma, q);
    memset(q + n, 0, (size_t)(n_padded - n));
    *sum = s;
    return 1.0f / gamma;
}
