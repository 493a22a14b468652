/*
 * Speculative decoding of one sequence by prompt lookup or a draft model.
 *
 * The last token returned is always pending: returned, not yet in the cache
 * (the first step only picks it from the logits the caller's decode left).
 * A step feeds the pending token x0 and drafts after it: drafts
 * d1..dk follow the latest occurrence, earlier in the history, of its
 * longest suffix of ngram_max..ngram_min tokens. [x0, d1..dk] go through one
 * batched pass with logits at every position: logits i are the model's
 * distribution after x0..d_i, exactly (bit for bit) as one-token passes
 * would give them. Each d_i is then judged against the sampler's filtered
 * distribution p at its position, in order, with the penalty window holding
 * the tokens before it: greedy accepts d_i iff it is p's certain token;
 * random sampling accepts it with probability p(d_i) and otherwise draws
 * from p without d_i (the speculative-sampling rule for a draft that puts
 * all its mass on d_i), so each returned token has exactly distribution p.
 * The first rejection ends the step: its replacement is returned and becomes
 * the next step's pending token, and the cache is cut back to x0..d_{i-1}.
 * When every draft is accepted, a token picked from the last logits ends it.
 *
 * With a draft model (bn_spec_set_draft_model), d1..dk are instead its
 * greedy continuation of the history: its sequence is brought to the
 * history (what it holds past their common prefix cut, the rest fed in one
 * pass), then one token at a time. Greedy drafts are again a draft that
 * puts all its mass on d_i, so the same rule is exact.
 *
 * A step is three parts: bn_spec_plan (the drafts), a pass that the caller
 * may share with other sequences (bn_spec_draft/bn_spec_accept) or that
 * bn_spec_run_step makes alone, and bn_spec_settle (the rule and the cut).
 */
#include "sampling/speculative.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ctx/context.h"
#include "sampling/sampler.h"

/* After this many steps without drafting, draft one token again to re-measure. */
#define PROBE_EVERY 16

int bn_spec_alloc(bn_spec **out, const bn_spec_params *p)
{
    bn_spec *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_E_NOMEM, "bn_spec_new: out of memory");
    s->p = *p;
    s->accept_rate = 0.5;
    int rc = bn_batch_new(&s->batch, p->n_draft_max + 1);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return BN_OK;
}

void bn_spec_destroy(bn_spec *s)
{
    if (!s)
        return;
    bn_batch_free(&s->batch);
    bn_batch_free(&s->dbatch);
    free(s->hist);
    free(s->dtok);
    free(s);
}

/* Room for n tokens in *buf (capacity *cap), doubling from 256. */
static int reserve_tokens(bn_token **buf, size_t *cap, size_t n, const char *what)
{
    if (n <= *cap)
        return BN_OK;
    size_t c = *cap ? *cap : 256;
    while (c < n)
        c *= 2;
    bn_token *t = realloc(*buf, c * sizeof *t);
    if (!t)
        return bn_fail(BN_E_NOMEM, "speculative decoding: out of memory for %zu %s", n, what);
    *buf = t;
    *cap = c;
    return BN_OK;
}

static int reserve(bn_spec *s, size_t n)
{
    return reserve_tokens(&s->hist, &s->cap_hist, n, "tokens of history");
}

int bn_spec_set_history(bn_spec *s, const bn_token *t, size_t n)
{
    int rc = reserve(s, n + (size_t)s->p.n_draft_max + 1);
    if (rc)
        return rc;
    if (n)
        memcpy(s->hist, t, n * sizeof *t);
    s->n_hist = n;
    s->has_pending = 0;
    return BN_OK;
}

int bn_spec_use_model(bn_spec *s, bn_ctx *d, int32_t seq, float cost)
{
    bn_batch_free(&s->dbatch);
    s->dctx = NULL;
    s->n_dtok = 0;
    if (!d)
        return BN_OK;
    int rc = bn_batch_new(&s->dbatch, bn_ctx_n_batch(d));
    if (!rc)
        rc = bn_ctx_seq_clear(d, seq);
    if (rc) {
        bn_batch_free(&s->dbatch);
        return rc;
    }
    s->dctx = d;
    s->dseq = seq;
    s->dcost = cost;
    return BN_OK;
}

static bn_token argmax(const float *v, int32_t n)
{
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return (bn_token)best;
}

/* Feeds t[0, n) to the draft sequence, the last asking for logits, in
 * passes of the draft context's n_batch. */
static int draft_feed(bn_spec *s, const bn_token *t, size_t n)
{
    const size_t nb = (size_t)bn_ctx_n_batch(s->dctx);
    for (size_t i = 0; i < n;) {
        bn_batch_clear(s->dbatch);
        for (size_t j = 0; j < nb && i < n; j++, i++) {
            int rc = bn_batch_add(s->dbatch, t[i], s->dseq, BN_POS_NEXT, i + 1 == n);
            if (rc)
                return rc;
        }
        int rc = bn_decode_batch(s->dctx, s->dbatch);
        if (rc)
            return rc;
    }
    return BN_OK;
}

/* Up to k drafts from the draft model: its greedy continuation of hist.
 * A full draft context gives fewer drafts, not an error. */
static int model_drafts(bn_spec *s, bn_token *draft, size_t k, size_t *n_out)
{
    *n_out = 0;
    bn_ctx *d = s->dctx;
    const bn_model *dm = bn_ctx_model(d);
    /* a draft sequence changed behind the decoder's back (against the
     * contract) is started again rather than drafted from wrongly */
    if ((size_t)bn_ctx_seq_pos(d, s->dseq) != s->n_dtok) {
        int rc = bn_ctx_seq_clear(d, s->dseq);
        if (rc)
            return rc;
        s->n_dtok = 0;
    }
    /* the draft sequence holds dtok[0, n_dtok): keep what agrees with the
     * history, and at least the last history token to be fed again (its
     * logits are the first draft's) */
    size_t keep = 0;
    while (keep < s->n_dtok && keep + 1 < s->n_hist && s->dtok[keep] == s->hist[keep])
        keep++;
    if (keep < s->n_dtok) {
        int rc = bn_ctx_seq_truncate(d, s->dseq, (int32_t)keep);
        if (rc)
            return rc;
        s->n_dtok = keep;
    }
    const size_t room = (size_t)(bn_ctx_n_ctx(d) - bn_ctx_seq_pos(d, s->dseq));
    const size_t feed = s->n_hist - keep;
    if (room < feed)
        return BN_OK;
    if (k > room - feed + 1)
        k = room - feed + 1;        /* the last draft is never fed */
    int rc = reserve_tokens(&s->dtok, &s->cap_dtok, s->n_hist + k, "draft tokens");
    if (rc)
        return rc;
    rc = draft_feed(s, s->hist + keep, feed);
    if (!rc) {
        memcpy(s->dtok + s->n_dtok, s->hist + keep, feed * sizeof *s->dtok);
        s->n_dtok += feed;
    }
    for (size_t i = 0; !rc && i < k; i++) {
        const bn_token t = argmax(bn_ctx_seq_logits(d, s->dseq), bn_model_n_vocab(dm));
        draft[(*n_out)++] = t;
        if (i + 1 == k || bn_model_token_is_eog(dm, t))
            break;                  /* nothing follows an end token */
        rc = draft_feed(s, &t, 1);
        if (!rc)
            s->dtok[s->n_dtok++] = t;
    }
    if (rc) {
        /* the sequence back to what dtok says it holds (a feed of several
         * passes may have failed after the first) */
        bn_ctx_seq_truncate(d, s->dseq, (int32_t)s->n_dtok);
        if (rc != BN_E_CTX_FULL)
            return rc;
    }
    return BN_OK;
}

size_t bn_spec_lookup(const bn_spec *s, bn_token *draft, size_t k)
{
    const bn_token *h = s->hist;
    const size_t n = s->n_hist;
    for (int32_t g = s->p.ngram_max; g >= s->p.ngram_min && k; g--) {
        if ((size_t)g >= n)
            continue;
        const bn_token *suffix = h + n - (size_t)g;
        /* the latest earlier occurrence: newest text repeats most */
        for (size_t start = n - (size_t)g; start-- > 0;) {
            if (memcmp(h + start, suffix, (size_t)g * sizeof *h))
                continue;
            size_t m = 0;
            for (size_t j = start + (size_t)g; j < n && m < k; j++)
                draft[m++] = h[j];
            return m;
        }
    }
    return 0;
}

/* Expected tokens per pass for draft length k at acceptance a, divided by
 * the pass's cost 1 + cost * k; the best k, or 0 when drafting does not pay. */
int32_t bn_spec_draft_len(const bn_spec *s)
{
    /* a draft model's tokens cost their pass on top of their check */
    const double a = s->accept_rate, cost = s->p.draft_cost + (s->dctx ? s->dcost : 0.0f);
    int32_t best = 0;
    double best_rate = 1.0, e = 1.0, ak = 1.0;
    for (int32_t k = 1; k <= s->p.n_draft_max; k++) {
        ak *= a;
        e += ak;                                /* 1 + a + ... + a^k */
        const double rate = e / (1.0 + cost * k);
        if (rate > best_rate * 1.0001) {
            best_rate = rate;
            best = k;
        }
    }
    return best;
}

static int contains(const bn_sampler *smp, int32_t n, bn_token t)
{
    for (int32_t i = 0; i < n; i++)
        if (smp->cand[i] == (uint32_t)t)
            return 1;
    return 0;
}

int bn_spec_judge(bn_sampler *smp, const float *logits, bn_token d, int *keep, bn_token *next)
{
    int32_t n;
    double sum;
    int greedy;
    int rc = bn_sampler_filter(smp, logits, &n, &sum, &greedy);
    if (rc)
        return rc;
    if (greedy) {
        *keep = smp->cand[0] == (uint32_t)d;
        *next = (bn_token)smp->cand[0];
    } else if (contains(smp, n, d) && bn_sampler_uniform(smp) * sum < smp->weight[d]) {
        *keep = 1;
        *next = d;
    } else {
        *keep = 0;
        if (contains(smp, n, d)) {          /* p without d, renormalised */
            sum -= smp->weight[d];
            smp->weight[d] = 0.0f;
        }
        *next = sum > 0.0 ? (bn_token)smp->cand[bn_sampler_draw(smp, n, sum)] : d;
    }
    bn_sampler_record(smp, *next);
    return BN_OK;
}

int bn_spec_plan(bn_spec *s, const bn_ctx *c, int32_t seq, bn_token *draft, size_t n_max, size_t *n_draft)
{
    *n_draft = 0;
    if (!s->has_pending)
        return BN_OK;   /* the first token comes from the logits the prompt left */
    const bn_token x0 = s->hist[s->n_hist - 1];
    const int32_t room = bn_ctx_n_ctx(c) - bn_ctx_seq_pos(c, seq);
    if (room < 1)
        return bn_fail(BN_E_CTX_FULL, "speculative decoding: sequence %d is full (n_ctx %d)", seq, bn_ctx_n_ctx(c));
    if (bn_model_token_is_eog(bn_ctx_model(c), x0))
        return bn_fail(BN_E_INVALID_ARG, "speculative decoding: the last token returned ended the generation");
    int32_t k = bn_spec_draft_len(s);
    if (k == 0 && ++s->idle_steps >= PROBE_EVERY)
        k = 1;
    if (k > room - 1)
        k = room - 1;
    if (k > bn_ctx_n_batch(c) - 1)
        k = bn_ctx_n_batch(c) - 1;
    if (k > c->n_outputs - 1)         /* every token of the pass asks for logits */
        k = c->n_outputs - 1;
    if (k > 0 && (size_t)k > n_max)
        k = (int32_t)n_max;
    size_t n = 0;
    if (k > 0 && s->dctx) {
        if (s->dctx == c)
            return bn_fail(BN_E_INVALID_ARG, "speculative decoding: the draft context is the checked one");
        const int32_t nv = bn_model_n_vocab(bn_ctx_model(c)), dnv = bn_model_n_vocab(bn_ctx_model(s->dctx));
        if (nv != dnv)
            return bn_fail(BN_E_INVALID_ARG, "speculative decoding: the draft model has %d tokens, the model %d",
                           dnv, nv);
        int rc = model_drafts(s, draft, (size_t)k, &n);
        if (rc)
            return rc;
    } else if (k > 0) {
        n = bn_spec_lookup(s, draft, (size_t)k);
    }
    if (n)
        s->idle_steps = 0;
    *n_draft = n;
    return BN_OK;
}

int bn_spec_settle(bn_spec *s, bn_ctx *c, int32_t seq, bn_sampler *smp, const float *const *rows,
                   const bn_token *draft, size_t n_draft, bn_token *out, size_t *n_out)
{
    const bn_model *m = bn_ctx_model(c);
    const int fed_pending = s->has_pending;
    /* the pass left the pending token (if any) and the drafts at the end of the cache */
    const int32_t pos0 = bn_ctx_seq_pos(c, seq) - (int32_t)n_draft - fed_pending;
    int rc = reserve(s, s->n_hist + n_draft + 1);
    if (rc) {
        bn_ctx_seq_truncate(c, seq, pos0);
        return rc;
    }
    /* judge the drafts in order; the first rejection's replacement, or a
     * token picked after the last accepted draft, ends the step */
    size_t n = 0, agreed = 0, accepted = 0;    /* accepted: agreed and kept in the cache */
    int ended = 0;
    for (size_t i = 0; i < n_draft && !ended && !rc; i++) {
        int keep;
        rc = bn_spec_judge(smp, rows[i], draft[i], &keep, &out[n]);
        if (rc)
            break;
        agreed += keep;
        ended = !keep || bn_model_token_is_eog(m, out[n]);
        accepted += keep && !ended;
        n++;
    }
    if (!rc && !ended) {
        rc = bn_sampler_pick(smp, rows[n_draft], &out[n]);
        if (!rc)
            bn_sampler_record(smp, out[n++]);
    }
    if (rc) {
        bn_ctx_seq_truncate(c, seq, pos0);      /* the sequence as before the pass */
        return rc;
    }
    /* the cache keeps the pending token and the drafts returned before the last token */
    const int32_t keep_pos = pos0 + fed_pending + (int32_t)accepted;
    if (keep_pos < bn_ctx_seq_pos(c, seq))
        bn_ctx_seq_truncate(c, seq, keep_pos);
    for (size_t i = 0; i < n; i++)
        s->hist[s->n_hist++] = out[i];
    s->has_pending = 1;
    if (n_draft) {
        /* running acceptance per drafted token, weighted by tokens seen */
        const double judged = (double)(n < n_draft ? n : n_draft);
        const double rate = (double)agreed / judged, w = judged / (judged + 16.0);
        s->accept_rate = (1.0 - w) * s->accept_rate + w * rate;
    }
    s->stats.n_steps += fed_pending;    /* the first token needs no pass of its own */
    s->stats.n_drafted += (int64_t)n_draft;
    s->stats.n_accepted += (int64_t)agreed;
    s->stats.n_tokens += (int64_t)n;
    *n_out = n;
    return BN_OK;
}

int bn_spec_run_step(bn_spec *s, bn_ctx *c, int32_t seq, bn_sampler *smp, bn_token *out, size_t *n_out)
{
    const float *rows[65];
    if (!s->has_pending) {
        /* the first token comes from the logits the caller's decode left */
        rows[0] = bn_ctx_seq_logits(c, seq);
        if (!rows[0])
            return bn_fail(BN_E_INVALID_ARG, "bn_spec_step: sequence %d has no logits to start from "
                           "(decode its prompt first)", seq);
        return bn_spec_settle(s, c, seq, smp, rows, NULL, 0, out, n_out);
    }
    bn_token draft[64];
    size_t n_draft;
    int rc = bn_spec_plan(s, c, seq, draft, 64, &n_draft);
    if (rc)
        return rc;
    bn_batch_clear(s->batch);
    bn_batch_add(s->batch, s->hist[s->n_hist - 1], seq, BN_POS_NEXT, 1);
    for (size_t i = 0; i < n_draft; i++)
        bn_batch_add(s->batch, draft[i], seq, BN_POS_NEXT, 1);
    rc = bn_decode_batch(c, s->batch);
    if (rc)
        return rc;
    for (size_t i = 0; i <= n_draft; i++)
        rows[i] = bn_ctx_batch_logits(c, (int32_t)i);
    return bn_spec_settle(s, c, seq, smp, rows, draft, n_draft, out, n_out);
}
