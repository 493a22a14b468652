/* Metadata that outlives changes to the file it was read from. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gguf/gguf.h"

/* p pointed into [old, old + n): the same byte of the copy. */
static const void *moved(const void *p, const uint8_t *old, uint8_t *copy)
{
    return copy + ((const uint8_t *)p - old);
}

int bn_gguf_own_metadata(bn_gguf *g)
{
    if (g->meta_copy || !g->data_offset)
        return BN_OK;
    /* every key, value and tensor info lies before the data section */
    uint8_t *copy = malloc((size_t)g->data_offset);
    if (!copy)
        return bn_fail(BN_E_NOMEM, "cannot copy %llu bytes of metadata",
                       (unsigned long long)g->data_offset);
    memcpy(copy, g->base, (size_t)g->data_offset);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        bn_gguf_kv *kv = &g->kv[i];
        kv->key.ptr = moved(kv->key.ptr, g->base, copy);
        if (kv->value.type == BN_GGUF_STRING)
            kv->value.v.str.ptr = moved(kv->value.v.str.ptr, g->base, copy);
        else if (kv->value.type == BN_GGUF_ARRAY && kv->value.v.arr.nbytes)
            kv->value.v.arr.data = moved(kv->value.v.arr.data, g->base, copy);
    }
    for (uint64_t i = 0; i < g->n_tensors; i++)
        g->tensors[i].name.ptr = moved(g->tensors[i].name.ptr, g->base, copy);
    g->meta_copy = copy;
    return BN_OK;
}
