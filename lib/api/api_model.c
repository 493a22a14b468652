/* Public entry points for loading and inspecting models: argument checks and
 * status codes; the work is in model/ and gguf/. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/reserved.h"
#include "gguf/gguf_types.h"
#include "model/model.h"

void bn_model_params_default(bn_model_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->use_mmap = 1;
    p->check_weights = 1;
    p->progress = NULL;
    p->progress_user_data = NULL;
    p->cpu_level_cap = -1;
}

/* The highest cpu_level_cap: 3 (AMX on x86-64, i8mm on arm64). */
#define BN_MAX_LEVEL_CAP 3

static int check_params(const bn_model_params *p)
{
    if (p->cpu_level_cap < -1 || p->cpu_level_cap > BN_MAX_LEVEL_CAP)
        return bn_fail(BN_E_INVALID_ARG, "cpu_level_cap %d: expected -1 (the best the CPU has) to %d",
                       p->cpu_level_cap, BN_MAX_LEVEL_CAP);
    return bn_reserved_check(p->reserved, sizeof p->reserved, "bn_model_params");
}

/* What a tensor's elements need: kernels read F32 data as floats and the
 * 16-bit scales of block types in place. */
static uint64_t type_align(uint32_t type)
{
    if (type == BN_TYPE_F32)
        return 4;
    const bn_type_info *ti = bn_type_info_get(type);
    return ti && ti->block_bytes % 2 == 0 ? 2 : 1;
}

/* A tensor misplaced within the file (general.alignment 1 or 2 allows it) is
 * a format error; *base_off says whether only the image's address is off,
 * which a copy to aligned memory fixes. */
static int check_alignment(const bn_gguf *g, int *base_off)
{
    *base_off = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const bn_gguf_tensor *t = &g->tensors[i];
        const uint64_t a = type_align(t->type);
        const uint64_t at = g->data_offset + t->offset;
        if (at % a)
            return bn_fail(BN_E_FORMAT, "tensor '%.*s': its data at byte %llu is not a multiple of %llu, "
                           "as type %s needs", (int)(t->name.len > 96 ? 96 : t->name.len), t->name.ptr,
                           (unsigned long long)at, (unsigned long long)a, bn_type_name(t->type));
        if ((uintptr_t)t->data % a)
            *base_off = 1;
    }
    return BN_OK;
}

/* Copies a caller's image to 64-byte aligned memory the model owns. */
static int copy_image(bn_model *m, const void *data, uint64_t size)
{
    size_t padded = ((size_t)size + 63) & ~(size_t)63;
    uint8_t *copy = padded >= size ? aligned_alloc(64, padded) : NULL;
    if (!copy)
        return bn_fail(BN_E_NOMEM, "cannot copy a misaligned model image of %llu bytes",
                       (unsigned long long)size);
    memcpy(copy, data, (size_t)size);
    m->file.data = copy;
    m->file.size = size;
    m->file.mapped = 0;
    m->file.fd = -1;
    return BN_OK;
}

/* Parses the image already in m->file (or caller memory) and binds it. */
static int finish_load(bn_model *m, const void *data, uint64_t size, const bn_model_params *p)
{
    int base_off = 0;
    int rc = bn_gguf_parse(&m->gguf, data, size);
    if (!rc)
        rc = check_alignment(&m->gguf, &base_off);
    if (!rc && base_off) {
        /* only a caller's memory can be misaligned (a mapping starts on a
         * page); the copy costs the image's size once, at load */
        bn_gguf_release(&m->gguf);
        rc = copy_image(m, data, size);
        if (!rc)
            rc = bn_gguf_parse(&m->gguf, m->file.data, m->file.size);
    }
    /* a mapped file may change under us: metadata must not (doc/design.md) */
    if (!rc && m->file.mapped && !(rc = bn_gguf_own_metadata(&m->gguf)))
        bn_mapfile_drop(&m->file, m->file.data, m->gguf.data_offset);  /* read once: let it go */
    if (!rc)
        rc = bn_model_bind(m, p);
    return rc;
}

static int load(bn_model **out, const char *path, const void *data, size_t size,
                const bn_model_params *user_params)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_model_load: out is NULL");
    *out = NULL;
    bn_model_params p;
    if (user_params)
        p = *user_params;
    else
        bn_model_params_default(&p);
    if ((p.output_q4 != 0 && p.output_q4 != 1) || (p.output_q4 && p.output_q8))
        return bn_fail(BN_E_INVALID_ARG, "bn_model_load: output_q4 %d%s: expected 0 or 1, and not with "
                       "output_q8", p.output_q4, p.output_q8 ? " (output_q8 is set)" : "");
    int rc = check_params(&p);
    if (rc)
        return rc;
    bn_model *m = calloc(1, sizeof *m);
    if (!m)
        return bn_fail(BN_E_NOMEM, "out of memory");
    if (path) {
        /* the file's own errors name the path already; the parser's do not */
        rc = bn_mapfile_open(&m->file, path, p.use_mmap);
        if (!rc && (rc = finish_load(m, m->file.data, m->file.size, &p)) && rc != BN_E_IO)
            bn_fail_prefix(rc, path);
    } else {
        rc = finish_load(m, data, size, &p);
    }
    if (rc) {
        bn_model_destroy(m);
        return rc;
    }
    *out = m;
    return BN_OK;
}

int bn_model_load(bn_model **out, const char *path, const bn_model_params *p)
{
    if (!path) {
        if (out)
            *out = NULL;
        return bn_fail(BN_E_INVALID_ARG, "bn_model_load: path is NULL");
    }
    return load(out, path, NULL, 0, p);
}

int bn_model_load_from_memory(bn_model **out, const void *data, size_t size,
                              const bn_model_params *p)
{
    if (!data) {
        if (out)
            *out = NULL;
        return bn_fail(BN_E_INVALID_ARG, "bn_model_load_from_memory: data is NULL");
    }
    return load(out, NULL, data, size, p);
}

void bn_model_free(bn_model **m)
{
    if (!m || !*m)
        return;
    bn_model_destroy(*m);
    *m = NULL;
}

const char *bn_model_arch_name(const bn_model *m) { return m ? m->arch_name : ""; }
const char *bn_model_name(const bn_model *m) { return m ? m->name : ""; }
const char *bn_model_weight_type_name(const bn_model *m)
{
    return m ? bn_type_name(m->weight_type) : "";
}
int32_t bn_model_n_vocab(const bn_model *m) { return m ? m->hp.n_vocab : 0; }
int32_t bn_model_n_embd(const bn_model *m) { return m ? m->hp.n_embd : 0; }
int32_t bn_model_n_layer(const bn_model *m) { return m ? m->hp.n_layer : 0; }
int32_t bn_model_n_head(const bn_model *m) { return m ? m->hp.n_head : 0; }
int32_t bn_model_n_head_kv(const bn_model *m) { return m ? m->hp.n_head_kv : 0; }
int32_t bn_model_n_ff(const bn_model *m) { return m ? m->hp.n_ff : 0; }
int32_t bn_model_n_ctx_train(const bn_model *m) { return m ? m->hp.n_ctx_train : 0; }
uint64_t bn_model_n_params(const bn_model *m) { return m ? m->n_params : 0; }
uint64_t bn_model_weight_bytes(const bn_model *m) { return m ? m->weight_bytes : 0; }

uint64_t bn_model_bytes_per_token(const bn_model *m)
{
    if (!m)
        return 0;
    uint64_t b = m->output_norm.nbytes + m->output.nbytes + m->tok_embd.nbytes / m->tok_embd.ne[1];
    for (int il = 0; il < m->hp.n_layer; il++) {
        const bn_layer *L = &m->layers[il];
        const bn_tensor *ts[] = { &L->attn_norm, &L->wq, &L->wk, &L->wv, &L->attn_sub_norm, &L->wo,
                                  &L->ffn_norm, &L->w_gate, &L->w_up, &L->ffn_sub_norm, &L->w_down };
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            b += ts[i]->pack ? ts[i]->pack->bytes : ts[i]->nbytes;
    }
    return b;
}

const char *bn_model_kernel_name(const bn_model *m)
{
    return m ? m->kernel_desc : "";
}

int32_t bn_model_meta_count(const bn_model *m)
{
    return m ? (int32_t)m->gguf.n_kv : 0;
}

int32_t bn_model_meta_key_by_index(const bn_model *m, int32_t index, char *buf, size_t buf_size)
{
    if (!m || (!buf && buf_size))
        return bn_fail(BN_E_INVALID_ARG, "bn_model_meta_key_by_index: NULL argument");
    if (index < 0 || (uint64_t)index >= m->gguf.n_kv)
        return bn_fail(BN_E_RANGE, "metadata index %d outside [0, %llu)", index,
                       (unsigned long long)m->gguf.n_kv);
    bn_gguf_value v = { .type = BN_GGUF_STRING, .v.str = m->gguf.kv[index].key };
    return bn_gguf_value_to_text(&v, buf, buf_size);
}

int32_t bn_model_meta_string(const bn_model *m, const char *key, char *buf, size_t buf_size)
{
    if (!m || !key || (!buf && buf_size))
        return bn_fail(BN_E_INVALID_ARG, "bn_model_meta_string: NULL argument");
    const bn_gguf_kv *kv = bn_gguf_find_kv(&m->gguf, key);
    if (!kv)
        return bn_fail(BN_E_NOT_FOUND, "no metadata key '%s'", key);
    int n = bn_gguf_value_to_text(&kv->value, buf, buf_size);
    if (n < 0)
        return bn_fail(n, "metadata '%s': value too long", key);
    return n;
}
