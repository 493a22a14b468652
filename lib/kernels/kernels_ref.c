/* Scalar reference of the kernel table: straightforward loops over the packed
 * layout, the oracle every SIMD variant is tested against. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "kernels/kernels.h"
#include "kernels/matmul.h"
#include "ops/ops.h"

/* sum over one chunk of code * x */
static int32_t chunk_dot(const uint8_t *b, const int8_t *x)
{
    int32_t s = 0;
    for (int j = 0; j < 64; j++)
        s += (b[j] & 3) * x[j] + ((b[j] >> 2) & 3) * x[64 + j] + ((b[j] >> 4) & 3) * x[128 + j]
             + (b[j] >> 6) * x[192 + j];
    return s;
}

static void store(float *y, float v, int accumulate)
{
    *y = accumulate ? *y + v : v;
}

/* a * b + c with one rounding, as the FMA instruction of every SIMD level:
 * libm's fmaf is not that everywhere (mingw-w64's rounds twice, through
 * double). The product of two floats is exact in double; the sum is
 * rounded to odd (when inexact, the last bit forced to 1 towards the exact
 * value), and a double rounded to odd, having 29 more bits than a float,
 * rounds to the float nearest the exact value. */
static float fma_once(float a, float b, float c)
{
    const double ab = (double)a * (double)b, s = ab + (double)c;
    if (!isfinite(s))
        return (float)s;
    /* the error of s, exactly (TwoSum) */
    const double cv = s - ab, err = (ab - (s - cv)) + ((double)c - cv);
    uint64_t u;
    memcpy(&u, &s, sizeof u);
    if (err != 0.0 && !(u & 1)) {
        /* one unit away from zero if the exact value is larger in
         * magnitude, else towards zero (s is not 0: an inexact sum isn't) */
        u += (err > 0.0) == (s > 0.0) ? 1 : (uint64_t)-1;
        double odd;
        memcpy(&odd, &u, sizeof odd);
        return (float)odd;
    }
    return (float)s;
}

/* Block scales: each chunk's exact sum (c - 1) . x folded in chunk order
 * with one rounding (fma_once), then scaled by the token's x scale (tpack.h). */
static float blockscaled_dot(const bn_tpack *w, int64_t t, int r, const int8_t *xq)
{
    float acc = 0.0f;
    for (int64_t c = 0; c < w->n_chunks; c++) {
        int32_t xs = 0;
        for (int j = 0; j < BN_TP_CHUNK; j++)
            xs += xq[c * BN_TP_CHUNK + j];
        const int32_t dot = chunk_dot(bn_tp_row_chunk(w, t, c, r), xq + c * BN_TP_CHUNK) - xs;
        acc = fma_once((float)dot, bn_tp_block_scales(w, t, c)[r], acc);
    }
    return acc;
}

void bn_tgemm_ref(BN_TGEMM_ARGS)
{
    for (int64_t t = tile0; t < tile1; t++)
        for (int r = 0; r < BN_TP_ROWS; r++) {
            int64_t row = t * BN_TP_ROWS + r;
            if (row >= w->rows)
                break;
            for (int i = 0; i < n_tok; i++) {
                const int8_t *xq = x->q + (size_t)i * x->stride;
                float v;
                if (w->block_scales) {
                    v = blockscaled_dot(w, t, r, xq) * x->scale[i];
                } else {
                    int32_t dot = 0;
                    for (int64_t c = 0; c < w->n_chunks; c++)
                        dot += chunk_dot(bn_tp_row_chunk(w, t, c, r), xq + c * BN_TP_CHUNK);
                    v = (float)(dot - x->sum[i]) * bn_tp_row_scale(w, row) * x->scale[i];
                }
                store(y + (size_t)i * y_stride + row, v, accumulate);
            }
        }
}

float bn_quant_ref(BN_QUANT_ARGS)
{
    float inv = bn_op_quantize_row_i8(x, (int)n, q, sum);
    memset(q + n, 0, (size_t)(n_padded - n));
    return inv;
}

void bn_f16gemm_ref(BN_F16GEMM_ARGS)
{
    for (int64_t r = r0; r < r1; r++)
        for (int t = 0; t < n_tok; t++)
            y[(size_t)t * y_stride + r] = bn_dot_f16_ref(w + r * k, x + (size_t)t * x_stride, k);
}

void bn_attn_ref(BN_ATTN_ARGS)
{
    const uint8_t *kb = k, *vb = v;
    for (int p = 0; p < n_pos; p++) {
        const uint8_t *kr = kb + (size_t)p * kv_stride;
        float acc = 0.0f;
        if (kv_f16)
            for (int i = 0; i < hd; i++)
                acc += q[i] * bn_f16_to_f32(((const uint16_t *)(const void *)kr)[i]);
        else
            for (int i = 0; i < hd; i++)
                acc += q[i] * ((const float *)(const void *)kr)[i];
        scores[p] = acc * scale;
    }
    bn_op_softmax(scores, n_pos);
    memset(out, 0, (size_t)hd * sizeof *out);
    for (int p = 0; p < n_pos; p++) {
        const uint8_t *vr = vb + (size_t)p * kv_stride;
        const float a = scores[p];
        if (kv_f16)
            for (int i = 0; i < hd; i++)
                out[i] += a * bn_f16_to_f32(((const uint16_t *)(const void *)vr)[i]);
        else
            for (int i = 0; i < hd; i++)
                out[i] += a * ((const float *)(const void *)vr)[i];
    }
}

void bn_q8gemm_ref(BN_Q8GEMM_ARGS)
{
    const size_t row_bytes = (size_t)(k / 32) * sizeof(bn_block_q8_0);
    for (int64_t r = r0; r < r1; r++)
        for (int t = 0; t < n_tok; t++)
            y[(size_t)t * y_stride + r] = bn_dot_q8_0_ref((const uint8_t *)w + (size_t)r * row_bytes,
                                                          x + (size_t)t * x_stride, k);
}

/* roundf (half away from zero) for |v| < 2^23, without the libm call: the
 * difference v - trunc(v) is exact. NaN (an infinite weight times 1/d = 0)
 * gives 0. */
static inline int round_away(float v)
{
    if (v != v)
        return 0;
    int i = (int)v;
    float frac = v - (float)i;
    return i + (frac >= 0.5f) - (frac <= -0.5f);
}

/* One block of 32 as llama.cpp quantises it: d = max|w| / 127, q = round(w / d). */
static void q8_block_from_f32(const float *x, bn_block_q8_0 *out)
{
    float amax = 0.0f;
    for (int i = 0; i < 32; i++) {
        float a = fabsf(x[i]);
        amax = a > amax ? a : amax;     /* maxss: no branch; NaN is skipped */
    }
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t dh = bn_f16_from_f32(d);
    memcpy(&out->d, &dh, 2);
    for (int i = 0; i < 32; i++)
        out->qs[i] = (int8_t)round_away(x[i] * id);
}

void bn_q8_from_f32_ref(const float *x, int64_t k, void *out)
{
    bn_block_q8_0 *b = out;
    for (int64_t i = 0; i < k / 32; i++)
        q8_block_from_f32(x + 32 * i, b + i);
}

void bn_q8_from_f16_ref(BN_Q8FROMF16_ARGS)
{
    bn_block_q8_0 *b = out;
    for (int64_t i = 0; i < k / 32; i++) {
        float x[32];
        for (int j = 0; j < 32; j++)
            x[j] = bn_f16_to_f32(w[32 * i + j]);
        q8_block_from_f32(x, b + i);
    }
}
