/*
 * checkasm: the float-weight products (output projection) against their
 * references: F16 x F32 (f16gemm vs bn_f16gemm_ref) and Q8_0 x F32 (q8gemm
 * vs bn_q8gemm_ref). Lanes and FMA differ from the references' eight partial
 * sums, so results agree within rounding only. Tolerance, from the error
 * bound of recursive summation (Higham: |err| <= gamma_m sum|w_i x_i|, m the
 * longest chain of roundings):
 *   - F16: the reference's chains are at most K/8 + 4 long, a 16-lane (or
 *     2 x 8-lane) FMA kernel's at most K/16 + 20 (reduction tree, a scalar
 *     tail of up to 15), so they differ by at most (3K/16 + 24) u
 *     sum|w_i x_i|; we allow (K/8 + 12) * FLT_EPSILON * sum|w_i x_i|
 *     (FLT_EPSILON = 2u: (K/4 + 24) u).
 *   - Q8_0: the reference sums K/32 block results in sequence (each 4 + 3
 *     + 1 roundings deep), a kernel one FMA chain per lane over the blocks
 *     plus the scale product and its reduction: (K/16 + 16) u together; we
 *     allow (K/16 + 12) * FLT_EPSILON * sum|q_i d x_i|.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkasm.h"
#include "core/fp16.h"
#include "gguf/gguf_types.h"

#define GUARD 64
#define CANARY 0xa5a5a5a5u

enum { F16, Q8, Q4 };

/* weight i of row r, as a float (F16, Q8_0's q * d, Q4_0's (q - 8) * d) */
static double weight(int type, const uint8_t *w, int64_t k, int64_t r, int64_t i)
{
    if (type == F16)
        return bn_f16_to_f32(((const uint16_t *)(const void *)w)[r * k + i]);
    if (type == Q4) {
        const uint8_t *b = w + (size_t)((r * k + i) / 32) * 18;
        const int j = (int)(i % 32), nib = j < 16 ? b[2 + j] & 15 : b[2 + j - 16] >> 4;
        return (double)(nib - 8) * bn_f16_to_f32((uint16_t)(b[0] | b[1] << 8));
    }
    const uint8_t *b = w + (size_t)((r * k + i) / 32) * 34;
    return (double)(int8_t)b[2 + i % 32] * bn_f16_to_f32((uint16_t)(b[0] | b[1] << 8));
}

static void fill_weights(int type, uint8_t *w, size_t nw)
{
    if (type == Q4) {
        /* blocks of 32: f16 d (small, sometimes 0), 16 bytes of nibbles */
        for (size_t b = 0; b < nw / 32; b++) {
            uint8_t *blk = w + b * 18;
            uint16_t d = bn_ca_randn(16) ? bn_f16_from_f32(bn_ca_randf(-0.05f, 0.05f)) : 0;
            blk[0] = (uint8_t)(d & 0xff);
            blk[1] = (uint8_t)(d >> 8);
            for (int i = 0; i < 16; i++)
                blk[2 + i] = (uint8_t)bn_ca_rand();
        }
        return;
    }
    if (type == Q8) {
        /* blocks of 32: f16 d (small, sometimes 0), 32 int8 (-128..127) */
        for (size_t b = 0; b < nw / 32; b++) {
            uint8_t *blk = w + b * 34;
            uint16_t d = bn_ca_randn(16) ? bn_f16_from_f32(bn_ca_randf(1e-4f, 0.05f)) : 0;
            blk[0] = (uint8_t)(d & 0xff);
            blk[1] = (uint8_t)(d >> 8);
            for (int i = 0; i < 32; i++)
                blk[2 + i] = (uint8_t)bn_ca_rand();
        }
        return;
    }
    uint16_t *h = (uint16_t *)(void *)w;
    for (size_t i = 0; i < nw; i++) {
        /* mostly normal halves, some subnormal, some zero */
        const int kind = (int)bn_ca_randn(16);
        h[i] = kind == 0 ? (uint16_t)(bn_ca_randn(0x400) | (bn_ca_randn(2) << 15))
               : kind == 1 ? 0
                           : bn_f16_from_f32(bn_ca_randf(-2.0f, 2.0f));
    }
}

static void run_case(bn_ca *ca, int type, int64_t k, int64_t rows, int64_t r0, int n_tok, size_t x_stride,
                     size_t y_stride, long id)
{
    const int q8 = type == Q8, q4 = type == Q4;
    const int kern = q8 ? BN_CA_Q8GEMM : q4 ? BN_CA_Q4GEMM : BN_CA_F16GEMM;
    const size_t nw = (size_t)(rows * k), nx = (size_t)(n_tok - 1) * x_stride + (size_t)k;
    const size_t wbytes = q8 ? nw / 32 * 34 : q4 ? nw / 32 * 18 : nw * 2;
    const size_t ny = GUARD + (size_t)n_tok * y_stride + GUARD;
    uint8_t *w = malloc(wbytes), *w_copy = malloc(wbytes);
    float *x = malloc(nx * sizeof(float)), *x_copy = malloc(nx * sizeof(float));
    float *y_init = malloc(ny * sizeof(float)), *y_ref = malloc(ny * sizeof(float));
    float *y_got = malloc(ny * sizeof(float)), *tol = calloc(ny, sizeof(float));
    float *tol_x16 = calloc(ny, sizeof(float)), *y_simd = malloc(ny * sizeof(float));
    uint8_t *written = calloc(ny, 1);
    int simd_level = -1;
    if (!w || !w_copy || !x || !x_copy || !y_init || !y_ref || !y_got || !tol || !tol_x16 || !written || !y_simd)
        bn_ca_oom();
    fill_weights(type, w, nw);
    for (size_t i = 0; i < nx; i++)
        x[i] = bn_ca_randf(-4.0f, 4.0f);
    /* some cases: a wide range inside each block (one large value, the rest
     * tiny), or a block of zeros, for the kernels that round x per block */
    for (size_t i = 0; id % 3 == 2 && i < nx; i++)
        x[i] = i % 32 == 5 ? 1e3f : i % 64 < 32 ? 0.0f : bn_ca_randf(-1e-3f, 1e-3f);
    memcpy(w_copy, w, wbytes);
    memcpy(x_copy, x, nx * sizeof(float));
    for (size_t i = 0; i < ny; i++) {
        uint32_t u = CANARY;
        memcpy(&y_init[i], &u, sizeof u);
    }
    for (int t = 0; t < n_tok; t++)
        for (int64_t r = 0; r < rows; r++) {
            const size_t i = GUARD + (size_t)t * y_stride + (size_t)r;
            y_init[i] = bn_ca_randf(-1.0f, 1.0f);
            written[i] = r >= r0;
            double mag = 0.0;
            for (int64_t j = 0; j < k; j++)
                mag += fabs(weight(type, w, k, r, j) * x[(size_t)t * x_stride + (size_t)j]);
            /* Q4_0: x is rounded the same way at every level (the integers
             * agree exactly); |q * d_x| exceeds |x| by at most half a step */
            for (int64_t b = 0; q4 && b < k / 32; b++) {
                double xmax = 0.0, wsum = 0.0;
                for (int64_t j = 32 * b; j < 32 * b + 32; j++) {
                    xmax = fmax(xmax, fabs(x[(size_t)t * x_stride + (size_t)j]));
                    wsum += fabs(weight(type, w, k, r, j));
                }
                mag += 0.5001 * xmax / 127.0 * wsum;
            }
            tol[i] = (float)((double)(q8 || q4 ? k / 16 + 12 : k / 8 + 12) * FLT_EPSILON * mag);
            /* x rounded to int16 per block: each element off by at most half
             * a step (max|x_block| / 32767), plus a little for the rounding
             * of the step itself */
            for (int64_t b = 0; q8 && b < k / 32; b++) {
                double xmax = 0.0, wsum = 0.0;
                for (int64_t j = 32 * b; j < 32 * b + 32; j++) {
                    xmax = fmax(xmax, fabs(x[(size_t)t * x_stride + (size_t)j]));
                    wsum += fabs(weight(type, w, k, r, j));
                }
                tol_x16[i] += (float)(0.5001 * xmax / 32767.0 * wsum);
            }
        }
    memcpy(y_ref, y_init, ny * sizeof(float));
    if (q8)
        bn_q8gemm_ref(w, k, r0, rows, x, x_stride, n_tok, y_ref + GUARD, y_stride);
    else if (q4)
        bn_q4gemm_ref(w, k, r0, rows, x, x_stride, n_tok, y_ref + GUARD, y_stride);
    else
        bn_f16gemm_ref((const uint16_t *)(const void *)w, k, r0, rows, x, x_stride, n_tok, y_ref + GUARD, y_stride);

    for (int l = 0; l <= ca->max_level; l++) {
        if (l > 0 && (q8 ? ca->k[l].q8gemm == ca->k[l - 1].q8gemm
                      : q4 ? ca->k[l].q4gemm == ca->k[l - 1].q4gemm
                           : ca->k[l].f16gemm == ca->k[l - 1].f16gemm))
            continue;
        ca->cases[kern][l]++;
        memcpy(y_got, y_init, ny * sizeof(float));
        if (q8)
            ca->k[l].q8gemm(w, k, r0, rows, x, x_stride, n_tok, y_got + GUARD, y_stride);
        else if (q4)
            ca->k[l].q4gemm(w, k, r0, rows, x, x_stride, n_tok, y_got + GUARD, y_stride);
        else
            ca->k[l].f16gemm((const uint16_t *)(const void *)w, k, r0, rows, x, x_stride, n_tok, y_got + GUARD,
                             y_stride);
        char desc[160];
        snprintf(desc, sizeof desc, "case #%ld: K=%lld rows [%lld, %lld) n_tok=%d x_stride=%zu y_stride=%zu", id,
                 (long long)k, (long long)r0, (long long)rows, n_tok, x_stride, y_stride);
        const int x16 = q8 && ca->k[l].q8_x_bits == 16;
        for (size_t i = 0; i < ny; i++) {
            if (written[i] ? bn_ca_within(ca, kern, l, y_got[i], y_ref[i], x16 ? tol[i] + tol_x16[i] : tol[i])
                           : bn_ca_bits(y_got[i]) == bn_ca_bits(y_init[i]))
                continue;
            if (i < GUARD || i >= ny - GUARD) {
                bn_ca_fail(ca, kern, l, "%s: wrote %s the output at y[%lld]", desc,
                           i < GUARD ? "before" : "after", (long long)i - GUARD);
            } else {
                const size_t o = i - GUARD;
                bn_ca_fail(ca, kern, l, "%s: y[t=%zu][r=%zu]%s = %a, want %a (tolerance %a)", desc,
                           o / y_stride, o % y_stride, written[i] ? "" : " (not to be written)", (double)y_got[i],
                           (double)(written[i] ? y_ref[i] : y_init[i]), (double)(x16 ? tol[i] + tol_x16[i] : tol[i]));
            }
            break;
        }
        if (memcmp(w, w_copy, wbytes) || memcmp(x, x_copy, nx * sizeof(float)))
            bn_ca_fail(ca, kern, l, "%s: modified its inputs", desc);
        /* every SIMD level gives the first one's bits (the lanes and their
         * reduction are fixed per architecture: lib/arch/x86_64/reduce_x86.h),
         * so that the library may choose the kernel per CPU */
        if (l > 0 && simd_level < 0) {
            simd_level = l;
            memcpy(y_simd, y_got, ny * sizeof(float));
        } else if (l > 0) {
            for (size_t i = 0; i < ny; i++)
                if (bn_ca_bits(y_got[i]) != bn_ca_bits(y_simd[i])) {
                    bn_ca_fail(ca, kern, l, "%s: y[%lld] = %a, but %s gives %a", desc, (long long)i - GUARD,
                               (double)y_got[i], ca->k[simd_level].name, (double)y_simd[i]);
                    break;
                }
        }
        /* a token's result must not depend on the batch it comes in: the
         * same kernel token by token gives the same bits */
        for (int t = 0; t < n_tok && n_tok > 1; t++) {
            float one[16];      /* rows <= 9 */
            if (q8)
                ca->k[l].q8gemm(w, k, r0, rows, x + (size_t)t * x_stride, x_stride, 1, one, 0);
            else if (q4)
                ca->k[l].q4gemm(w, k, r0, rows, x + (size_t)t * x_stride, x_stride, 1, one, 0);
            else
                ca->k[l].f16gemm((const uint16_t *)(const void *)w, k, r0, rows, x + (size_t)t * x_stride,
                                 x_stride, 1, one, 0);
            for (int64_t r = r0; r < rows; r++)
                if (bn_ca_bits(one[r]) != bn_ca_bits(y_got[GUARD + (size_t)t * y_stride + (size_t)r])) {
                    bn_ca_fail(ca, kern, l, "%s: token %d row %lld alone gives %a, in the batch %a", desc, t,
                               (long long)r, (double)one[r], (double)y_got[GUARD + (size_t)t * y_stride + (size_t)r]);
                    break;
                }
        }
    }
    free(w);
    free(w_copy);
    free(x);
    free(x_copy);
    free(y_init);
    free(y_ref);
    free(y_got);
    free(tol);
    free(tol_x16);
    free(y_simd);
    free(written);
}

static void check(bn_ca *ca, int type, const int64_t *ks, size_t nk)
{
    long id = 0;
    for (size_t ik = 0; ik < nk; ik++)
        for (int64_t rows = 1; rows <= 9; rows++)
            for (int n_tok = 1; n_tok <= 9; n_tok += n_tok < 5 ? 1 : 4) {
                if (ca->quick && (rows + n_tok + (int64_t)ik) % 3)
                    continue;
                /* rows [0, rows) or [1, rows); rows of x and y packed or with gaps */
                const int64_t r0 = id % 2 && rows > 1 ? 1 : 0;
                run_case(ca, type, ks[ik], rows, r0, n_tok, (size_t)ks[ik] + (size_t)(id % 3 == 1 ? 3 : 0),
                         (size_t)rows + (size_t)(id % 4 == 2 ? 2 : 0), id);
                id++;
            }
}

void bn_ca_check_f16gemm(bn_ca *ca)
{
    /* K around the 8/16-lane loops and their tails, and 2B4T's n_embd */
    static const int64_t ks[] = { 1, 2, 7, 8, 15, 16, 17, 31, 33, 100, 2560 };
    check(ca, F16, ks, sizeof ks / sizeof ks[0]);
}

void bn_ca_check_q8gemm(bn_ca *ca)
{
    /* whole Q8_0 blocks of 32: fewer than, exactly and more than the 16
     * blocks of a step, 2B4T's n_embd, and at and past the longest row the
     * AVX-512 kernel quantises on its stack (8192) */
    static const int64_t ks[] = { 32, 64, 96, 160, 512, 544, 2560, 8192, 8224 };
    check(ca, Q8, ks, sizeof ks / sizeof ks[0]);
}

void bn_ca_check_q4gemm(bn_ca *ca)
{
    /* whole blocks: one (the odd tail of the two-block step), two, three,
     * 2B4T's n_embd, and at and past the longest row rounded on the stack */
    static const int64_t ks[] = { 32, 64, 96, 160, 2560, 8192, 8224 };
    check(ca, Q4, ks, sizeof ks / sizeof ks[0]);
}
