#include "request.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int srv_error_set(srv_error *e, int status, const char *param, const char *fmt, ...)
{
    e->status = status;
    switch (status) {
    case 401: e->type = "authentication_error"; break;
    case 404: e->type = "not_found_error"; break;
    case 429: e->type = "rate_limit_error"; break;
    case 400: case 405: case 413: e->type = "invalid_request_error"; break;
    default: e->type = status >= 500 ? "server_error" : "invalid_request_error"; break;
    }
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return status;
}

void srv_request_release(srv_request *r)
{
    for (size_t i = 0; i < r->n_messages; i++) {
        free(r->roles[i]);
        free(r->contents[i]);
    }
    free(r->roles);
    free(r->contents);
    for (size_t i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    free(r->model);
    free(r->text);
    free(r->tokens);
    memset(r, 0, sizeof *r);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static int nomem(srv_error *e)
{
    return srv_error_set(e, 500, NULL, "out of memory");
}

/* Field getters: absent or null leave *out as it is. */
static int get_number(json_t *o, const char *key, double lo, double hi, float *out, srv_error *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return srv_error_set(e, 400, key, "'%s' must be a number", key);
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi)
        return srv_error_set(e, 400, key, "'%s' must be from %g to %g, got %g", key, lo, hi, d);
    *out = (float)d;
    return 0;
}

static int get_int(json_t *o, const char *key, long long lo, long long hi, long long *out,
                   srv_error *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return srv_error_set(e, 400, key, "'%s' must be an integer", key);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return srv_error_set(e, 400, key, "'%s' must be from %lld to %lld, got %lld", key, lo, hi, x);
    *out = x;
    return 0;
}

static int get_bool(json_t *o, const char *key, int *out, srv_error *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return srv_error_set(e, 400, key, "'%s' must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* A token id list; name is the field for messages. */
static int get_tokens(json_t *a, const char *name, int32_t n_vocab, bn_token **out, size_t *n,
                      srv_error *e)
{
    size_t len = json_array_size(a);
    bn_token *t = malloc((len ? len : 1) * sizeof *t);
    if (!t)
        return nomem(e);
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        long long x = json_is_integer(v) ? json_integer_value(v) : -1;
        if (!json_is_integer(v) || x < 0 || x >= n_vocab) {
            free(t);
            char param[64];
            snprintf(param, sizeof param, "%s[%zu]", name, i);
            return srv_error_set(e, 400, param, "'%s' must be a token id from 0 to %d",
                                 param, (int)n_vocab - 1);
        }
        t[i] = (bn_token)x;
    }
    *out = t;
    *n = len;
    return 0;
}

/* content: a string, null (empty), or an array of {"type": "text", "text": ...} parts. */
static int get_content(json_t *v, size_t idx, char **out, srv_error *e)
{
    char param[64];
    snprintf(param, sizeof param, "messages[%zu].content", idx);
    if (!v || json_is_null(v)) {
        *out = dup_n("", 0);
        return *out ? 0 : nomem(e);
    }
    if (json_is_string(v)) {
        *out = dup_n(json_string_value(v), json_string_length(v));
        return *out ? 0 : nomem(e);
    }
    if (!json_is_array(v))
        return srv_error_set(e, 400, param, "'%s' must be a string or an array of text parts", param);
    size_t total = 0, n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        json_t *part = json_array_get(v, i);
        json_t *type = json_object_get(part, "type"), *text = json_object_get(part, "text");
        if (!json_is_object(part) || !json_is_string(type) || strcmp(json_string_value(type), "text")
            || !json_is_string(text))
            return srv_error_set(e, 400, param, "'%s[%zu]' must be a text part "
                                 "({\"type\": \"text\", \"text\": ...}); only text is supported",
                                 param, i);
        total += json_string_length(text);
    }
    char *s = malloc(total + 1);
    if (!s)
        return nomem(e);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *text = json_object_get(json_array_get(v, i), "text");
        memcpy(s + at, json_string_value(text), json_string_length(text));
        at += json_string_length(text);
    }
    s[at] = 0;
    *out = s;
    return 0;
}

static int parse_messages(srv_request *r, json_t *root, srv_error *e)
{
    json_t *msgs = json_object_get(root, "messages");
    if (!json_is_array(msgs) || !json_array_size(msgs))
        return srv_error_set(e, 400, "messages", "'messages' must be a non-empty array");
    size_t n = json_array_size(msgs);
    if (n > SRV_MAX_MESSAGES)
        return srv_error_set(e, 400, "messages", "'messages' holds %zu messages, at most %d are allowed",
                             n, SRV_MAX_MESSAGES);
    r->roles = calloc(n, sizeof *r->roles);
    r->contents = calloc(n, sizeof *r->contents);
    if (!r->roles || !r->contents)
        return nomem(e);
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        char param[64];
        snprintf(param, sizeof param, "messages[%zu]", i);
        if (!json_is_object(m))
            return srv_error_set(e, 400, param, "'%s' must be an object", param);
        json_t *role = json_object_get(m, "role");
        const char *rs = json_is_string(role) ? json_string_value(role) : NULL;
        snprintf(param, sizeof param, "messages[%zu].role", i);
        if (!rs || (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant")
                    && strcmp(rs, "developer")))
            return srv_error_set(e, 400, param,
                                 "'%s' must be \"system\", \"developer\", \"user\" or \"assistant\"",
                                 param);
        /* OpenAI's newer name for the system role */
        r->roles[i] = dup_n(strcmp(rs, "developer") ? rs : "system",
                            strlen(strcmp(rs, "developer") ? rs : "system"));
        r->n_messages = i + 1;
        if (!r->roles[i])
            return nomem(e);
        int rc = get_content(json_object_get(m, "content"), i, &r->contents[i], e);
        if (rc)
            return rc;
    }
    return 0;
}

/* prompt: a string, [string], [ids] or [[ids]] (one prompt per request). */
static int parse_prompt(srv_request *r, json_t *root, int32_t n_vocab, srv_error *e)
{
    json_t *p = json_object_get(root, "prompt");
    if (json_is_array(p) && json_array_size(p) == 1
        && (json_is_string(json_array_get(p, 0)) || json_is_array(json_array_get(p, 0))))
        p = json_array_get(p, 0);
    if (json_is_string(p)) {
        r->text_len = json_string_length(p);
        r->text = dup_n(json_string_value(p), r->text_len);
        return r->text ? 0 : nomem(e);
    }
    if (json_is_array(p) && json_array_size(p) && json_is_integer(json_array_get(p, 0))) {
        r->has_tokens = 1;
        return get_tokens(p, "prompt", n_vocab, &r->tokens, &r->n_tokens, e);
    }
    if (json_is_array(p) && json_array_size(p) > 1)
        return srv_error_set(e, 400, "prompt", "'prompt' holds several prompts: send one per request");
    return srv_error_set(e, 400, "prompt", "'prompt' must be a string or a non-empty array of token ids");
}

static int parse_stop(srv_request *r, json_t *root, srv_error *e)
{
    json_t *s = json_object_get(root, "stop");
    if (!s || json_is_null(s))
        return 0;
    if (json_is_string(s)) {
        if (!json_string_length(s))
            return 0;
        r->stop[0] = dup_n(json_string_value(s), json_string_length(s));
        r->n_stop = 1;
        return r->stop[0] ? 0 : nomem(e);
    }
    if (!json_is_array(s))
        return srv_error_set(e, 400, "stop", "'stop' must be a string or an array of strings");
    if (json_array_size(s) > SRV_MAX_STOP)
        return srv_error_set(e, 400, "stop", "'stop' holds more than %d strings", SRV_MAX_STOP);
    for (size_t i = 0; i < json_array_size(s); i++) {
        json_t *v = json_array_get(s, i);
        if (!json_is_string(v)) {
            char param[32];
            snprintf(param, sizeof param, "stop[%zu]", i);
            return srv_error_set(e, 400, param, "'%s' must be a string", param);
        }
        if (!json_string_length(v))
            continue;
        if (!(r->stop[r->n_stop] = dup_n(json_string_value(v), json_string_length(v))))
            return nomem(e);
        r->n_stop++;
    }
    return 0;
}

/* Options OpenAI has that we cannot honour: an error rather than a silent difference. */
static int refuse_unsupported(json_t *root, srv_error *e)
{
    long long n = 1;
    int flag = 0, rc;
    if ((rc = get_int(root, "n", 1, 1, &n, e)))
        return srv_error_set(e, 400, "n", "'n' must be 1: one answer per request");
    if ((rc = get_int(root, "best_of", 1, 1, &n, e)))
        return srv_error_set(e, 400, "best_of", "'best_of' must be 1");
    json_t *lp = json_object_get(root, "logprobs");
    if (lp && !json_is_null(lp) && !json_is_false(lp))
        return srv_error_set(e, 400, "logprobs", "'logprobs' is not supported");
    if ((rc = get_bool(root, "echo", &flag, e)))
        return rc;
    if (flag)
        return srv_error_set(e, 400, "echo", "'echo' is not supported");
    json_t *tools = json_object_get(root, "tools");
    if (json_array_size(tools) || json_array_size(json_object_get(root, "functions")))
        return srv_error_set(e, 400, tools ? "tools" : "functions", "tool calls are not supported");
    json_t *rf = json_object_get(root, "response_format");
    if (rf && !json_is_null(rf)) {
        json_t *type = json_object_get(rf, "type");
        if (!json_is_string(type) || strcmp(json_string_value(type), "text"))
            return srv_error_set(e, 400, "response_format", "only 'response_format' {\"type\": \"text\"} is supported");
    }
    return 0;
}

static int parse_generation(srv_request *r, json_t *root, srv_error *e)
{
    int rc;
    long long mt = -1, v;
    bn_sampler_params *s = &r->sampling;
    if ((rc = refuse_unsupported(root, e)))
        return rc;
    if ((rc = get_int(root, "max_tokens", 1, 1 << 24, &mt, e))
        || (rc = get_int(root, "max_completion_tokens", 1, 1 << 24, &mt, e)))
        return rc;
    r->max_tokens = (int32_t)mt;
    if ((rc = get_number(root, "temperature", 0, 2, &s->temperature, e))
        || (rc = get_number(root, "top_p", 0, 1, &s->top_p, e))
        || (rc = get_number(root, "min_p", 0, 1, &s->min_p, e))
        || (rc = get_number(root, "presence_penalty", -2, 2, &s->presence_penalty, e))
        || (rc = get_number(root, "frequency_penalty", -2, 2, &s->frequency_penalty, e))
        || (rc = get_number(root, "repeat_penalty", 1e-3, 100, &s->repeat_penalty, e)))
        return rc;
    v = s->top_k;
    if ((rc = get_int(root, "top_k", 0, INT32_MAX, &v, e)))
        return rc;
    s->top_k = (int32_t)v;
    json_t *seed = json_object_get(root, "seed");
    if (seed && !json_is_null(seed)) {
        if (!json_is_integer(seed))
            return srv_error_set(e, 400, "seed", "'seed' must be an integer");
        s->seed = (uint64_t)json_integer_value(seed);
        r->has_seed = 1;
    }
    if ((rc = parse_stop(r, root, e)) || (rc = get_bool(root, "stream", &r->stream, e))
        || (rc = get_bool(root, "ignore_eos", &r->ignore_eos, e)))
        return rc;
    json_t *so = json_object_get(root, "stream_options");
    if (so && !json_is_null(so)) {
        if (!json_is_object(so))
            return srv_error_set(e, 400, "stream_options", "'stream_options' must be an object");
        if ((rc = get_bool(so, "include_usage", &r->include_usage, e)))
            return srv_error_set(e, 400, "stream_options.include_usage",
                                 "'stream_options.include_usage' must be true or false");
    }
    return 0;
}

static int parse_root(srv_request *r, json_t *root, int32_t n_vocab, srv_error *e)
{
    int rc;
    json_t *model = json_object_get(root, "model");
    if (model && !json_is_null(model)) {
        if (!json_is_string(model))
            return srv_error_set(e, 400, "model", "'model' must be a string");
        if (!(r->model = dup_n(json_string_value(model), json_string_length(model))))
            return nomem(e);
    }
    switch (r->kind) {
    case SRV_CHAT:
        if ((rc = parse_messages(r, root, e)))
            return rc;
        return parse_generation(r, root, e);
    case SRV_COMPLETION:
        if ((rc = parse_prompt(r, root, n_vocab, e)))
            return rc;
        return parse_generation(r, root, e);
    case SRV_TOKENIZE: {
        json_t *c = json_object_get(root, "content");
        if (!json_is_string(c))
            return srv_error_set(e, 400, "content", "'content' must be a string");
        r->text_len = json_string_length(c);
        if (!(r->text = dup_n(json_string_value(c), r->text_len)))
            return nomem(e);
        if ((rc = get_bool(root, "add_special", &r->add_special, e))
            || (rc = get_bool(root, "parse_special", &r->parse_special, e)))
            return rc;
        return get_bool(root, "with_pieces", &r->with_pieces, e);
    }
    case SRV_DETOKENIZE: {
        json_t *t = json_object_get(root, "tokens");
        if (!json_is_array(t))
            return srv_error_set(e, 400, "tokens", "'tokens' must be an array of token ids");
        return get_tokens(t, "tokens", n_vocab, &r->tokens, &r->n_tokens, e);
    }
    }
    return srv_error_set(e, 500, NULL, "unknown request kind");
}

int srv_request_parse(srv_request *r, srv_kind kind, const char *body, size_t len,
                      int32_t n_vocab, srv_error *e)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->max_tokens = -1;
    bn_sampler_params_default(&r->sampling);
    json_error_t je;
    /* strict: no duplicate keys, no NUL in strings (the default), one value only */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return srv_error_set(e, 400, NULL, "the body is not valid JSON: %s (line %d, column %d)",
                             je.text, je.line, je.column);
    int rc = json_is_object(root) ? parse_root(r, root, n_vocab, e)
                                  : srv_error_set(e, 400, NULL, "the body must be a JSON object");
    json_decref(root);
    if (rc)
        srv_request_release(r);
    return rc;
}
