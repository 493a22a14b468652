#include "cv_float.h"

#include <stdlib.h>
#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "kernels/kernels.h"

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

float cv_float_at(uint32_t src_type, const uint8_t *src, uint64_t i)
{
    switch (src_type) {
    case BN_TYPE_F16: return bn_f16_to_f32(le16(src + 2 * i));
    case BN_TYPE_BF16: return bn_bf16_to_f32(le16(src + 2 * i));
    default: {
        const uint8_t *p = src + 4 * i;
        return bn_f32_from_bits((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                (uint32_t)p[3] << 24);
    }
    }
}

int cv_float_type(uint32_t type)
{
    return type == BN_TYPE_F32 || type == BN_TYPE_F16 || type == BN_TYPE_BF16 || type == BN_TYPE_Q8_0 ||
           type == BN_TYPE_Q4_0;
}

static void row_to_f32(uint32_t t, const uint8_t *src, uint64_t ne0, float *x)
{
    if (t == BN_TYPE_Q4_0) {
        /* f16 d, then 16 bytes: element j in the low nibble of byte j, j + 16
         * in the high one, value (nibble - 8) * d (ggml's block_q4_0) */
        for (uint64_t b = 0; b < ne0 / 32; b++) {
            const uint8_t *blk = src + b * 18;
            float d = bn_f16_to_f32(le16(blk));
            for (int j = 0; j < 16; j++) {
                x[b * 32 + (uint64_t)j] = d * (float)((blk[2 + j] & 15) - 8);
                x[b * 32 + (uint64_t)j + 16] = d * (float)((blk[2 + j] >> 4) - 8);
            }
        }
        return;
    }
    if (t == BN_TYPE_Q8_0) {
        for (uint64_t b = 0; b < ne0 / 32; b++) {
            const uint8_t *blk = src + b * 34;
            float d = bn_f16_to_f32(le16(blk));
            for (int j = 0; j < 32; j++)
                x[b * 32 + (uint64_t)j] = d * (float)(int8_t)blk[2 + j];
        }
        return;
    }
    for (uint64_t i = 0; i < ne0; i++)
        x[i] = cv_float_at(t, src, i);
}

/* BF16 from f32, round to nearest even (NaN kept quiet), as ggml does. */
static uint16_t bf16_from_f32(float f)
{
    uint32_t u = bn_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

int cv_float_write(FILE *f, uint32_t dst_type, uint32_t src_type, const uint8_t *src, uint64_t ne0,
                   uint64_t rows, const char *name)
{
    uint64_t src_row, dst_row;
    const bn_type_info *si = bn_type_info_get(src_type), *di = bn_type_info_get(dst_type);
    if (!cv_float_type(src_type) || !cv_float_type(dst_type) || !si || !di ||
        ne0 % si->block || ne0 % di->block) {
        fprintf(stderr, "tensor %s: cannot convert rows of %llu %s to %s\n", name,
                (unsigned long long)ne0, bn_type_name(src_type), bn_type_name(dst_type));
        return -1;
    }
    src_row = ne0 / si->block * si->block_bytes;
    dst_row = ne0 / di->block * di->block_bytes;
    if (src_type == dst_type) {
        for (uint64_t r = 0; r < rows; r++)
            if (fwrite(src + r * src_row, 1, src_row, f) != src_row)
                goto io;
        return 0;
    }
    float *x = malloc(ne0 * sizeof *x + 1);
    uint8_t *out = malloc(dst_row + 1);
    if (!x || !out) {
        free(x);
        free(out);
        fprintf(stderr, "tensor %s: out of memory\n", name);
        return -1;
    }
    for (uint64_t r = 0; r < rows; r++) {
        row_to_f32(src_type, src + r * src_row, ne0, x);
        switch (dst_type) {
        case BN_TYPE_F32:
            for (uint64_t i = 0; i < ne0; i++) {
                uint32_t u = bn_f32_bits(x[i]);
                for (int b = 0; b < 4; b++)
                    out[4 * i + (uint64_t)b] = (uint8_t)(u >> (8 * b));
            }
            break;
        case BN_TYPE_F16:
        case BN_TYPE_BF16:
            for (uint64_t i = 0; i < ne0; i++) {
                uint16_t h = dst_type == BN_TYPE_F16 ? bn_f16_from_f32(x[i]) : bf16_from_f32(x[i]);
                out[2 * i] = (uint8_t)h;
                out[2 * i + 1] = (uint8_t)(h >> 8);
            }
            break;
        case BN_TYPE_Q4_0:
            bn_q4_from_f32_ref(x, (int64_t)ne0, out);
            break;
        default:
            bn_q8_from_f32_ref(x, (int64_t)ne0, out);
            break;
        }
        if (fwrite(out, 1, dst_row, f) != dst_row) {
            free(x);
            free(out);
            goto io;
        }
    }
    free(x);
    free(out);
    return 0;
io:
    fprintf(stderr, "tensor %s: write failed\n", name);
    return -1;
}
