/* AVX-512 per-token int8 quantisation: bit-identical to bn_op_quantize_row_i8
 * (same float operations, same rounding). */
#include <immintrin.h>
#include <string.h>

#include "arch/x86_64/kernels_x86.h"

float bn_quant_avx512(BN_QUANT_ARGS)
{
    __m512 vmax = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
    float max = _mm512_reduce_max_ps(vmax);
    for (; i < n; i++) {
        float a = x[i] < 0 ? -x[i] : x[i];
        max = a > max ? a : max;
    }
    if (max < 1e-5f)
        max = 1e-5f;
    const float gamma = 127.0f / max;
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
    int32_t s = _mm512_reduce_add_epi32(vsum);
    for (; i < n; i++) {
        float v = __builtin_nearbyintf(x[i] * gamma);
        v = v > 127.0f ? 127.0f : v < -128.0f ? -128.0f : v;
        q[i] = (int8_t)v;
        s += q[i];
    }
    memset(q + n, 0, (size_t)(n_padded - n));
    *sum = s;
    return 1.0f / gamma;
}
