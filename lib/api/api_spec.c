/* Public entry points for speculative decoding and the sampler's filtered
 * distribution: argument checks and status codes; the work is in
 * sampling/speculative.c and sampling/sampler.c. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/reserved.h"
#include "ctx/context.h"
#include "sampling/sampler.h"
#include "sampling/speculative.h"

int bn_sampler_probs(bn_sampler *s, const float *logits, bn_token *ids, float *probs, size_t n_max,
                     size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_probs: n_out is NULL");
    *n_out = 0;
    if (!s || !logits)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_probs: NULL %s", !s ? "sampler" : "logits");
    if ((!ids || !probs) && n_max)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_probs: NULL output arrays for %zu entries", n_max);
    int32_t n;
    double sum;
    int greedy;
    int rc = bn_sampler_filter(s, logits, &n, &sum, &greedy);
    if (rc)
        return rc;
    *n_out = (size_t)n;
    if ((size_t)n > n_max)
        return bn_fail(BN_E_RANGE, "bn_sampler_probs: %d candidates, room for %zu", n, n_max);
    for (int32_t i = 0; i < n; i++) {
        ids[i] = (bn_token)s->cand[i];
        probs[i] = (float)(s->weight[s->cand[i]] / sum);
    }
    return BN_OK;
}

void bn_spec_params_default(bn_spec_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->n_draft_max = 8;
    p->ngram_min = 2;
    p->ngram_max = 4;
    p->draft_cost = 0.1f;
}

int bn_spec_new(bn_spec **out, const bn_spec_params *user)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_new: out is NULL");
    *out = NULL;
    bn_spec_params p;
    if (user)
        p = *user;
    else
        bn_spec_params_default(&p);
    if (p.n_draft_max < 0 || p.n_draft_max > 64)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_new: n_draft_max %d: expected 0 to 64", p.n_draft_max);
    if (p.ngram_min < 1 || p.ngram_max > 8 || p.ngram_min > p.ngram_max)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_new: n-gram lengths %d to %d: expected 1 <= min <= max <= 8",
                       p.ngram_min, p.ngram_max);
    if (!(p.draft_cost >= 0.0f && p.draft_cost <= 10.0f))
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_new: draft_cost %g: expected 0 to 10", (double)p.draft_cost);
    int rc = bn_reserved_check(p.reserved, sizeof p.reserved, "bn_spec_params");
    return rc ? rc : bn_spec_alloc(out, &p);
}

void bn_spec_free(bn_spec **s)
{
    if (!s || !*s)
        return;
    bn_spec_destroy(*s);
    *s = NULL;
}

int bn_spec_begin(bn_spec *s, const bn_token *history, size_t n)
{
    if (!s)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_begin: NULL decoder");
    if (!history && n)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_begin: NULL history of %zu tokens", n);
    return bn_spec_set_history(s, history, n);
}

int bn_spec_step(bn_spec *s, bn_ctx *c, int32_t seq, bn_sampler *smp, bn_token *out, size_t n_max, size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_step: n_out is NULL");
    *n_out = 0;
    if (!s || !c || !smp || !out)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_step: NULL %s",
                       !s ? "decoder" : !c ? "context" : !smp ? "sampler" : "out");
    if (n_max < (size_t)s->p.n_draft_max + 1)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_step: room for %zu tokens, a step may return %d", n_max,
                       s->p.n_draft_max + 1);
    if (seq < 0 || seq >= c->n_seq_max)
        return bn_fail(BN_E_RANGE, "bn_spec_step: sequence %d outside [0, %d)", seq, c->n_seq_max);
    if (smp->n_vocab != c->model->hp.n_vocab)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_step: the sampler is for %d tokens, the model has %d",
                       smp->n_vocab, c->model->hp.n_vocab);
    return bn_spec_run_step(s, c, seq, smp, out, n_out);
}

int bn_spec_draft(bn_spec *s, const bn_ctx *c, int32_t seq, bn_token *draft, size_t n_max, size_t *n_draft)
{
    if (!n_draft)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_draft: n_draft is NULL");
    *n_draft = 0;
    if (!s || !c || (!draft && n_max))
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_draft: NULL %s", !s ? "decoder" : !c ? "context" : "draft");
    if (seq < 0 || seq >= c->n_seq_max)
        return bn_fail(BN_E_RANGE, "bn_spec_draft: sequence %d outside [0, %d)", seq, c->n_seq_max);
    return bn_spec_plan(s, c, seq, draft, n_max, n_draft);
}

int bn_spec_accept(bn_spec *s, bn_ctx *c, int32_t seq, bn_sampler *smp, const float *const *logits,
                   const bn_token *draft, size_t n_draft, bn_token *out, size_t n_max, size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_accept: n_out is NULL");
    *n_out = 0;
    if (!s || !c || !smp || !logits || !out || (!draft && n_draft))
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_accept: NULL %s",
                       !s ? "decoder" : !c ? "context" : !smp ? "sampler" : !logits ? "logits" : !out ? "out"
                       : "draft");
    if (n_max < n_draft + 1)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_accept: room for %zu tokens, %zu drafts may return %zu", n_max,
                       n_draft, n_draft + 1);
    if (seq < 0 || seq >= c->n_seq_max)
        return bn_fail(BN_E_RANGE, "bn_spec_accept: sequence %d outside [0, %d)", seq, c->n_seq_max);
    if (smp->n_vocab != c->model->hp.n_vocab)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_accept: the sampler is for %d tokens, the model has %d",
                       smp->n_vocab, c->model->hp.n_vocab);
    if (!s->has_pending && n_draft)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_accept: %zu drafts before the first token was returned", n_draft);
    if ((size_t)bn_ctx_seq_pos(c, seq) < n_draft + (size_t)s->has_pending)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_accept: sequence %d holds %d tokens, fewer than the pass fed",
                       seq, bn_ctx_seq_pos(c, seq));
    for (size_t i = 0; i <= n_draft; i++)
        if (!logits[i])
            return bn_fail(BN_E_INVALID_ARG, "bn_spec_accept: logits[%zu] is NULL", i);
    for (size_t i = 0; i < n_draft; i++)
        if (draft[i] < 0 || draft[i] >= c->model->hp.n_vocab)
            return bn_fail(BN_E_RANGE, "bn_spec_accept: draft %zu is %d, outside the vocabulary", i, draft[i]);
    return bn_spec_settle(s, c, seq, smp, logits, draft, n_draft, out, n_out);
}

int bn_spec_set_draft_model(bn_spec *s, bn_ctx *draft, int32_t seq, float cost)
{
    if (!s)
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_set_draft_model: NULL decoder");
    if (draft && (seq < 0 || seq >= draft->n_seq_max))
        return bn_fail(BN_E_RANGE, "bn_spec_set_draft_model: sequence %d outside [0, %d)", seq, draft->n_seq_max);
    if (draft && !(cost >= 0.0f && cost <= 10.0f))
        return bn_fail(BN_E_INVALID_ARG, "bn_spec_set_draft_model: cost %g: expected 0 to 10", (double)cost);
    return bn_spec_use_model(s, draft, seq, cost);
}

void bn_spec_get_stats(const bn_spec *s, bn_spec_stats *out)
{
    if (s && out)
        *out = s->stats;
}
