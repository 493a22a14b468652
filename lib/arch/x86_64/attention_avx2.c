/* AVX2 attention of one head over the KV cache (F16 via F16C, or F32).
 * FMA and lane order make it differ from the scalar reference in float
 * rounding only; the softmax is the shared scalar one. */
#include <immintrin.h>
#include <string.h>

#include "arch/x86_64/kernels_x86.h"
#include "ops/ops.h"

static inline __m256 load8(const void *row, int i, int kv_f16)
{
    if (kv_f16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)));
    return _mm256_loadu_ps((const float *)row + i);
}

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

void bn_attn_avx2(BN_ATTN_ARGS)
{
    if (hd % 8) {
        bn_attn_ref(q, k, v, kv_stride, n_pos, hd, scale, kv_f16, scores, out);
        return;
    }
    const uint8_t *kb = k, *vb = v;
    for (int p = 0; p < n_pos; p++) {
        const uint8_t *kr = kb + (size_t)p * kv_stride;
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < hd; i += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(kr, i, kv_f16), acc);
        scores[p] = hsum8(acc) * scale;
    }
    bn_op_softmax(scores, n_pos);
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int i = 0; i < hd; i += 8) {
        __m256 o = _mm256_setzero_ps();
        for (int p = 0; p < n_pos; p++)
            o = _mm256_fmadd_ps(_mm256_set1_ps(scores[p]), load8(vb + (size_t)p * kv_stride, i, kv_f16), o);
        _mm256_storeu_ps(out + i, o);
    }
}
