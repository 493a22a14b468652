/* AVX2 attention of one head over the KV cache (F16 via F16C, or F32).
 * FMA and lane order make it differ from the scalar reference in float
 * rounding only; the softmax and the cache prefetch are attention_x86.h's. */
#include <immintrin.h>

#include "arch/x86_64/attention_x86.h"
#include "arch/x86_64/kernels_x86.h"

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
    const int esz = kv_f16 ? 2 : 4;
    for (int p = 0; p < n_pos; p++) {
        const uint8_t *kr = kb + (size_t)p * kv_stride;
        bn_x86_prefetch_kv(kb, p, n_pos, kv_stride, 0, hd * esz);
        __m256 acc = _mm256_setzero_ps();
        for (int i = 0; i < hd; i += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(kr, i, kv_f16), acc);
        scores[p] = hsum8(acc) * scale;
    }
    bn_x86_softmax(scores, n_pos);
    /* one chain per 8-lane block over the positions in order, four blocks
     * per pass over V: a pass reads 32 values of each row (64 bytes of F16,
     * one cache line whole), where a pass per block read each line in four */
    for (int i = 0; i < hd; i += 32) {
        const int nb = hd - i < 32 ? (hd - i) / 8 : 4;
        __m256 o[4];
        for (int b = 0; b < 4; b++)
            o[b] = _mm256_setzero_ps();
        for (int p = 0; p < n_pos; p++) {
            const uint8_t *vr = vb + (size_t)p * kv_stride;
            bn_x86_prefetch_kv(vb, p, n_pos, kv_stride, (size_t)i * esz, 8 * nb * esz);
            const __m256 s = _mm256_set1_ps(scores[p]);
            for (int b = 0; b < 4; b++)
                if (b < nb)
                    o[b] = _mm256_fmadd_ps(s, load8(vr, i + 8 * b, kv_f16), o[b]);
        }
        for (int b = 0; b < nb; b++)
            _mm256_storeu_ps(out + i + 8 * b, o[b]);
    }
}
