#include "tok_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "gguf/gguf_types.h"
#include "mkmodel_vocab.h"
#include "test_util.h"

void bn_tok_vocab_init(bn_tok_vocab *v, const char *model)
{
    memset(v, 0, sizeof *v);
    v->model = model;
    v->write_types = 1;
    v->n_types_written = v->n_scores_written = UINT64_MAX;
    v->bos = v->eos = v->eot = v->pad = v->unk = BN_TOK_NO_KEY;
    v->add_bos = v->add_eos = v->add_space_prefix = BN_TOK_NO_KEY;
    v->id_type = BN_GGUF_U32;
}

void bn_tok_vocab_free(bn_tok_vocab *v)
{
    for (uint32_t i = 0; i < v->n; i++)
        free(v->tokens[i]);
    for (uint32_t i = 0; i < v->n_merges; i++)
        free(v->merges[i]);
    free(v->tokens);
    free(v->lens);
    free(v->types);
    free(v->scores);
    free(v->merges);
    memset(v, 0, sizeof *v);
}

static void *grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, n * size);
    if (!q)
        abort();
    return q;
}

int32_t bn_tok_vocab_add(bn_tok_vocab *v, const char *text, size_t len, int32_t type, float score)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 512;
        v->tokens = grow(v->tokens, v->cap, sizeof *v->tokens);
        v->lens = grow(v->lens, v->cap, sizeof *v->lens);
        v->types = grow(v->types, v->cap, sizeof *v->types);
        v->scores = grow(v->scores, v->cap, sizeof *v->scores);
    }
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, text, len);
    s[len] = 0;
    v->tokens[v->n] = s;
    v->lens[v->n] = len;
    v->types[v->n] = type;
    v->scores[v->n] = score;
    return (int32_t)v->n++;
}

int32_t bn_tok_vocab_add_str(bn_tok_vocab *v, const char *text, int32_t type, float score)
{
    return bn_tok_vocab_add(v, text, strlen(text), type, score);
}

void bn_tok_vocab_add_merge(bn_tok_vocab *v, const char *rule)
{
    if (v->n_merges == v->merges_cap) {
        v->merges_cap = v->merges_cap ? 2 * v->merges_cap : 64;
        v->merges = grow(v->merges, v->merges_cap, sizeof *v->merges);
    }
    v->merges[v->n_merges] = strdup(rule);
    if (!v->merges[v->n_merges])
        abort();
    v->n_merges++;
    v->write_merges = 1;
}

/* GPT-2's stand-in character for byte b, as UTF-8. */
static size_t gpt2_char(unsigned b, char out[2])
{
    unsigned c = b;
    int keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (!keep)
        c = b <= 0x20 ? 0x100 + b : b <= 0xA0 ? 0x121 + (b - 0x7F) : 0x143;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = (char)(0xC0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
}

void bn_tok_vocab_add_gpt2_bytes(bn_tok_vocab *v)
{
    for (unsigned b = 0; b < 256; b++) {
        char s[2];
        bn_tok_vocab_add(v, s, gpt2_char(b, s), 1, 0.0f);
    }
}

int32_t bn_tok_vocab_add_bpe(bn_tok_vocab *v, const char *bytes, int32_t type)
{
    char s[256];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)bytes; *p && n + 2 < sizeof s; p++)
        n += gpt2_char(*p, s + n);
    return bn_tok_vocab_add(v, s, n, type, 0.0f);
}

static int add_id(bn_gguf_writer *w, const bn_tok_vocab *v, const char *key, int64_t id)
{
    if (id == BN_TOK_NO_KEY)
        return BN_OK;
    if (v->id_type == BN_GGUF_I32)
        return bn_gguf_writer_add_int(w, key, BN_GGUF_I32, id);
    return bn_gguf_writer_add_uint(w, key, BN_GGUF_U32, (uint64_t)(uint32_t)id);
}

static int add_flag(bn_gguf_writer *w, const char *key, int64_t flag)
{
    return flag == BN_TOK_NO_KEY ? BN_OK : bn_gguf_writer_add_bool(w, key, (int)flag);
}

int bn_tok_vocab_meta(bn_gguf_writer *w, void *vocab)
{
    const bn_tok_vocab *v = vocab;
    int rc = BN_OK;
    if (v->model)
        rc = bn_gguf_writer_add_str(w, "tokenizer.ggml.model", v->model, strlen(v->model));
    if (!rc && v->pre)
        rc = bn_gguf_writer_add_str(w, "tokenizer.ggml.pre", v->pre, strlen(v->pre));
    if (!rc && v->tokens_as_ints)
        rc = bn_gguf_writer_add_array(w, "tokenizer.ggml.tokens", BN_GGUF_I32, v->types, v->n);
    else if (!rc)
        rc = bn_gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", (const char *const *)v->tokens,
                                          v->lens, v->n);
    if (!rc && v->write_types)
        rc = bn_gguf_writer_add_array(w, "tokenizer.ggml.token_type", BN_GGUF_I32, v->types,
                                      v->n_types_written == UINT64_MAX ? v->n : v->n_types_written);
    if (!rc && v->write_scores)
        rc = bn_gguf_writer_add_array(w, "tokenizer.ggml.scores", BN_GGUF_F32, v->scores,
                                      v->n_scores_written == UINT64_MAX ? v->n
                                                                        : v->n_scores_written);
    if (!rc && v->write_merges)
        rc = bn_gguf_writer_add_str_array(w, "tokenizer.ggml.merges", (const char *const *)v->merges,
                                          NULL, v->n_merges);
    if (!rc) rc = add_id(w, v, "tokenizer.ggml.bos_token_id", v->bos);
    if (!rc) rc = add_id(w, v, "tokenizer.ggml.eos_token_id", v->eos);
    if (!rc) rc = add_id(w, v, "tokenizer.ggml.eot_token_id", v->eot);
    if (!rc) rc = add_id(w, v, "tokenizer.ggml.padding_token_id", v->pad);
    if (!rc) rc = add_id(w, v, "tokenizer.ggml.unknown_token_id", v->unk);
    if (!rc) rc = add_flag(w, "tokenizer.ggml.add_bos_token", v->add_bos);
    if (!rc) rc = add_flag(w, "tokenizer.ggml.add_eos_token", v->add_eos);
    if (!rc) rc = add_flag(w, "tokenizer.ggml.add_space_prefix", v->add_space_prefix);
    return rc;
}

int bn_tok_model_image(const bn_tok_vocab *v, uint8_t **data, size_t *size)
{
    bn_test_model_spec s;
    bn_test_model_spec_default(&s);
    s.n_vocab = v->n;
    s.meta = bn_tok_vocab_meta;
    s.meta_user = (void *)v;
    return bn_test_model_gguf(&s, data, size);
}

bn_model *bn_tok_model_load(const bn_tok_vocab *v, int *rc_out)
{
    uint8_t *img = NULL;
    size_t size = 0;
    int rc = bn_tok_model_image(v, &img, &size);
    bn_model *m = NULL;
    if (!rc) {
        /* a mapped file outlives its name: no image to keep beside the model */
        char *path = bn_test_temp_file(img, size);
        rc = path ? bn_model_load(&m, path, NULL) : bn_fail(BN_E_IO, "cannot write a temporary file");
        bn_test_temp_file_remove(path);
    }
    free(img);
    if (rc_out)
        *rc_out = rc;
    return m;
}

void bn_tok_model_free(bn_model **m)
{
    bn_model_free(m);
}

void bn_tok_vocab_hand_bpe(bn_tok_vocab *v, const char *pre)
{
    bn_tok_vocab_init(v, "gpt2");
    v->pre = pre;
    bn_tok_vocab_add_gpt2_bytes(v);
    static const char *const normal[] = { "ab", "bc", "abc", "aa", " a", " ab", "hello", "  ",
                                          "\n\n" };
    for (size_t i = 0; i < sizeof normal / sizeof *normal; i++)
        bn_tok_vocab_add_bpe(v, normal[i], 1);
    bn_tok_vocab_add_str(v, "<|begin_of_text|>", 3, 0);
    bn_tok_vocab_add_str(v, "<|end_of_text|>", 3, 0);
    bn_tok_vocab_add_str(v, "<|eot_id|>", 3, 0);
    bn_tok_vocab_add_str(v, "<|eom_id|>", 3, 0);
    bn_tok_vocab_add_str(v, "<|eot_id|>!", 3, 0);
    bn_tok_vocab_add_str(v, "<tool>", 4, 0);
    bn_tok_vocab_add_str(v, "", 1, 0);
    bn_tok_vocab_add_str(v, "<unused>", 5, 0);
    static const char *const merges[] = { "a b", "b c", "ab c", "a a", "\xC4\xA0 a",
                                          "\xC4\xA0\x61 b", "\xC4\xA0 \xC4\xA0",
                                          "\xC4\x8A \xC4\x8A" };
    for (size_t i = 0; i < sizeof merges / sizeof *merges; i++)
        bn_tok_vocab_add_merge(v, merges[i]);
    v->bos = 265;
    v->eos = 266;
}

void bn_tok_vocab_spm_start(bn_tok_vocab *v)
{
    bn_tok_vocab_init(v, "llama");
    v->write_scores = 1;
    bn_tok_vocab_add_str(v, "<unk>", 2, 0);
    bn_tok_vocab_add_str(v, "<s>", 3, 0);
    bn_tok_vocab_add_str(v, "</s>", 3, 0);
    for (unsigned b = 0; b < 256; b++) {
        char s[8];
        snprintf(s, sizeof s, "<0x%02X>", b);
        bn_tok_vocab_add_str(v, s, 6, 0);
    }
}

void bn_tok_vocab_hand_spm(bn_tok_vocab *v)
{
    bn_tok_vocab_spm_start(v);
    static const struct { const char *text; float score; } normal[] = {
        { "\xE2\x96\x81", 0 }, { "a", 0 }, { "b", 0 }, { "c", 0 },
        { "\xE2\x96\x81\x61", -3 }, { "ab", -1 }, { "abc", -4 }, { "\xE2\x96\x81\x61\x62", -5 },
        { "bc", -2 }, { "\xE2\x96\x81\xE2\x96\x81", -6 }, { "\xC3\xA9", 0 },
    };
    for (size_t i = 0; i < sizeof normal / sizeof *normal; i++)
        bn_tok_vocab_add_str(v, normal[i].text, 1, normal[i].score);
    bn_tok_vocab_add_str(v, "<tool>", 4, 0);
}

/* ---- llama-tokenizer-js -------------------------------------------------------- */

static const bn_tok_vocab *sort_vocab;

static int cmp_token(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t lx = sort_vocab->lens[x], ly = sort_vocab->lens[y];
    int c = memcmp(sort_vocab->tokens[x], sort_vocab->tokens[y], lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

/* The id of text among the sorted ids, or -1. */
static int64_t find_sorted(const bn_tok_vocab *v, const uint32_t *ids, const char *text, size_t n)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t id = ids[mid];
        size_t l = v->lens[id];
        int c = memcmp(v->tokens[id], text, l < n ? l : n);
        if (!c)
            c = (l > n) - (l < n);
        if (!c)
            return id;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int bn_tok_vocab_from_llama_js(bn_tok_vocab *v, const char *npm_path)
{
    char *js = NULL;
    size_t js_len = 0;
    uint8_t *text = NULL, *packed = NULL;
    size_t text_len = 0, packed_len = 0;
    int rc = bn_mkmodel_npm_read(npm_path, "llama-tokenizer.js", &js, &js_len);
    if (!rc) rc = bn_mkmodel_js_base64(js, js_len, "llama_vocab_base64", &text, &text_len);
    if (!rc) rc = bn_mkmodel_js_base64(js, js_len, "llama_merges_binary", &packed, &packed_len);
    free(js);
    if (rc) {
        free(text);
        return rc;
    }
    bn_tok_vocab_init(v, "llama");
    v->write_scores = 1;
    v->bos = 1;
    v->eos = 2;
    v->unk = 0;
    for (size_t i = 0, start = 0; i <= text_len; i++) {
        if (i < text_len && text[i] != '\n')
            continue;
        uint32_t id = v->n;
        int32_t type = id == 0 ? 2 : id < 3 ? 3 : id < 259 ? 6 : 1;
        bn_tok_vocab_add(v, (const char *)text + start, i - start, type, 0.0f);
        start = i + 1;
    }
    /* SentencePiece merges the pair whose result scores highest; the package
     * has the merges in rank order instead (Hugging Face's tokenizer.json,
     * made from the scores): the first rank that makes a token gives its
     * score. The others (characters, bytes, specials) are never merged into. */
    uint32_t *ids = malloc(v->n * sizeof *ids);
    uint8_t *scored = calloc(v->n, 1);
    if (!ids || !scored)
        abort();
    for (uint32_t i = 0; i < v->n; i++) {
        ids[i] = i;
        v->scores[i] = -1e9f;
    }
    sort_vocab = v;
    qsort(ids, v->n, sizeof *ids, cmp_token);
    size_t n_merges = packed_len / 4;
    char *cat = NULL;
    for (size_t r = 0; r < n_merges && !rc; r++) {
        unsigned a = packed[4 * r] | (unsigned)packed[4 * r + 1] << 8;
        unsigned b = packed[4 * r + 2] | (unsigned)packed[4 * r + 3] << 8;
        if (a >= v->n || b >= v->n) {
            rc = bn_fail(BN_E_FORMAT, "llama-tokenizer-js: merge %zu names a token out of range", r);
            break;
        }
        size_t la = v->lens[a], lb = v->lens[b];
        cat = realloc(cat, la + lb + 1);
        if (!cat)
            abort();
        memcpy(cat, v->tokens[a], la);
        memcpy(cat + la, v->tokens[b], lb);
        int64_t id = find_sorted(v, ids, cat, la + lb);
        if (id < 0) {
            rc = bn_fail(BN_E_FORMAT, "llama-tokenizer-js: merge %zu makes no token", r);
            break;
        }
        if (!scored[id]) {
            scored[id] = 1;
            v->scores[id] = -(float)r;
        }
    }
    free(cat);
    free(ids);
    free(scored);
    free(text);
    free(packed);
    return rc;
}
