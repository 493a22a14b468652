#include "engine.h"

#include <stdlib.h>
#include <string.h>

struct srv_engine {
    bn_ctx *ctx;
    bn_batch *batch;
};

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
    if (p->n_draft > 0) {
        /* every sequence's pending token and drafts fit in every pass, with
         * logits for each: a sequence's drafts never depend on the others */
        const int32_t per_pass = p->n_seq * (1 + p->n_draft);
        if (cp.n_batch < per_pass)
            cp.n_batch = per_pass;
        cp.n_outputs_max = per_pass;
    }
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

const float *srv_engine_logits(const srv_engine *e, int32_t i)
{
    return bn_ctx_batch_logits(e->ctx, i);
}

bn_ctx *srv_engine_ctx(srv_engine *e) { return e->ctx; }

int srv_engine_seq_truncate(srv_engine *e, int32_t seq, int32_t n)
{
    return bn_ctx_seq_truncate(e->ctx, seq, n);
}

int srv_engine_seq_copy(srv_engine *e, int32_t src, int32_t dst, int32_t n)
{
    return bn_ctx_seq_copy(e->ctx, src, dst, n);
}

