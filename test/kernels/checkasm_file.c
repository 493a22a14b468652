/*
 * checkasm: the packing. Random codes are encoded into the file layouts
 * (I2_S, TQ2_0, TQ1_0) by this test's own encoders, written from
 * FORMATS.md; then
 *   - bn_ternary_code_at (the format oracle) must give back every code, and
 *     bn_ternary_scale_at the scale;
 *   - bn_tpack_make must produce the bytes of tpack.h's layout (compared
 *     with the test's own packer; blocks whose scale is 0 as zero weights)
 *     and the simplest scale form that holds the file's scales: one per
 *     tensor, per row, or per row and chunk, decided here independently;
 *   - the table's tgemm at every level on the packed tensor must give the
 *     file layout's dot products of lib/kernels/matmul.h, scaled as
 *     matmul.c does, and every level the same bits as the reference.
 *
 * Tolerances: the integer sums are the same; only the order of the scale
 * products differs.
 *   - I2_S: the file path computes ((D * s) * xs) * out, the packed one
 *     (D * (s * out)) * xs. With out = 1 both are the same operations: bit
 *     for bit. Otherwise each side rounds at most 3 times: |diff| <=
 *     4 * FLT_EPSILON * |y| (FLT_EPSILON = 2u) covers 6u with room.
 *   - TQ (one scale d for the tensor): the file path sums per-block products
 *     fl(S_b * d) in float over n_b blocks, the packed one scales the exact
 *     integer sum once. Both errors are below (n_b + 3) u sum_b |S_b d| xs
 *     |out| (recursive summation), so |diff| <= (n_b + 4) * FLT_EPSILON *
 *     sum_b |S_b| |d| xs |out|.
 *   - TQ with row scales: the same bound. With block scales the packed
 *     side folds fma(S_b, d_b, acc) (one rounding per block instead of two)
 *     and multiplies by xs and out once: the same bound holds.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkasm.h"
#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "kernels/matmul.h"

#define N_TOK_MAX 3

/* ---- encoders (FORMATS.md) ------------------------------------------------ */

/* I2_S: one flat array of n weights, blocks of 128 in 32 bytes: byte j of
 * block b holds 128b+j (bits 7:6), +32 (5:4), +64 (3:2), +96 (1:0); then the
 * f32 scale at n/4; n/4 + 32 bytes in all. */
static uint8_t *enc_i2s(const uint8_t *codes, int64_t n, float scale, size_t *bytes)
{
    *bytes = (size_t)n / 4 + 32;
    uint8_t *d = calloc(*bytes, 1);
    if (!d)
        return NULL;
    for (int64_t e = 0; e < n; e++) {
        int64_t b = e / 128, j = e % 128;
        d[b * 32 + j % 32] |= (uint8_t)(codes[e] << (6 - 2 * (j / 32)));
    }
    memcpy(d + n / 4, &scale, 4);
    return d;
}

static void put_f16(uint8_t *p, uint16_t h)
{
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

/* TQ2_0: per row, 66-byte blocks of 256: qs[64] then f16 d. Chunk h of 128
 * weights: byte 32h+m holds weight 128h + 32l + m in bits 2l+1:2l. */
static uint8_t *enc_tq2(const uint8_t *codes, int64_t rows, int64_t k, const uint16_t *d, size_t *bytes)
{
    const int64_t nb = k / 256;
    *bytes = (size_t)(rows * nb) * 66;
    uint8_t *out = calloc(*bytes, 1);
    if (!out)
        return NULL;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *blk = out + (r * nb + b) * 66;
            const uint8_t *c = codes + r * k + b * 256;
            for (int i = 0; i < 256; i++)
                blk[32 * (i / 128) + i % 32] |= (uint8_t)(c[i] << (2 * (i % 128 / 32)));
            put_f16(blk + 64, d[r * nb + b]);
        }
    return out;
}

/* five trits, first most significant, as the byte ceil(q * 256 / 243) */
static uint8_t pack_trits(const uint8_t *c, int n)
{
    unsigned q = 0;
    for (int i = 0; i < 5; i++)
        q = q * 3 + (i < n ? c[i] : 0);
    return (uint8_t)((q * 256 + 242) / 243);
}

/* TQ1_0: per row, 54-byte blocks of 256: qs[48], qh[4], f16 d. qs[m] (m <
 * 32) packs x[m + 32t], qs[32+m] (m < 16) x[160 + m + 16t], qh[j] x[240 + j
 * + 4t] (t < 4) and a trailing 0. */
static uint8_t *enc_tq1(const uint8_t *codes, int64_t rows, int64_t k, const uint16_t *d, size_t *bytes)
{
    const int64_t nb = k / 256;
    *bytes = (size_t)(rows * nb) * 54;
    uint8_t *out = calloc(*bytes, 1);
    if (!out)
        return NULL;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *blk = out + (r * nb + b) * 54;
            const uint8_t *c = codes + r * k + b * 256;
            uint8_t t[5];
            for (int m = 0; m < 32; m++) {
                for (int i = 0; i < 5; i++)
                    t[i] = c[m + 32 * i];
                blk[m] = pack_trits(t, 5);
            }
            for (int m = 0; m < 16; m++) {
                for (int i = 0; i < 5; i++)
                    t[i] = c[160 + m + 16 * i];
                blk[32 + m] = pack_trits(t, 5);
            }
            for (int j = 0; j < 4; j++) {
                for (int i = 0; i < 4; i++)
                    t[i] = c[240 + j + 4 * i];
                blk[48 + j] = pack_trits(t, 4);
            }
            put_f16(blk + 52, d[r * nb + b]);
        }
    return out;
}

/* ---- cases ------------------------------------------------------------------ */

enum { SC_UNIFORM, SC_ZERO_BLOCK, SC_ZERO_BLOCK_EMPTY, SC_MIXED, SC_ROWS };
static const char *const sc_names[] = { "one scale", "one scale + a d=0 block with non-zero codes",
                                        "one scale + a d=0 block of zero weights", "block scales differ",
                                        "a scale per row + a d=0 block with non-zero codes" };

typedef struct fcase {
    uint32_t type;
    int64_t rows, k;
    int scales;         /* SC_*; I2_S: always one tensor scale */
    float out_scale;
    int n_tok;
    int extreme;        /* all +1 weights and -128 activations */
    int invalid3;       /* some zero weights stored as the invalid code 3 */
} fcase;

static const char *type_name(uint32_t t)
{
    return t == BN_TYPE_I2_S ? "I2_S" : t == BN_TYPE_TQ2_0 ? "TQ2_0" : "TQ1_0";
}

/* what one output must be, from the file layout (matmul.c's expressions),
 * and the tolerance (negative: bit for bit) */
static float file_ref(const fcase *c, const uint8_t *data, const uint8_t *codes, float tensor_scale,
                      const uint16_t *d, int64_t r, const int8_t *xq, float xs, float *tol)
{
    const int64_t nb = c->k / 256;
    float v;
    if (c->type == BN_TYPE_I2_S) {
        v = (float)bn_dot_i2s_ref(data, (uint64_t)r * (uint64_t)c->k, xq, c->k) * tensor_scale * xs;
        v *= c->out_scale;
        *tol = c->out_scale == 1.0f ? -1.0f : 4 * FLT_EPSILON * fabsf(v);
        return v;
    }
    if (c->type == BN_TYPE_TQ2_0)
        v = bn_dot_tq2_0_ref(data + (size_t)(r * nb) * 66, xq, c->k) * xs;
    else
        v = bn_dot_tq1_0_ref(data + (size_t)(r * nb) * 54, xq, c->k) * xs;
    v *= c->out_scale;
    /* sum_b |S_b d_b| */
    double mag = 0.0;
    for (int64_t b = 0; b < nb; b++) {
        int64_t s = 0;
        for (int64_t i = b * 256; i < b * 256 + 256; i++)
            s += (codes[r * c->k + i] - 1) * xq[i];
        mag += fabs((double)s * bn_f16_to_f32(d[r * nb + b]));
    }
    *tol = (float)((double)(nb + 4) * FLT_EPSILON * mag * xs * fabs((double)c->out_scale));
    return v;
}

static void run_case(bn_ca *ca, const fcase *c, long id)
{
    const int64_t n = c->rows * c->k, nb = c->k / 256, kp = bn_tp_k_padded(c->k);
    uint8_t *codes = malloc((size_t)n), *file_codes = malloc((size_t)n);
    uint16_t *d = malloc(sizeof(uint16_t) * (size_t)(c->rows * (nb ? nb : 1)));
    int8_t *xq = calloc((size_t)(N_TOK_MAX * kp), 1);
    float *y = malloc(sizeof(float) * (size_t)(N_TOK_MAX * c->rows));
    uint8_t *mine = malloc(bn_ca_packed_bytes(c->rows, c->k));
    if (!codes || !file_codes || !d || !xq || !y || !mine)
        bn_ca_oom();
    for (int64_t i = 0; i < n; i++)
        codes[i] = c->extreme ? 2 : (uint8_t)bn_ca_randn(3);

    /* scales: a block whose d is 0 adds nothing whatever its codes; one of
     * zero weights (as encoders write it) must not break a single scale */
    const float tensor_scale = bn_ca_randf(0.01f, 2.0f);
    const uint16_t d0 = bn_f16_from_f32(bn_ca_randf(0.01f, 2.0f));
    for (int64_t i = 0; i < c->rows * nb; i++)
        d[i] = c->scales == SC_MIXED ? bn_f16_from_f32(bn_ca_randf(0.01f, 2.0f)) : d0;
    if (c->scales == SC_MIXED && c->rows * nb > 1 && d[1] == d[0])
        d[1] = bn_f16_from_f32(bn_f16_to_f32(d[0]) * 1.5f);
    if (c->scales == SC_ROWS)
        for (int64_t r = 0; r < c->rows; r++) {
            const uint16_t dr = r ? bn_f16_from_f32(bn_ca_randf(0.01f, 2.0f)) : d0;
            for (int64_t b = 0; b < nb; b++)
                d[r * nb + b] = dr;
        }
    int all_zero = 0;
    if (c->scales == SC_ZERO_BLOCK || c->scales == SC_ZERO_BLOCK_EMPTY || c->scales == SC_ROWS) {
        const int64_t z = bn_ca_randn(c->rows * nb);
        d[z] = 0;
        if (c->scales == SC_ZERO_BLOCK_EMPTY)
            memset(codes + z / nb * c->k + z % nb * 256, 1, 256);
        all_zero = c->rows * nb == 1;
    }

    /* codes as stored: the 2-bit formats may hold 3, which counts as 1
     * (weight 0) everywhere (ternary_ref.c, tpack.c) */
    for (int64_t i = 0; i < n; i++)
        file_codes[i] = c->invalid3 && codes[i] == 1 && bn_ca_randn(4) == 0 ? 3 : codes[i];
    size_t bytes;
    uint8_t *data = c->type == BN_TYPE_I2_S ? enc_i2s(file_codes, n, tensor_scale, &bytes)
                    : c->type == BN_TYPE_TQ2_0 ? enc_tq2(file_codes, c->rows, c->k, d, &bytes)
                                               : enc_tq1(file_codes, c->rows, c->k, d, &bytes);
    if (!data)
        bn_ca_oom();
    char desc[300];
    snprintf(desc, sizeof desc, "case #%ld: %s rows=%lld K=%lld %s out_scale=%g n_tok=%d%s%s", id,
             type_name(c->type), (long long)c->rows, (long long)c->k,
             c->type == BN_TYPE_I2_S ? "tensor scale" : sc_names[c->scales], (double)c->out_scale, c->n_tok,
             c->extreme ? " all +1 weights, -128 activations" : "", c->invalid3 ? " with code 3 stored" : "");

    /* the format oracle, every element (a sample under --quick) */
    const int64_t step = ca->quick ? 7 : 1;
    for (int64_t e = 0; e < n; e += step) {
        int64_t r = e / c->k, i = e % c->k;
        int got = bn_ternary_code_at(c->type, data, r, c->k, i);
        float sc = bn_ternary_scale_at(c->type, data, r, c->k, i, tensor_scale);
        float want_sc = c->type == BN_TYPE_I2_S ? tensor_scale : bn_f16_to_f32(d[r * nb + i / 256]);
        if (got != codes[e] || bn_ca_bits(sc) != bn_ca_bits(want_sc)) {
            bn_ca_fail(ca, BN_CA_TGEMM_FILE, 0,
                       "%s: bn_ternary_code_at/scale_at(row %lld, k %lld) = %d / %a, encoded %d / %a", desc,
                       (long long)r, (long long)i, got, (double)sc, codes[e], (double)want_sc);
            break;
        }
    }

    /* packing */
    bn_tpack p;
    if (bn_tpack_make(&p, c->type, data, c->rows, c->k, tensor_scale, c->out_scale))
        bn_ca_oom();
    /* the weights the kernels see: zero where the block's scale is 0 */
    uint8_t *live = malloc((size_t)n);
    if (!live)
        bn_ca_oom();
    for (int64_t i = 0; i < n; i++)
        live[i] = c->type != BN_TYPE_I2_S && d[i / c->k * nb + i % c->k / 256] == 0 ? 1 : codes[i];
    bn_ca_pack_codes(live, c->rows, c->k, mine);
    free(live);
    /* the form: blocks if a row has two different non-zero scales, else rows
     * if two rows do, else one scale (the first non-zero one, or 0) */
    int want_blocks = 0, want_rows = 0;
    float first_d = 0.0f;
    for (int64_t r = 0; c->type != BN_TYPE_I2_S && r < c->rows; r++) {
        float row_d = 0.0f;
        for (int64_t b = 0; b < nb; b++) {
            const float v = bn_f16_to_f32(d[r * nb + b]);
            if (v == 0.0f)
                continue;
            want_blocks |= row_d != 0.0f && v != row_d;
            row_d = row_d == 0.0f ? v : row_d;
        }
        want_rows |= row_d != 0.0f && first_d != 0.0f && row_d != first_d;
        first_d = first_d == 0.0f ? row_d : first_d;
    }
    want_rows &= !want_blocks;
    const float want_scale = want_blocks || want_rows || all_zero ? 0.0f
                             : c->type == BN_TYPE_I2_S ? tensor_scale * c->out_scale
                                                       : first_d * c->out_scale;
    if (p.rows != c->rows || p.k != c->k || p.n_chunks != kp / 256 || p.n_tiles != (c->rows + 3) / 4
        || memcmp(p.codes, mine, bn_ca_packed_bytes(c->rows, c->k)) || (p.block_scales != NULL) != want_blocks
        || (p.row_scales != NULL) != want_rows || bn_ca_bits(p.scale) != bn_ca_bits(want_scale))
        bn_ca_fail(ca, BN_CA_TGEMM_FILE, 0,
                   "%s: bn_tpack_make: shape %lldx%lld chunks %lld tiles %lld, scale %a (want %a), row scales %s "
                   "(want %s), block scales %s (want %s), codes %s the layout of tpack.h",
                   desc, (long long)p.rows, (long long)p.k, (long long)p.n_chunks, (long long)p.n_tiles,
                   (double)p.scale, (double)want_scale, p.row_scales ? "yes" : "no", want_rows ? "yes" : "no",
                   p.block_scales ? "yes" : "no", want_blocks ? "yes" : "no",
                   memcmp(p.codes, mine, bn_ca_packed_bytes(c->rows, c->k)) ? "differ from" : "match");
    /* row scales: the row's non-zero d (0 for rows of zero scales and the
     * padding); block scales: every d, tile by tile */
    for (int64_t i = 0; p.row_scales && i < p.n_tiles * BN_TP_ROWS; i++) {
        float want = 0.0f;
        for (int64_t b = 0; i < c->rows && b < nb && want == 0.0f; b++)
            want = bn_f16_to_f32(d[i * nb + b]) * c->out_scale;
        if (bn_ca_bits(p.row_scales[i]) != bn_ca_bits(want)) {
            bn_ca_fail(ca, BN_CA_TGEMM_FILE, 0, "%s: row_scales[%lld] = %a, want %a", desc, (long long)i,
                       (double)p.row_scales[i], (double)want);
            break;
        }
    }
    for (int64_t i = 0; p.block_scales && i < p.n_tiles * p.n_chunks * BN_TP_ROWS; i++) {
        const int64_t row = i / (p.n_chunks * BN_TP_ROWS) * BN_TP_ROWS + i % BN_TP_ROWS;
        const int64_t b = i / BN_TP_ROWS % p.n_chunks;
        const float want = row < c->rows ? bn_f16_to_f32(d[row * nb + b]) * c->out_scale : 0.0f;
        if (bn_ca_bits(p.block_scales[i]) != bn_ca_bits(want)) {
            bn_ca_fail(ca, BN_CA_TGEMM_FILE, 0, "%s: block_scales[%lld] (row %lld, chunk %lld) = %a, want %a", desc,
                       (long long)i, (long long)row, (long long)b, (double)p.block_scales[i], (double)want);
            break;
        }
    }

    /* the same pack into a caller's block (how a model packs): same codes,
     * scale and block scales, and not one byte written past the codes */
    {
        const size_t cb = bn_tpack_code_bytes(c->rows, c->k);
        uint8_t *dst = bn_aligned_alloc(64, cb + 64);
        if (!dst)
            bn_ca_oom();
        memset(dst + cb, 0xa5, 64);
        bn_tpack q;
        if (bn_tpack_make_in(&q, dst, c->type, data, c->rows, c->k, tensor_scale, c->out_scale))
            bn_ca_oom();
        int canary = 1;
        for (int j = 0; j < 64; j++)
            canary &= dst[cb + j] == 0xa5;
        if (cb != bn_ca_packed_bytes(c->rows, c->k) || q.codes != dst || memcmp(q.codes, p.codes, cb)
            || bn_ca_bits(q.scale) != bn_ca_bits(p.scale) || (q.block_scales != NULL) != (p.block_scales != NULL)
            || (q.row_scales != NULL) != (p.row_scales != NULL)
            || (q.row_scales && memcmp(q.row_scales, p.row_scales, sizeof(float) * (size_t)(p.n_tiles * 4)))
            || (q.block_scales
                && memcmp(q.block_scales, p.block_scales, sizeof(float) * (size_t)(p.n_tiles * 4 * p.n_chunks)))
            || !canary)
            bn_ca_fail(ca, BN_CA_TGEMM_FILE, 0, "%s: bn_tpack_make_in differs from bn_tpack_make%s", desc,
                       canary ? "" : " (wrote past the codes)");
        bn_tpack_free(&q);
        bn_aligned_free(dst);
    }

    /* activations, quantised as the model does, or all -128 */
    float xs[N_TOK_MAX];
    int32_t sum[N_TOK_MAX];
    float *xf = malloc(sizeof(float) * (size_t)c->k);
    if (!xf)
        bn_ca_oom();
    for (int t = 0; t < c->n_tok; t++) {
        if (c->extreme) {
            memset(xq + t * kp, -128, (size_t)c->k);
            sum[t] = (int32_t)(-128 * c->k);
            xs[t] = 1.0f / 127;
            continue;
        }
        for (int64_t i = 0; i < c->k; i++)
            xf[i] = bn_ca_randf(-3.0f, 3.0f);
        xs[t] = bn_quant_ref(xf, c->k, kp, xq + t * kp, &sum[t]);
    }
    free(xf);
    const bn_qx x = { xq, (size_t)kp, xs, sum };

    /* products: the table at every level, against the file and, past the
     * reference (level 0), against the reference's bits */
    float *y0 = malloc(sizeof(float) * (size_t)(N_TOK_MAX * c->rows));
    if (!y0)
        bn_ca_oom();
    for (int l = 0; l <= ca->max_level; l++) {
        const int kern = p.block_scales || p.row_scales ? BN_CA_BLOCKSCALED : BN_CA_TGEMM_FILE;
        if (l > 0 && ca->k[l].tgemm == ca->k[l - 1].tgemm)
            continue;
        ca->cases[kern][l]++;
        ca->k[l].tgemm(&p, 0, p.n_tiles, &x, c->n_tok, y, (size_t)c->rows, 0);
        if (l == 0)
            memcpy(y0, y, sizeof(float) * (size_t)(c->n_tok * c->rows));
        for (int t = 0; t < c->n_tok; t++)
            for (int64_t r = 0; r < c->rows; r++) {
                float tol;
                const float want = file_ref(c, data, codes, tensor_scale, d, r, xq + t * kp, xs[t], &tol);
                const float got = y[t * c->rows + r];
                if (l > 0 && bn_ca_bits(got) != bn_ca_bits(y0[t * c->rows + r])) {
                    bn_ca_fail(ca, kern, l, "%s: y[t=%d][r=%lld] = %a, the reference gives %a", desc, t,
                               (long long)r, (double)got, (double)y0[t * c->rows + r]);
                    t = c->n_tok;
                    break;
                }
                if (tol < 0.0f ? bn_ca_bits(got) == bn_ca_bits(want) : bn_ca_within(ca, kern, l, got, want, tol))
                    continue;
                if (tol < 0.0f)
                    bn_ca_fail(ca, kern, l, "%s: y[t=%d][r=%lld] = %a, file layout gives %a (bit for bit)", desc, t,
                               (long long)r, (double)got, (double)want);
                else
                    bn_ca_fail(ca, kern, l, "%s: y[t=%d][r=%lld] = %a, file layout gives %a (tolerance %a)", desc, t,
                               (long long)r, (double)got, (double)want, (double)tol);
                t = c->n_tok;
                break;
            }
    }
    free(y0);
    bn_tpack_free(&p);
    free(data);
    free(codes);
    free(file_codes);
    free(d);
    free(xq);
    free(y);
    free(mine);
}

void bn_ca_check_tgemm_file(bn_ca *ca)
{
    /* I2_S: any rows * K that is a multiple of 128, rows starting inside
     * a 128-block (K = 8640, 100, 257, ...) */
    static const int64_t i2s[][2] = { { 1, 128 }, { 2, 8640 }, { 4, 2560 }, { 32, 100 }, { 128, 1 },
                                      { 128, 257 }, { 64, 1000 }, { 17, 2560 }, { 3, 6912 }, { 6, 8640 } };
    static const int64_t tq[][2] = { { 1, 256 }, { 3, 512 }, { 5, 2560 }, { 17, 2560 }, { 4, 6912 }, { 2, 8704 } };
    const size_t n_i2s = ca->quick ? 4 : sizeof i2s / sizeof i2s[0];
    const size_t n_tq = ca->quick ? 3 : sizeof tq / sizeof tq[0];
    long id = 0;
    for (size_t i = 0; i < n_i2s; i++)
        for (int v = 0; v < 4; v++, id++) {
            fcase c = { BN_TYPE_I2_S, i2s[i][0], i2s[i][1], SC_UNIFORM, v == 1 ? 0.37f : 1.0f,
                        1 + (int)(id % N_TOK_MAX), v == 2, v == 3 };
            run_case(ca, &c, id);
        }
    for (int ty = 0; ty < 2; ty++)
        for (size_t i = 0; i < n_tq; i++)
            for (int v = 0; v < 9; v++, id++) {
                /* one scale (out 1, out 0.37), zero-scale blocks, differing
                 * block scales (out 1, out 0.37); TQ2_0 with code 3 stored
                 * (TQ1_0's base 3 cannot hold it); row scales (out 1, out
                 * 0.37) */
                static const int sc[9] = { SC_UNIFORM, SC_UNIFORM, SC_ZERO_BLOCK, SC_ZERO_BLOCK_EMPTY, SC_MIXED,
                                           SC_MIXED, SC_ZERO_BLOCK_EMPTY, SC_ROWS, SC_ROWS };
                if (v == 6 && ty)
                    continue;
                fcase c = { ty ? BN_TYPE_TQ1_0 : BN_TYPE_TQ2_0, tq[i][0], tq[i][1], sc[v],
                            v == 1 || v == 5 || v == 8 ? 0.37f : 1.0f, 1 + (int)(id % N_TOK_MAX), v == 0 && i == 0,
                            v == 6 };
                run_case(ca, &c, id);
            }
}
