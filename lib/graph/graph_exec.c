/* Executes the node list on the context's thread pool: every thread walks
 * the same nodes, takes its share of each, and meets the others at a barrier
 * before the next node. Shares are contiguous ranges of tokens, attention
 * items dealt out in turn, or pieces of a matmul's rows taken as threads
 * become free; each output element is computed by exactly one thread in a
 * fixed order: results do not depend on the thread count or on which thread
 * took which piece. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "core/fp16.h"
#include "core/platform.h"
#include "gguf/gguf_types.h"
#include "ctx/context.h"
#include "runtime/shared_pool.h"
#include "kernels/matmul.h"
#include "ops/ops.h"

typedef struct range {
    int64_t begin, end;
} range;

static range share(int64_t n, int ith, int nth)
{
    range r = { n * ith / nth, n * (ith + 1) / nth };
    return r;
}

static float *row(bn_ctx *c, bn_buf b, int64_t t)
{
    return c->buf[b] + (size_t)t * c->width[b];
}

static void quant_row(bn_ctx *c, int64_t t, int n)
{
    c->qscale[t] = c->model->kernels.quant(row(c, BN_BUF_XN, t), n, bn_tp_k_padded(n),
                                           c->xq + (size_t)t * c->width[BN_BUF_XN], &c->qsum[t]);
}

static void exec_embed(bn_ctx *c, int ith, int nth)
{
    const bn_model *m = c->model;
    const bn_hparams *hp = &m->hp;
    range r = share(c->run_n, ith, nth);
    void *scratch = c->embed_scratch ? c->embed_scratch + (size_t)ith * c->embed_scratch_bytes : NULL;
    for (int64_t t = r.begin; t < r.end; t++) {
        bn_model_embed_row(m, (uint64_t)c->run_tokens[t], row(c, BN_BUF_X, t), scratch);
        bn_op_rope_cache(c->rope_cs + (size_t)t * (size_t)hp->head_dim, hp->head_dim,
                         c->run_pos[t], hp->rope_theta);
    }
}

static void exec_norm_quant(bn_ctx *c, const bn_node *n, int ith, int nth)
{
    const bn_hparams *hp = &c->model->hp;
    int width = hp->n_embd;
    range r = share(c->run_n, ith, nth);
    for (int64_t t = r.begin; t < r.end; t++) {
        const float *src = row(c, n->src, t);
        float *dst = row(c, BN_BUF_XN, t);
        if (n->n_w)
            bn_op_rmsnorm(src, n->w[0]->data, dst, width, hp->rms_eps);
        else
            memcpy(dst, src, (size_t)width * sizeof *dst);
        quant_row(c, t, width);
    }
}

static void exec_glu(bn_ctx *c, const bn_node *n, int ith, int nth)
{
    const bn_hparams *hp = &c->model->hp;
    range r = share(c->run_n, ith, nth);
    for (int64_t t = r.begin; t < r.end; t++) {
        float *gate = row(c, BN_BUF_GATE, t), *dst = row(c, BN_BUF_XN, t);
        if (hp->act == BN_ACT_RELU2)
            bn_op_relu2_mul(gate, row(c, BN_BUF_UP, t), hp->n_ff);
        else
            bn_op_silu_mul(gate, row(c, BN_BUF_UP, t), hp->n_ff);
        if (n->n_w)
            bn_op_rmsnorm(gate, n->w[0]->data, dst, hp->n_ff, hp->rms_eps);
        else
            memcpy(dst, gate, (size_t)hp->n_ff * sizeof *dst);
        quant_row(c, t, hp->n_ff);
    }
}

/* Work units of a weight: tiles of BN_TP_ROWS rows for packed ternary
 * weights, single rows otherwise. */
static int64_t units(const bn_tensor *w)
{
    return w->pack ? w->pack->n_tiles : (int64_t)w->ne[1];
}

/* Units [lo, hi) of one weight for n_tok tokens of XN. */
static void matmul_units(bn_ctx *c, const bn_tensor *w, bn_buf dst, int accumulate, int n_tok,
                         int64_t lo, int64_t hi, int ith, uint64_t stamp)
{
    const bn_kernels *k = &c->model->kernels;
    float *y = c->buf[dst];
    const size_t ys = c->width[dst];
    if (w->pack) {
        bn_qx qx = { c->xq, c->width[BN_BUF_XN], c->qscale, c->qsum,
                     c->work ? c->work + (size_t)ith * c->work_bytes : NULL, c->work_bytes, stamp };
        (c->run_alt[BN_PICK_TERNARY] ? k->tgemm_alt : k->tgemm)(w->pack, lo, hi, &qx, n_tok, y, ys, accumulate);
        return;
    }
    const int alt = c->run_alt[BN_PICK_FLOAT];
    if (w->type == BN_TYPE_F16 && !accumulate && w->out_scale == 1.0f) {
        (alt ? k->f16gemm_alt : k->f16gemm)(w->data, (int64_t)w->ne[0], lo, hi, c->buf[BN_BUF_XN],
                                            c->width[BN_BUF_XN], n_tok, y, ys);
    } else if (w->type == BN_TYPE_Q8_0 && !accumulate && w->out_scale == 1.0f) {
        (alt ? k->q8gemm_alt : k->q8gemm)(w->data, (int64_t)w->ne[0], lo, hi, c->buf[BN_BUF_XN],
                                          c->width[BN_BUF_XN], n_tok, y, ys);
    } else if (w->type == BN_TYPE_Q4_0 && !accumulate && w->out_scale == 1.0f) {
        (alt ? k->q4gemm_alt : k->q4gemm)(w->data, (int64_t)w->ne[0], lo, hi, c->buf[BN_BUF_XN],
                                          c->width[BN_BUF_XN], n_tok, y, ys);
    } else {
        bn_matmul_float(w, c->buf[BN_BUF_XN], c->width[BN_BUF_XN], n_tok, y, ys, lo, hi, accumulate);
    }
}

/* Takes the next piece of a node's units [0, total): an even share per
 * thread (at least min_units, a multiple of `align`; the last share is what
 * is left), claimed by whichever thread comes first, so that a late thread
 * only finds less work. Which thread computes a unit does not change its
 * result. Returns 0 when nothing is left. */
static int take_units(bn_node *n, int64_t total, int nth, int64_t min_units, int64_t align, range *out)
{
    int64_t take = (total + nth - 1) / nth;
    take = take < min_units ? min_units : take;
    take = (take + align - 1) / align * align;
    int64_t cur = atomic_load_explicit(&n->next_unit, memory_order_relaxed);
    for (;;) {
        if (cur >= total)
            return 0;
        const int64_t end = total - cur < take ? total : cur + take;
        if (atomic_compare_exchange_weak_explicit(&n->next_unit, &cur, end, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            out->begin = cur;
            out->end = end;
            return 1;
        }
    }
}

/* Bytes of weights in one work unit of w (for the piece size). */
static int64_t unit_bytes(const bn_tensor *w)
{
    if (w->pack)
        return w->pack->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    return (int64_t)(w->nbytes / (w->ne[1] ? w->ne[1] : 1));
}

/* Units of all the node's weights, end to end, taken piece by piece by the
 * threads. Pieces are at least 64 KB of weights and whole groups of 8 tiles
 * (the AMX kernel's 32 rows). Every piece starts its weight streams cold
 * (and a batch's blocks anew), so each thread takes one even share; guided
 * pieces (a quarter of the work first, then ever smaller) were slower. 2B4T,
 * 2 threads on Zen 5, per-node timing, alternated pairs against guided
 * pieces: one token (12 pairs), ternary products 10.22-10.40 ms per token
 * against 10.63-11.11; 8 tokens (4 pairs), 18.2-18.7 ms per pass against
 * 19.0-19.4; 16 and 128 tokens, faster in 4 of 5 and 3 of 4 pairs. */
static void exec_matmul(bn_ctx *c, bn_node *n, int n_tok, uint64_t stamp, int ith, int nth)
{
    int64_t total = 0;
    for (int i = 0; i < n->n_w; i++)
        total += units(n->w[i]);
    const int64_t ub = unit_bytes(n->w[0]);
    const int64_t min_units = ub > 0 && ub < 65536 ? 65536 / ub : 1;
    const int64_t align = n->w[0]->pack ? 8 : 1;
    range r;
    while (take_units(n, total, nth, min_units, align, &r)) {
        int64_t base = 0;
        for (int i = 0; i < n->n_w; i++) {
            int64_t u = units(n->w[i]);
            int64_t lo = r.begin > base ? r.begin - base : 0;
            int64_t hi = r.end - base < u ? r.end - base : u;
            if (lo < hi)
                matmul_units(c, n->w[i], n->dst[i], n->accumulate, n_tok, lo, hi, ith, stamp);
            base += u;
        }
    }
}

static void exec_rope_kv(bn_ctx *c, const bn_node *n, int ith, int nth)
{
    const bn_hparams *hp = &c->model->hp;
    range r = share(c->run_n, ith, nth);
    void (*rope)(float *, const float *, int) = hp->rope == BN_ROPE_NEOX ? bn_op_rope_neox : bn_op_rope_norm;
    for (int64_t t = r.begin; t < r.end; t++) {
        const float *cs = c->rope_cs + (size_t)t * (size_t)hp->head_dim;
        float *q = row(c, BN_BUF_Q, t), *k = row(c, BN_BUF_K, t);
        for (int h = 0; h < hp->n_head; h++)
            rope(q + h * hp->head_dim, cs, hp->head_dim);
        for (int h = 0; h < hp->n_head_kv; h++)
            rope(k + h * hp->head_dim, cs, hp->head_dim);
        const int32_t seq = c->run_seq[t], pos = c->run_pos[t];
        bn_kv_store(&c->kv, seq, n->layer, 0, pos, k);
        bn_kv_store(&c->kv, seq, n->layer, 1, pos, row(c, BN_BUF_V, t));
    }
}

/* Causal attention of (token, head) pairs over their sequence's cache,
 * GQA-aware. The batch's own tokens are already stored (ROPE_KV). */
static void exec_attention(bn_ctx *c, const bn_node *n, int ith, int nth)
{
    const bn_hparams *hp = &c->model->hp;
    const int hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    const float scale = 1.0f / sqrtf((float)hd);
    float *scores = c->scores + (size_t)ith * (size_t)c->n_ctx;
    /* items dealt out in turn: a later token attends to more positions, so
     * contiguous shares would leave the first threads idle */
    const int64_t n_items = (int64_t)c->run_n * hp->n_head;
    for (int64_t item = ith; item < n_items; item += nth) {
        int64_t t = item / hp->n_head;
        int h = (int)(item % hp->n_head), kvh = h / group;
        const int32_t seq = c->run_seq[t], n_pos = c->run_pos[t] + 1;
        const size_t head_off = (size_t)kvh * hd * c->kv.elem_size;
        c->model->kernels.attn(row(c, BN_BUF_Q, t) + h * hd,
                               bn_kv_row(&c->kv, seq, n->layer, 0, 0) + head_off,
                               bn_kv_row(&c->kv, seq, n->layer, 1, 0) + head_off,
                               (size_t)c->kv.n_kv_dim * c->kv.elem_size, n_pos, hd, scale,
                               c->kv.type == BN_KV_F16, scores, row(c, BN_BUF_ATT, t) + h * hd);
    }
}

/* The tokens that want logits, packed into XN rows. */
static void exec_output_norm(bn_ctx *c, const bn_node *n, int ith, int nth)
{
    const bn_hparams *hp = &c->model->hp;
    range r = share(c->run_n_out, ith, nth);
    for (int64_t i = r.begin; i < r.end; i++)
        bn_op_rmsnorm(row(c, BN_BUF_X, c->run_out[i]), n->w[0]->data, row(c, BN_BUF_XN, i), hp->n_embd,
                      hp->rms_eps);
}

/* Thread 0 asks the abort callback at the first node of each layer and
 * before the output head, and publishes the answer; every thread reads it
 * after that node's barrier, and there is at least one more barrier before
 * thread 0 can ask again, so all threads leave at the same node. */
static int asks_abort(const bn_graph *g, int i)
{
    const bn_node *n = &g->nodes[i];
    return n->op == BN_OP_OUTPUT_NORM || (i > 0 && n->layer >= 0 && g->nodes[i - 1].layer != n->layer);
}

static void exec_add(bn_ctx *c, const bn_node *n, int ith, int nth)
{
    const int width = c->model->hp.n_embd;
    range r = share(c->run_n, ith, nth);
    for (int64_t t = r.begin; t < r.end; t++) {
        float *d = row(c, n->dst[0], t);
        const float *a = row(c, n->src, t);
        for (int i = 0; i < width; i++)
            d[i] += a[i];
    }
}

static void graph_task(void *arg, int ith, int nth)
{
    bn_ctx *c = arg;
    bn_graph *g = &c->graph;
    /* names the contents of the quantised activations (bn_qx.stamp): new
     * with every node that writes them, and with every run */
    uint64_t stamp = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        bn_node *n = &g->nodes[i];
        const int poll = c->abort_fn && asks_abort(g, i);
        if (poll && ith == 0 && c->abort_fn(c->abort_data))
            atomic_store_explicit(&c->cancelled, 1, memory_order_relaxed);
        if (n->op == BN_OP_NORM_QUANT || n->op == BN_OP_GLU_NORM_QUANT)
            stamp = c->run_id * (uint64_t)(g->n_nodes + 1) + (uint64_t)i + 1;
        switch (n->op) {
        case BN_OP_EMBED: exec_embed(c, ith, nth); break;
        case BN_OP_NORM_QUANT: exec_norm_quant(c, n, ith, nth); break;
        case BN_OP_MATMUL: exec_matmul(c, n, c->run_n, stamp, ith, nth); break;
        case BN_OP_ROPE_KV: exec_rope_kv(c, n, ith, nth); break;
        case BN_OP_ATTENTION: exec_attention(c, n, ith, nth); break;
        case BN_OP_GLU_NORM_QUANT: exec_glu(c, n, ith, nth); break;
        case BN_OP_OUTPUT_NORM: exec_output_norm(c, n, ith, nth); break;
        case BN_OP_OUTPUT: exec_matmul(c, n, c->run_n_out, 0, ith, nth); break;
        case BN_OP_ADD: exec_add(c, n, ith, nth); break;
        }
        bn_pool_barrier(c->pool);
        if (poll && atomic_load_explicit(&c->cancelled, memory_order_relaxed))
            break;
    }
}

int bn_graph_run(bn_ctx *c)
{
    c->run_id++;
    for (int i = 0; i < c->graph.n_nodes; i++)
        atomic_store_explicit(&c->graph.nodes[i].next_unit, 0, memory_order_relaxed);
    atomic_store_explicit(&c->cancelled, 0, memory_order_relaxed);
    /* a single-token pass may take the alternative kernels, and may be timed */
    memset(c->run_alt, 0, sizeof c->run_alt);
    const int timed = c->run_n == 1 && bn_kernel_pick_begin(&c->pick, c->run_alt);
    const uint64_t t0 = timed ? bn_monotonic_ns() : 0;
    if (c->shared)
        bn_threadpool_run(c->shared, graph_task, c);
    else
        bn_pool_run(c->pool, graph_task, c);
    if (atomic_load_explicit(&c->cancelled, memory_order_relaxed))
        return BN_E_CANCELLED;
    if (timed)
        bn_kernel_pick_end(&c->pick, bn_monotonic_ns() - t0);
    return BN_OK;
}
