#include "response.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) { k = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 4; min = 0x10000; }
    else return 0;
    if (n < k)
        return 0;
    unsigned cp = c & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

char *srv_utf8_clean(const char *s, size_t n, size_t *out_len)
{
    /* every invalid byte may become 3 bytes */
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *d = malloc(3 * n + 1);
    if (!d)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k) {
            memcpy(d + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(d + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    d[o] = 0;
    *out_len = o;
    return d;
}

static json_t *jtext(const char *s, size_t n)
{
    size_t len;
    char *clean = srv_utf8_clean(s ? s : "", s ? n : 0, &len);
    if (!clean)
        return NULL;
    json_t *v = json_stringn(clean, len);
    free(clean);
    return v;
}

/* Dumps and frees v. */
static char *dump(json_t *v, size_t *len)
{
    if (!v)
        return NULL;
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    if (s)
        *len = strlen(s);
    return s;
}

char *srv_json_error(const srv_error *e, size_t *len)
{
    json_t *err = json_pack("{s:o, s:s, s:o, s:o}",
                            "message", jtext(e->message, strlen(e->message)),
                            "type", e->type ? e->type : "server_error",
                            "param", e->param[0] ? jtext(e->param, strlen(e->param)) : json_null(),
                            "code", json_integer(e->status));
    return dump(err ? json_pack("{s:o}", "error", err) : NULL, len);
}

static json_t *usage(const srv_answer *a)
{
    return json_pack("{s:i, s:i, s:i, s:{s:i}}", "prompt_tokens", a->prompt_tokens,
                     "completion_tokens", a->completion_tokens,
                     "total_tokens", a->prompt_tokens + a->completion_tokens,
                     "prompt_tokens_details", "cached_tokens", a->cached_tokens);
}

static json_t *finish(const srv_answer *a)
{
    return a->finish ? json_string(a->finish) : json_null();
}

static json_t *envelope(const srv_answer *a, const char *object, json_t *choices)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "id", a->id, "object", object,
                     "created", (json_int_t)a->created, "model", a->model,
                     "system_fingerprint", "libbitnet", "choices", choices);
}

char *srv_json_answer(const srv_answer *a, size_t *len)
{
    json_t *choice;
    if (a->kind == SRV_CHAT)
        choice = json_pack("{s:i, s:{s:s, s:o}, s:n, s:o}", "index", 0, "message", "role",
                           "assistant", "content", jtext(a->text, a->len), "logprobs",
                           "finish_reason", finish(a));
    else
        choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "text", jtext(a->text, a->len),
                           "logprobs", "finish_reason", finish(a));
    json_t *root = envelope(a, a->kind == SRV_CHAT ? "chat.completion" : "text_completion",
                            json_pack("[o]", choice));
    if (root)
        json_object_set_new(root, "usage", usage(a));
    return dump(root, len);
}

char *srv_json_chunk(const srv_answer *a, size_t *len)
{
    json_t *choice;
    if (a->kind == SRV_CHAT) {
        json_t *delta = json_object();
        if (delta && a->first)
            json_object_set_new(delta, "role", json_string("assistant"));
        if (delta && (a->len || a->first))
            json_object_set_new(delta, "content", jtext(a->text, a->len));
        choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "delta", delta, "logprobs",
                           "finish_reason", finish(a));
    } else {
        choice = json_pack("{s:i, s:o, s:n, s:o}", "index", 0, "text", jtext(a->text, a->len),
                           "logprobs", "finish_reason", finish(a));
    }
    return dump(envelope(a, a->kind == SRV_CHAT ? "chat.completion.chunk" : "text_completion",
                         json_pack("[o]", choice)), len);
}

char *srv_json_usage_chunk(const srv_answer *a, size_t *len)
{
    json_t *root = envelope(a, a->kind == SRV_CHAT ? "chat.completion.chunk" : "text_completion",
                            json_array());
    if (root)
        json_object_set_new(root, "usage", usage(a));
    return dump(root, len);
}

static json_t *model_object(const char *alias, long long created, const bn_model *m)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "id", alias, "object", "model",
                          "created", (json_int_t)created, "owned_by", "libbitnet");
    if (o)
        json_object_set_new(o, "meta", json_pack("{s:s, s:s, s:i, s:i, s:I}",
                            "architecture", bn_model_arch_name(m),
                            "weights", bn_model_weight_type_name(m),
                            "n_vocab", (int)bn_model_n_vocab(m),
                            "n_ctx_train", (int)bn_model_n_ctx_train(m),
                            "n_params", (json_int_t)bn_model_n_params(m)));
    return o;
}

char *srv_json_models(const char *alias, long long created, const bn_model *m, size_t *len)
{
    return dump(json_pack("{s:s, s:[o]}", "object", "list", "data",
                          model_object(alias, created, m)), len);
}

char *srv_json_model(const char *alias, long long created, const bn_model *m, size_t *len)
{
    return dump(model_object(alias, created, m), len);
}

char *srv_json_tokens(const bn_model *m, const bn_token *t, size_t n, int with_pieces, size_t *len)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *v;
        if (with_pieces) {
            char piece[256];
            size_t k = 0;
            if (bn_token_to_piece(m, t[i], piece, sizeof piece, BN_DETOKENIZE_SPECIAL, &k) != BN_OK
                || k > sizeof piece)
                k = 0;
            v = json_pack("{s:i, s:o}", "id", (int)t[i], "piece", jtext(piece, k));
        } else {
            v = json_integer(t[i]);
        }
        if (!v || json_array_append_new(arr, v)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return dump(arr ? json_pack("{s:o}", "tokens", arr) : NULL, len);
}

char *srv_json_text(const char *key, const char *text, size_t n, size_t *len)
{
    return dump(json_pack("{s:o}", key, jtext(text, n)), len);
}

int srv_buf_append(srv_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

int srv_sse_event(srv_buf *b, const char *json, size_t n)
{
    /* compact JSON holds no raw line break, so one data: line frames it */
    if (srv_buf_append(b, "data: ", 6) || srv_buf_append(b, json, n)
        || srv_buf_append(b, "\n\n", 2))
        return -1;
    return 0;
}

void srv_buf_free(srv_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
