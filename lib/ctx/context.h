/* The state behind a bn_ctx handle. Everything bn_decode needs is allocated
 * in bn_ctx_new; a decode only writes into these buffers. */
#ifndef BN_CTX_CONTEXT_H
#define BN_CTX_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"
#include "ctx/kv_cache.h"
#include "graph/graph.h"
#include "model/model.h"
#include "runtime/threadpool.h"

struct bn_ctx {
    const bn_model *model;
    int32_t n_ctx, n_batch, n_threads, logits_all;
    int32_t pos;                    /* tokens in the sequence */
    bn_kv_cache kv;
    bn_pool *pool;
    bn_graph graph;

    void *arena;                    /* one allocation for every buffer below */
    float *buf[BN_BUF_COUNT];
    size_t width[BN_BUF_COUNT];     /* row stride in floats */
    int8_t *xq;                     /* int8 copy of XN rows, stride width[XN] */
    float *qscale;                  /* per token */
    int32_t *qsum;                  /* per token */
    float *scores;                  /* per thread: n_ctx attention scores */
    float *rope_cs;                 /* per token of the batch: head_dim/2 cos,sin pairs */
    uint8_t *work;                  /* per thread: work_bytes of kernel scratch, or NULL */
    size_t work_bytes;
    uint8_t *embed_scratch;         /* per thread: one embedding row read with pread, or NULL */
    size_t embed_scratch_bytes;

    uint64_t run_id;                /* bn_graph_run calls so far (activation stamps) */

    /* the batch being run */
    const bn_token *run_tokens;
    int32_t run_n, run_pos0, run_n_out;

    /* what the last successful decode left */
    int32_t n_logits;               /* rows of LOGITS that are valid (0: none) */
    int32_t last_batch;             /* tokens in that batch */
};

/* Runs the graph for the batch set in run_* (graph_exec.c). */
void bn_graph_run(bn_ctx *c);

#endif
