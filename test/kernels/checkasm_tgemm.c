/*
 * checkasm: the ternary GEMV/GEMM entry against bn_tgemm_ref, bit for bit,
 * with each of the pack's scale forms (tpack.h): one per tensor, one per row,
 * one per row and chunk.
 *
 * Every variant computes the integer dot products exactly and then
 * (float)(dot - sum) * scale * x->scale[t] in that order, or with block
 * scales acc = fma((float)S_c, d_c, acc) over the chunks in order and
 * acc * x->scale[t] (kernels_ref.c, lib/arch/), and `y + v` in a separate
 * statement, so no rounding may differ: outputs are compared as bits,
 * including subnormal and huge results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkasm.h"

#define GUARD 64            /* floats of canary before and after y */
#define CANARY 0xa5a5a5a5u  /* a float no kernel computes here */

enum { W_ZERO, W_PLUS, W_MINUS, W_RANDOM, N_WPAT };
enum { A_MAX, A_MIN, A_RANDOM, A_ZERO_ROWS, A_EXTREMES, N_APAT };
enum { S_NORMAL, S_TINY_W, S_HUGE_W, S_SUBNORMAL_X, S_HUGE_X, S_NEGATIVE_W, S_ZERO_W, N_SPAT };
enum { F_TENSOR, F_ROW, F_BLOCK, N_FORM };

static const char *const wpat_names[N_WPAT] = { "all 0", "all +1", "all -1", "random" };
static const char *const apat_names[N_APAT] = { "all +127", "all -128", "random", "random, even tokens all 0",
                                                "random +127/-128" };
static const char *const spat_names[N_SPAT] = { "normal", "w 1e-30", "w 1e30", "x subnormal", "x 1e30",
                                                "w negative", "w 0" };
static const char *const form_names[N_FORM] = { "per tensor", "per row", "per block" };

typedef struct tcase {
    int64_t k, rows;
    int n_tok;
    int wpat, apat, spat, form, accumulate;
    int64_t tile0, tile1;
    size_t x_stride, y_stride;
    long id;
} tcase;

static void describe(const tcase *c, const bn_tpack *w, char *buf, size_t n)
{
    snprintf(buf, n,
             "case #%ld: K=%lld rows=%lld n_tok=%d tiles [%lld, %lld) of %lld x_stride=%zu y_stride=%zu "
             "accumulate=%d weights=%s acts=%s scales=%s %s (w->scale %a)",
             c->id, (long long)c->k, (long long)c->rows, c->n_tok, (long long)c->tile0, (long long)c->tile1,
             (long long)w->n_tiles, c->x_stride, c->y_stride, c->accumulate, wpat_names[c->wpat],
             apat_names[c->apat], spat_names[c->spat], form_names[c->form], (double)w->scale);
}

static uint8_t weight_code(int wpat)
{
    switch (wpat) {
    case W_ZERO: return 1;
    case W_PLUS: return 2;
    case W_MINUS: return 0;
    default: return (uint8_t)bn_ca_randn(3);
    }
}

static int8_t act_value(int apat)
{
    switch (apat) {
    case A_MAX: return 127;
    case A_MIN: return -128;
    case A_EXTREMES: return bn_ca_randn(2) ? 127 : -128;
    default: return (int8_t)(bn_ca_randn(256) - 128);
    }
}

static void scales(int spat, float *ws, float *xs, int n_tok)
{
    static const float wv[N_SPAT] = { 0, 1e-30f, 1e30f, 3.0f, 1e-3f, -0.5f, 0.0f };
    *ws = spat == S_NORMAL ? bn_ca_randf(0.01f, 2.0f) : wv[spat];
    for (int t = 0; t < n_tok; t++) {
        switch (spat) {
        case S_TINY_W: xs[t] = bn_ca_randf(1e-12f, 1e-8f); break;
        /* |dot| <= 128 * 8704: 1e30 * 100 * 1.2e6 stays below FLT_MAX */
        case S_HUGE_W: xs[t] = bn_ca_randf(1.0f, 100.0f); break;
        case S_SUBNORMAL_X: xs[t] = bn_ca_randf(1e-40f, 1e-39f); break;
        case S_HUGE_X: xs[t] = bn_ca_randf(1e29f, 1e30f); break;
        default: xs[t] = bn_ca_randf(1e-3f, 0.1f); break;
        }
    }
}

/* field by field: the struct has padding */
static int same_pack(const bn_tpack *a, const bn_tpack *b)
{
    return a->rows == b->rows && a->k == b->k && a->n_chunks == b->n_chunks && a->n_tiles == b->n_tiles
           && a->codes == b->codes && bn_ca_bits(a->scale) == bn_ca_bits(b->scale)
           && a->row_scales == b->row_scales && a->block_scales == b->block_scales && a->mem == b->mem
           && a->bytes == b->bytes;
}

/* Gives w row or block scales around the tensor scale ws (the sign and
 * magnitude of the case's pattern, a factor of 0.5 to 1.5, some 0), in
 * *owned (free it after w). Returns the number of floats. */
static size_t attach_scales(bn_tpack *w, int form, float ws, float **owned)
{
    const size_t n = form == F_ROW ? (size_t)w->n_tiles * BN_TP_ROWS
                     : form == F_BLOCK ? (size_t)(w->n_tiles * w->n_chunks) * BN_TP_ROWS
                                       : 0;
    *owned = NULL;
    if (!n)
        return 0;
    float *sc = malloc(n * sizeof *sc);
    if (!sc)
        bn_ca_oom();
    for (size_t i = 0; i < n; i++) {
        const int64_t row = form == F_ROW ? (int64_t)i : (int64_t)(i / ((size_t)w->n_chunks * BN_TP_ROWS)) * BN_TP_ROWS
                                                          + (int64_t)(i % BN_TP_ROWS);
        sc[i] = row >= w->rows || bn_ca_randn(8) == 0 ? 0.0f : ws * bn_ca_randf(0.5f, 1.5f);
    }
    if (form == F_ROW)
        w->row_scales = sc;
    else
        w->block_scales = sc;
    w->scale = 0.0f;
    *owned = sc;
    return n;
}

/* Runs one case at every level against the reference. */
static void run_case(bn_ca *ca, const tcase *c)
{
    const int kern = c->form == F_TENSOR ? BN_CA_TGEMM : c->form == F_ROW ? BN_CA_TGEMM_ROWS : BN_CA_TGEMM_BLOCKS;
    const int64_t kp = bn_tp_k_padded(c->k);
    char desc[512];
    uint8_t *codes = malloc((size_t)(c->rows * c->k));
    size_t xbytes = (size_t)(c->n_tok - 1) * c->x_stride + (size_t)kp;
    int8_t *xq = malloc(xbytes), *xq_copy = malloc(xbytes);
    float *xs = malloc(sizeof(float) * (size_t)c->n_tok);
    int32_t *sum = malloc(sizeof(int32_t) * (size_t)c->n_tok);
    size_t ny = GUARD + (size_t)c->n_tok * c->y_stride + GUARD;
    float *y_init = malloc(ny * sizeof(float)), *y_ref = malloc(ny * sizeof(float));
    float *y_got = malloc(ny * sizeof(float));
    uint8_t *written = calloc(ny, 1);
    uint8_t *codes_copy = malloc(bn_ca_packed_bytes(c->rows, c->k));
    float *xs_copy = malloc(sizeof(float) * (size_t)c->n_tok);
    int32_t *sum_copy = malloc(sizeof(int32_t) * (size_t)c->n_tok);
    if (!codes || !xq || !xq_copy || !xs || !sum || !y_init || !y_ref || !y_got || !written || !codes_copy
        || !xs_copy || !sum_copy)
        bn_ca_oom();

    for (int64_t i = 0; i < c->rows * c->k; i++)
        codes[i] = weight_code(c->wpat);
    float ws;
    scales(c->spat, &ws, xs, c->n_tok);
    bn_tpack w;
    if (bn_ca_tpack_from_codes(&w, codes, c->rows, c->k, ws))
        bn_ca_oom();
    float *wsc;
    const size_t n_wsc = attach_scales(&w, c->form, ws, &wsc);
    float *wsc_copy = n_wsc ? malloc(n_wsc * sizeof *wsc_copy) : NULL;
    if (n_wsc && !wsc_copy)
        bn_ca_oom();
    if (n_wsc)
        memcpy(wsc_copy, wsc, n_wsc * sizeof *wsc);

    /* activations: the gaps between rows get garbage (no kernel may use
     * them), the padding [k, kp) is zero as bn_qx promises */
    for (size_t i = 0; i < xbytes; i++)
        xq[i] = (int8_t)bn_ca_rand();
    for (int t = 0; t < c->n_tok; t++) {
        int8_t *row = xq + (size_t)t * c->x_stride;
        int zero = c->apat == A_ZERO_ROWS && t % 2 == 0;
        int32_t s = 0;
        for (int64_t i = 0; i < c->k; i++) {
            row[i] = zero ? 0 : act_value(c->apat);
            s += row[i];
        }
        memset(row + c->k, 0, (size_t)(kp - c->k));
        sum[t] = s;
    }
    const bn_qx x = { xq, c->x_stride, xs, sum };

    /* y: canary around and between the token rows; every logical element
     * starts from a random value (what `accumulate` adds to, and what the
     * rows outside the tile range must keep) */
    for (size_t i = 0; i < ny; i++) {
        uint32_t u = CANARY;
        memcpy(&y_init[i], &u, sizeof u);
    }
    for (int t = 0; t < c->n_tok; t++)
        for (int64_t r = 0; r < c->rows; r++) {
            size_t i = GUARD + (size_t)t * c->y_stride + (size_t)r;
            y_init[i] = bn_ca_randf(-4.0f, 4.0f);
            written[i] = r >= c->tile0 * BN_TP_ROWS && r < c->tile1 * BN_TP_ROWS;
        }

    memcpy(y_ref, y_init, ny * sizeof(float));
    bn_tgemm_ref(&w, c->tile0, c->tile1, &x, c->n_tok, y_ref + GUARD, c->y_stride, c->accumulate);

    memcpy(codes_copy, w.codes, w.bytes);
    memcpy(xq_copy, xq, xbytes);
    memcpy(xs_copy, xs, sizeof(float) * (size_t)c->n_tok);
    memcpy(sum_copy, sum, sizeof(int32_t) * (size_t)c->n_tok);
    const bn_tpack w_copy = w;
    const bn_qx x_copy = x;

    for (int l = 0; l <= ca->max_level; l++) {
        if (l > 0 && ca->k[l].tgemm == ca->k[l - 1].tgemm)
            continue;
        ca->cases[kern][l]++;
        memcpy(y_got, y_init, ny * sizeof(float));
        /* the scratch the level asks for, with a canary past its end */
        bn_qx xl = x;
        const size_t work_bytes = ca->k[l].tgemm_work ? ca->k[l].tgemm_work(kp) : 0;
        uint8_t *work = NULL;
        if (work_bytes) {
            work = bn_aligned_alloc(64, (work_bytes + GUARD + 63) / 64 * 64);
            if (!work)
                bn_ca_oom();
            memset(work, 0xa5, work_bytes + GUARD);
            xl.work = work;
            xl.work_bytes = work_bytes;
        }
        if (work && c->id % 2) {
            /* as a matmul node calls it: in two pieces of rows on the same
             * stamped activations, so that the second may reuse the scratch */
            const int64_t mid = c->tile0 + (c->tile1 - c->tile0) / 2;
            /* first, other activations at the same address under another
             * stamp: what they leave in the scratch must not be reused */
            for (size_t i = 0; i < xbytes; i++)
                xq[i] ^= 0x55;
            xl.stamp = (uint64_t)c->id + 2;
            ca->k[l].tgemm(&w, c->tile0, c->tile1, &xl, c->n_tok, y_got + GUARD, c->y_stride, c->accumulate);
            memcpy(xq, xq_copy, xbytes);
            memcpy(y_got, y_init, ny * sizeof(float));
            xl.stamp = (uint64_t)c->id + 1;
            ca->k[l].tgemm(&w, c->tile0, mid, &xl, c->n_tok, y_got + GUARD, c->y_stride, c->accumulate);
            ca->k[l].tgemm(&w, mid, c->tile1, &xl, c->n_tok, y_got + GUARD, c->y_stride, c->accumulate);
        } else {
            ca->k[l].tgemm(&w, c->tile0, c->tile1, &xl, c->n_tok, y_got + GUARD, c->y_stride, c->accumulate);
        }
        for (size_t i = work_bytes; work && i < work_bytes + GUARD; i++)
            if (work[i] != 0xa5) {
                describe(c, &w, desc, sizeof desc);
                bn_ca_fail(ca, kern, l, "%s: wrote past its %zu bytes of scratch", desc, work_bytes);
                break;
            }
        bn_aligned_free(work);

        for (size_t i = 0; i < ny; i++) {
            const float want = written[i] ? y_ref[i] : y_init[i];
            if (bn_ca_bits(y_got[i]) == bn_ca_bits(want))
                continue;
            describe(c, &w, desc, sizeof desc);
            if (i < GUARD || i >= ny - GUARD) {
                bn_ca_fail(ca, kern, l, "%s: wrote %s the output at y[%lld] (canary %08x, now %08x)", desc,
                           i < GUARD ? "before" : "after", (long long)i - GUARD, CANARY, bn_ca_bits(y_got[i]));
            } else {
                size_t o = i - GUARD, t = o / c->y_stride, r = o % c->y_stride;
                bn_ca_fail(ca, kern, l, "%s: y[t=%zu][r=%zu]%s = %a (bits %08x), want %a (bits %08x)", desc,
                           t, r, written[i] ? "" : " (not to be written)", (double)y_got[i], bn_ca_bits(y_got[i]),
                           (double)want, bn_ca_bits(want));
            }
            break;
        }
        if (memcmp(codes_copy, w.codes, w.bytes) || memcmp(xq_copy, xq, xbytes)
            || (n_wsc && memcmp(wsc_copy, wsc, n_wsc * sizeof *wsc))
            || memcmp(xs_copy, xs, sizeof(float) * (size_t)c->n_tok)
            || memcmp(sum_copy, sum, sizeof(int32_t) * (size_t)c->n_tok) || !same_pack(&w_copy, &w)
            || x_copy.q != x.q || x_copy.stride != x.stride || x_copy.scale != x.scale || x_copy.sum != x.sum) {
            describe(c, &w, desc, sizeof desc);
            bn_ca_fail(ca, kern, l, "%s: modified its inputs", desc);
        }
    }
    free(codes_copy);
    free(wsc);
    free(wsc_copy);
    free(xs_copy);
    free(sum_copy);
    bn_tpack_free(&w);
    free(codes);
    free(xq);
    free(xq_copy);
    free(xs);
    free(sum);
    free(y_init);
    free(y_ref);
    free(y_got);
    free(written);
}

/* tile range variants: all, an inner range, a random one */
static void tile_range(int v, int64_t n_tiles, int64_t *t0, int64_t *t1)
{
    *t0 = 0;
    *t1 = n_tiles;
    if (v == 1) {
        *t0 = n_tiles / 3 > 0 ? n_tiles / 3 : n_tiles > 1;
        *t1 = n_tiles - n_tiles / 3 > *t0 ? n_tiles - n_tiles / 3 : n_tiles;
    } else if (v == 2) {
        *t0 = bn_ca_randn(n_tiles);
        *t1 = *t0 + 1 + bn_ca_randn(n_tiles - *t0);
    }
}

/* One case of n tokens against long rows: random weights, normal scales,
 * the scale form and accumulate taken from n, tiles [tile0, tile1). */
static void run_long_rows(bn_ca *ca, long id, int64_t k, int64_t rows, int n, int apat, int64_t tile0,
                          int64_t tile1, size_t x_stride)
{
    tcase c = { 0 };
    c.k = k;
    c.rows = rows;
    c.n_tok = n;
    c.wpat = W_RANDOM;
    c.apat = apat;
    c.spat = S_NORMAL;
    c.form = n % N_FORM;
    c.accumulate = n % 2;
    c.id = id;
    c.tile0 = tile0;
    c.tile1 = tile1;
    c.x_stride = x_stride;
    c.y_stride = (size_t)rows;
    run_case(ca, &c);
}

void bn_ca_check_tgemm(bn_ca *ca)
{
    /* K: below, at and above one 256-chunk, 2B4T's 2560 and 6912, and
     * bitnet_b1_58-3B's n_ff 8640 (not a multiple of 128) */
    static const int64_t ks[] = { 1, 100, 255, 256, 257, 1000, 2560, 6912, 8640 };
    static const int64_t rows_list[] = { 1, 3, 4, 5, 17, 64 };
    /* decode, the 4-token groups and their rests, and the 16 x 16 tiles of
     * the AMX GEMM (from 8 tokens: one group, pairs, a lone last group) */
    static const int toks[] = { 1, 2, 4, 7, 9, 16, 33, 50 };
    static const int toks_quick[] = { 1, 5, 20 };
    static const int64_t ks_quick[] = { 1, 255, 257, 2560, 8640 };
    static const int64_t rows_quick[] = { 1, 5, 17 };
    /* (weights, activations) for the larger shapes: the extremes that reach
     * the int16 limit of vpmaddubsw (+1 x -128), the random ones, zeros */
    static const int big[][2] = { { W_RANDOM, A_RANDOM }, { W_RANDOM, A_ZERO_ROWS }, { W_RANDOM, A_EXTREMES },
                                  { W_PLUS, A_MIN }, { W_PLUS, A_MAX }, { W_MINUS, A_MIN },
                                  { W_MINUS, A_MAX }, { W_ZERO, A_RANDOM } };
    const int64_t *kl = ca->quick ? ks_quick : ks;
    const size_t nk = ca->quick ? sizeof ks_quick / sizeof ks_quick[0] : sizeof ks / sizeof ks[0];
    const int64_t *rl = ca->quick ? rows_quick : rows_list;
    const size_t nr = ca->quick ? sizeof rows_quick / sizeof rows_quick[0] : sizeof rows_list / sizeof rows_list[0];
    const int *tl = ca->quick ? toks_quick : toks;
    const size_t nt = ca->quick ? sizeof toks_quick / sizeof toks_quick[0] : sizeof toks / sizeof toks[0];
    long id = 0;

    for (size_t ik = 0; ik < nk; ik++)
        for (size_t ir = 0; ir < nr; ir++)
            for (size_t it = 0; it < nt; it++) {
                tcase c = { 0 };
                c.k = kl[ik];
                c.rows = rl[ir];
                c.n_tok = tl[it];
                const int64_t n_tiles = (c.rows + BN_TP_ROWS - 1) / BN_TP_ROWS;
                /* every (weights, activations) pair on small shapes, a
                 * selection on large ones */
                const int all = !ca->quick && c.rows * c.k * c.n_tok <= 64 * 1024;
                const int n_combos = all ? N_WPAT * N_APAT : ca->quick ? 4 : (int)(sizeof big / sizeof big[0]);
                for (int v = 0; v < n_combos; v++, id++) {
                    if (all) {
                        c.wpat = v % N_WPAT;
                        c.apat = v / N_WPAT;
                    } else {
                        c.wpat = big[ca->quick ? (v + (int)ir) % 8 : v][0];
                        c.apat = big[ca->quick ? (v + (int)ir) % 8 : v][1];
                    }
                    c.id = id;
                    c.spat = (int)(id % N_SPAT);
                    c.form = (int)(id / 2 % N_FORM);
                    c.accumulate = (int)(id / 3 % 2);
                    tile_range((int)(id % 3), n_tiles, &c.tile0, &c.tile1);
                    /* rows of x and y: packed, or with gaps (x: not a
                     * multiple of 64, to exercise unaligned loads) */
                    c.x_stride = (size_t)bn_tp_k_padded(c.k) + (id % 2 ? 32 : 0);
                    c.y_stride = (size_t)c.rows + (id % 4 ? (size_t)(1 + id % 5) : 0);
                    run_case(ca, &c);
                }
            }

    /* every batch size from 1 to 33 tokens (each rest of the kernels' 2-, 4-
     * and 8-token groups), odd row counts, with and without accumulate, each
     * scale form */
    static const int64_t every_k[] = { 257, 2560 }, every_rows[] = { 5, 19 };
    for (int n = 1; n <= 33; n += ca->quick ? 4 : 1)
        for (size_t ik = 0; ik < 2; ik++)
            for (size_t ir = 0; ir < 2; ir++)
                for (int acc = 0; acc < 2 * N_FORM; acc++, id++) {
                    tcase c = { 0 };
                    c.form = acc / 2;
                    c.k = every_k[ik];
                    c.rows = every_rows[ir];
                    c.n_tok = n;
                    c.wpat = W_RANDOM;
                    c.apat = acc % 2 ? A_EXTREMES : A_RANDOM;
                    c.spat = S_NORMAL;
                    c.accumulate = acc % 2;
                    c.id = id;
                    tile_range((int)(id % 3), (c.rows + BN_TP_ROWS - 1) / BN_TP_ROWS, &c.tile0, &c.tile1);
                    c.x_stride = (size_t)bn_tp_k_padded(c.k) + (id % 2 ? 48 : 0);
                    c.y_stride = (size_t)c.rows + (size_t)(id % 3);
                    run_case(ca, &c);
                }

    /* rows longer than the chunks whose activation sums a call keeps
     * (ternary_blocks_avx512.c: 128 chunks, K = 32768), each scale form */
    for (int n = 1; n <= 5; n++, id++) {
        const int64_t k = 32768 + 1000 * n;
        run_long_rows(ca, id, k, 5, n, A_RANDOM, 0, 2, (size_t)bn_tp_k_padded(k));
    }

    /* long rows taken in segments over blocks of many tiles (ternary_avx2.c;
     * ternary_avx512.c from K = 7169), with the partial sums a block keeps
     * between segments, from a tile range that starts and ends inside blocks */
    for (int n = 2; n <= 9; n += ca->quick ? 7 : 1, id++) {
        const int64_t k = n % 2 ? 6912 : 9000;
        run_long_rows(ca, id, k, 301, n, n % 3 ? A_RANDOM : A_EXTREMES, 3, 74, (size_t)bn_tp_x_stride(k));
    }

    /* random shapes: any tail of K, any partial tile, 4-token groups and rests */
    const int n_random = ca->quick ? 20 : 400;
    for (int i = 0; i < n_random; i++, id++) {
        tcase c = { 0 };
        c.k = 1 + bn_ca_randn(i % 4 ? 1100 : 9000);
        c.rows = 1 + bn_ca_randn(i % 3 ? 40 : 100);
        c.n_tok = 1 + (int)bn_ca_randn(i % 2 ? 10 : 70);
        c.wpat = (int)(id % 5 < N_WPAT ? id % 5 : W_RANDOM);
        c.apat = (int)bn_ca_randn(N_APAT);
        c.spat = (int)bn_ca_randn(N_SPAT);
        c.form = (int)bn_ca_randn(N_FORM);
        c.accumulate = (int)bn_ca_randn(2);
        c.id = id;
        tile_range((int)bn_ca_randn(3), (c.rows + BN_TP_ROWS - 1) / BN_TP_ROWS, &c.tile0, &c.tile1);
        c.x_stride = (size_t)bn_tp_k_padded(c.k) + (size_t)bn_ca_randn(3) * 16;
        c.y_stride = (size_t)c.rows + (size_t)bn_ca_randn(3);
        run_case(ca, &c);
    }
}
