/* Per-context key/value cache: for each sequence a slot of n_ctx positions,
 * and in it, for each layer, K and V rows of n_kv_dim elements per position,
 * in F16 or F32. Slots are fixed (a sequence never moves), so attention reads
 * one contiguous run of rows and a sequence's rows are copied or saved as
 * whole runs. The memory is committed by the OS only where rows are written
 * (doc/design.md, "KV cache"). */
#ifndef BN_CTX_KV_CACHE_H
#define BN_CTX_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bn_kv_cache {
    int32_t n_seq, n_layer, n_ctx, n_kv_dim;
    int32_t type;               /* enum bn_kv_type */
    size_t elem_size;
    uint8_t *data;              /* [seq][layer][K|V][pos][dim] */
} bn_kv_cache;

int bn_kv_cache_init(bn_kv_cache *kv, int32_t n_seq, int32_t n_layer, int32_t n_ctx, int32_t n_kv_dim,
                     int32_t type);
void bn_kv_cache_free(bn_kv_cache *kv);

/* Bytes the cache takes, or 0 if the size overflows. */
uint64_t bn_kv_cache_bytes(int32_t n_seq, int32_t n_layer, int32_t n_ctx, int32_t n_kv_dim, int32_t type);

/* Bytes of one position of one sequence (all layers, K and V). */
static inline size_t bn_kv_pos_bytes(const bn_kv_cache *kv)
{
    return (size_t)kv->n_layer * 2 * (size_t)kv->n_kv_dim * kv->elem_size;
}

/* Row start of K or V (which = 0 / 1) of sequence seq at (layer, pos);
 * elements are elem_size bytes, rows of one plane are contiguous. */
static inline uint8_t *bn_kv_row(const bn_kv_cache *kv, int32_t seq, int32_t layer, int which, int32_t pos)
{
    const size_t row = (size_t)kv->n_kv_dim * kv->elem_size;
    const size_t plane = (size_t)kv->n_ctx * row;
    return kv->data + (((size_t)seq * (size_t)kv->n_layer + (size_t)layer) * 2 + (size_t)which) * plane
           + (size_t)pos * row;
}

/* Stores one row of K or V of sequence seq at position pos. */
void bn_kv_store(bn_kv_cache *kv, int32_t seq, int32_t layer, int which, int32_t pos, const float *row);

/* Copies positions [0, n_pos) of sequence src over those of dst. */
void bn_kv_copy_seq(bn_kv_cache *kv, int32_t src, int32_t dst, int32_t n_pos);

#endif
