#include "hf_vocab.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mapfile.h"
#include "core/error.h"
#include "hf_config.h"
#include "cv_error.h"

/* The pre-tokenizer regexes libbitnet implements (tokenizer.ggml.pre names;
 * the patterns as Llama 3's and GPT-2's tokenizer.json spell them). */
static const struct { const char *pre, *regex; } known_pre[] = {
    { "llama-bpe", "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                   "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
    { "gpt2", "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" },
};

void hf_vocab_init(hf_vocab *v)
{
    memset(v, 0, sizeof *v);
    v->bos = v->eos = v->eot = v->unk = v->pad = -1;
    v->add_bos = v->add_eos = v->add_space_prefix = -1;
}

void hf_vocab_free(hf_vocab *v)
{
    for (uint64_t i = 0; v->tokens && i < v->n_tokens; i++)
        free(v->tokens[i]);
    for (uint64_t i = 0; v->merges && i < v->n_merges; i++)
        free(v->merges[i]);
    free(v->tokens);
    free(v->types);
    free(v->scores);
    free(v->merges);
    free(v->chat_template);
    hf_vocab_init(v);
}

/* Grows the token arrays to n entries (new ones empty). */
static int grow(hf_vocab *v, uint64_t n)
{
    if (n <= v->n_tokens)
        return 0;
    if (n > (1u << 24))
        return -1;
    char **t = realloc(v->tokens, n * sizeof *t);
    if (t)
        v->tokens = t;
    int32_t *ty = realloc(v->types, n * sizeof *ty);
    if (ty)
        v->types = ty;
    if (!t || !ty)
        return -1;
    for (uint64_t i = v->n_tokens; i < n; i++) {
        v->tokens[i] = NULL;
        v->types[i] = 0;
    }
    v->n_tokens = n;
    return 0;
}

static int set_token(hf_vocab *v, uint64_t id, const char *s, int32_t type)
{
    if (grow(v, id + 1))
        return -1;
    char *d = strdup(s);
    if (!d)
        return -1;
    free(v->tokens[id]);
    v->tokens[id] = d;
    v->types[id] = type;
    return 0;
}

static int64_t find_token(const hf_vocab *v, const char *s)
{
    for (uint64_t i = 0; s && i < v->n_tokens; i++)
        if (v->tokens[i] && !strcmp(v->tokens[i], s))
            return (int64_t)i;
    return -1;
}

/* The pre-tokenizer: ByteLevel with its own (GPT-2) regex, or a Sequence of
 * one Split on a known regex and a ByteLevel without regex. */
static int read_pre(hf_vocab *v, json_t *pt, const char *path, char *err, size_t en)
{
    const char *type = json_string_value(json_object_get(pt, "type"));
    const char *regex = NULL;
    if (type && !strcmp(type, "ByteLevel")) {
        json_t *ur = json_object_get(pt, "use_regex");
        if (ur && !json_is_true(ur))
            return cv_fail(err, en, "%s: pre_tokenizer ByteLevel without regex is not supported", path);
        if (json_is_true(json_object_get(pt, "add_prefix_space")))
            return cv_fail(err, en, "%s: pre_tokenizer ByteLevel with add_prefix_space is not supported", path);
        v->pre = "gpt2";
        return 0;
    }
    json_t *seq = json_object_get(pt, "pretokenizers");
    if (type && !strcmp(type, "Sequence") && json_array_size(seq) == 2) {
        json_t *sp = json_array_get(seq, 0), *bl = json_array_get(seq, 1);
        const char *t0 = json_string_value(json_object_get(sp, "type"));
        const char *t1 = json_string_value(json_object_get(bl, "type"));
        const char *beh = json_string_value(json_object_get(sp, "behavior"));
        regex = json_string_value(json_object_get(json_object_get(sp, "pattern"), "Regex"));
        if (t0 && t1 && !strcmp(t0, "Split") && !strcmp(t1, "ByteLevel") && regex && beh &&
            !strcmp(beh, "Isolated") && !json_is_true(json_object_get(sp, "invert")) &&
            !json_is_true(json_object_get(bl, "use_regex")) &&
            !json_is_true(json_object_get(bl, "add_prefix_space"))) {
            for (size_t i = 0; i < sizeof known_pre / sizeof *known_pre; i++)
                if (!strcmp(regex, known_pre[i].regex)) {
                    v->pre = known_pre[i].pre;
                    return 0;
                }
            return cv_fail(err, en, "%s: pre-tokenizer regex %.300s is not one libbitnet implements "
                        "(Llama 3's llama-bpe, GPT-2's gpt2)", path, regex);
        }
    }
    char *dump = json_dumps(pt, JSON_COMPACT);
    cv_fail(err, en, "%s: pre_tokenizer %.300s is not supported (ByteLevel, or Sequence[Split(regex), "
         "ByteLevel] with the Llama 3 or GPT-2 regex)", path, dump ? dump : "?");
    free(dump);
    return -1;
}

static int read_merges(hf_vocab *v, json_t *merges, const char *path, char *err, size_t en)
{
    size_t n = json_array_size(merges);
    v->merges = calloc(n ? n : 1, sizeof *v->merges);
    if (!v->merges)
        return cv_fail(err, en, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(merges, i);
        char *s = NULL;
        if (json_is_string(m)) {
            const char *t = json_string_value(m), *sp = strchr(t, ' ');
            if (!sp || strchr(sp + 1, ' ') || sp == t || !sp[1])
                return cv_fail(err, en, "%s: merge %zu \"%.100s\" is not two tokens \"a b\"", path, i, t);
            s = strdup(t);
        } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {
            const char *a = json_string_value(json_array_get(m, 0)), *b = json_string_value(json_array_get(m, 1));
            if (strchr(a, ' ') || strchr(b, ' ') || !*a || !*b)
                return cv_fail(err, en, "%s: merge %zu [\"%.60s\", \"%.60s\"]: a token with a space cannot be "
                            "written as a GGUF merge", path, i, a, b);
            size_t l = strlen(a) + strlen(b) + 2;
            s = malloc(l);
            if (s)
                snprintf(s, l, "%s %s", a, b);
        } else {
            return cv_fail(err, en, "%s: merge %zu is neither \"a b\" nor [\"a\", \"b\"]", path, i);
        }
        if (!s)
            return cv_fail(err, en, "%s: out of memory", path);
        v->merges[i] = s;
        v->n_merges = i + 1;
    }
    return 0;
}

int hf_vocab_from_tokenizer_json(hf_vocab *v, const char *text, size_t len, const char *path, char *err, size_t en)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return cv_fail(err, en, "%s: line %d column %d: %s", path, je.line, je.column, je.text);
    int rc = -1;
    json_t *model = json_object_get(j, "model"), *vocab = json_object_get(model, "vocab"),
           *merges = json_object_get(model, "merges"), *norm = json_object_get(j, "normalizer");
    const char *mt = json_string_value(json_object_get(model, "type"));
    if (!json_is_object(j) || !json_is_object(model)) {
        cv_fail(err, en, "%s: no model object", path);
        goto out;
    }
    if ((mt && strcmp(mt, "BPE")) || !json_is_object(vocab) || !json_is_array(merges)) {
        cv_fail(err, en, "%s: model type %.32s is not supported (BPE with vocab and merges)", path, mt ? mt : "?");
        goto out;
    }
    if (json_is_true(json_object_get(model, "byte_fallback"))) {
        cv_fail(err, en, "%s: BPE with byte_fallback (SentencePiece style) is not supported; convert from "
             "tokenizer.model", path);
        goto out;
    }
    if (norm && !json_is_null(norm)) {
        cv_fail(err, en, "%s: a normalizer is not supported (byte-level BPE has none)", path);
        goto out;
    }
    if (read_pre(v, json_object_get(j, "pre_tokenizer"), path, err, en))
        goto out;
    v->model = "gpt2";
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) >= (1 << 24)) {
            cv_fail(err, en, "%s: vocab entry %.100s has no valid id", path, key);
            goto out;
        }
        uint64_t id = (uint64_t)json_integer_value(val);
        if (id < v->n_tokens && v->tokens[id]) {
            cv_fail(err, en, "%s: id %llu is given to both %.100s and %.100s", path, (unsigned long long)id,
                 v->tokens[id], key);
            goto out;
        }
        if (set_token(v, id, key, 1)) {
            cv_fail(err, en, "%s: out of memory", path);
            goto out;
        }
    }
    json_t *added = json_object_get(j, "added_tokens");
    size_t i;
    json_array_foreach(added, i, val) {
        json_t *id = json_object_get(val, "id");
        const char *content = json_string_value(json_object_get(val, "content"));
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= (1 << 24) || !content) {
            cv_fail(err, en, "%s: added_tokens[%zu] needs an id and a content", path, i);
            goto out;
        }
        uint64_t k = (uint64_t)json_integer_value(id);
        if (k < v->n_tokens && v->tokens[k] && strcmp(v->tokens[k], content)) {
            cv_fail(err, en, "%s: added token %.100s has id %llu, which the vocab gives to %.100s", path, content,
                 (unsigned long long)k, v->tokens[k]);
            goto out;
        }
        if (set_token(v, k, content, json_is_true(json_object_get(val, "special")) ? 3 : 4)) {
            cv_fail(err, en, "%s: out of memory", path);
            goto out;
        }
    }
    if (read_merges(v, merges, path, err, en))
        goto out;
    /* a post-processor that puts a special token first adds BOS */
    json_t *pp = json_object_get(j, "post_processor");
    json_t *single = json_object_get(pp, "single");
    if (json_is_array(single) && json_object_get(json_array_get(single, 0), "SpecialToken"))
        v->add_bos = 1;
    else if (json_is_object(pp))
        v->add_bos = 0;
    rc = 0;
out:
    json_decref(j);
    return rc;
}

/* "content" of a token given as a string or as {"content": ...}. */
static const char *token_text(json_t *t)
{
    return json_is_string(t) ? json_string_value(t) : json_string_value(json_object_get(t, "content"));
}

static void read_tokenizer_config(hf_vocab *v, json_t *j)
{
    json_t *b = json_object_get(j, "add_bos_token"), *e = json_object_get(j, "add_eos_token");
    if (json_is_boolean(b))
        v->add_bos = json_is_true(b);
    if (json_is_boolean(e))
        v->add_eos = json_is_true(e);
    int64_t id;
    if ((id = find_token(v, token_text(json_object_get(j, "bos_token")))) >= 0)
        v->bos = id;
    if ((id = find_token(v, token_text(json_object_get(j, "eos_token")))) >= 0)
        v->eos = id;
    if ((id = find_token(v, token_text(json_object_get(j, "pad_token")))) >= 0)
        v->pad = id;
    if ((id = find_token(v, token_text(json_object_get(j, "unk_token")))) >= 0)
        v->unk = id;
    json_t *ct = json_object_get(j, "chat_template");
    const char *tpl = json_string_value(ct);
    size_t i;
    json_t *x;
    json_array_foreach(ct, i, x) {
        const char *name = json_string_value(json_object_get(x, "name"));
        if (name && !strcmp(name, "default"))
            tpl = json_string_value(json_object_get(x, "template"));
    }
    if (tpl) {
        free(v->chat_template);
        v->chat_template = strdup(tpl);
    }
    /* added_tokens_decoder marks special tokens (SentencePiece models) */
    const char *key;
    json_object_foreach(json_object_get(j, "added_tokens_decoder"), key, x) {
        char *end;
        unsigned long long k = strtoull(key, &end, 10);
        if (*end || k >= v->n_tokens || !json_is_true(json_object_get(x, "special")))
            continue;
        const char *c = token_text(x);
        if (c && v->tokens[k] && !strcmp(c, v->tokens[k]) && v->types[k] == 1)
            v->types[k] = 3;
    }
}

static void read_generation_config(hf_vocab *v, json_t *j)
{
    json_t *b = json_object_get(j, "bos_token_id"), *e = json_object_get(j, "eos_token_id");
    if (json_is_integer(b) && json_integer_value(b) >= 0 && (uint64_t)json_integer_value(b) < v->n_tokens)
        v->bos = json_integer_value(b);
    if (json_is_integer(e) && json_integer_value(e) >= 0 && (uint64_t)json_integer_value(e) < v->n_tokens)
        v->eos = json_integer_value(e);
    if (json_is_array(e)) {
        size_t i;
        json_t *x;
        json_array_foreach(e, i, x) {
            if (!json_is_integer(x) || json_integer_value(x) < 0 || (uint64_t)json_integer_value(x) >= v->n_tokens)
                continue;
            int64_t id = json_integer_value(x);
            if (i == 0)
                v->eos = id;
            else if (v->eot < 0)
                v->eot = id;
        }
    }
}

int hf_vocab_load(hf_vocab *v, const char *dir, uint64_t n_vocab, int64_t cfg_bos, int64_t cfg_eos, char *err,
                  size_t en)
{
    char path[4096];
    bn_mapfile m;
    hf_vocab_init(v);
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    int spm = !access(path, F_OK);
    if (!spm)
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (access(path, F_OK))
        return cv_fail(err, en, "%s: neither tokenizer.model nor tokenizer.json is there", dir);
    if (bn_mapfile_open(&m, path, 1))
        return cv_fail(err, en, "%s", bn_last_error());
    int rc = spm ? hf_vocab_from_spm(v, m.data, (size_t)m.size, path, err, en)
                 : hf_vocab_from_tokenizer_json(v, (const char *)m.data, (size_t)m.size, path, err, en);
    bn_mapfile_close(&m);
    if (rc)
        return -1;
    if (cfg_bos >= 0 && (uint64_t)cfg_bos < v->n_tokens)
        v->bos = cfg_bos;
    if (cfg_eos >= 0 && (uint64_t)cfg_eos < v->n_tokens)
        v->eos = cfg_eos;
    /* no integer of it is read: huge ones (model_max_length) decode as reals */
    json_t *j = hf_json_load_flags(dir, "tokenizer_config.json", 0, JSON_DECODE_INT_AS_REAL, err, en);
    if (!j && err[0])
        return -1;
    if (j)
        read_tokenizer_config(v, j);
    json_decref(j);
    j = hf_json_load(dir, "generation_config.json", 0, err, en);
    if (!j && err[0])
        return -1;
    if (j)
        read_generation_config(v, j);
    json_decref(j);
    if (v->eot < 0)
        v->eot = find_token(v, "<|eot_id|>");
    if (v->eot == v->eos)
        v->eot = -1;
    if (v->n_tokens > n_vocab)
        return cv_fail(err, en, "%s: %llu tokens, but the embedding has %llu rows (config.json vocab_size)", path,
                    (unsigned long long)v->n_tokens, (unsigned long long)n_vocab);
    /* holes and the rows beyond the tokenizer: unused tokens, as llama.cpp pads */
    uint64_t have = v->n_tokens;
    if (grow(v, n_vocab))
        return cv_fail(err, en, "out of memory");
    if (v->scores && have < n_vocab) {
        float *s = realloc(v->scores, n_vocab * sizeof *s);
        if (!s)
            return cv_fail(err, en, "out of memory");
        for (uint64_t i = have; i < n_vocab; i++)
            s[i] = 0.0f;
        v->scores = s;
    }
    for (uint64_t i = 0; i < n_vocab; i++)
        if (!v->tokens[i]) {
            char pad[32];
            snprintf(pad, sizeof pad, "[PAD%llu]", (unsigned long long)i);
            if (set_token(v, i, pad, 5))
                return cv_fail(err, en, "out of memory");
        }
    return 0;
}

static int add_id(bn_gguf_writer *w, const char *key, int64_t id)
{
    return id < 0 ? 0 : bn_gguf_writer_add_uint(w, key, BN_GGUF_U32, (uint64_t)id);
}

int hf_vocab_write(const hf_vocab *v, bn_gguf_writer *w)
{
    int rc = bn_gguf_writer_add_str(w, "tokenizer.ggml.model", v->model, strlen(v->model));
    if (!rc && v->pre)
        rc = bn_gguf_writer_add_str(w, "tokenizer.ggml.pre", v->pre, strlen(v->pre));
    if (!rc)
        rc = bn_gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", (const char *const *)v->tokens, NULL,
                                          v->n_tokens);
    if (!rc && v->scores)
        rc = bn_gguf_writer_add_array(w, "tokenizer.ggml.scores", BN_GGUF_F32, v->scores, v->n_tokens);
    if (!rc)
        rc = bn_gguf_writer_add_array(w, "tokenizer.ggml.token_type", BN_GGUF_I32, v->types, v->n_tokens);
    if (!rc && v->merges)
        rc = bn_gguf_writer_add_str_array(w, "tokenizer.ggml.merges", (const char *const *)v->merges, NULL,
                                          v->n_merges);
    if (!rc)
        rc = add_id(w, "tokenizer.ggml.bos_token_id", v->bos) ||
             add_id(w, "tokenizer.ggml.eos_token_id", v->eos) ||
             add_id(w, "tokenizer.ggml.eot_token_id", v->eot) ||
             add_id(w, "tokenizer.ggml.unknown_token_id", v->unk) ||
             add_id(w, "tokenizer.ggml.padding_token_id", v->pad);
    if (!rc && v->add_bos >= 0)
        rc = bn_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos);
    if (!rc && v->add_eos >= 0)
        rc = bn_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", v->add_eos);
    if (!rc && v->add_space_prefix >= 0)
        rc = bn_gguf_writer_add_bool(w, "tokenizer.ggml.add_space_prefix", v->add_space_prefix);
    if (!rc && v->chat_template)
        rc = bn_gguf_writer_add_str(w, "tokenizer.chat_template", v->chat_template, strlen(v->chat_template));
    return rc;
}
