#include "engine.h"

#include <stdlib.h>
#include <string.h>

#ifdef BN_POS_NEXT   /* the multi-sequence API (since API 0.2) */

struct srv_engine {
    bn_ctx *ctx;
    bn_batch *batch;
};

int srv_engine_batched(void) { return 1; }

int srv_engine_new(srv_engine **out, bn_model *m, const srv_engine_params *p)
{
    srv_engine *e = calloc(1, sizeof *e);
    if (!e)
        return BN_E_NOMEM;
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_seq_max = p->n_seq;
    cp.n_ctx = p->n_ctx;
    cp.n_batch = p->n_batch;
    cp.n_threads = p->n_threads;
    int rc = bn_ctx_new(&e->ctx, m, &cp);
    if (!rc)
        rc = bn_batch_new(&e->batch, bn_ctx_n_batch(e->ctx));
    if (!rc && p->abort_fn)
        rc = bn_ctx_set_abort_callback(e->ctx, p->abort_fn, p->abort_user);
    if (rc) {
        srv_engine_free(&e);
        return rc;
    }
    *out = e;
    return BN_OK;
}

void srv_engine_free(srv_engine **ep)
{
    srv_engine *e = *ep;
    if (!e)
        return;
    bn_batch_free(&e->batch);
    bn_ctx_free(&e->ctx);
    free(e);
    *ep = NULL;
}

int32_t srv_engine_n_seq(const srv_engine *e) { return bn_ctx_n_seq_max(e->ctx); }
int32_t srv_engine_n_ctx(const srv_engine *e) { return bn_ctx_n_ctx(e->ctx); }
int32_t srv_engine_n_batch(const srv_engine *e) { return bn_ctx_n_batch(e->ctx); }
void srv_engine_clear(srv_engine *e) { bn_batch_clear(e->batch); }

int srv_engine_add(srv_engine *e, bn_token t, int32_t seq, int want_logits)
{
    return bn_batch_add(e->batch, t, seq, BN_POS_NEXT, want_logits);
}

int srv_engine_decode(srv_engine *e) { return bn_decode_batch(e->ctx, e->batch); }

const float *srv_engine_logits(const srv_engine *e, int32_t seq)
{
    return bn_ctx_seq_logits(e->ctx, seq);
}

int srv_engine_seq_truncate(srv_engine *e, int32_t seq, int32_t n)
{
    return bn_ctx_seq_truncate(e->ctx, seq, n);
}

int srv_engine_seq_copy(srv_engine *e, int32_t src, int32_t dst, int32_t n)
{
    return bn_ctx_seq_copy(e->ctx, src, dst, n);
}

#else   /* one context per sequence */

struct srv_engine {
    int32_t n_seq, n_batch;
    bn_ctx **ctx;
    const float **logits;       /* per sequence, from its last decode */
    bn_token *tokens;           /* the pending pass */
    int32_t *seqs;
    int32_t n;
};

int srv_engine_batched(void) { return 0; }

int srv_engine_new(srv_engine **out, bn_model *m, const srv_engine_params *p)
{
    srv_engine *e = calloc(1, sizeof *e);
    if (!e)
        return BN_E_NOMEM;
    e->n_seq = p->n_seq;
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = p->n_ctx;
    cp.n_batch = p->n_batch;
    cp.n_threads = p->n_threads;
    int rc = BN_E_NOMEM;
    e->ctx = calloc((size_t)p->n_seq, sizeof *e->ctx);
    e->logits = calloc((size_t)p->n_seq, sizeof *e->logits);
    if (e->ctx && e->logits) {
        rc = BN_OK;
        for (int32_t i = 0; !rc && i < p->n_seq; i++)
            rc = bn_ctx_new(&e->ctx[i], m, &cp);
    }
    if (!rc) {
        e->n_batch = bn_ctx_n_batch(e->ctx[0]);
        e->tokens = malloc((size_t)e->n_batch * sizeof *e->tokens);
        e->seqs = malloc((size_t)e->n_batch * sizeof *e->seqs);
        if (!e->tokens || !e->seqs)
            rc = BN_E_NOMEM;
    }
    if (rc) {
        srv_engine_free(&e);
        return rc;
    }
    *out = e;
    return BN_OK;
}

void srv_engine_free(srv_engine **ep)
{
    srv_engine *e = *ep;
    if (!e)
        return;
    for (int32_t i = 0; e->ctx && i < e->n_seq; i++)
        bn_ctx_free(&e->ctx[i]);
    free(e->ctx);
    free(e->logits);
    free(e->tokens);
    free(e->seqs);
    free(e);
    *ep = NULL;
}

int32_t srv_engine_n_seq(const srv_engine *e) { return e->n_seq; }
int32_t srv_engine_n_ctx(const srv_engine *e) { return bn_ctx_n_ctx(e->ctx[0]); }
int32_t srv_engine_n_batch(const srv_engine *e) { return e->n_batch; }
void srv_engine_clear(srv_engine *e) { e->n = 0; }

int srv_engine_add(srv_engine *e, bn_token t, int32_t seq, int want_logits)
{
    (void)want_logits;  /* bn_decode keeps the last token's logits */
    if (e->n >= e->n_batch || seq < 0 || seq >= e->n_seq)
        return BN_E_BATCH;
    e->tokens[e->n] = t;
    e->seqs[e->n++] = seq;
    return BN_OK;
}

int srv_engine_decode(srv_engine *e)
{
    for (int32_t i = 0; i < e->n_seq; i++)
        e->logits[i] = NULL;
    for (int32_t i = 0; i < e->n;) {
        int32_t k = 1;
        while (i + k < e->n && e->seqs[i + k] == e->seqs[i])
            k++;
        int rc = bn_decode(e->ctx[e->seqs[i]], e->tokens + i, (size_t)k);
        if (rc)
            return rc;
        e->logits[e->seqs[i]] = bn_ctx_logits(e->ctx[e->seqs[i]]);
        i += k;
    }
    return BN_OK;
}

const float *srv_engine_logits(const srv_engine *e, int32_t seq)
{
    return seq >= 0 && seq < e->n_seq ? e->logits[seq] : NULL;
}

int srv_engine_seq_truncate(srv_engine *e, int32_t seq, int32_t n)
{
    e->logits[seq] = NULL;
    return bn_ctx_truncate(e->ctx[seq], n);
}

int srv_engine_seq_copy(srv_engine *e, int32_t src, int32_t dst, int32_t n)
{
    (void)e; (void)src; (void)dst; (void)n;
    return BN_E_UNSUPPORTED;
}

#endif
