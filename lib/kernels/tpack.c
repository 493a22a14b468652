/* Repacking of the file's ternary layouts into the kernels' layout (tpack.h). */
#include "core/hugepages.h"
#include "kernels/tpack.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fp16.h"
#include "core/platform.h"
#include "gguf/gguf_types.h"

/* Decodes one row of codes (0..2; the invalid code 3 becomes 1, weight 0). */
static void row_codes(uint32_t type, const uint8_t *base, int64_t row, int64_t k, uint8_t *out)
{
    if (type == BN_TYPE_I2_S) {
        uint64_t first = (uint64_t)row * (uint64_t)k;
        for (int64_t i = 0; i < k; i++) {
            uint64_t e = first + (uint64_t)i, j = e % 128;
            uint8_t c = (base[e / 128 * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3;
            out[i] = c == 3 ? 1 : c;
        }
    } else if (type == BN_TYPE_TQ2_0) {
        const bn_block_tq2_0 *b = (const bn_block_tq2_0 *)(const void *)base + row * (k / 256);
        for (int64_t ib = 0; ib < k / 256; ib++)
            for (int h = 0; h < 2; h++)
                for (int m = 0; m < 32; m++)
                    for (int l = 0; l < 4; l++) {
                        uint8_t c = (b[ib].qs[32 * h + m] >> (2 * l)) & 3;
                        out[256 * ib + 128 * h + 32 * l + m] = c == 3 ? 1 : c;
                    }
    } else { /* TQ1_0 */
        static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
        const bn_block_tq1_0 *b = (const bn_block_tq1_0 *)(const void *)base + row * (k / 256);
        for (int64_t ib = 0; ib < k / 256; ib++) {
            uint8_t *o = out + 256 * ib;
            for (int t = 0; t < 5; t++) {
                for (int m = 0; m < 32; m++)
                    o[m + 32 * t] = (uint8_t)(((uint16_t)(uint8_t)(b[ib].qs[m] * pow3[t]) * 3) >> 8);
                for (int m = 0; m < 16; m++)
                    o[160 + m + 16 * t] = (uint8_t)(((uint16_t)(uint8_t)(b[ib].qs[32 + m] * pow3[t]) * 3) >> 8);
            }
            for (int t = 0; t < 4; t++)
                for (int j = 0; j < 4; j++)
                    o[240 + j + 4 * t] = (uint8_t)(((uint16_t)(uint8_t)(b[ib].qh[j] * pow3[t]) * 3) >> 8);
        }
    }
}

static float block_scale(uint32_t type, const uint8_t *base, int64_t row, int64_t k, int64_t ib)
{
    uint16_t d;
    if (type == BN_TYPE_TQ2_0)
        memcpy(&d, &((const bn_block_tq2_0 *)(const void *)base)[row * (k / 256) + ib].d, 2);
    else
        memcpy(&d, &((const bn_block_tq1_0 *)(const void *)base)[row * (k / 256) + ib].d, 2);
    return bn_f16_to_f32(d);
}

int bn_ternary_code_at(uint32_t type, const void *data, int64_t row, int64_t k_len, int64_t k)
{
    uint8_t codes[256];
    if (type == BN_TYPE_I2_S) {
        uint64_t e = (uint64_t)row * (uint64_t)k_len + (uint64_t)k, j = e % 128;
        int c = (((const uint8_t *)data)[e / 128 * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3;
        return c == 3 ? 1 : c;
    }
    /* decode the whole block of the TQ formats, simplest to get right */
    int64_t ib = k / 256;
    size_t bs = type == BN_TYPE_TQ2_0 ? sizeof(bn_block_tq2_0) : sizeof(bn_block_tq1_0);
    const uint8_t *blk = (const uint8_t *)data + ((size_t)(row * (k_len / 256) + ib)) * bs;
    row_codes(type, blk, 0, 256, codes);
    return codes[k % 256];
}

float bn_ternary_scale_at(uint32_t type, const void *data, int64_t row, int64_t k_len, int64_t k,
                          float tensor_scale)
{
    if (type == BN_TYPE_I2_S)
        return tensor_scale;
    return block_scale(type, data, row, k_len, k / 256);
}

/* Clears the high bit of every 2-bit field holding 3: the invalid code
 * counts as 1 (weight 0), as in the reference. */
static inline uint8_t fix3(uint8_t b)
{
    uint8_t m = b & (b >> 1) & 0x55;
    return (uint8_t)(b & ~(m << 1));
}

/* One packed chunk straight from two I2_S blocks (weights 0-127 and
 * 128-255 of the chunk): no per-weight decode on the load path. */
static void chunk_from_i2s(const uint8_t *b0, const uint8_t *b1, uint8_t *dst)
{
    for (int j = 0; j < 32; j++) {
        uint8_t x = fix3(b0[j]), y = fix3(b1[j]);
        dst[j] = (uint8_t)(((x >> 6) & 3) | ((x >> 2) & 3) << 2 | ((y >> 6) & 3) << 4 | ((y >> 2) & 3) << 6);
        dst[32 + j] = (uint8_t)(((x >> 4) & 3) | (x & 3) << 2 | ((y >> 4) & 3) << 4 | (y & 3) << 6);
    }
}

/* One packed chunk straight from a TQ2_0 block's 64 code bytes. */
static void chunk_from_tq2(const uint8_t *qs, uint8_t *dst)
{
    for (int j = 0; j < 32; j++) {
        uint8_t x = fix3(qs[j]), y = fix3(qs[32 + j]);
        dst[j] = (uint8_t)((x & 3) | ((x >> 4) & 3) << 2 | (y & 3) << 4 | ((y >> 4) & 3) << 6);
        dst[32 + j] = (uint8_t)(((x >> 2) & 3) | ((x >> 6) & 3) << 2 | ((y >> 2) & 3) << 4 | ((y >> 6) & 3) << 6);
    }
}

/* Fast paths: whole chunks transcoded byte-wise when rows start on block
 * boundaries. Returns 0 when the layout needs the generic decode. */
static int pack_fast(bn_tpack *p, uint32_t type, const uint8_t *data, uint8_t *codes)
{
    static const uint8_t zero_block[32] = {
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
        0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
    };
    if (type == BN_TYPE_I2_S ? p->k % 128 : type != BN_TYPE_TQ2_0)
        return 0;
    for (int64_t t = 0; t < p->n_tiles; t++)
        for (int r = 0; r < BN_TP_ROWS; r++) {
            int64_t row = t * BN_TP_ROWS + r;
            for (int64_t c = 0; c < p->n_chunks; c++) {
                uint8_t *dst = codes + ((size_t)(t * p->n_chunks + c) * BN_TP_ROWS + (size_t)r) * BN_TP_CHUNK_BYTES;
                if (row >= p->rows) {
                    memset(dst, 0x55, BN_TP_CHUNK_BYTES);
                } else if (type == BN_TYPE_I2_S) {
                    const uint8_t *rowp = data + (size_t)(row * p->k / 4);
                    const uint8_t *b0 = rowp + c * 64;
                    const uint8_t *b1 = (c * 256 + 128 < p->k) ? b0 + 32 : zero_block;
                    chunk_from_i2s(b0, b1, dst);
                } else {
                    chunk_from_tq2(data + (size_t)(row * p->n_chunks + c) * sizeof(bn_block_tq2_0), dst);
                }
            }
        }
    return 1;
}

/* Any layout, weight by weight through a decoded row. */
static void pack_generic(const bn_tpack *p, uint32_t type, const uint8_t *data, uint8_t *codes, uint8_t *rowbuf)
{
    for (int64_t t = 0; t < p->n_tiles; t++)
        for (int r = 0; r < BN_TP_ROWS; r++) {
            int64_t row = t * BN_TP_ROWS + r;
            memset(rowbuf, 1, (size_t)p->n_chunks * BN_TP_CHUNK);
            if (row < p->rows)
                row_codes(type, data, row, p->k, rowbuf);
            for (int64_t c = 0; c < p->n_chunks; c++) {
                uint8_t *dst = codes + ((size_t)(t * p->n_chunks + c) * BN_TP_ROWS + (size_t)r) * BN_TP_CHUNK_BYTES;
                const uint8_t *src = rowbuf + c * BN_TP_CHUNK;
                for (int j = 0; j < 64; j++)
                    dst[j] = (uint8_t)(src[j] | src[64 + j] << 2 | src[128 + j] << 4 | src[192 + j] << 6);
            }
        }
}

/* TQ blocks whose scale is 0 add nothing, whatever codes a file stores in
 * them: packed as zero weights, they need no scale of their own. */
static void zero_unscaled_blocks(const bn_tpack *p, uint32_t type, const uint8_t *data, uint8_t *codes)
{
    for (int64_t row = 0; row < p->rows; row++)
        for (int64_t c = 0; c < p->k / 256; c++)
            if (block_scale(type, data, row, p->k, c) == 0.0f)
                memset(codes + ((size_t)(row / BN_TP_ROWS * p->n_chunks + c) * BN_TP_ROWS + (size_t)(row % BN_TP_ROWS))
                                   * BN_TP_CHUNK_BYTES,
                       0x55, BN_TP_CHUNK_BYTES);
}

int bn_tpack_make(bn_tpack *p, uint32_t type, const void *data, int64_t rows, int64_t k,
                  float tensor_scale, float out_scale)
{
    return bn_tpack_make_in(p, NULL, type, data, rows, k, tensor_scale, out_scale);
}

int bn_tpack_make_in(bn_tpack *p, uint8_t *codes, uint32_t type, const void *data, int64_t rows, int64_t k,
                     float tensor_scale, float out_scale)
{
    memset(p, 0, sizeof *p);
    p->rows = rows;
    p->k = k;
    p->n_chunks = bn_tp_k_padded(k) / BN_TP_CHUNK;
    p->n_tiles = (rows + BN_TP_ROWS - 1) / BN_TP_ROWS;
    const size_t code_bytes = bn_tpack_code_bytes(rows, k);

    /* TQ formats: one scale per 256-block. The form the kernels get is the
     * simplest that holds them all (tpack.h); zero scales do not count. */
    enum { PER_TENSOR, PER_ROW, PER_BLOCK } form = PER_TENSOR;
    float s = type == BN_TYPE_I2_S ? tensor_scale : 0.0f;
    if (type != BN_TYPE_I2_S)
        for (int64_t r = 0; r < rows && form != PER_BLOCK; r++) {
            float sr = 0.0f;
            for (int64_t ib = 0; ib < k / 256; ib++) {
                const float d = block_scale(type, data, r, k, ib);
                if (d == 0.0f)
                    continue;
                if (sr == 0.0f)
                    sr = d;
                else if (!(d == sr)) {  /* NaN included */
                    form = PER_BLOCK;
                    break;
                }
            }
            if (form == PER_BLOCK || sr == 0.0f)
                continue;
            if (s == 0.0f)
                s = sr;
            else if (!(sr == s))
                form = PER_ROW;
        }
    const size_t padded_rows = (size_t)p->n_tiles * BN_TP_ROWS;
    const size_t scale_bytes = form == PER_ROW     ? padded_rows * sizeof(float)
                               : form == PER_BLOCK ? padded_rows * (size_t)p->n_chunks * sizeof(float)
                                                   : 0;
    p->bytes = code_bytes + scale_bytes;
    /* own codes: codes and scales in one block; caller's codes: the scales
     * alone, if any */
    const size_t own_bytes = codes ? scale_bytes : p->bytes;
    if (own_bytes)
        p->mem = bn_aligned_alloc(64, (own_bytes + 63) & ~(size_t)63);
    uint8_t *rowbuf = malloc((size_t)p->n_chunks * BN_TP_CHUNK);
    if ((own_bytes && !p->mem) || !rowbuf) {
        free(rowbuf);
        bn_tpack_free(p);
        return bn_fail(BN_E_NOMEM, "cannot allocate %zu bytes for packed weights", own_bytes);
    }
    if (!codes) {
        codes = p->mem;
        bn_advise_hugepages(codes, p->bytes);
    }
    p->codes = codes;
    p->scale = form == PER_TENSOR ? s * out_scale : 0.0f;
    float *sc = codes == p->mem ? (float *)(void *)(codes + code_bytes) : p->mem;
    if (form == PER_ROW) {
        for (size_t r = 0; r < padded_rows; r++) {
            float sr = 0.0f;
            for (int64_t ib = 0; (int64_t)r < rows && ib < k / 256 && sr == 0.0f; ib++)
                sr = block_scale(type, data, (int64_t)r, k, ib);
            sc[r] = sr * out_scale;
        }
        p->row_scales = sc;
    } else if (form == PER_BLOCK) {
        for (int64_t t = 0; t < p->n_tiles; t++)
            for (int64_t c = 0; c < p->n_chunks; c++)
                for (int r = 0; r < BN_TP_ROWS; r++) {
                    const int64_t row = t * BN_TP_ROWS + r;
                    sc[(t * p->n_chunks + c) * BN_TP_ROWS + r] =
                        row < rows ? block_scale(type, data, row, k, c) * out_scale : 0.0f;
                }
        p->block_scales = sc;
    }
    if (!pack_fast(p, type, data, codes))
        pack_generic(p, type, data, codes, rowbuf);
    free(rowbuf);
    if (type != BN_TYPE_I2_S)
        zero_unscaled_blocks(p, type, data, codes);
    return BN_OK;
}

void bn_tpack_free(bn_tpack *p)
{
    bn_aligned_free(p->mem);
    memset(p, 0, sizeof *p);
}
