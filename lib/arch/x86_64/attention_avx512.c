/* AVX-512 attention of one head over the KV cache (F16 or F32); the softmax
 * and the cache prefetch are attention_x86.h's. */
#include <immintrin.h>

#include "arch/x86_64/attention_x86.h"
#include "arch/x86_64/kernels_x86.h"

static inline __m512 load16(const void *row, int i, int kv_f16)
{
    if (kv_f16)
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + i)));
    return _mm512_loadu_ps((const float *)row + i);
}

/* q . K[p] for one position: the FMA chain over hd in 16-lane steps, then
 * the lane sum (the order every variant of this kernel keeps) */
static inline float score_one(const float *q, const uint8_t *kr, int hd, int kv_f16)
{
    __m512 acc = _mm512_setzero_ps();
    for (int i = 0; i < hd; i += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), load16(kr, i, kv_f16), acc);
    return _mm512_reduce_add_ps(acc);
}

/* Four positions at once: the same four chains as score_one, interleaved so
 * that they do not wait on each other's FMA latency. */
static inline void score_four(const float *q, const uint8_t *kr, size_t kv_stride, int hd, int kv_f16, float *out)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < hd; i += 16) {
        const __m512 qv = _mm512_loadu_ps(q + i);
        a0 = _mm512_fmadd_ps(qv, load16(kr, i, kv_f16), a0);
        a1 = _mm512_fmadd_ps(qv, load16(kr + kv_stride, i, kv_f16), a1);
        a2 = _mm512_fmadd_ps(qv, load16(kr + 2 * kv_stride, i, kv_f16), a2);
        a3 = _mm512_fmadd_ps(qv, load16(kr + 3 * kv_stride, i, kv_f16), a3);
    }
    out[0] = _mm512_reduce_add_ps(a0);
    out[1] = _mm512_reduce_add_ps(a1);
    out[2] = _mm512_reduce_add_ps(a2);
    out[3] = _mm512_reduce_add_ps(a3);
}

/* out[i .. i + 16 * n) = sum_p scores[p] V[p][...] for n <= 8 lane blocks:
 * one chain per block over the positions in order, all blocks at once. */
static inline void weigh_values(const float *scores, const uint8_t *vb, size_t kv_stride, int n_pos, int i, int n,
                                int kv_f16, float *out)
{
    __m512 o[8];
    for (int b = 0; b < 8; b++)
        o[b] = _mm512_setzero_ps();
    for (int p = 0; p < n_pos; p++) {
        const __m512 s = _mm512_set1_ps(scores[p]);
        const uint8_t *vr = vb + (size_t)p * kv_stride;
        bn_x86_prefetch_kv(vb, p, n_pos, kv_stride, (size_t)i * (kv_f16 ? 2 : 4), 16 * n * (kv_f16 ? 2 : 4));
        for (int b = 0; b < 8; b++)
            if (b < n)
                o[b] = _mm512_fmadd_ps(s, load16(vr, i + 16 * b, kv_f16), o[b]);
    }
    for (int b = 0; b < n; b++)
        _mm512_storeu_ps(out + i + 16 * b, o[b]);
}

void bn_attn_avx512(BN_ATTN_ARGS)
{
    if (hd % 16) {
        bn_attn_avx2(q, k, v, kv_stride, n_pos, hd, scale, kv_f16, scores, out);
        return;
    }
    const uint8_t *kb = k, *vb = v;
    int p = 0;
    for (; p + 4 <= n_pos; p += 4) {
        for (int j = 0; j < 4; j++)
            bn_x86_prefetch_kv(kb, p + j, n_pos, kv_stride, 0, hd * (kv_f16 ? 2 : 4));
        score_four(q, kb + (size_t)p * kv_stride, kv_stride, hd, kv_f16, scores + p);
        for (int j = 0; j < 4; j++)
            scores[p + j] *= scale;
    }
    for (; p < n_pos; p++)
        scores[p] = score_one(q, kb + (size_t)p * kv_stride, hd, kv_f16) * scale;
    bn_x86_softmax(scores, n_pos);
    for (int i = 0; i < hd; i += 128)
        weigh_values(scores, vb, kv_stride, n_pos, i, hd - i < 128 ? (hd - i) / 16 : 8, kv_f16, out);
}
