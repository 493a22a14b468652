/* AVX2 per-token int8 quantisation: bit-identical to bn_op_quantize_row_i8. */
#include <immintrin.h>
#include <string.h>

#include "arch/x86_64/kernels_x86.h"
#include "ops/quant_scalar.h"

float bn_quant_avx2(BN_QUANT_ARGS)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 vmax = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(x + i), absmask));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    float max = _mm_cvtss_f32(m);
    max = bn_absmax_tail(x, i, n, max);
    const float gamma = bn_quant_gamma(max);
    const __m256 g = _mm256_set1_ps(gamma);
    __m256i vsum = _mm256_setzero_si256();
    for (i = 0; i + 8 <= n; i += 8) {
        /* cvtps2dq rounds half to even, as nearbyintf does */
        __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i), g));
        v = _mm256_max_epi32(_mm256_min_epi32(v, _mm256_set1_epi32(127)), _mm256_set1_epi32(-128));
        vsum = _mm256_add_epi32(vsum, v);
        __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(void *)(q + i), _mm_packs_epi16(p16, p16));
    }
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(vsum), _mm256_extracti128_si256(vsum, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
    int32_t s = _mm_cvtsi128_si32(s4) + bn_quant_tail(x, i, n, gamma, q);
    memset(q + n, 0, (size_t)(n_padded - n));
    *sum = s;
    return 1.0f / gamma;
}
