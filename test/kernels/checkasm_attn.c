/*
 * checkasm: attention of one head over the KV cache (attn) against
 * bn_attn_ref, F16 and F32 caches, head sizes on and off the 8/16-lane
 * paths, interleaved heads (kv_stride > one head).
 *
 * Tolerance (the kernels differ in summation order and FMA only; the
 * softmax is the shared scalar one):
 *   - a score s_p = scale * q.k_p is summed in sequence by the reference
 *     (hd roundings) and in lanes by a kernel (hd/8 + 4): they differ by at
 *     most D_p = (5hd/8 + 8) * FLT_EPSILON * scale * sum_i |q_i k_pi|
 *     (FLT_EPSILON = 2u: (1.25 hd + 16) u);
 *   - softmax turns score differences of at most D = max_p D_p into weight
 *     differences |da_p| <= a_p (2D + rounding of expf and the sum);
 *   - out_i = sum_p a_p v_pi, one chain of n_pos roundings each side.
 * So |got_i - want_i| <= (2.5 D + (n_pos + 8) * FLT_EPSILON) * sum_p a_p |v_pi|,
 * with a_p the reference's weights.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkasm.h"
#include "core/fp16.h"

#define GUARD 32
#define CANARY 0xa5a5a5a5u

static void fill_canary(float *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = CANARY;
        memcpy(&p[i], &u, sizeof u);
    }
}

static int canaries_ok(const float *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bn_ca_bits(p[i]) != CANARY)
            return 0;
    return 1;
}

/* element i of cache row p (F16 or F32) */
static double kv_at(const uint8_t *base, size_t stride, int f16, int p, int i)
{
    const uint8_t *row = base + (size_t)p * stride;
    if (f16) {
        uint16_t h;
        memcpy(&h, row + 2 * (size_t)i, 2);
        return bn_f16_to_f32(h);
    }
    float f;
    memcpy(&f, row + 4 * (size_t)i, 4);
    return f;
}

static void run_case(bn_ca *ca, int n_pos, int hd, int f16, int heads, float scale, long id)
{
    const size_t esz = f16 ? 2 : 4, stride = (size_t)heads * (size_t)hd * esz;
    /* this head is the last of `heads`: the cache rows end exactly at its end */
    const size_t off = (size_t)(heads - 1) * (size_t)hd * esz;
    const size_t kv_bytes = (size_t)n_pos * stride;
    uint8_t *kc = malloc(kv_bytes), *vc = malloc(kv_bytes), *kc_copy = malloc(kv_bytes), *vc_copy = malloc(kv_bytes);
    float *q = malloc(sizeof(float) * (size_t)hd), *q_copy = malloc(sizeof(float) * (size_t)hd);
    const size_t ns = GUARD + (size_t)n_pos + GUARD, no = GUARD + (size_t)hd + GUARD;
    float *s_ref = malloc(ns * sizeof(float)), *s_got = malloc(ns * sizeof(float));
    float *o_ref = malloc(no * sizeof(float)), *o_got = malloc(no * sizeof(float));
    if (!kc || !vc || !kc_copy || !vc_copy || !q || !q_copy || !s_ref || !s_got || !o_ref || !o_got)
        bn_ca_oom();
    for (int i = 0; i < hd; i++)
        q[i] = bn_ca_randf(-2.0f, 2.0f);
    for (size_t i = 0; i < kv_bytes / esz; i++) {
        const float a = bn_ca_randf(-2.0f, 2.0f), b = bn_ca_randf(-2.0f, 2.0f);
        if (f16) {
            const uint16_t ha = bn_f16_from_f32(a), hb = bn_f16_from_f32(b);
            memcpy(kc + 2 * i, &ha, 2);
            memcpy(vc + 2 * i, &hb, 2);
        } else {
            memcpy(kc + 4 * i, &a, 4);
            memcpy(vc + 4 * i, &b, 4);
        }
    }
    memcpy(kc_copy, kc, kv_bytes);
    memcpy(vc_copy, vc, kv_bytes);
    memcpy(q_copy, q, sizeof(float) * (size_t)hd);
    fill_canary(s_ref, ns);
    fill_canary(o_ref, no);
    bn_attn_ref(q, kc + off, vc + off, stride, n_pos, hd, scale, f16, s_ref + GUARD, o_ref + GUARD);

    /* tolerance per output element, from the reference's weights */
    double dmax = 0.0;
    for (int p = 0; p < n_pos; p++) {
        double m = 0.0;
        for (int i = 0; i < hd; i++)
            m += fabs((double)q[i] * kv_at(kc + off, stride, f16, p, i));
        m *= (double)(5 * hd / 8 + 8) * FLT_EPSILON * scale;
        dmax = m > dmax ? m : dmax;
    }
    char desc[160];
    snprintf(desc, sizeof desc, "case #%ld: n_pos=%d hd=%d %s cache, %d heads per row, scale %g", id, n_pos, hd,
             f16 ? "F16" : "F32", heads, (double)scale);

    for (int l = 0; l <= ca->max_level; l++) {
        if (l > 0 && ca->k[l].attn == ca->k[l - 1].attn)
            continue;
        ca->cases[BN_CA_ATTN][l]++;
        fill_canary(s_got, ns);
        fill_canary(o_got, no);
        ca->k[l].attn(q, kc + off, vc + off, stride, n_pos, hd, scale, f16, s_got + GUARD, o_got + GUARD);
        if (!canaries_ok(s_got, GUARD) || !canaries_ok(s_got + GUARD + n_pos, GUARD))
            bn_ca_fail(ca, BN_CA_ATTN, l, "%s: wrote outside scores[0, n_pos)", desc);
        if (!canaries_ok(o_got, GUARD) || !canaries_ok(o_got + GUARD + hd, GUARD))
            bn_ca_fail(ca, BN_CA_ATTN, l, "%s: wrote outside out[0, hd)", desc);
        for (int i = 0; i < hd; i++) {
            double mag = 0.0;
            for (int p = 0; p < n_pos; p++)
                mag += (double)s_ref[GUARD + p] * fabs(kv_at(vc + off, stride, f16, p, i));
            const double tol = (2.5 * dmax + (double)(n_pos + 8) * FLT_EPSILON) * mag;
            const double got = o_got[GUARD + i], want = o_ref[GUARD + i];
            if (bn_ca_within(ca, BN_CA_ATTN, l, got, want, tol))
                continue;
            bn_ca_fail(ca, BN_CA_ATTN, l, "%s: out[%d] = %a, want %a (tolerance %a)", desc, i, got, want, tol);
            break;
        }
        if (memcmp(kc, kc_copy, kv_bytes) || memcmp(vc, vc_copy, kv_bytes)
            || memcmp(q, q_copy, sizeof(float) * (size_t)hd))
            bn_ca_fail(ca, BN_CA_ATTN, l, "%s: modified its inputs", desc);
    }
    free(kc);
    free(vc);
    free(kc_copy);
    free(vc_copy);
    free(q);
    free(q_copy);
    free(s_ref);
    free(s_got);
    free(o_ref);
    free(o_got);
}

void bn_ca_check_attn(bn_ca *ca)
{
    /* head sizes: 2B4T's 128, the 16- and 8-lane paths, and neither */
    static const int hds[] = { 8, 12, 16, 24, 64, 128 };
    static const int poss[] = { 1, 2, 7, 33, 100, 513 };
    long id = 0;
    for (size_t ih = 0; ih < sizeof hds / sizeof hds[0]; ih++)
        for (size_t ip = 0; ip < sizeof poss / sizeof poss[0]; ip++)
            for (int f16 = 0; f16 < 2; f16++)
                for (int sv = 0; sv < 2; sv++, id++) {
                    if (ca->quick && id % 4)
                        continue;
                    /* 1/sqrt(hd) as the model does, or peaked (x8) */
                    const float scale = (sv ? 8.0f : 1.0f) / sqrtf((float)hds[ih]);
                    run_case(ca, poss[ip], hds[ih], f16, 1 + (int)(id % 3) * 2, scale, id);
                }
}
