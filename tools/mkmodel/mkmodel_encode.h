/*
 * Payload encoders for ternary weights: codes in {0, 1, 2} (weight = code - 1,
 * flat index order, ne0 fastest) and the per-tensor scale in, file bytes out.
 * Each works on any run of whole blocks, so tensors are encoded chunk by
 * chunk; the layouts are those of ggml's quantize_row_*_ref and bitnet.cpp's
 * quantize_i2_s, spelled out in the .c file.
 */
#ifndef BN_MKMODEL_ENCODE_H
#define BN_MKMODEL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes appended after the packed I2_S codes: the f32 scale, zero padded. */
#define BN_MKMODEL_I2_S_TAIL 32

/*
 * Encodes n codes of a tensor of type `type` (BN_TYPE_F32, F16, I2_S, TQ2_0,
 * TQ1_0) into out, which must hold bn_mkmodel_encoded_size(type, n) bytes.
 * n must be a multiple of the type's block (128 for I2_S, 256 for TQ*).
 * `scale` is f16-exact. The I2_S tail is not included (see below).
 */
void bn_mkmodel_encode(uint32_t type, const uint8_t *codes, size_t n, double scale, uint8_t *out);

/* Output bytes for n codes; 0 for a type this module does not encode. */
size_t bn_mkmodel_encoded_size(uint32_t type, size_t n);

/* The I2_S tail: the scale as little-endian f32 (quantize_i2_s stores
 * max|w|, which is the scale of a ternary tensor), then zeros. */
void bn_mkmodel_i2_s_tail(double scale, uint8_t out[BN_MKMODEL_I2_S_TAIL]);

/* Little-endian stores, so files are the same on any host. */
static inline void bn_mkmodel_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void bn_mkmodel_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#endif
