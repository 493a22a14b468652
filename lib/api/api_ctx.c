/* Public entry points for contexts: parameter resolution, buffer planning,
 * argument checks of bn_decode. The forward pass is in graph/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "core/platform.h"
#include "core/reserved.h"
#include "ctx/context.h"
#include "runtime/shared_pool.h"

#define BN_MAX_THREADS 512
#define BN_MAX_CTX (1 << 24)
#define BN_MAX_SEQ 4096

void bn_ctx_params_default(bn_ctx_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->n_ctx = 0;
    p->n_batch = 512;
    p->n_threads = 0;
    p->kv_type = BN_KV_F16;
    p->logits_all = 0;
    p->n_seq_max = 1;
    p->n_outputs_max = 0;
}

static int resolve_params(const bn_model *m, const bn_ctx_params *p, bn_ctx *c)
{
    c->n_ctx = p->n_ctx ? p->n_ctx : m->hp.n_ctx_train;
    if (c->n_ctx < 1 || c->n_ctx > BN_MAX_CTX)
        return bn_fail(BN_E_INVALID_ARG, "n_ctx %d: expected 1 to %d (0 = the model's %d)", p->n_ctx,
                       BN_MAX_CTX, m->hp.n_ctx_train);
    if (p->n_batch < 1)
        return bn_fail(BN_E_INVALID_ARG, "n_batch %d: expected at least 1", p->n_batch);
    c->n_batch = p->n_batch < c->n_ctx ? p->n_batch : c->n_ctx;
    c->n_threads = p->n_threads;
    if (c->n_threads == 0) {
        int n = bn_cpu_count();
        c->n_threads = n > 64 ? 64 : n;
    }
    if (c->n_threads < 1 || c->n_threads > BN_MAX_THREADS)
        return bn_fail(BN_E_INVALID_ARG, "n_threads %d: expected 0 to %d", p->n_threads, BN_MAX_THREADS);
    if (p->kv_type != BN_KV_F16 && p->kv_type != BN_KV_F32)
        return bn_fail(BN_E_INVALID_ARG, "kv_type %d: expected BN_KV_F16 or BN_KV_F32", p->kv_type);
    if (p->logits_all != 0 && p->logits_all != 1)
        return bn_fail(BN_E_INVALID_ARG, "logits_all %d: expected 0 or 1", p->logits_all);
    c->logits_all = p->logits_all;
    c->n_seq_max = p->n_seq_max ? p->n_seq_max : 1;
    if (c->n_seq_max < 1 || c->n_seq_max > BN_MAX_SEQ)
        return bn_fail(BN_E_INVALID_ARG, "n_seq_max %d: expected 0 to %d", p->n_seq_max, BN_MAX_SEQ);
    if (p->n_outputs_max < 0)
        return bn_fail(BN_E_INVALID_ARG, "n_outputs_max %d: expected 0 or more", p->n_outputs_max);
    c->n_outputs = p->n_outputs_max ? p->n_outputs_max : c->n_seq_max > 16 ? c->n_seq_max : 16;
    if (c->logits_all || c->n_outputs > c->n_batch)
        c->n_outputs = c->n_batch;
    /* a restored state needs a row of its own: at least one per sequence */
    c->n_rows = c->n_outputs > c->n_seq_max ? c->n_outputs : c->n_seq_max;
    return bn_reserved_check(p->reserved, sizeof p->reserved, "bn_ctx_params");
}

/* Lays out every activation buffer in one allocation, 64-byte aligned each. */
static int plan_buffers(bn_ctx *c)
{
    const bn_hparams *hp = &c->model->hp;
    const size_t nb = (size_t)c->n_batch;
    const size_t kv_dim = (size_t)hp->head_dim * (size_t)hp->n_head_kv;
    /* the ternary kernels' activation rows (tpack.h) */
    const size_t xn = (size_t)bn_tp_x_stride(hp->n_embd > hp->n_ff ? hp->n_embd : hp->n_ff);
    c->width[BN_BUF_X] = (size_t)hp->n_embd;
    c->width[BN_BUF_XN] = xn;
    c->width[BN_BUF_Q] = (size_t)hp->n_embd;
    c->width[BN_BUF_K] = kv_dim;
    c->width[BN_BUF_V] = kv_dim;
    c->width[BN_BUF_ATT] = (size_t)hp->n_embd;
    c->width[BN_BUF_GATE] = (size_t)hp->n_ff;
    c->width[BN_BUF_UP] = (size_t)hp->n_ff;
    c->width[BN_BUF_LOGITS] = (size_t)hp->n_vocab;

    enum { N_EXTRA = 13 };
    size_t sizes[BN_BUF_COUNT + N_EXTRA], total = 0, off[BN_BUF_COUNT + N_EXTRA];
    for (int b = 0; b < BN_BUF_COUNT; b++) {
        size_t rows = b == BN_BUF_LOGITS ? (size_t)c->n_rows : nb;
        if (!bn_mul_size(rows, c->width[b], &sizes[b]) || !bn_mul_size(sizes[b], 4, &sizes[b]))
            return bn_fail(BN_E_NOMEM, "buffer size overflows");
    }
    size_t scores;
    if (!bn_mul_size((size_t)c->n_threads, (size_t)c->n_ctx, &scores))
        return bn_fail(BN_E_NOMEM, "buffer size overflows");
    sizes[BN_BUF_COUNT + 0] = nb * xn;                      /* xq */
    sizes[BN_BUF_COUNT + 1] = nb * 4;                       /* qscale */
    sizes[BN_BUF_COUNT + 2] = nb * 4;                       /* qsum */
    sizes[BN_BUF_COUNT + 3] = scores * 4;                   /* scores */
    sizes[BN_BUF_COUNT + 4] = nb * (size_t)hp->head_dim * 4; /* rope cos/sin */
    /* the GEMM kernel's scratch: only for batches, a decode never uses it */
    c->work_bytes = 0;
    if (c->model->kernels.tgemm_work && nb > 1)
        c->work_bytes = (c->model->kernels.tgemm_work((int64_t)xn) + 63) & ~(size_t)63;
    if (!bn_mul_size((size_t)c->n_threads, c->work_bytes, &sizes[BN_BUF_COUNT + 5]))
        return bn_fail(BN_E_NOMEM, "buffer size overflows");
    c->embed_scratch_bytes = c->model->embed_by_pread ? (bn_model_embed_row_bytes(c->model) + 63) & ~(size_t)63 : 0;
    if (!bn_mul_size((size_t)c->n_threads, c->embed_scratch_bytes, &sizes[BN_BUF_COUNT + 6]))
        return bn_fail(BN_E_NOMEM, "buffer size overflows");
    const size_t ns = (size_t)c->n_seq_max;
    sizes[BN_BUF_COUNT + 7] = ns * 4;                       /* seq_len */
    sizes[BN_BUF_COUNT + 8] = ns * 4;                       /* seq_row */
    sizes[BN_BUF_COUNT + 9] = ns * 4;                       /* seq_scratch */
    sizes[BN_BUF_COUNT + 10] = nb * 4 * 2;                  /* run_seq, run_pos */
    sizes[BN_BUF_COUNT + 11] = (size_t)c->n_rows * 4;       /* run_out */
    sizes[BN_BUF_COUNT + 12] = nb * 4 * 2;                  /* batch_row, batch_seq */
    for (int i = 0; i < BN_BUF_COUNT + N_EXTRA; i++) {
        off[i] = total;
        size_t padded = (sizes[i] + 63) & ~(size_t)63;
        if (padded < sizes[i] || total + padded < total)
            return bn_fail(BN_E_NOMEM, "buffer size overflows");
        total += padded;
    }
    /* calloc, not malloc + memset: a large block comes as fresh zero pages
     * that become resident only when a decode touches them (the scores of
     * n_threads x n_ctx floats are mostly untouched until the context fills) */
    if (total > SIZE_MAX - 64 || !(c->arena = calloc(1, total + 64)))
        return bn_fail(BN_E_NOMEM, "cannot allocate %zu bytes of context buffers", total);
    uint8_t *a = (uint8_t *)(((uintptr_t)c->arena + 63) & ~(uintptr_t)63);
    for (int b = 0; b < BN_BUF_COUNT; b++)
        c->buf[b] = (float *)(a + off[b]);
    c->xq = (int8_t *)(a + off[BN_BUF_COUNT + 0]);
    c->qscale = (float *)(a + off[BN_BUF_COUNT + 1]);
    c->qsum = (int32_t *)(a + off[BN_BUF_COUNT + 2]);
    c->scores = (float *)(a + off[BN_BUF_COUNT + 3]);
    c->rope_cs = (float *)(a + off[BN_BUF_COUNT + 4]);
    c->work = c->work_bytes ? a + off[BN_BUF_COUNT + 5] : NULL;
    c->embed_scratch = c->embed_scratch_bytes ? a + off[BN_BUF_COUNT + 6] : NULL;
    c->seq_len = (int32_t *)(a + off[BN_BUF_COUNT + 7]);
    c->seq_row = (int32_t *)(a + off[BN_BUF_COUNT + 8]);
    c->seq_scratch = (int32_t *)(a + off[BN_BUF_COUNT + 9]);
    c->run_seq = (int32_t *)(a + off[BN_BUF_COUNT + 10]);
    c->run_pos = c->run_seq + nb;
    c->run_out = (int32_t *)(a + off[BN_BUF_COUNT + 11]);
    c->batch_row = (int32_t *)(a + off[BN_BUF_COUNT + 12]);
    c->batch_seq = c->batch_row + nb;
    for (size_t i = 0; i < ns; i++)
        c->seq_row[i] = -1;
    return BN_OK;
}

static int ctx_new(bn_ctx **out, bn_model *m, const bn_ctx_params *user_params, bn_threadpool *pool,
                   const char *fn)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "%s: model is NULL", fn);
    bn_ctx_params p;
    if (user_params)
        p = *user_params;
    else
        bn_ctx_params_default(&p);
    if (pool) {
        const int32_t n = bn_threadpool_n_threads(pool);
        if (p.n_threads && p.n_threads != n)
            return bn_fail(BN_E_INVALID_ARG, "%s: n_threads %d, but the pool has %d threads", fn,
                           p.n_threads, n);
        p.n_threads = n;
    }
    bn_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return bn_fail(BN_E_NOMEM, "out of memory");
    c->model = m;
    const bn_hparams *hp = &m->hp;
    int rc = resolve_params(m, &p, c);
    if (!rc)
        rc = bn_kv_cache_init(&c->kv, c->n_seq_max, hp->n_layer, c->n_ctx, hp->head_dim * hp->n_head_kv,
                              p.kv_type);
    if (!rc)
        rc = plan_buffers(c);
    if (!rc)
        rc = bn_graph_build(&c->graph, m);
    bn_kernel_pick_init(&c->pick, (bn_pick_mode)m->pick_mode, m->pick_has_alt);
    if (!rc && pool) {
        c->shared = pool;
        c->pool = bn_threadpool_pool(pool);
    } else if (!rc) {
        rc = bn_pool_new(&c->pool, c->n_threads);
    }
    if (rc) {
        bn_ctx_free(&c);
        return rc;
    }
    *out = c;
    return BN_OK;
}

int bn_ctx_new(bn_ctx **out, bn_model *m, const bn_ctx_params *p)
{
    return ctx_new(out, m, p, NULL, "bn_ctx_new");
}

int bn_ctx_new_with_pool(bn_ctx **out, bn_model *m, const bn_ctx_params *p, bn_threadpool *pool)
{
    if (!pool) {
        if (out)
            *out = NULL;
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_new_with_pool: pool is NULL");
    }
    return ctx_new(out, m, p, pool, "bn_ctx_new_with_pool");
}

void bn_ctx_free(bn_ctx **pc)
{
    if (!pc || !*pc)
        return;
    bn_ctx *c = *pc;
    if (!c->shared)
        bn_pool_free(&c->pool);
    bn_graph_free(&c->graph);
    bn_kv_cache_free(&c->kv);
    free(c->arena);
    free(c);
    *pc = NULL;
}

int bn_decode(bn_ctx *c, const bn_token *tokens, size_t n_tokens)
{
    if (!c || !tokens)
        return bn_fail(BN_E_INVALID_ARG, "bn_decode: NULL %s", c ? "tokens" : "context");
    if (n_tokens == 0)
        return bn_fail(BN_E_INVALID_ARG, "bn_decode: no tokens");
    if (n_tokens > (size_t)c->n_batch)
        return bn_fail(BN_E_BATCH, "bn_decode: %zu tokens exceed n_batch %d", n_tokens, c->n_batch);
    if ((size_t)c->seq_len[0] + n_tokens > (size_t)c->n_ctx)
        return bn_fail(BN_E_CTX_FULL, "bn_decode: %d tokens in the sequence + %zu exceed n_ctx %d",
                       c->seq_len[0], n_tokens, c->n_ctx);
    return bn_ctx_run_batch(c, tokens, NULL, NULL, NULL, (int32_t)n_tokens, "bn_decode");
}

const float *bn_ctx_logits(const bn_ctx *c)
{
    return bn_ctx_seq_logits(c, 0);
}

const float *bn_ctx_logits_ith(const bn_ctx *c, int32_t i)
{
    return bn_ctx_batch_logits(c, i);
}

int32_t bn_ctx_pos(const bn_ctx *c) { return c ? c->seq_len[0] : 0; }
int32_t bn_ctx_n_ctx(const bn_ctx *c) { return c ? c->n_ctx : 0; }
int32_t bn_ctx_n_batch(const bn_ctx *c) { return c ? c->n_batch : 0; }
int32_t bn_ctx_n_threads(const bn_ctx *c) { return c ? c->n_threads : 0; }
const bn_model *bn_ctx_model(const bn_ctx *c) { return c ? c->model : NULL; }

int bn_ctx_truncate(bn_ctx *c, int32_t pos)
{
    if (!c)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_truncate: NULL context");
    if (pos < 0 || pos > c->seq_len[0])
        return bn_fail(BN_E_RANGE, "bn_ctx_truncate: position %d outside [0, %d]", pos, c->seq_len[0]);
    /* cache rows past pos are simply overwritten by later decodes */
    c->seq_len[0] = pos;
    bn_ctx_forget_logits(c);
    return BN_OK;
}
