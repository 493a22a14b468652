/* Public entry points for contexts: parameter resolution, buffer planning,
 * argument checks of bn_decode. The forward pass is in graph/. */
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "core/platform.h"
#include "ctx/context.h"

#define BN_MAX_THREADS 512
#define BN_MAX_CTX (1 << 24)

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
    return BN_OK;
}

/* Lays out every activation buffer in one allocation, 64-byte aligned each. */
static int plan_buffers(bn_ctx *c)
{
    const bn_hparams *hp = &c->model->hp;
    const size_t nb = (size_t)c->n_batch;
    const size_t kv_dim = (size_t)hp->head_dim * (size_t)hp->n_head_kv;
    /* padded to whole chunks: the ternary kernels read activations by 256 */
    const size_t xn = (size_t)bn_tp_k_padded(hp->n_embd > hp->n_ff ? hp->n_embd : hp->n_ff);
    c->width[BN_BUF_X] = (size_t)hp->n_embd;
    c->width[BN_BUF_XN] = xn;
    c->width[BN_BUF_Q] = (size_t)hp->n_embd;
    c->width[BN_BUF_K] = kv_dim;
    c->width[BN_BUF_V] = kv_dim;
    c->width[BN_BUF_ATT] = (size_t)hp->n_embd;
    c->width[BN_BUF_GATE] = (size_t)hp->n_ff;
    c->width[BN_BUF_UP] = (size_t)hp->n_ff;
    c->width[BN_BUF_LOGITS] = (size_t)hp->n_vocab;

    size_t sizes[BN_BUF_COUNT + 7], total = 0, off[BN_BUF_COUNT + 7];
    for (int b = 0; b < BN_BUF_COUNT; b++) {
        size_t rows = b == BN_BUF_LOGITS && !c->logits_all ? 1 : nb;
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
    for (int i = 0; i < BN_BUF_COUNT + 7; i++) {
        off[i] = total;
        size_t padded = (sizes[i] + 63) & ~(size_t)63;
        if (padded < sizes[i] || total + padded < total)
            return bn_fail(BN_E_NOMEM, "buffer size overflows");
        total += padded;
    }
    c->arena = bn_aligned_alloc(64, total ? total : 64);
    if (!c->arena)
        return bn_fail(BN_E_NOMEM, "cannot allocate %zu bytes of context buffers", total);
    memset(c->arena, 0, total);
    uint8_t *a = c->arena;
    for (int b = 0; b < BN_BUF_COUNT; b++)
        c->buf[b] = (float *)(a + off[b]);
    c->xq = (int8_t *)(a + off[BN_BUF_COUNT + 0]);
    c->qscale = (float *)(a + off[BN_BUF_COUNT + 1]);
    c->qsum = (int32_t *)(a + off[BN_BUF_COUNT + 2]);
    c->scores = (float *)(a + off[BN_BUF_COUNT + 3]);
    c->rope_cs = (float *)(a + off[BN_BUF_COUNT + 4]);
    c->work = c->work_bytes ? a + off[BN_BUF_COUNT + 5] : NULL;
    c->embed_scratch = c->embed_scratch_bytes ? a + off[BN_BUF_COUNT + 6] : NULL;
    return BN_OK;
}

int bn_ctx_new(bn_ctx **out, bn_model *m, const bn_ctx_params *user_params)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_new: out is NULL");
    *out = NULL;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_new: model is NULL");
    bn_ctx_params p;
    if (user_params)
        p = *user_params;
    else
        bn_ctx_params_default(&p);
    bn_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return bn_fail(BN_E_NOMEM, "out of memory");
    c->model = m;
    const bn_hparams *hp = &m->hp;
    int rc = resolve_params(m, &p, c);
    if (!rc)
        rc = bn_kv_cache_init(&c->kv, hp->n_layer, c->n_ctx, hp->head_dim * hp->n_head_kv, p.kv_type);
    if (!rc)
        rc = plan_buffers(c);
    if (!rc)
        rc = bn_graph_build(&c->graph, m);
    if (!rc)
        rc = bn_pool_new(&c->pool, c->n_threads);
    if (rc) {
        bn_ctx_free(&c);
        return rc;
    }
    *out = c;
    return BN_OK;
}

void bn_ctx_free(bn_ctx **pc)
{
    if (!pc || !*pc)
        return;
    bn_ctx *c = *pc;
    bn_pool_free(&c->pool);
    bn_graph_free(&c->graph);
    bn_kv_cache_free(&c->kv);
    bn_aligned_free(c->arena);
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
    if ((size_t)c->pos + n_tokens > (size_t)c->n_ctx)
        return bn_fail(BN_E_CTX_FULL, "bn_decode: %d tokens in the sequence + %zu exceed n_ctx %d",
                       c->pos, n_tokens, c->n_ctx);
    const int32_t n_vocab = c->model->hp.n_vocab;
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return bn_fail(BN_E_RANGE, "bn_decode: token %zu is %d, outside [0, %d)", i, tokens[i],
                           n_vocab);
    c->run_tokens = tokens;
    c->run_n = (int32_t)n_tokens;
    c->run_pos0 = c->pos;
    c->run_n_out = c->logits_all ? (int32_t)n_tokens : 1;
    bn_graph_run(c);
    c->pos += (int32_t)n_tokens;
    c->n_logits = c->run_n_out;
    c->last_batch = (int32_t)n_tokens;
    return BN_OK;
}

const float *bn_ctx_logits(const bn_ctx *c)
{
    if (!c || c->n_logits == 0)
        return NULL;
    return c->buf[BN_BUF_LOGITS] + (size_t)(c->n_logits - 1) * c->width[BN_BUF_LOGITS];
}

const float *bn_ctx_logits_ith(const bn_ctx *c, int32_t i)
{
    if (!c || c->n_logits == 0)
        return NULL;
    if (i < 0)
        i += c->last_batch;
    if (i < 0 || i >= c->last_batch)
        return NULL;
    int32_t first_kept = c->last_batch - c->n_logits;
    if (i < first_kept)
        return NULL;
    return c->buf[BN_BUF_LOGITS] + (size_t)(i - first_kept) * c->width[BN_BUF_LOGITS];
}

int32_t bn_ctx_pos(const bn_ctx *c) { return c ? c->pos : 0; }
int32_t bn_ctx_n_ctx(const bn_ctx *c) { return c ? c->n_ctx : 0; }
int32_t bn_ctx_n_batch(const bn_ctx *c) { return c ? c->n_batch : 0; }
int32_t bn_ctx_n_threads(const bn_ctx *c) { return c ? c->n_threads : 0; }
const bn_model *bn_ctx_model(const bn_ctx *c) { return c ? c->model : NULL; }

int bn_ctx_truncate(bn_ctx *c, int32_t pos)
{
    if (!c)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_truncate: NULL context");
    if (pos < 0 || pos > c->pos)
        return bn_fail(BN_E_RANGE, "bn_ctx_truncate: position %d outside [0, %d]", pos, c->pos);
    /* cache rows past pos are simply overwritten by later decodes */
    c->pos = pos;
    c->n_logits = 0;
    return BN_OK;
}
