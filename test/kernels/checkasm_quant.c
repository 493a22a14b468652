/*
 * checkasm: activation quantisation against bn_quant_ref, bit for bit (q,
 * the sum and the returned 1/gamma), with the padding [n, n_padded) zero and
 * nothing written past n_padded.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkasm.h"

#define GUARD 64        /* bytes of canary before and after q */
#define CANARY 0xa5

enum { V_RANDOM, V_TIES, V_ZERO, V_TINY, V_LARGE, V_MIXED, N_VPAT };
static const char *const vpat_names[N_VPAT] = { "random", "exact .5 ties", "all zero", "tiny (max < 1e-5)",
                                                "large", "mixed magnitudes, subnormals, -0" };

static void fill(float *x, int64_t n, int vpat)
{
    switch (vpat) {
    case V_TIES: {
        /* max|x| = 127, 63.5 or 254 gives gamma = 1, 2 or 0.5 exactly;
         * (j + 0.5) / gamma then scales to an exact tie */
        static const float gammas[3] = { 1.0f, 2.0f, 0.5f };
        const float g = gammas[bn_ca_randn(3)];
        for (int64_t i = 0; i < n; i++)
            x[i] = ((float)(bn_ca_randn(254) - 127) + 0.5f) / g;
        x[bn_ca_randn(n)] = (bn_ca_randn(2) ? 127.0f : -127.0f) / g;
        break;
    }
    case V_ZERO:
        memset(x, 0, sizeof(float) * (size_t)n);
        break;
    case V_TINY:
        for (int64_t i = 0; i < n; i++)
            x[i] = bn_ca_randf(-9.9e-6f, 9.9e-6f);
        break;
    case V_LARGE:
        for (int64_t i = 0; i < n; i++)
            x[i] = bn_ca_randf(-1e30f, 1e30f);
        x[bn_ca_randn(n)] = bn_ca_randn(2) ? FLT_MAX : -FLT_MAX;
        break;
    case V_MIXED:
        for (int64_t i = 0; i < n; i++) {
            static const float mags[] = { 1e-40f, 1e-20f, 1e-3f, 1.0f, 1e3f, 0.0f };
            x[i] = bn_ca_randf(-1.0f, 1.0f) * mags[bn_ca_randn(6)];
            if (bn_ca_randn(16) == 0)
                x[i] = -0.0f;
        }
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            x[i] = bn_ca_randf(-5.0f, 5.0f);
        break;
    }
}

static void run_case(bn_ca *ca, int64_t n, int64_t n_padded, int vpat, long id)
{
    float *x = malloc(sizeof(float) * (size_t)n), *x_copy = malloc(sizeof(float) * (size_t)n);
    const size_t nq = GUARD + (size_t)n_padded + GUARD;
    int8_t *q_ref = malloc(nq), *q_got = malloc(nq);
    if (!x || !x_copy || !q_ref || !q_got)
        bn_ca_oom();
    fill(x, n, vpat);
    memcpy(x_copy, x, sizeof(float) * (size_t)n);
    memset(q_ref, CANARY, nq);
    int32_t sum_ref = 0x5a5a5a5a;
    const float s_ref = bn_quant_ref(x, n, n_padded, q_ref + GUARD, &sum_ref);

    for (int l = 0; l <= ca->max_level; l++) {
        if (l > 0 && ca->k[l].quant == ca->k[l - 1].quant)
            continue;
        ca->cases[BN_CA_QUANT][l]++;
        memset(q_got, CANARY, nq);
        int32_t sum = 0x5a5a5a5a;
        const float s = ca->k[l].quant(x, n, n_padded, q_got + GUARD, &sum);
        char desc[160];
        snprintf(desc, sizeof desc, "case #%ld: n=%lld n_padded=%lld values %s", id, (long long)n,
                 (long long)n_padded, vpat_names[vpat]);
        for (size_t i = 0; i < nq; i++) {
            const long long at = (long long)i - GUARD;
            if (i < GUARD || i >= GUARD + (size_t)n_padded) {
                if ((uint8_t)q_got[i] != CANARY) {
                    bn_ca_fail(ca, BN_CA_QUANT, l, "%s: wrote q[%lld], outside [0, n_padded)", desc, at);
                    break;
                }
            } else if (at >= n && q_got[i] != 0) {
                bn_ca_fail(ca, BN_CA_QUANT, l, "%s: padding q[%lld] = %d, want 0", desc, at, q_got[i]);
                break;
            } else if (q_got[i] != q_ref[i]) {
                bn_ca_fail(ca, BN_CA_QUANT, l, "%s: q[%lld] = %d, want %d (x = %a, 1/gamma %a)", desc, at, q_got[i],
                           q_ref[i], (double)x[at], (double)s_ref);
                break;
            }
        }
        if (sum != sum_ref || bn_ca_bits(s) != bn_ca_bits(s_ref))
            bn_ca_fail(ca, BN_CA_QUANT, l, "%s: sum %d, 1/gamma %a; want %d, %a", desc, sum, (double)s, sum_ref,
                       (double)s_ref);
        if (memcmp(x, x_copy, sizeof(float) * (size_t)n))
            bn_ca_fail(ca, BN_CA_QUANT, l, "%s: modified its input", desc);
    }
    free(x);
    free(x_copy);
    free(q_ref);
    free(q_got);
}

void bn_ca_check_quant(bn_ca *ca)
{
    static const int64_t big[] = { 2560, 6912, 8640 };
    long id = 0;
    for (int64_t n = 1; n <= 70; n++)
        for (int v = 0; v < N_VPAT; v++) {
            if (ca->quick && (n + v) % 4)
                continue;
            /* padded to the chunk as the graph does, or not at all */
            run_case(ca, n, (n + v) % 3 ? bn_tp_k_padded(n) : n, v, id++);
        }
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        for (int v = 0; v < N_VPAT; v++)
            run_case(ca, big[i], bn_tp_k_padded(big[i]) + (v == 0 ? 256 : 0), v, id++);
}
