/* Optional full scan of the ternary weights at load (bn_model_params.
 * check_weights): the kernels assume every 2-bit code is 0, 1 or 2. With the
 * check off, a code 3 is undefined input (the reference kernels read it as 0). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/fp16.h"
#include "model/model_internal.h"

/* Index of the first byte holding a 2-bit field equal to 0b11, or -1. */
static int64_t find_code3(const uint8_t *p, uint64_t n)
{
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & (w >> 1) & 0x5555555555555555ull)
            break;
    }
    for (; i < n; i++)
        if (p[i] & (p[i] >> 1) & 0x55)
            return (int64_t)i;
    return -1;
}

static int check_tensor(const bn_tensor *t)
{
    if (!t->data)
        return BN_OK;
    const uint8_t *p = t->data;
    uint64_t n_el = t->ne[0] * t->ne[1];
    if (t->type == BN_TYPE_I2_S) {
        int64_t at = find_code3(p, n_el / 4);
        if (at >= 0)
            return bn_fail(BN_E_MODEL, "tensor '%s': I2_S byte %lld holds the invalid code 0b11",
                           t->name, (long long)at);
    } else if (t->type == BN_TYPE_TQ2_0) {
        for (uint64_t b = 0; b < n_el / BN_QK_K; b++) {
            const bn_block_tq2_0 *blk = (const bn_block_tq2_0 *)(p + b * sizeof *blk);
            if (find_code3(blk->qs, sizeof blk->qs) >= 0)
                return bn_fail(BN_E_MODEL, "tensor '%s': TQ2_0 block %llu holds the invalid code 3",
                               t->name, (unsigned long long)b);
            uint16_t d;
            memcpy(&d, &blk->d, 2);
            if (!isfinite(bn_f16_to_f32(d)))
                return bn_fail(BN_E_MODEL, "tensor '%s': block %llu scale is not finite", t->name,
                               (unsigned long long)b);
        }
    } else if (t->type == BN_TYPE_TQ1_0) {
        for (uint64_t b = 0; b < n_el / BN_QK_K; b++) {
            const bn_block_tq1_0 *blk = (const bn_block_tq1_0 *)(p + b * sizeof *blk);
            uint16_t d;
            memcpy(&d, &blk->d, 2);
            if (!isfinite(bn_f16_to_f32(d)))
                return bn_fail(BN_E_MODEL, "tensor '%s': block %llu scale is not finite", t->name,
                               (unsigned long long)b);
        }
    }
    return BN_OK;
}

int bn_model_check_weights(const bn_model *m, const bn_model_params *p)
{
    for (int il = 0; il < m->hp.n_layer; il++) {
        const bn_layer *L = &m->layers[il];
        const bn_tensor *ts[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            int rc = check_tensor(ts[i]);
            if (rc)
                return rc;
        }
        if (p->progress && p->progress(0.5f + 0.5f * (float)(il + 1) / (float)m->hp.n_layer,
                                       p->progress_user_data))
            return bn_fail(BN_E_CANCELLED, "model load cancelled by the progress callback");
    }
    return BN_OK;
}
