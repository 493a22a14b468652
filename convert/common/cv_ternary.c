/* Ternary payloads: decoders here, encoders shared with bitnet-mkmodel
 * (tools/mkmodel/mkmodel_encode.c), so both tools write the same bytes. */
#include "cv_ternary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp16.h"
#include "cv_float.h"
#include "gguf/gguf_types.h"
#include "mkmodel_encode.h"

#define TQ2_0_BYTES 66
#define TQ1_0_BYTES 54

void cv_ternary_free(cv_ternary *t)
{
    free(t->codes);
    free(t->block_d);
    memset(t, 0, sizeof *t);
}

static int bad_code(const char *name, uint64_t byte)
{
    fprintf(stderr, "tensor %s: invalid 2-bit code 0b11 in byte %llu\n", name, (unsigned long long)byte);
    return -1;
}

/* I2_S: block i of 128 weights in 32 bytes; byte k holds weights 128i + k,
 * +32, +64, +96 in bits 7:6, 5:4, 3:2, 1:0; f32 scale after the codes. */
static int decode_i2_s(cv_ternary *t, const uint8_t *d, const char *name)
{
    for (uint64_t i = 0; i < t->n / 128; i++)
        for (int k = 0; k < 32; k++) {
            uint8_t b = d[i * 32 + (uint64_t)k];
            for (int p = 0; p < 4; p++) {
                uint8_t c = (b >> (6 - 2 * p)) & 3;
                if (c == 3)
                    return bad_code(name, i * 32 + (uint64_t)k);
                t->codes[i * 128 + (uint64_t)(32 * p + k)] = c;
            }
        }
    uint32_t s = (uint32_t)d[t->n / 4] | (uint32_t)d[t->n / 4 + 1] << 8 |
                 (uint32_t)d[t->n / 4 + 2] << 16 | (uint32_t)d[t->n / 4 + 3] << 24;
    t->scale = bn_f32_from_bits(s);
    t->scale_uniform = 1;
    return 0;
}

/* TQ2_0: qs[64] then f16 d; in each 32-byte half h, byte m holds weights
 * 128h + m, +32, +64, +96 in bits 1:0, 3:2, 5:4, 7:6. */
static int decode_tq2_0_block(const uint8_t *b, uint8_t *c, const char *name, uint64_t at)
{
    for (int h = 0; h < 2; h++)
        for (int m = 0; m < 32; m++)
            for (int p = 0; p < 4; p++) {
                uint8_t v = (b[32 * h + m] >> (2 * p)) & 3;
                if (v == 3)
                    return bad_code(name, at + (uint64_t)(32 * h + m));
                c[128 * h + 32 * p + m] = v;
            }
    return 0;
}

/* Trit k (0 = most significant of 5) of a TQ1_0 byte. */
static uint8_t trit(uint8_t b, int k)
{
    static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
    return (uint8_t)(((unsigned)(uint8_t)(b * pow3[k]) * 3u) >> 8);
}

/* TQ1_0: qs[48], qh[4], f16 d (doc/formats.md spells out the order). */
static void decode_tq1_0_block(const uint8_t *b, uint8_t *c)
{
    for (int m = 0; m < 32; m++)
        for (int k = 0; k < 5; k++)
            c[m + 32 * k] = trit(b[m], k);
    for (int m = 0; m < 16; m++)
        for (int k = 0; k < 5; k++)
            c[160 + m + 16 * k] = trit(b[32 + m], k);
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < 4; k++)
            c[240 + j + 4 * k] = trit(b[48 + j], k);
}

static int any_nonzero(const uint8_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i] != 1)
            return 1;
    return 0;
}

int cv_ternary_from_gguf(cv_ternary *t, uint32_t type, const uint8_t *data, uint64_t ne0,
                         uint64_t n, const char *name)
{
    memset(t, 0, sizeof *t);
    if (cv_ternary_check_shape(type, ne0, n, name))
        return -1;
    t->n = n;
    t->codes = malloc(n ? n : 1);
    if (type != BN_TYPE_I2_S)
        t->block_d = malloc((n / 256 ? n / 256 : 1) * sizeof *t->block_d);
    if (!t->codes || (type != BN_TYPE_I2_S && !t->block_d)) {
        fprintf(stderr, "tensor %s: out of memory\n", name);
        cv_ternary_free(t);
        return -1;
    }
    if (type == BN_TYPE_I2_S) {
        if (decode_i2_s(t, data, name)) {
            cv_ternary_free(t);
            return -1;
        }
        return 0;
    }
    const uint64_t bs = type == BN_TYPE_TQ2_0 ? TQ2_0_BYTES : TQ1_0_BYTES;
    int have = 0;
    uint16_t d0 = 0;
    t->scale_uniform = 1;
    for (uint64_t i = 0; i < n / 256; i++) {
        const uint8_t *b = data + i * bs;
        uint8_t *c = t->codes + i * 256;
        if (type == BN_TYPE_TQ2_0) {
            if (decode_tq2_0_block(b, c, name, i * bs)) {
                cv_ternary_free(t);
                return -1;
            }
        } else {
            decode_tq1_0_block(b, c);
        }
        uint16_t d = (uint16_t)(b[bs - 2] | b[bs - 1] << 8);
        t->block_d[i] = d;
        if (any_nonzero(c, 256)) {
            if (have && d != d0)
                t->scale_uniform = 0;
            d0 = d;
            have = 1;
        }
    }
    t->scale = bn_f16_to_f32(d0);
    return 0;
}

float cv_round_even(float x)
{
    return nearbyintf(x);   /* the default rounding mode: to nearest, ties to even */
}

int cv_ternary_from_float(cv_ternary *t, uint32_t src_type, const uint8_t *src, uint64_t n,
                          int *was_ternary)
{
#define W(i) cv_float_at(src_type, src, i)
    memset(t, 0, sizeof *t);
    t->n = n;
    t->codes = malloc(n ? n : 1);
    if (!t->codes)
        return -1;
    t->scale_uniform = 1;
    /* already ternary: at most {-a, 0, a} */
    float a = 0.0f;
    int ternary = 1;
    for (uint64_t i = 0; i < n && ternary; i++) {
        float v = fabsf(W(i));
        if (v == 0.0f)
            continue;
        if (!isfinite(v) || (a != 0.0f && v != a))
            ternary = 0;
        a = v;
    }
    *was_ternary = ternary;
    if (ternary) {
        for (uint64_t i = 0; i < n; i++)
            {
            float v = W(i);
            t->codes[i] = (uint8_t)(v > 0.0f ? 2 : v < 0.0f ? 0 : 1);
        }
        t->scale = a;
        return 0;
    }
    double sum = 0.0;
    for (uint64_t i = 0; i < n; i++)
        sum += fabs((double)W(i));
    float s = n ? (float)(sum / (double)n) : 0.0f;
    if (!(s >= 1e-5f))
        s = 1e-5f;
    const float inv = 1.0f / s;
    for (uint64_t i = 0; i < n; i++) {
        float q = cv_round_even(W(i) * inv);
        t->codes[i] = (uint8_t)(q >= 1.0f ? 2 : q <= -1.0f ? 0 : 1);
    }
    t->scale = s;
    return 0;
#undef W
}

uint64_t cv_ternary_nbytes(uint32_t type, uint64_t n)
{
    switch (type) {
    case BN_TYPE_I2_S: return n / 4 + BN_MKMODEL_I2_S_TAIL;
    case BN_TYPE_TQ2_0: return n / 256 * TQ2_0_BYTES;
    case BN_TYPE_TQ1_0: return n / 256 * TQ1_0_BYTES;
    default: return 0;
    }
}

int cv_ternary_check_shape(uint32_t type, uint64_t ne0, uint64_t n, const char *name)
{
    if (type == BN_TYPE_I2_S) {
        if (n % 128 == 0)
            return 0;
        fprintf(stderr, "tensor %s: %llu weights are not a multiple of 128, which I2_S needs\n", name,
                (unsigned long long)n);
        return -1;
    }
    if ((type == BN_TYPE_TQ2_0 || type == BN_TYPE_TQ1_0) && ne0 && ne0 % 256 == 0 && n % ne0 == 0)
        return 0;
    if (type == BN_TYPE_TQ2_0 || type == BN_TYPE_TQ1_0)
        fprintf(stderr, "tensor %s: rows of %llu weights are not a multiple of 256, which %s needs "
                "(use --type i2_s)\n", name, (unsigned long long)ne0, bn_type_name(type));
    else
        fprintf(stderr, "tensor %s: %s is not a ternary type\n", name, bn_type_name(type));
    return -1;
}

int cv_ternary_write(const cv_ternary *t, uint32_t type, const char *name, FILE *f)
{
    if (cv_ternary_check_shape(type, type == BN_TYPE_I2_S ? t->n : 256, t->n, name))
        return -1;
    size_t chunk = 256 * 1024, nb = bn_mkmodel_encoded_size(type, chunk);
    uint8_t *buf = malloc(nb);
    if (!buf) {
        fprintf(stderr, "tensor %s: out of memory\n", name);
        return -1;
    }
    double scale = t->scale;
    if (type == BN_TYPE_I2_S && !t->scale_uniform) {
        fprintf(stderr, "tensor %s: its 256-blocks have different scales; I2_S holds one per tensor\n",
                name);
        free(buf);
        return -1;
    }
    int rc = 0;
    for (uint64_t i = 0; i < t->n && !rc; i += chunk) {
        size_t m = (size_t)(t->n - i < chunk ? t->n - i : chunk);
        bn_mkmodel_encode(type, t->codes + i, m, scale, buf);
        size_t bytes = bn_mkmodel_encoded_size(type, m);
        if (t->block_d && type != BN_TYPE_I2_S) {
            size_t bs = type == BN_TYPE_TQ2_0 ? TQ2_0_BYTES : TQ1_0_BYTES;
            for (size_t b = 0; b < m / 256; b++)
                bn_mkmodel_put_le16(buf + b * bs + bs - 2, t->block_d[i / 256 + b]);
        }
        rc = fwrite(buf, 1, bytes, f) == bytes ? 0 : -1;
    }
    if (!rc && type == BN_TYPE_I2_S) {
        uint8_t tail[BN_MKMODEL_I2_S_TAIL];
        bn_mkmodel_i2_s_tail(scale, tail);
        rc = fwrite(tail, 1, sizeof tail, f) == sizeof tail ? 0 : -1;
    }
    free(buf);
    if (rc)
        fprintf(stderr, "tensor %s: write failed\n", name);
    return rc;
}
