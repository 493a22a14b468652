/* Per-context key/value cache: for each layer, K and V rows of n_kv_dim
 * elements for every position, in F16 or F32. */
#ifndef BN_CTX_KV_CACHE_H
#define BN_CTX_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bn_kv_cache {
    int32_t n_layer, n_ctx, n_kv_dim;
    int32_t type;               /* enum bn_kv_type */
    size_t elem_size;
    uint8_t *data;              /* [layer][K|V][pos][dim] */
} bn_kv_cache;

int bn_kv_cache_init(bn_kv_cache *kv, int32_t n_layer, int32_t n_ctx, int32_t n_kv_dim, int32_t type);
void bn_kv_cache_free(bn_kv_cache *kv);

/* Bytes the cache takes, or 0 if the size overflows. */
uint64_t bn_kv_cache_bytes(int32_t n_layer, int32_t n_ctx, int32_t n_kv_dim, int32_t type);

/* Stores one row of K or V (which = 0 / 1) at position pos. */
void bn_kv_store(bn_kv_cache *kv, int32_t layer, int which, int32_t pos, const float *row);

/* Row start of K or V at (layer, pos); elements are elem_size bytes. */
static inline const void *bn_kv_row(const bn_kv_cache *kv, int32_t layer, int which, int32_t pos)
{
    size_t plane = (size_t)kv->n_ctx * (size_t)kv->n_kv_dim * kv->elem_size;
    return kv->data + ((size_t)layer * 2 + (size_t)which) * plane
           + (size_t)pos * (size_t)kv->n_kv_dim * kv->elem_size;
}

#endif
