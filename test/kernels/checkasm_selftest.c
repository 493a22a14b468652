/*
 * checkasm --self-test: proves that the checks catch broken kernels. A fake
 * level 1 whose entries wrap the references with one typical bug each
 * (wrong tail, write past the output, ignored tile0, lost rounding mode,
 * dirty padding, sloppy float sum) must make every family fail.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "checkasm.h"

static int mode;

enum { BAD_TAIL, BAD_WRITE_PAST, BAD_TILE0, BAD_MODIFIES_INPUT, BAD_TIES, BAD_PADDING, BAD_F16_SUM,
       BAD_F16_ROW0, BAD_Q8_LAST_BLOCK, BAD_ATTN_SCALE, BAD_ATTN_SCORES_PAST, N_BAD };
static const char *const bad_names[N_BAD] = {
    "tgemm: last weight of each row ignored", "tgemm: writes one float past the last row",
    "tgemm: starts at tile 0", "tgemm: scribbles on its activations", "quant: ties rounded away from zero",
    "quant: padding not cleared", "f16gemm: sum off by 1e-4", "f16gemm: starts at row 0",
    "q8gemm: rows one block short", "attn: scale off by 1e-3", "attn: writes scores[n_pos]",
};

static void bad_tgemm(BN_TGEMM_ARGS)
{
    if (mode == BAD_TILE0)
        tile0 = 0;
    if (mode != BAD_TAIL) {
        bn_tgemm_ref(w, tile0, tile1, x, n_tok, y, y_stride, accumulate);
        if (mode == BAD_WRITE_PAST && tile1 == w->n_tiles)
            y[(size_t)(n_tok - 1) * y_stride + (size_t)w->rows] = 1.0f;
        if (mode == BAD_MODIFIES_INPUT && w->k > 1)
            ((int8_t *)(uintptr_t)x->q)[w->k - 1] ^= 1;
        return;
    }
    /* the reference on activations whose last weight's column is zeroed */
    static int8_t q[16 * 9000];
    static int32_t sum[16];
    if (n_tok > 16 || x->stride > 9000) {
        bn_tgemm_ref(w, tile0, tile1, x, n_tok, y, y_stride, accumulate);
        return;
    }
    memcpy(q, x->q, (size_t)(n_tok - 1) * x->stride + (size_t)bn_tp_k_padded(w->k));
    for (int t = 0; t < n_tok; t++) {
        sum[t] = x->sum[t] - q[(size_t)t * x->stride + (size_t)w->k - 1];
        q[(size_t)t * x->stride + (size_t)w->k - 1] = 0;
    }
    const bn_qx xx = { q, x->stride, x->scale, sum };
    bn_tgemm_ref(w, tile0, tile1, &xx, n_tok, y, y_stride, accumulate);
}

static float bad_quant(BN_QUANT_ARGS)
{
    float s = bn_quant_ref(x, n, n_padded, q, sum);
    if (mode == BAD_PADDING && n_padded > n)
        q[n_padded - 1] = 1;
    if (mode == BAD_TIES) {
        float gamma = 1.0f / s;
        int32_t total = 0;
        for (int64_t i = 0; i < n; i++) {
            float v = roundf(x[i] * gamma);
            v = v > 127.0f ? 127.0f : v < -128.0f ? -128.0f : v;
            q[i] = (int8_t)v;
            total += q[i];
        }
        *sum = total;
    }
    return s;
}

static void bad_f16gemm(BN_F16GEMM_ARGS)
{
    bn_f16gemm_ref(w, k, mode == BAD_F16_ROW0 ? 0 : r0, r1, x, x_stride, n_tok, y, y_stride);
    if (mode == BAD_F16_SUM)
        for (int t = 0; t < n_tok; t++)
            for (int64_t r = r0; r < r1; r++)
                y[(size_t)t * y_stride + (size_t)r] = y[(size_t)t * y_stride + (size_t)r] * 1.0001f + 1e-4f;
}

static void bad_q8gemm(BN_Q8GEMM_ARGS)
{
    bn_q8gemm_ref(w, k > 32 ? k - 32 : k, r0, r1, x, x_stride, n_tok, y, y_stride);
}

static void bad_attn(BN_ATTN_ARGS)
{
    if (mode == BAD_ATTN_SCORES_PAST)
        scores[n_pos] = 0.0f;
    bn_attn_ref(q, k, v, kv_stride, n_pos, hd, mode == BAD_ATTN_SCALE ? scale * 1.001f : scale, kv_f16, scores, out);
}

int bn_ca_self_test(bn_ca *ca)
{
    int missed = 0;
    for (mode = 0; mode < N_BAD; mode++) {
        bn_ca t;
        memset(&t, 0, sizeof t);
        t.quick = 1;
        t.max_level = 1;
        bn_kernels_init(&t.k[0], 0);
        t.k[1] = t.k[0];
        t.k[1].name = "broken";
        t.k[1].tgemm = bad_tgemm;
        t.k[1].quant = bad_quant;
        t.k[1].f16gemm = bad_f16gemm;
        t.k[1].q8gemm = bad_q8gemm;
        t.k[1].attn = bad_attn;
        bn_ca_srand(ca->seed);
        t.quiet = 1;    /* failures of the broken level are expected */
        if (mode <= BAD_MODIFIES_INPUT)
            bn_ca_check_tgemm(&t);
        else if (mode <= BAD_PADDING)
            bn_ca_check_quant(&t);
        else if (mode <= BAD_F16_ROW0)
            bn_ca_check_f16gemm(&t);
        else if (mode == BAD_Q8_LAST_BLOCK)
            bn_ca_check_q8gemm(&t);
        else
            bn_ca_check_attn(&t);
        long fails = 0, ref_fails = 0;
        for (int kern = 0; kern < BN_CA_N_KERNELS; kern++) {
            fails += t.fails[kern][1];
            ref_fails += t.fails[kern][0];
        }
        printf("self-test: %-45s %s (%ld failing cases)\n", bad_names[mode],
               fails && !ref_fails ? "caught" : "MISSED", fails);
        missed += !fails || ref_fails;
    }
    return missed ? 1 : 0;
}
