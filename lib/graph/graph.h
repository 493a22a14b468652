/*
 * The forward pass as a list of nodes, built once per context from the
 * architecture description (graph_build.c) and run for any batch size
 * (graph_exec.c): node sizes follow from the hyper-parameters, the token
 * count is a run-time argument, and every buffer is planned and allocated
 * when the context is created.
 */
#ifndef BN_GRAPH_GRAPH_H
#define BN_GRAPH_GRAPH_H

#include <stdint.h>

#include "model/model.h"

/* Activation buffers, each [n_batch][width]. */
typedef enum bn_buf {
    BN_BUF_X,       /* residual stream, n_embd */
    BN_BUF_XN,      /* normalised input of the next matmul (plus its int8 copy), max(n_embd, n_ff) */
    BN_BUF_Q,       /* n_embd */
    BN_BUF_K,       /* n_kv_dim */
    BN_BUF_V,       /* n_kv_dim */
    BN_BUF_ATT,     /* attention output, n_embd */
    BN_BUF_GATE,    /* n_ff */
    BN_BUF_UP,      /* n_ff */
    BN_BUF_LOGITS,  /* n_vocab, rows: 1 or n_batch (logits_all) */
    BN_BUF_COUNT
} bn_buf;

typedef enum bn_op {
    BN_OP_EMBED,            /* tokens -> X */
    BN_OP_NORM_QUANT,       /* src -> rmsnorm * w (w NULL: copy) -> XN and its int8 */
    BN_OP_MATMUL,           /* XN through up to 3 weights -> dst[i] (accumulate: += ) */
    BN_OP_ROPE_KV,          /* rope Q, K in place; K, V into the cache */
    BN_OP_ATTENTION,        /* Q, cache -> ATT */
    BN_OP_GLU_NORM_QUANT,   /* act(GATE) * UP -> rmsnorm * w (w NULL: none) -> XN, int8 */
    BN_OP_OUTPUT_NORM,      /* X of the output tokens -> rmsnorm * w -> XN rows */
    BN_OP_OUTPUT,           /* XN rows through the output head -> LOGITS */
    BN_OP_ADD,              /* dst[0] += src (a linear whose kernel cannot accumulate) */
} bn_op;

#define BN_NODE_MAX_W 3

typedef struct bn_node {
    bn_op op;
    int32_t layer;
    int n_w;
    const bn_tensor *w[BN_NODE_MAX_W];
    bn_buf src;
    bn_buf dst[BN_NODE_MAX_W];
    int accumulate;
    /* matmul nodes, while running: the first unit no thread has taken yet */
    _Atomic int64_t next_unit;
} bn_node;

typedef struct bn_graph {
    bn_node *nodes;
    int n_nodes;
} bn_graph;

int bn_graph_build(bn_graph *g, const bn_model *m);
void bn_graph_free(bn_graph *g);

const char *bn_op_name(bn_op op);

#endif
