/* The node list of one forward pass. Per layer:
 *   norm+quant -> QKV -> rope+cache -> attention -> [sub-norm]+quant -> Wo (+=X)
 *   norm+quant -> gate,up -> act*up [sub-norm]+quant -> down (+=X)
 * then the final norm of the output tokens and the output head. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "graph/graph.h"

static bn_node *add(bn_graph *g, bn_op op, int32_t layer)
{
    bn_node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->layer = layer;
    return n;
}

static void norm_quant(bn_graph *g, int32_t il, bn_buf src, const bn_tensor *w)
{
    bn_node *n = add(g, BN_OP_NORM_QUANT, il);
    n->src = src;
    n->n_w = w && w->data ? 1 : 0;
    n->w[0] = n->n_w ? w : NULL;
    n->dst[0] = BN_BUF_XN;
}

static void matmul(bn_graph *g, int32_t il, int n_w, const bn_tensor *const *w, const bn_buf *dst,
                   int accumulate);

/* The residual add of one linear (Wo, down): packed ternary kernels add
 * into X themselves; the float and Q8_0/Q4_0 kernels write a buffer that is
 * dead at that point (Q, after attention), then X += it. */
static void residual_matmul(bn_graph *g, int32_t il, const bn_tensor *w)
{
    if (w->pack) {
        matmul(g, il, 1, (const bn_tensor *[]){ w }, (const bn_buf[]){ BN_BUF_X }, 1);
        return;
    }
    matmul(g, il, 1, (const bn_tensor *[]){ w }, (const bn_buf[]){ BN_BUF_Q }, 0);
    bn_node *n = add(g, BN_OP_ADD, il);
    n->src = BN_BUF_Q;
    n->dst[0] = BN_BUF_X;
}

static void matmul(bn_graph *g, int32_t il, int n_w, const bn_tensor *const *w, const bn_buf *dst,
                   int accumulate)
{
    bn_node *n = add(g, BN_OP_MATMUL, il);
    n->src = BN_BUF_XN;
    n->n_w = n_w;
    for (int i = 0; i < n_w; i++) {
        n->w[i] = w[i];
        n->dst[i] = dst[i];
    }
    n->accumulate = accumulate;
}

int bn_graph_build(bn_graph *g, const bn_model *m)
{
    const int per_layer = 12, extra = 3;
    memset(g, 0, sizeof *g);
    g->nodes = calloc((size_t)m->hp.n_layer * per_layer + extra, sizeof *g->nodes);
    if (!g->nodes)
        return bn_fail(BN_E_NOMEM, "out of memory for the graph");
    add(g, BN_OP_EMBED, -1)->dst[0] = BN_BUF_X;
    for (int32_t il = 0; il < m->hp.n_layer; il++) {
        const bn_layer *L = &m->layers[il];
        norm_quant(g, il, BN_BUF_X, &L->attn_norm);
        matmul(g, il, 3, (const bn_tensor *[]){ &L->wq, &L->wk, &L->wv },
               (const bn_buf[]){ BN_BUF_Q, BN_BUF_K, BN_BUF_V }, 0);
        add(g, BN_OP_ROPE_KV, il);
        add(g, BN_OP_ATTENTION, il)->dst[0] = BN_BUF_ATT;
        norm_quant(g, il, BN_BUF_ATT, &L->attn_sub_norm);   /* no sub-norm: quant only */
        residual_matmul(g, il, &L->wo);
        norm_quant(g, il, BN_BUF_X, &L->ffn_norm);
        matmul(g, il, 2, (const bn_tensor *[]){ &L->w_gate, &L->w_up },
               (const bn_buf[]){ BN_BUF_GATE, BN_BUF_UP }, 0);
        bn_node *glu = add(g, BN_OP_GLU_NORM_QUANT, il);
        glu->n_w = L->ffn_sub_norm.data ? 1 : 0;
        glu->w[0] = glu->n_w ? &L->ffn_sub_norm : NULL;
        residual_matmul(g, il, &L->w_down);
    }
    bn_node *on = add(g, BN_OP_OUTPUT_NORM, -1);
    on->n_w = 1;
    on->w[0] = &m->output_norm;
    bn_node *out = add(g, BN_OP_OUTPUT, -1);
    out->n_w = 1;
    out->w[0] = &m->output;
    out->dst[0] = BN_BUF_LOGITS;
    return BN_OK;
}

void bn_graph_free(bn_graph *g)
{
    free(g->nodes);
    memset(g, 0, sizeof *g);
}

const char *bn_op_name(bn_op op)
{
    static const char *const names[] = {
        "embed", "norm_quant", "matmul", "rope_kv", "attention", "glu_norm_quant",
        "output_norm", "output", "add",
    };
    return (unsigned)op < sizeof names / sizeof names[0] ? names[op] : "?";
}
