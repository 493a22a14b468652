#include "ctx/kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "core/checked.h"
#include "core/error.h"
#include "core/fp16.h"

uint64_t bn_kv_cache_bytes(int32_t n_seq, int32_t n_layer, int32_t n_ctx, int32_t n_kv_dim, int32_t type)
{
    uint64_t n = 2 * (uint64_t)n_layer, es = type == BN_KV_F32 ? 4 : 2;
    if (!bn_mul_u64(n, (uint64_t)n_seq, &n) || !bn_mul_u64(n, (uint64_t)n_ctx, &n)
        || !bn_mul_u64(n, (uint64_t)n_kv_dim, &n) || !bn_mul_u64(n, es, &n) || n > SIZE_MAX)
        return 0;
    return n;
}

int bn_kv_cache_init(bn_kv_cache *kv, int32_t n_seq, int32_t n_layer, int32_t n_ctx, int32_t n_kv_dim,
                     int32_t type)
{
    memset(kv, 0, sizeof *kv);
    uint64_t bytes = bn_kv_cache_bytes(n_seq, n_layer, n_ctx, n_kv_dim, type);
    if (!bytes)
        return bn_fail(BN_E_NOMEM, "KV cache size overflows (n_ctx %d, %d sequences)", n_ctx, n_seq);
    /* calloc: pages are only touched as the sequences grow */
    kv->data = calloc(1, (size_t)bytes);
    if (!kv->data)
        return bn_fail(BN_E_NOMEM, "cannot allocate the KV cache: %llu bytes for n_ctx %d, %d sequences",
                       (unsigned long long)bytes, n_ctx, n_seq);
    kv->n_seq = n_seq;
    kv->n_layer = n_layer;
    kv->n_ctx = n_ctx;
    kv->n_kv_dim = n_kv_dim;
    kv->type = type;
    kv->elem_size = type == BN_KV_F32 ? 4 : 2;
    return BN_OK;
}

void bn_kv_cache_free(bn_kv_cache *kv)
{
    free(kv->data);
    memset(kv, 0, sizeof *kv);
}

void bn_kv_store(bn_kv_cache *kv, int32_t seq, int32_t layer, int which, int32_t pos, const float *row)
{
    void *dst = bn_kv_row(kv, seq, layer, which, pos);
    if (kv->type == BN_KV_F32) {
        memcpy(dst, row, (size_t)kv->n_kv_dim * 4);
    } else {
        uint16_t *h = dst;
        for (int32_t i = 0; i < kv->n_kv_dim; i++)
            h[i] = bn_f16_from_f32(row[i]);
    }
}

void bn_kv_copy_seq(bn_kv_cache *kv, int32_t src, int32_t dst, int32_t n_pos)
{
    const size_t bytes = (size_t)n_pos * (size_t)kv->n_kv_dim * kv->elem_size;
    for (int32_t l = 0; l < kv->n_layer; l++)
        for (int which = 0; which < 2; which++)
            memcpy(bn_kv_row(kv, dst, l, which, 0), bn_kv_row(kv, src, l, which, 0), bytes);
}
