/* Public entry points for samplers and text streams: argument checks and
 * status codes; the work is in sampling/. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/reserved.h"
#include "sampling/sampler.h"
#include "sampling/text_stream.h"

void bn_sampler_params_default(bn_sampler_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->frequency_penalty = 0.0f;
    p->presence_penalty = 0.0f;
    p->penalty_last_n = 64;
    p->seed = 0x5EED;
}

int bn_sampler_new(bn_sampler **out, const bn_model *m, const bn_sampler_params *user_params)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_new: out is NULL");
    *out = NULL;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_new: model is NULL");
    bn_sampler_params p;
    if (user_params)
        p = *user_params;
    else
        bn_sampler_params_default(&p);
    int rc = bn_reserved_check(p.reserved, sizeof p.reserved, "bn_sampler_params");
    if (!rc)
        rc = bn_sampler_check_params(&p);
    if (rc)
        return rc;
    const int32_t n_vocab = bn_model_n_vocab(m);
    if (n_vocab < 1)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_new: the model has no vocabulary");
    return bn_sampler_alloc(out, n_vocab, &p);
}

void bn_sampler_free(bn_sampler **s)
{
    if (!s || !*s)
        return;
    bn_sampler_destroy(*s);
    *s = NULL;
}

int bn_sampler_sample(bn_sampler *s, const float *logits, bn_token *out)
{
    if (!s || !logits || !out)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_sample: NULL %s",
                       !s ? "sampler" : !logits ? "logits" : "out");
    bn_token t;
    int rc = bn_sampler_pick(s, logits, &t);
    if (rc)
        return rc;
    bn_sampler_record(s, t);
    *out = t;
    return BN_OK;
}

int bn_sampler_accept(bn_sampler *s, bn_token token)
{
    if (!s)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_accept: NULL sampler");
    if (token < 0 || token >= s->n_vocab)
        return bn_fail(BN_E_RANGE, "bn_sampler_accept: token %d outside [0, %d)", token, s->n_vocab);
    bn_sampler_record(s, token);
    return BN_OK;
}

void bn_sampler_reset(bn_sampler *s)
{
    if (s)
        bn_sampler_restart(s);
}

int bn_text_stream_new(bn_text_stream **out, const bn_model *m, const char *const *stop,
                       size_t n_stop)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_text_stream_new: out is NULL");
    *out = NULL;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "bn_text_stream_new: model is NULL");
    if (!stop && n_stop)
        return bn_fail(BN_E_INVALID_ARG, "bn_text_stream_new: stop is NULL but n_stop is %zu", n_stop);
    return bn_text_stream_create(out, m, stop, n_stop);
}

void bn_text_stream_free(bn_text_stream **s)
{
    if (!s || !*s)
        return;
    bn_text_stream_destroy(*s);
    *s = NULL;
}

int bn_text_stream_push(bn_text_stream *s, bn_token token, const char **text, size_t *len,
                        int *stopped)
{
    if (!s || !text || !len || !stopped)
        return bn_fail(BN_E_INVALID_ARG, "bn_text_stream_push: NULL %s",
                       !s ? "stream" : !text ? "text" : !len ? "len" : "stopped");
    *text = "";
    *len = 0;
    *stopped = 0;
    if (token < 0 || token >= s->n_vocab)
        return bn_fail(BN_E_RANGE, "bn_text_stream_push: token %d outside [0, %d)", token, s->n_vocab);
    int rc = bn_text_stream_add(s, token, stopped);
    if (rc)
        return rc;
    *text = s->out.p;
    *len = s->out.len;
    return BN_OK;
}

int bn_text_stream_flush(bn_text_stream *s, const char **text, size_t *len)
{
    if (!s || !text || !len)
        return bn_fail(BN_E_INVALID_ARG, "bn_text_stream_flush: NULL %s",
                       !s ? "stream" : !text ? "text" : "len");
    *text = "";
    *len = 0;
    int rc = bn_text_stream_drain(s);
    if (rc)
        return rc;
    *text = s->out.p;
    *len = s->out.len;
    return BN_OK;
}
