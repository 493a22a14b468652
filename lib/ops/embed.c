#include <string.h>

#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "ops/ops.h"

void bn_op_embed_row(uint32_t type, const void *data, uint64_t row, int n, float *out)
{
    const uint8_t *base = data;
    switch (type) {
    case BN_TYPE_F32:
        memcpy(out, base + row * (uint64_t)n * 4, (size_t)n * 4);
        break;
    case BN_TYPE_F16: {
        const uint8_t *p = base + row * (uint64_t)n * 2;
        for (int i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = bn_f16_to_f32(h);
        }
        break;
    }
    case BN_TYPE_BF16: {
        const uint8_t *p = base + row * (uint64_t)n * 2;
        for (int i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = bn_bf16_to_f32(h);
        }
        break;
    }
    case BN_TYPE_Q8_0: {
        const bn_block_q8_0 *b = (const bn_block_q8_0 *)(base + row * (uint64_t)(n / 32) * sizeof *b);
        for (int j = 0; j < n / 32; j++) {
            uint16_t dh;
            memcpy(&dh, &b[j].d, 2);
            float d = bn_f16_to_f32(dh);
            for (int i = 0; i < 32; i++)
                out[32 * j + i] = d * (float)b[j].qs[i];
        }
        break;
    }
    case BN_TYPE_Q4_0: {
        const bn_block_q4_0 *b = (const bn_block_q4_0 *)(base + row * (uint64_t)(n / 32) * sizeof *b);
        for (int j = 0; j < n / 32; j++) {
            uint16_t dh;
            memcpy(&dh, &b[j].d, 2);
            float d = bn_f16_to_f32(dh);
            for (int i = 0; i < 16; i++) {
                out[32 * j + i] = d * (float)((b[j].qs[i] & 15) - 8);
                out[32 * j + 16 + i] = d * (float)((b[j].qs[i] >> 4) - 8);
            }
        }
        break;
    }
    default:
        memset(out, 0, (size_t)n * sizeof *out); /* unreachable: types checked at load */
        break;
    }
}
