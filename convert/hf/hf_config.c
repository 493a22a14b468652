#include "hf_config.h"
#include "cv_error.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

json_t *hf_json_load(const char *dir, const char *name, int required, char *err, size_t en)
{
    return hf_json_load_flags(dir, name, required, 0, err, en);
}

json_t *hf_json_load_flags(const char *dir, const char *name, int required, size_t flags, char *err, size_t en)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    err[0] = 0;
    if (access(path, F_OK)) {
        if (required)
            cv_fail(err, en, "%s: missing (needed to convert)", path);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES | flags, &je);
    if (!j)
        cv_fail(err, en, "%s: line %d column %d: %s", path, je.line, je.column, je.text);
    return j;
}

/* An integer key; def when absent (-1: required). */
static int get_int(json_t *o, const char *key, int64_t def, int64_t *out, const char *path, char *err, size_t en)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (def < 0)
            return cv_fail(err, en, "%s: no %s", path, key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > (1ll << 40))
        return cv_fail(err, en, "%s: %s is not a positive integer", path, key);
    *out = json_integer_value(v);
    return 0;
}

static int get_num(json_t *o, const char *key, double def, double *out, const char *path, char *err, size_t en)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v) || !(json_number_value(v) > 0))
        return cv_fail(err, en, "%s: %s is not a positive number", path, key);
    *out = json_number_value(v);
    return 0;
}

static int64_t token_id(json_t *v)
{
    if (json_is_array(v))
        v = json_array_get(v, 0);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
}

int hf_config_load(hf_config *c, const char *dir, char *err, size_t en)
{
    memset(c, 0, sizeof *c);
    json_t *j = hf_json_load(dir, "config.json", 1, err, en);
    if (!j)
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = -1;
    json_t *archs = json_object_get(j, "architectures");
    const char *cls = json_string_value(json_array_get(archs, 0));
    if (!json_is_object(j) || !cls) {
        cv_fail(err, en, "%s: no architectures list", path);
        goto out;
    }
    snprintf(c->arch_class, sizeof c->arch_class, "%s", cls);
    json_t *qc = json_object_get(j, "quantization_config");
    const char *qm = json_string_value(json_object_get(qc, "quant_method"));
    const char *lc = json_string_value(json_object_get(qc, "linear_class"));
    if (!strcmp(cls, "BitNetForCausalLM")) {
        c->source = HF_BITNET_2B4T;
        c->scale_divides = 0;       /* llama.cpp BitnetModel: unpacked * weight_scale */
    } else if (!strcmp(cls, "BitnetForCausalLM")) {
        c->source = HF_BITNET_1BITLLM;
    } else if (!strcmp(cls, "LlamaForCausalLM") && qm && !strcmp(qm, "bitnet")) {
        c->source = HF_LLAMA_TERNARY;
        /* transformers' BitLinear divides by weight_scale, AutoBitLinear multiplies */
        c->scale_divides = !(lc && !strcmp(lc, "autobitlinear"));
    } else if (!strcmp(cls, "LlamaForCausalLM")) {
        cv_fail(err, en, "%s: LlamaForCausalLM without quantization_config.quant_method \"bitnet\" is no "
             "ternary model (supported: BitNetForCausalLM, BitnetForCausalLM, bitnet-quantized Llama)", path);
        goto out;
    } else {
        cv_fail(err, en, "%s: architecture %.60s is not supported (supported: BitNetForCausalLM, "
             "BitnetForCausalLM, LlamaForCausalLM with quant_method bitnet)", path, cls);
        goto out;
    }
    if (get_int(j, "hidden_size", -1, &c->n_embd, path, err, en) ||
        get_int(j, "intermediate_size", -1, &c->n_ff, path, err, en) ||
        get_int(j, "num_hidden_layers", -1, &c->n_layer, path, err, en) ||
        get_int(j, "num_attention_heads", -1, &c->n_head, path, err, en) ||
        get_int(j, "num_key_value_heads", c->n_head, &c->n_head_kv, path, err, en) ||
        get_int(j, "vocab_size", -1, &c->n_vocab, path, err, en) ||
        get_int(j, "max_position_embeddings", 2048, &c->n_ctx, path, err, en) ||
        get_int(j, "head_dim", c->n_embd / c->n_head, &c->head_dim, path, err, en) ||
        get_num(j, "rope_theta", 10000.0, &c->rope_theta, path, err, en) ||
        get_num(j, "rms_norm_eps", 1e-6, &c->rms_eps, path, err, en))
        goto out;
    if (c->n_head % c->n_head_kv || c->head_dim % 2) {
        cv_fail(err, en, "%s: %lld heads do not share %lld key/value heads, or head_dim %lld is odd", path,
                (long long)c->n_head, (long long)c->n_head_kv, (long long)c->head_dim);
        goto out;
    }
    if (c->n_layer > 100000 || c->n_vocab > (1 << 24)) {
        cv_fail(err, en, "%s: %lld layers or a vocabulary of %lld is beyond what the converter takes", path,
                (long long)c->n_layer, (long long)c->n_vocab);
        goto out;
    }
    json_t *rs = json_object_get(j, "rope_scaling");
    if (rs && !json_is_null(rs)) {
        const char *t = json_string_value(json_object_get(rs, "rope_type"));
        if (!t)
            t = json_string_value(json_object_get(rs, "type"));
        json_t *f = json_object_get(rs, "factor");
        if (!t || strcmp(t, "linear") || !json_is_number(f) || json_number_value(f) != 1.0) {
            cv_fail(err, en, "%s: rope_scaling %.32s is not supported (only none)", path, t ? t : "?");
            goto out;
        }
    }
    const char *act = json_string_value(json_object_get(j, "hidden_act"));
    if (!act)
        act = c->source == HF_BITNET_2B4T ? "relu2" : "silu";
    if (!strcmp(act, "relu2")) {
        c->relu2 = 1;
    } else if (strcmp(act, "silu")) {
        cv_fail(err, en, "%s: hidden_act %.32s is not supported (relu2, silu)", path, act);
        goto out;
    }
    if (c->relu2 && c->source == HF_LLAMA_TERNARY) {
        cv_fail(err, en, "%s: a Llama model with relu2 is not supported", path);
        goto out;
    }
    json_t *tie = json_object_get(j, "tie_word_embeddings");
    c->tied = json_is_true(tie);     /* a missing lm_head.weight ties it too (hf_weights.c) */
    c->bos_id = token_id(json_object_get(j, "bos_token_id"));
    c->eos_id = token_id(json_object_get(j, "eos_token_id"));
    const char *nm = json_string_value(json_object_get(j, "_name_or_path"));
    if (nm && *nm) {
        const char *s = strrchr(nm, '/');
        snprintf(c->name, sizeof c->name, "%s", s && s[1] ? s + 1 : nm);
    } else {
        const char *s = strrchr(dir, '/');
        while (s && !s[1] && s > dir) {     /* trailing slash */
            const char *p = s - 1;
            while (p > dir && *p != '/')
                p--;
            s = *p == '/' ? p : NULL;
        }
        snprintf(c->name, sizeof c->name, "%.*s", (int)strcspn(s ? s + 1 : dir, "/"), s ? s + 1 : dir);
    }
    rc = 0;
out:
    json_decref(j);
    return rc;
}
