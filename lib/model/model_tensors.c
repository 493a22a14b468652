/* Binds every tensor the architecture needs by name and checks its shape and
 * type against the hyper-parameters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model_internal.h"

typedef enum tensor_role { ROLE_NORM, ROLE_LINEAR, ROLE_EMBED } tensor_role;

static int type_allowed(tensor_role role, uint32_t type)
{
    switch (role) {
    case ROLE_NORM:
        return type == BN_TYPE_F32;
    case ROLE_LINEAR:
        return bn_type_is_ternary(type) || type == BN_TYPE_F32 || type == BN_TYPE_F16
               || type == BN_TYPE_BF16 || type == BN_TYPE_Q8_0 || type == BN_TYPE_Q4_0;
    case ROLE_EMBED:
        return type == BN_TYPE_F32 || type == BN_TYPE_F16 || type == BN_TYPE_BF16
               || type == BN_TYPE_Q8_0 || type == BN_TYPE_Q4_0;
    }
    return 0;
}

static const char *role_types(tensor_role role)
{
    switch (role) {
    case ROLE_NORM: return "F32";
    case ROLE_LINEAR: return "I2_S, TQ2_0, TQ1_0, F32, F16, BF16, Q8_0 or Q4_0";
    default: return "F32, F16, BF16, Q8_0 or Q4_0";
    }
}

/* Finds `name`, checks it is [ne0] (ne1 == 0) or [ne0, ne1], of a type the
 * role allows. Missing tensors are an error unless optional (then t->data
 * stays NULL). */
static int bind(bn_model *m, bn_tensor *t, const char *name, tensor_role role, uint64_t ne0,
                uint64_t ne1, int optional)
{
    memset(t, 0, sizeof *t);
    t->scale = 1.0f;
    t->out_scale = 1.0f;
    const bn_gguf_tensor *gt = bn_gguf_find_tensor(&m->gguf, name);
    if (!gt) {
        if (optional)
            return BN_OK;
        return bn_fail(BN_E_MODEL, "tensor '%s' is missing (architecture %s)", name, m->arch_name);
    }
    uint64_t want1 = ne1 ? ne1 : 1;
    if (gt->ne[0] != ne0 || gt->ne[1] != want1 || gt->ne[2] != 1 || gt->ne[3] != 1) {
        char have[96], want[48];
        int n = snprintf(have, sizeof have, "[%llu", (unsigned long long)gt->ne[0]);
        for (uint32_t d = 1; d < gt->n_dims && n > 0 && (size_t)n < sizeof have; d++)
            n += snprintf(have + n, sizeof have - (size_t)n, ", %llu", (unsigned long long)gt->ne[d]);
        if (n > 0 && (size_t)n < sizeof have)
            snprintf(have + n, sizeof have - (size_t)n, "]");
        if (ne1)
            snprintf(want, sizeof want, "[%llu, %llu]", (unsigned long long)ne0, (unsigned long long)ne1);
        else
            snprintf(want, sizeof want, "[%llu]", (unsigned long long)ne0);
        return bn_fail(BN_E_MODEL, "tensor '%s' has shape %s, expected %s", name, have, want);
    }
    if (!type_allowed(role, gt->type))
        return bn_fail(BN_E_UNSUPPORTED, "tensor '%s' has type %s, expected %s", name,
                       bn_type_name(gt->type), role_types(role));
    t->name = name;
    t->type = gt->type;
    t->ne[0] = gt->ne[0];
    t->ne[1] = gt->ne[1];
    t->data = gt->data;
    t->nbytes = gt->nbytes;
    if (t->type == BN_TYPE_I2_S) {
        /* the per-tensor scale follows the n/4 bytes of codes */
        memcpy(&t->scale, (const uint8_t *)gt->data + gt->n_elements / 4, sizeof t->scale);
        if (!isfinite(t->scale))
            return bn_fail(BN_E_MODEL, "tensor '%s': I2_S scale is not finite", name);
    }
    return BN_OK;
}

/* The optional `blk.N.<t>.scale` (f32, one element) of 1bitLLM conversions. */
static int bind_out_scale(bn_model *m, bn_tensor *t, const char *weight_name)
{
    char name[96];
    size_t n = strlen(weight_name);
    const char *suffix = ".weight";
    if (n < 7 || strcmp(weight_name + n - 7, suffix))
        return BN_OK;
    snprintf(name, sizeof name, "%.*s.scale", (int)(n - 7), weight_name);
    const bn_gguf_tensor *gt = bn_gguf_find_tensor(&m->gguf, name);
    if (!gt)
        return BN_OK;
    if (gt->type != BN_TYPE_F32 || gt->n_elements != 1)
        return bn_fail(BN_E_MODEL, "tensor '%s': expected one F32 element", name);
    memcpy(&t->out_scale, gt->data, sizeof t->out_scale);
    if (!isfinite(t->out_scale))
        return bn_fail(BN_E_MODEL, "tensor '%s' is not finite", name);
    return BN_OK;
}

/* Tensor names live in one allocation owned by the model: 11 per layer. */
#define NAME_LEN 48
#define NAMES_PER_LAYER 11

static int bind_layer(bn_model *m, int il, char *names)
{
    const bn_hparams *hp = &m->hp;
    bn_layer *L = &m->layers[il];
    uint64_t e = (uint64_t)hp->n_embd, f = (uint64_t)hp->n_ff;
    uint64_t kv = (uint64_t)hp->head_dim * (uint64_t)hp->n_head_kv;
    struct {
        bn_tensor *t;
        const char *what;
        tensor_role role;
        uint64_t ne0, ne1;
        int needed;
    } spec[NAMES_PER_LAYER] = {
        { &L->attn_norm, "attn_norm", ROLE_NORM, e, 0, 1 },
        { &L->wq, "attn_q", ROLE_LINEAR, e, e, 1 },
        { &L->wk, "attn_k", ROLE_LINEAR, e, kv, 1 },
        { &L->wv, "attn_v", ROLE_LINEAR, e, kv, 1 },
        { &L->attn_sub_norm, "attn_sub_norm", ROLE_NORM, e, 0, m->arch->sub_norms },
        { &L->wo, "attn_output", ROLE_LINEAR, e, e, 1 },
        { &L->ffn_norm, "ffn_norm", ROLE_NORM, e, 0, 1 },
        { &L->w_gate, "ffn_gate", ROLE_LINEAR, e, f, 1 },
        { &L->w_up, "ffn_up", ROLE_LINEAR, e, f, 1 },
        { &L->ffn_sub_norm, "ffn_sub_norm", ROLE_NORM, f, 0, m->arch->sub_norms },
        { &L->w_down, "ffn_down", ROLE_LINEAR, f, e, 1 },
    };
    for (int i = 0; i < NAMES_PER_LAYER; i++) {
        char *name = names + ((size_t)il * NAMES_PER_LAYER + (size_t)i) * NAME_LEN;
        snprintf(name, NAME_LEN, "blk.%d.%s.weight", il, spec[i].what);
        if (!spec[i].needed) {
            /* a sub-norm the architecture does not use must not be silently ignored */
            if (bn_gguf_find_tensor(&m->gguf, name))
                return bn_fail(BN_E_MODEL, "tensor '%s' is not used by architecture %s",
                               name, m->arch_name);
            memset(spec[i].t, 0, sizeof *spec[i].t);
            continue;
        }
        int rc = bind(m, spec[i].t, name, spec[i].role, spec[i].ne0, spec[i].ne1, 0);
        if (!rc && spec[i].role == ROLE_LINEAR)
            rc = bind_out_scale(m, spec[i].t, name);
        if (rc)
            return rc;
        if (spec[i].role == ROLE_LINEAR) {
            if (il == 0 && i == 1)
                m->weight_type = spec[i].t->type;
        }
    }
    return BN_OK;
}

static int check_vocab_key(bn_model *m)
{
    char key[128];
    snprintf(key, sizeof key, "%s.vocab_size", m->arch_name);
    uint32_t v;
    int rc = bn_gguf_get_u32(&m->gguf, key, &v);
    if (rc == BN_E_NOT_FOUND)
        return BN_OK;
    if (rc)
        return rc;
    if ((int64_t)v != m->hp.n_vocab)
        return bn_fail(BN_E_MODEL, "metadata '%s' = %u but token_embd.weight has %d rows", key, v,
                       m->hp.n_vocab);
    return BN_OK;
}

int bn_model_bind_tensors(bn_model *m)
{
    const bn_hparams *hp = &m->hp;
    const bn_gguf_tensor *emb = bn_gguf_find_tensor(&m->gguf, "token_embd.weight");
    if (!emb)
        return bn_fail(BN_E_MODEL, "tensor 'token_embd.weight' is missing");
    if (emb->ne[1] == 0 || emb->ne[1] > (1u << 22))
        return bn_fail(BN_E_MODEL, "tensor 'token_embd.weight': %llu rows is not a vocabulary size",
                       (unsigned long long)emb->ne[1]);
    m->hp.n_vocab = (int32_t)emb->ne[1];
    int rc = bind(m, &m->tok_embd, "token_embd.weight", ROLE_EMBED, (uint64_t)hp->n_embd,
                  (uint64_t)hp->n_vocab, 0);
    if (!rc)
        rc = check_vocab_key(m);
    if (!rc)
        rc = bind(m, &m->output_norm, "output_norm.weight", ROLE_NORM, (uint64_t)hp->n_embd, 0, 0);
    if (!rc)
        rc = bind(m, &m->output, "output.weight", ROLE_EMBED, (uint64_t)hp->n_embd,
                  (uint64_t)hp->n_vocab, 1);
    if (rc)
        return rc;
    if (!m->output.data) {
        m->output = m->tok_embd;    /* tied LM head */
        m->tied_output = 1;
    }
    char *names = calloc((size_t)hp->n_layer * NAMES_PER_LAYER, NAME_LEN);
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    m->tensor_names = names;
    if (!names || !m->layers)
        return bn_fail(BN_E_NOMEM, "out of memory for %d layers", hp->n_layer);
    for (int il = 0; il < hp->n_layer; il++)
        if ((rc = bind_layer(m, il, names)))
            return rc;
    /* every tensor in the file should have been recognised: a stray one means
     * a block_count or architecture we misread */
    char extra[96];
    snprintf(extra, sizeof extra, "blk.%d.attn_norm.weight", hp->n_layer);
    if (bn_gguf_find_tensor(&m->gguf, extra))
        return bn_fail(BN_E_MODEL, "tensor '%s' exists but block_count is %d", extra, hp->n_layer);
    for (uint64_t i = 0; i < m->gguf.n_tensors; i++) {
        m->n_params += m->gguf.tensors[i].n_elements;
        m->weight_bytes += m->gguf.tensors[i].nbytes;
    }
    return BN_OK;
}
