/* AVX-512 attention of one head over the KV cache (F16 or F32). */
#include <immintrin.h>
#include <string.h>

#include "arch/x86_64/kernels_x86.h"
#include "ops/ops.h"

static inline __m512 load16(const void *row, int i, int kv_f16)
{
    if (kv_f16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)));
    return _mm512_loadu_ps((const float *)row + i);
}

void bn_attn_avx512(BN_ATTN_ARGS)
{
    if (hd % 16) {
        bn_attn_avx2(q, k, v, kv_stride, n_pos, hd, scale, kv_f16, scores, out);
        return;
    }
    const uint8_t *kb = k, *vb = v;
    for (int p = 0; p < n_pos; p++) {
        const uint8_t *kr = kb + (size_t)p * kv_stride;
        __m512 acc = _mm512_setzero_ps();
        for (int i = 0; i < hd; i += 16)
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load16(kr, i, kv_f16), acc);
        scores[p] = _mm512_reduce_add_ps(acc) * scale;
    }
    bn_op_softmax(scores, n_pos);
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int i = 0; i < hd; i += 16) {
        __m512 o = _mm512_setzero_ps();
        for (int p = 0; p < n_pos; p++)
            o = _mm512_fmadd_ps(_mm512_set1_ps(scores[p]), load16(vb + (size_t)p * kv_stride, i, kv_f16), o);
        _mm512_storeu_ps(out + i, o);
    }
}
