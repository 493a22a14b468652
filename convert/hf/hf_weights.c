#include "hf_weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cv_float.h"
#include "cv_ternary.h"
#include "gguf/gguf_types.h"
#include "cv_error.h"

static uint32_t float_type(enum st_dtype d)
{
    return d == ST_F32 ? BN_TYPE_F32 : d == ST_F16 ? BN_TYPE_F16 : d == ST_BF16 ? BN_TYPE_BF16 : UINT32_MAX;
}

static const char *file_of(const hf_weights *w, const st_tensor *t)
{
    return w->st->files[t->file].path;
}

/* The first of up to two names present, or NULL with a message. */
static const st_tensor *need(hf_weights *w, const char *n1, const char *n2, char *err, size_t en)
{
    const st_tensor *t = st_model_find(w->st, n1);
    if (!t && n2)
        t = st_model_find(w->st, n2);
    if (!t) {
        cv_fail(err, en, "tensor %s%s%s is missing from the checkpoint", n1, n2 ? " (or " : "",
             n2 ? n2 : "");
        if (n2)
            strncat(err, ")", en - strlen(err) - 1);
        return NULL;
    }
    return t;
}

/* A float tensor of shape [d0, d1] (HF order: rows first; d1 = 0 for 1-D). */
static int check_float(const hf_weights *w, const st_tensor *t, uint64_t d0, uint64_t d1, char *err,
                       size_t en)
{
    if (float_type(t->dtype) == UINT32_MAX)
        return cv_fail(err, en, "%s: tensor %s: dtype %s, expected F32, F16 or BF16", file_of(w, t), t->name,
                    st_dtype_name(t->dtype));
    int ok = d1 ? t->n_dims == 2 && t->shape[0] == d0 && t->shape[1] == d1
                : t->n_dims == 1 && t->shape[0] == d0;
    if (!ok)
        return cv_fail(err, en, "%s: tensor %s: shape [%llu%s%llu] does not match config.json's [%llu, %llu]",
                    file_of(w, t), t->name, (unsigned long long)t->shape[0], t->n_dims > 1 ? ", " : "",
                    t->n_dims > 1 ? (unsigned long long)t->shape[1] : 0ull, (unsigned long long)d0,
                    (unsigned long long)d1);
    return 0;
}

static hf_out_tensor *add(hf_weights *w, const char *name, enum hf_kind kind, const st_tensor *src,
                          uint64_t rows, uint64_t cols, uint32_t type)
{
    hf_out_tensor *o = &w->t[w->n++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->kind = kind;
    o->src = src;
    o->n_dims = cols ? 2 : 1;
    o->ne[0] = cols ? cols : rows;
    o->ne[1] = cols ? rows : 1;
    o->type = type;
    return o;
}

static int plan_linear(hf_weights *w, int layer, const char *gguf, const char *hf, uint64_t rows, uint64_t cols,
                       uint32_t ttype, int64_t permute, char *err, size_t en)
{
    char n[160], gn[96], sn[160];
    snprintf(n, sizeof n, "model.layers.%d.%s.weight", layer, hf);
    snprintf(sn, sizeof sn, "model.layers.%d.%s.weight_scale", layer, hf);
    snprintf(gn, sizeof gn, "blk.%d.%s.weight", layer, gguf);
    const st_tensor *t = need(w, n, NULL, err, en);
    if (!t)
        return -1;
    const st_tensor *s = st_model_find(w->st, sn);
    if (t->dtype == ST_U8) {
        /* packed: [rows / 4, cols] bytes, 4 codes per byte along dim 0 */
        if (!s)
            return cv_fail(err, en, "%s: tensor %s: packed U8 weights without %s", file_of(w, t), n, sn);
        if (rows % 4 || t->n_dims != 2 || t->shape[0] != rows / 4 || t->shape[1] != cols)
            return cv_fail(err, en, "%s: tensor %s: packed shape [%llu, %llu], expected [%llu, %llu] for %llu "
                        "rows", file_of(w, t), n, (unsigned long long)t->shape[0],
                        (unsigned long long)(t->n_dims > 1 ? t->shape[1] : 0), (unsigned long long)rows / 4,
                        (unsigned long long)cols, (unsigned long long)rows);
        if (float_type(s->dtype) == UINT32_MAX || s->n_elements != 1)
            return cv_fail(err, en, "%s: tensor %s: expected one F32/F16/BF16 value, got %llu of %s",
                        file_of(w, s), sn, (unsigned long long)s->n_elements, st_dtype_name(s->dtype));
    } else {
        if (s)
            return cv_fail(err, en, "%s: tensor %s: %s weights with a weight_scale are not a known layout",
                        file_of(w, t), n, st_dtype_name(t->dtype));
        if (check_float(w, t, rows, cols, err, en))
            return -1;
    }
    if (cv_ternary_check_shape(ttype, cols, rows * cols, gn)) {
        return cv_fail(err, en, "tensor %s (%s): rows of %llu weights do not fit %s", gn, n,
                    (unsigned long long)cols, bn_type_name(ttype));
    }
    hf_out_tensor *o = add(w, gn, HF_TERNARY, t, rows, cols, ttype);
    o->scale = s;
    o->permute_heads = permute;
    return 0;
}

static int plan_float(hf_weights *w, const char *gguf, const char *n1, const char *n2, uint64_t d0,
                      uint64_t d1, uint32_t type, char *err, size_t en)
{
    const st_tensor *t = need(w, n1, n2, err, en);
    if (!t || check_float(w, t, d0, d1, err, en))
        return -1;
    if ((type == BN_TYPE_Q8_0 || type == BN_TYPE_Q4_0) && d1 % 32)
        type = BN_TYPE_F16;
    add(w, gguf, HF_FLOAT, t, d0, d1, type);
    return 0;
}

/* A checkpoint tensor no output tensor reads would silently change the
 * model: a bias (which no supported architecture has) is refused, anything
 * else named in a warning. Rotary tables are derived data. */
static int check_unused(const hf_weights *w, char *err, size_t en)
{
    uint64_t n_unused = 0;
    for (size_t i = 0; i < w->st->n_tensors; i++) {
        const st_tensor *t = &w->st->tensors[i];
        int used = 0;
        for (uint64_t j = 0; j < w->n && !used; j++)
            used = w->t[j].src == t || w->t[j].scale == t;
        const char *suffix = "rotary_emb.inv_freq";
        size_t l = strlen(t->name), ls = strlen(suffix);
        if (used || (l >= ls && !strcmp(t->name + l - ls, suffix)))
            continue;
        if (l >= 5 && !strcmp(t->name + l - 5, ".bias"))
            return cv_fail(err, en, "%s: tensor %s: biases are not supported", file_of(w, t), t->name);
        if (n_unused++ < 8)
            fprintf(stderr, "warning: %s: tensor %s is not used by the converted model\n",
                    file_of(w, t), t->name);
    }
    if (n_unused > 8)
        fprintf(stderr, "warning: %llu checkpoint tensors are not used in all\n", (unsigned long long)n_unused);
    return 0;
}

int hf_weights_plan(hf_weights *w, const st_model *st, const hf_config *c, uint32_t ttype, int head_type,
                    char *err, size_t en)
{
    memset(w, 0, sizeof *w);
    w->st = st;
    w->cfg = c;
    const uint64_t E = (uint64_t)c->n_embd, F = (uint64_t)c->n_ff, V = (uint64_t)c->n_vocab,
                   HQ = (uint64_t)(c->n_head * c->head_dim), HK = (uint64_t)(c->n_head_kv * c->head_dim);
    w->t = calloc((size_t)c->n_layer * 11 + 3, sizeof *w->t);
    if (!w->t)
        return cv_fail(err, en, "out of memory");
    const int sub = c->source != HF_LLAMA_TERNARY, llama = c->source == HF_LLAMA_TERNARY;
    int rc = plan_float(w, "token_embd.weight", "model.embed_tokens.weight", NULL, V, E, BN_TYPE_F16, err, en);
    for (int l = 0; l < c->n_layer && !rc; l++) {
        char a[96], b[96], x[96];
        snprintf(a, sizeof a, "model.layers.%d.input_layernorm.weight", l);
        snprintf(x, sizeof x, "blk.%d.attn_norm.weight", l);
        rc = plan_float(w, x, a, NULL, E, 0, BN_TYPE_F32, err, en) ||
             plan_linear(w, l, "attn_q", "self_attn.q_proj", HQ, E, ttype, llama ? c->n_head : 0, err, en) ||
             plan_linear(w, l, "attn_k", "self_attn.k_proj", HK, E, ttype, llama ? c->n_head_kv : 0, err, en) ||
             plan_linear(w, l, "attn_v", "self_attn.v_proj", HK, E, ttype, 0, err, en);
        if (!rc && sub) {
            snprintf(a, sizeof a, "model.layers.%d.self_attn.attn_sub_norm.weight", l);
            snprintf(b, sizeof b, "model.layers.%d.self_attn.inner_attn_ln.weight", l);
            snprintf(x, sizeof x, "blk.%d.attn_sub_norm.weight", l);
            rc = plan_float(w, x, a, b, HQ, 0, BN_TYPE_F32, err, en);
        }
        if (!rc) {
            snprintf(a, sizeof a, "model.layers.%d.post_attention_layernorm.weight", l);
            snprintf(x, sizeof x, "blk.%d.ffn_norm.weight", l);
            rc = plan_linear(w, l, "attn_output", "self_attn.o_proj", E, HQ, ttype, 0, err, en) ||
                 plan_float(w, x, a, NULL, E, 0, BN_TYPE_F32, err, en) ||
                 plan_linear(w, l, "ffn_gate", "mlp.gate_proj", F, E, ttype, 0, err, en) ||
                 plan_linear(w, l, "ffn_up", "mlp.up_proj", F, E, ttype, 0, err, en);
        }
        if (!rc && sub) {
            snprintf(a, sizeof a, "model.layers.%d.mlp.ffn_sub_norm.weight", l);
            snprintf(b, sizeof b, "model.layers.%d.mlp.ffn_layernorm.weight", l);
            snprintf(x, sizeof x, "blk.%d.ffn_sub_norm.weight", l);
            rc = plan_float(w, x, a, b, F, 0, BN_TYPE_F32, err, en);
        }
        if (!rc)
            rc = plan_linear(w, l, "ffn_down", "mlp.down_proj", E, F, ttype, 0, err, en);
    }
    if (!rc)
        rc = plan_float(w, "output_norm.weight", "model.norm.weight", NULL, E, 0, BN_TYPE_F32, err, en);
    if (!rc) {
        const st_tensor *head = st_model_find(st, "lm_head.weight");
        int tied = c->tied || !head;
        if (!tied)
            rc = plan_float(w, "output.weight", "lm_head.weight", NULL, V, E,
                            head_type < 0 ? BN_TYPE_F16 : (uint32_t)head_type, err, en);
        else if (head_type >= 0)   /* an explicit head type unties the head */
            rc = plan_float(w, "output.weight", "model.embed_tokens.weight", NULL, V, E, (uint32_t)head_type,
                            err, en);
    }
    if (rc || check_unused(w, err, en)) {
        hf_weights_free(w);
        return -1;
    }
    return 0;
}

void hf_weights_free(hf_weights *w)
{
    free(w->t);
    memset(w, 0, sizeof *w);
}

/* Code of packed weight (row r, column k): byte [r % q][k], bits 2 (r / q),
 * q = rows / 4 (transformers' unpack_weights; llama.cpp's BitnetModel). */
static int unpack(const hf_out_tensor *o, uint8_t *codes)
{
    const uint64_t cols = o->ne[0], rows = o->ne[1], q = rows / 4;
    const uint8_t *p = o->src->data;
    for (uint64_t r = 0; r < rows; r++) {
        const uint8_t *row = p + (r % q) * cols;
        const int sh = (int)(2 * (r / q));
        for (uint64_t k = 0; k < cols; k++) {
            uint8_t c = (row[k] >> sh) & 3;
            if (c == 3) {
                fprintf(stderr, "tensor %s: packed code 0b11 (no ternary value) at row %llu, column %llu\n",
                        o->src->name, (unsigned long long)(r % q), (unsigned long long)k);
                return -1;
            }
            codes[r * cols + k] = c;
        }
    }
    return 0;
}

/* HF Llama rotates pairs (i, i + d/2); GGUF llama pairs (2i, 2i + 1). Row
 * h*d + 2j + t of the output is row h*d + t*d/2 + j of the checkpoint
 * (llama.cpp's LlamaModel.permute). */
static int permute_rows(const hf_out_tensor *o, uint8_t *codes)
{
    const uint64_t cols = o->ne[0], rows = o->ne[1], d = rows / (uint64_t)o->permute_heads;
    uint8_t *tmp = malloc(rows * cols);
    if (!tmp)
        return -1;
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t h = r / d, j = (r % d) / 2, t = r % 2;
        memcpy(tmp + r * cols, codes + (h * d + t * (d / 2) + j) * cols, cols);
    }
    memcpy(codes, tmp, rows * cols);
    free(tmp);
    return 0;
}

static int emit_ternary(hf_weights *w, const hf_out_tensor *o, FILE *f)
{
    cv_ternary t;
    const uint64_t n = o->ne[0] * o->ne[1];
    if (o->src->dtype == ST_U8) {
        memset(&t, 0, sizeof t);
        t.n = n;
        t.codes = malloc(n);
        t.scale_uniform = 1;
        if (!t.codes) {
            fprintf(stderr, "tensor %s: out of memory\n", o->name);
            return -1;
        }
        if (unpack(o, t.codes)) {
            cv_ternary_free(&t);
            return -1;
        }
        float ws = cv_float_at(float_type(o->scale->dtype), o->scale->data, 0);
        float s = w->cfg->scale_divides ? 1.0f / ws : ws;
        if (!isfinite(s) || !(s > 0.0f)) {
            fprintf(stderr, "%s: tensor %s: weight_scale %g gives no usable scale\n", file_of(w, o->scale),
                    o->scale->name, (double)ws);
            cv_ternary_free(&t);
            return -1;
        }
        t.scale = s;
    } else {
        int ternary = 0;
        if (cv_ternary_from_float(&t, float_type(o->src->dtype), o->src->data, n, &ternary)) {
            fprintf(stderr, "tensor %s: out of memory\n", o->name);
            return -1;
        }
        if (!ternary)
            w->lossy = 1;
    }
    if (o->permute_heads > 0 && permute_rows(o, t.codes)) {
        fprintf(stderr, "tensor %s: out of memory\n", o->name);
        cv_ternary_free(&t);
        return -1;
    }
    int rc = cv_ternary_write(&t, o->type, o->name, f);
    cv_ternary_free(&t);
    return rc;
}

/* Float tensors go in slices of rows whose pages are released as they are
 * done: an embedding of 128256 x 2560 never becomes resident as a whole. */
static int emit_float(hf_weights *w, const hf_out_tensor *o, FILE *f)
{
    const uint32_t st = float_type(o->src->dtype);
    const uint64_t row_bytes = o->ne[0] * st_dtype_size(o->src->dtype);
    const uint64_t step = row_bytes ? (16u << 20) / row_bytes + 1 : 1;
    for (uint64_t r = 0; r < o->ne[1]; r += step) {
        uint64_t n = o->ne[1] - r < step ? o->ne[1] - r : step;
        if (cv_float_write(f, o->type, st, o->src->data + r * row_bytes, o->ne[0], n, o->name))
            return -1;
        st_tensor_release_range(w->st, o->src, r * row_bytes, n * row_bytes);
    }
    return 0;
}

int hf_weights_emit(hf_weights *w, uint64_t i, FILE *f)
{
    const hf_out_tensor *o = &w->t[i];
    int rc = o->kind == HF_TERNARY ? emit_ternary(w, o, f) : emit_float(w, o, f);
    st_tensor_release(w->st, o->src);
    if (o->scale)
        st_tensor_release(w->st, o->scale);
    return rc;
}
