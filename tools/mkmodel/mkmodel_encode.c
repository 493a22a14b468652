#include "mkmodel_encode.h"

#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "kernels/kernels.h"

#define TQ2_0_BYTES 66
#define TQ1_0_BYTES 54

/* Dense types hold code - 1 times the scale, computed in f32 (exact: the
 * scale is f16-exact and the factor is -1, 0 or 1). Only three values
 * occur, so they are converted once per call. */
static void encode_f32(const uint8_t *codes, size_t n, float scale, uint8_t *out)
{
    const uint32_t v[3] = { bn_f32_bits(-1.0f * scale), bn_f32_bits(0.0f * scale),
                            bn_f32_bits(1.0f * scale) };
    for (size_t i = 0; i < n; i++)
        bn_mkmodel_put_le32(out + 4 * i, v[codes[i]]);
}

static void encode_f16(const uint8_t *codes, size_t n, float scale, uint8_t *out)
{
    const uint16_t v[3] = { bn_f16_from_f32(-1.0f * scale), bn_f16_from_f32(0.0f * scale),
                            bn_f16_from_f32(1.0f * scale) };
    for (size_t i = 0; i < n; i++)
        bn_mkmodel_put_le16(out + 2 * i, v[codes[i]]);
}

/* I2_S: blocks of 128 codes -> 32 bytes; byte j of a block holds codes j,
 * 32+j, 64+j, 96+j in bits 7:6, 5:4, 3:2, 1:0. */
static void encode_i2_s(const uint8_t *codes, size_t n, uint8_t *out)
{
    for (size_t b = 0; b < n / 128; b++) {
        const uint8_t *c = codes + 128 * b;
        for (int j = 0; j < 32; j++)
            *out++ = (uint8_t)(c[j] << 6 | c[32 + j] << 4 | c[64 + j] << 2 | c[96 + j]);
    }
}

/* The TQ block scale is max|w| of the block: the tensor scale, or 0 when
 * every weight of the block is 0. */
static uint16_t block_scale(const uint8_t *c, uint16_t d)
{
    for (int i = 0; i < 256; i++)
        if (c[i] != 1)
            return d;
    return 0;
}

/* TQ2_0: 256 codes -> qs[64] then f16 d. Within each half h of 128 codes,
 * qs[32h + m] holds codes m, 32+m, 64+m, 96+m in bits 1:0, 3:2, 5:4, 7:6. */
static void encode_tq2_0(const uint8_t *codes, size_t n, uint16_t d, uint8_t *out)
{
    for (size_t b = 0; b < n / 256; b++, out += TQ2_0_BYTES) {
        const uint8_t *c = codes + 256 * b;
        for (int h = 0; h < 2; h++)
            for (int m = 0; m < 32; m++) {
                const uint8_t *x = c + 128 * h + m;
                out[32 * h + m] = (uint8_t)(x[0] | x[32] << 2 | x[64] << 4 | x[96] << 6);
            }
        bn_mkmodel_put_le16(out + 64, block_scale(c, d));
    }
}

/* Five trits (most significant first), a base-3 number q < 243, stored as
 * the fixed-point fraction ceil(q * 256 / 243) so that the decoder can pull
 * trits out with multiplications by 3. */
static uint8_t pack_trits(const uint8_t *c, int stride, int count)
{
    unsigned q = 0;
    for (int t = 0; t < 5; t++)
        q = q * 3 + (t < count ? c[t * stride] : 0);
    return (uint8_t)((q * 256 + 242) / 243);
}

/* TQ1_0: 256 codes -> qs[48], qh[4], f16 d. qs[m] (m < 32) packs codes m +
 * 32t (t = 0..4); qs[32 + m] (m < 16) packs 160 + m + 16t; qh[j] packs
 * 240 + j + 4t (t = 0..3) with a fifth trit of 0. */
static void encode_tq1_0(const uint8_t *codes, size_t n, uint16_t d, uint8_t *out)
{
    for (size_t b = 0; b < n / 256; b++, out += TQ1_0_BYTES) {
        const uint8_t *c = codes + 256 * b;
        for (int m = 0; m < 32; m++)
            out[m] = pack_trits(c + m, 32, 5);
        for (int m = 0; m < 16; m++)
            out[32 + m] = pack_trits(c + 160 + m, 16, 5);
        for (int j = 0; j < 4; j++)
            out[48 + j] = pack_trits(c + 240 + j, 4, 4);
        bn_mkmodel_put_le16(out + 52, block_scale(c, d));
    }
}

/* Q8_0 / Q4_0 (precision plans): the ternary values as floats, quantised as
 * llama.cpp does, a block of 32 at a time. */
static void encode_q(uint32_t type, const uint8_t *codes, size_t n, float scale, uint8_t *out)
{
    float x[32];
    for (size_t b = 0; b < n / 32; b++) {
        for (int j = 0; j < 32; j++)
            x[j] = ((int)codes[32 * b + (size_t)j] - 1) * scale;
        if (type == BN_TYPE_Q8_0)
            bn_q8_from_f32_ref(x, 32, out + 34 * b);
        else
            bn_q4_from_f32_ref(x, 32, out + 18 * b);
    }
}

void bn_mkmodel_encode(uint32_t type, const uint8_t *codes, size_t n, double scale, uint8_t *out)
{
    switch (type) {
    case BN_TYPE_Q8_0:
    case BN_TYPE_Q4_0: encode_q(type, codes, n, (float)scale, out); break;
    case BN_TYPE_F32: encode_f32(codes, n, (float)scale, out); break;
    case BN_TYPE_F16: encode_f16(codes, n, (float)scale, out); break;
    case BN_TYPE_I2_S: encode_i2_s(codes, n, out); break;
    case BN_TYPE_TQ2_0: encode_tq2_0(codes, n, bn_f16_from_f64(scale), out); break;
    case BN_TYPE_TQ1_0: encode_tq1_0(codes, n, bn_f16_from_f64(scale), out); break;
    default: break;
    }
}

size_t bn_mkmodel_encoded_size(uint32_t type, size_t n)
{
    switch (type) {
    case BN_TYPE_F32: return 4 * n;
    case BN_TYPE_F16: return 2 * n;
    case BN_TYPE_Q8_0: return n / 32 * 34;
    case BN_TYPE_Q4_0: return n / 32 * 18;
    case BN_TYPE_I2_S: return n / 4;
    case BN_TYPE_TQ2_0: return n / 256 * TQ2_0_BYTES;
    case BN_TYPE_TQ1_0: return n / 256 * TQ1_0_BYTES;
    default: return 0;
    }
}

void bn_mkmodel_i2_s_tail(double scale, uint8_t out[BN_MKMODEL_I2_S_TAIL])
{
    memset(out, 0, BN_MKMODEL_I2_S_TAIL);
    bn_mkmodel_put_le32(out, bn_f32_bits((float)scale));
}
