#include "mkmodel_tensors.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fp16.h"
#include "gguf/gguf_types.h"
#include "mkmodel_encode.h"
#include "mkmodel_rng.h"

/* Elements per chunk: a multiple of every block size (256). */
#define CHUNK ((size_t)1 << 16)

/* Per layer: q, k, v, output, gate, up, down; the norms; and the sub-norms
 * of family bitnet. */
#define LINEAR_PER_LAYER 7
#define NORMS_PER_LAYER 2
#define SUB_NORMS_PER_LAYER 2

uint64_t bn_mkmodel_tensor_plan_count(const bn_mkmodel_config *c)
{
    int bitnet = c->family == BN_MKMODEL_FAMILY_BITNET;
    uint64_t per_layer = LINEAR_PER_LAYER + NORMS_PER_LAYER + (bitnet ? SUB_NORMS_PER_LAYER : 0);
    /* token_embd, output_norm, and llama's untied output */
    return (uint64_t)c->hp.n_layer * per_layer + 2 + (bitnet ? 0 : 1);
}

typedef struct plan {
    bn_mkmodel_tensor *t;
    uint64_t n;
    const bn_mkmodel_config *c;
} plan;

static bn_mkmodel_tensor *add(plan *p, enum bn_mkmodel_kind kind, int layer, const char *name)
{
    bn_mkmodel_tensor *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    if (layer >= 0)
        snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, name);
    else
        snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    return t;
}

static void add_norm(plan *p, int layer, const char *name, int64_t n)
{
    bn_mkmodel_tensor *t = add(p, BN_MKMODEL_NORM, layer, name);
    t->n_dims = 1;
    t->ne[0] = (uint64_t)n;
    t->type = BN_TYPE_F32;
}

/* k = input size (row length), m = output size (rows); the precision plan
 * may give the kind (the name without ".weight") another type */
static void add_linear(plan *p, int layer, const char *name, int64_t k, int64_t m)
{
    bn_mkmodel_tensor *t = add(p, BN_MKMODEL_LINEAR, layer, name);
    t->n_dims = 2;
    t->ne[0] = (uint64_t)k;
    t->ne[1] = (uint64_t)m;
    t->type = p->c->weight_type;
    for (int i = 0; i < BN_MKMODEL_N_LINEAR_KINDS; i++)
        if (p->c->plan_type[i] != BN_MKMODEL_NO_PLAN && !strncmp(name, bn_mkmodel_linear_kinds[i], strlen(name) - 7)
            && strlen(bn_mkmodel_linear_kinds[i]) == strlen(name) - 7)
            t->type = p->c->plan_type[i];
}

static void add_embedding(plan *p, const char *name)
{
    bn_mkmodel_tensor *t = add(p, BN_MKMODEL_EMBEDDING, -1, name);
    t->n_dims = 2;
    t->ne[0] = (uint64_t)p->c->hp.n_embd;
    t->ne[1] = (uint64_t)p->c->hp.n_vocab;
    t->type = p->c->embd_type;
}

int bn_mkmodel_tensor_plan(const bn_mkmodel_config *c, bn_mkmodel_tensor **out, uint64_t *count)
{
    const bn_mkmodel_hparams *hp = &c->hp;
    plan p = { malloc(bn_mkmodel_tensor_plan_count(c) * sizeof *p.t), 0, c };
    if (!p.t)
        return bn_fail(BN_E_NOMEM, "tensor list: out of memory");
    int sub_norms = c->family == BN_MKMODEL_FAMILY_BITNET;
    int64_t n_embd = hp->n_embd, n_ff = hp->n_ff;
    int64_t n_kv = n_embd / hp->n_head * hp->n_head_kv;

    add_embedding(&p, "token_embd.weight"); /* also the tied LM head of family bitnet */
    for (int i = 0; i < hp->n_layer; i++) {
        add_norm(&p, i, "attn_norm.weight", n_embd);
        add_linear(&p, i, "attn_q.weight", n_embd, n_embd);
        add_linear(&p, i, "attn_k.weight", n_embd, n_kv);
        add_linear(&p, i, "attn_v.weight", n_embd, n_kv);
        if (sub_norms)
            add_norm(&p, i, "attn_sub_norm.weight", n_embd);
        add_linear(&p, i, "attn_output.weight", n_embd, n_embd);
        add_norm(&p, i, "ffn_norm.weight", n_embd);
        add_linear(&p, i, "ffn_gate.weight", n_embd, n_ff);
        add_linear(&p, i, "ffn_up.weight", n_embd, n_ff);
        if (sub_norms)
            add_norm(&p, i, "ffn_sub_norm.weight", n_ff);
        add_linear(&p, i, "ffn_down.weight", n_ff, n_embd);
    }
    add_norm(&p, -1, "output_norm.weight", n_embd);
    if (!sub_norms)
        add_embedding(&p, "output.weight");
    *out = p.t;
    *count = p.n;
    return BN_OK;
}

int bn_mkmodel_emitter_init(bn_mkmodel_emitter *e, int64_t seed, double embd_std, int scales, FILE *log)
{
    memset(e, 0, sizeof *e);
    e->seed = seed;
    e->embd_std = embd_std;
    e->scales = scales;
    e->log = log;
    e->codes = malloc(CHUNK);
    e->bytes = malloc(4 * CHUNK);
    if (!e->codes || !e->bytes) {
        bn_mkmodel_emitter_free(e);
        return bn_fail(BN_E_NOMEM, "tensor data: out of memory");
    }
    return BN_OK;
}

void bn_mkmodel_emitter_free(bn_mkmodel_emitter *e)
{
    free(e->codes);
    free(e->bytes);
    e->codes = e->bytes = NULL;
}

static int put(FILE *f, const void *p, size_t n)
{
    if (fwrite(p, 1, n, f) != n)
        return bn_fail(BN_E_IO, "write failed: %s", strerror(errno));
    return BN_OK;
}

/* Uniform in [-a, a) with a = embd_std * sqrt(3), i.e. std embd_std; the
 * double is rounded once to the stored type. */
static int emit_embedding(bn_mkmodel_emitter *e, const bn_mkmodel_tensor *t, FILE *f)
{
    uint64_t key = bn_mkmodel_tensor_key(e->seed, t->name);
    uint64_t n = t->ne[0] * t->ne[1];
    double a = e->embd_std * sqrt(3.0);
    int f16 = t->type == BN_TYPE_F16;
    int rc = BN_OK;
    for (uint64_t i0 = 0; !rc && i0 < n; i0 += CHUNK) {
        size_t m = n - i0 < CHUNK ? (size_t)(n - i0) : CHUNK;
        for (size_t j = 0; j < m; j++) {
            double v = (2.0 * bn_mkmodel_uniform01(bn_mkmodel_stream(key, i0 + j)) - 1.0) * a;
            if (f16)
                bn_mkmodel_put_le16(e->bytes + 2 * j, bn_f16_from_f64(v));
            else
                bn_mkmodel_put_le32(e->bytes + 4 * j, bn_f32_bits((float)v));
        }
        rc = put(f, e->bytes, m * (f16 ? 2 : 4));
    }
    return rc;
}

/* 1 + U(-0.25, 0.25), computed in double, stored as f32. */
static int emit_norm(bn_mkmodel_emitter *e, const bn_mkmodel_tensor *t, FILE *f)
{
    uint64_t key = bn_mkmodel_tensor_key(e->seed, t->name);
    uint64_t n = t->ne[0];
    int rc = BN_OK;
    for (uint64_t i0 = 0; !rc && i0 < n; i0 += CHUNK) {
        size_t m = n - i0 < CHUNK ? (size_t)(n - i0) : CHUNK;
        for (size_t j = 0; j < m; j++) {
            double u = bn_mkmodel_uniform01(bn_mkmodel_stream(key, i0 + j));
            bn_mkmodel_put_le32(e->bytes + 4 * j, bn_f32_bits((float)(1.0 + (2.0 * u - 1.0) * 0.25)));
        }
        rc = put(f, e->bytes, 4 * m);
    }
    return rc;
}

static int emit_linear(bn_mkmodel_emitter *e, const bn_mkmodel_tensor *t, FILE *f)
{
    uint64_t key = bn_mkmodel_tensor_key(e->seed, t->name);
    uint64_t n = t->ne[0] * t->ne[1];
    double scale = bn_mkmodel_ternary_scale(e->seed, t->name, t->ne[0]);
    if (e->log)
        fprintf(e->log, "%-28s [%5llu,%6llu] %s scale=%.6g\n", t->name,
                (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                bn_type_name(t->type), scale);
    /* row or block scales: TQ types only */
    const int varied = t->type == BN_TYPE_TQ2_0 || t->type == BN_TYPE_TQ1_0 ? e->scales : BN_MKMODEL_SCALES_TENSOR;
    char vname[320];
    snprintf(vname, sizeof vname, "%s#%s-scales", t->name, bn_mkmodel_scales_name(varied));
    const uint64_t vkey = bn_mkmodel_tensor_key(e->seed, vname);
    int rc = BN_OK;
    /* Chunks hold whole blocks: CHUNK and every row length are multiples of
     * the type's block, so blocks never straddle chunks. */
    for (uint64_t i0 = 0; !rc && i0 < n; i0 += CHUNK) {
        size_t m = n - i0 < CHUNK ? (size_t)(n - i0) : CHUNK;
        for (size_t j = 0; j < m; j++)
            e->codes[j] = bn_mkmodel_ternary_code(bn_mkmodel_stream(key, i0 + j));
        if (varied)     /* block by block, each with its own d */
            for (size_t b = 0; b < m / 256; b++) {
                const uint64_t blk = (i0 + 256 * b) / 256, i = varied == BN_MKMODEL_SCALES_ROW ? blk / (t->ne[0] / 256) : blk;
                const double u = bn_mkmodel_uniform01(bn_mkmodel_stream(vkey, i));
                bn_mkmodel_encode(t->type, e->codes + 256 * b, 256, scale * (0.5 + u),
                                  e->bytes + bn_mkmodel_encoded_size(t->type, 256 * b));
            }
        else
            bn_mkmodel_encode(t->type, e->codes, m, scale, e->bytes);
        rc = put(f, e->bytes, bn_mkmodel_encoded_size(t->type, m));
    }
    if (!rc && t->type == BN_TYPE_I2_S) {
        uint8_t tail[BN_MKMODEL_I2_S_TAIL];
        bn_mkmodel_i2_s_tail(scale, tail);
        rc = put(f, tail, sizeof tail);
    }
    return rc;
}

int bn_mkmodel_emit(bn_mkmodel_emitter *e, const bn_mkmodel_tensor *t, FILE *f)
{
    switch (t->kind) {
    case BN_MKMODEL_EMBEDDING: return emit_embedding(e, t, f);
    case BN_MKMODEL_NORM: return emit_norm(e, t, f);
    case BN_MKMODEL_LINEAR: return emit_linear(e, t, f);
    }
    return bn_fail(BN_E_INTERNAL, "tensor '%s': unknown kind", t->name);
}
