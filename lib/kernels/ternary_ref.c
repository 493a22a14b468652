/* Scalar reference of the ternary dot products, straight from the layouts in
 * FORMATS.md. Code 3 (invalid, rejected at load unless checks are off) counts
 * as weight 0. */
#include <string.h>

#include "core/fp16.h"
#include "kernels/matmul.h"

static const int8_t code_value[4] = { -1, 0, 1, 0 };

/* I2_S: blocks of 128 weights in 32 bytes across the whole tensor; byte k of
 * block b holds weights 128b+k (bits 7:6), +32 (5:4), +64 (3:2), +96 (1:0). */
int32_t bn_dot_i2s_ref(const uint8_t *codes, uint64_t first, const int8_t *x, int64_t k)
{
    int32_t sum = 0;
    int64_t i = 0;
    /* element by element up to a block boundary (rows need not start on one) */
    for (; i < k && (first + (uint64_t)i) % 128; i++) {
        uint64_t e = first + (uint64_t)i, b = e / 128, j = e % 128;
        sum += code_value[(codes[b * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3] * x[i];
    }
    for (; i + 128 <= k; i += 128) {
        const uint8_t *blk = codes + (first + (uint64_t)i) / 128 * 32;
        for (int j = 0; j < 32; j++) {
            uint8_t c = blk[j];
            sum += code_value[c >> 6] * x[i + j] + code_value[(c >> 4) & 3] * x[i + 32 + j]
                   + code_value[(c >> 2) & 3] * x[i + 64 + j] + code_value[c & 3] * x[i + 96 + j];
        }
    }
    for (; i < k; i++) {
        uint64_t e = first + (uint64_t)i, b = e / 128, j = e % 128;
        sum += code_value[(codes[b * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3] * x[i];
    }
    return sum;
}

float bn_dot_tq2_0_ref(const void *row, const int8_t *x, int64_t k)
{
    const bn_block_tq2_0 *b = row;
    float sum = 0.0f;
    for (int64_t ib = 0; ib < k / 256; ib++, x += 256) {
        int32_t s = 0;
        for (int h = 0; h < 2; h++)
            for (int m = 0; m < 32; m++) {
                uint8_t c = b[ib].qs[32 * h + m];
                const int8_t *xx = x + 128 * h + m;
                s += code_value[c & 3] * xx[0] + code_value[(c >> 2) & 3] * xx[32]
                     + code_value[(c >> 4) & 3] * xx[64] + code_value[c >> 6] * xx[96];
            }
        uint16_t d;
        memcpy(&d, &b[ib].d, 2);
        sum += (float)s * bn_f16_to_f32(d);
    }
    return sum;
}

/* trit t (0 = most significant) of a TQ1_0 byte, as a weight in {-1, 0, 1} */
static int trit(uint8_t byte, int t)
{
    static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
    uint8_t q = (uint8_t)(byte * pow3[t]);
    return (int)(((uint16_t)q * 3) >> 8) - 1;
}

float bn_dot_tq1_0_ref(const void *row, const int8_t *x, int64_t k)
{
    const bn_block_tq1_0 *b = row;
    float sum = 0.0f;
    for (int64_t ib = 0; ib < k / 256; ib++, x += 256) {
        int32_t s = 0;
        for (int m = 0; m < 32; m++)
            for (int t = 0; t < 5; t++)
                s += trit(b[ib].qs[m], t) * x[m + 32 * t];
        for (int m = 0; m < 16; m++)
            for (int t = 0; t < 5; t++)
                s += trit(b[ib].qs[32 + m], t) * x[160 + m + 16 * t];
        for (int j = 0; j < 4; j++)
            for (int t = 0; t < 4; t++)
                s += trit(b[ib].qh[j], t) * x[240 + j + 4 * t];
        uint16_t d;
        memcpy(&d, &b[ib].d, 2);
        sum += (float)s * bn_f16_to_f32(d);
    }
    return sum;
}
