/* The state behind a bn_ctx handle. Everything a decode needs is allocated
 * in bn_ctx_new; a decode only writes into these buffers. */
#ifndef BN_CTX_CONTEXT_H
#define BN_CTX_CONTEXT_H

#include <stdatomic.h>
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
    int32_t n_seq_max;
    int32_t n_outputs;              /* most tokens of one batch with logits */
    int32_t n_rows;                 /* rows of LOGITS: max(n_outputs, n_seq_max) */
    bn_kv_cache kv;
    bn_pool *pool;                  /* the context's own, or the shared pool's */
    bn_threadpool *shared;          /* the shared pool, or NULL */
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

    /* sequences */
    int32_t *seq_len;               /* per sequence: positions cached */
    int32_t *seq_row;               /* per sequence: LOGITS row of its last token, or -1 */
    int32_t *seq_scratch;           /* per sequence: checks of a batch */

    uint64_t run_id;                /* bn_graph_run calls so far (activation stamps) */

    /* the batch being run: token t is run_tokens[t] of sequence run_seq[t]
     * at position run_pos[t]; output row i is token run_out[i] */
    const bn_token *run_tokens;
    int32_t *run_seq, *run_pos, *run_out;
    int32_t run_n, run_n_out;
    /* abort callback: polled by thread 0 once per layer; every thread
     * leaves the pass after the node where it is seen set */
    bn_abort_fn abort_fn;
    void *abort_data;
    atomic_int cancelled;

    /* the decode passes' kernels (graph/kernel_pick.h), and those of the
     * pass being run (1: the alternative) */
    bn_kernel_pick pick;
    uint8_t run_alt[BN_PICK_COUNT];

    /* what the last successful decode left: the LOGITS row of each of its
     * last_batch tokens, or -1, and each token's sequence */
    int32_t *batch_row, *batch_seq;
    int32_t last_batch;
};

/* Runs the graph for the batch set in run_* (graph_exec.c). Returns BN_OK,
 * or BN_E_CANCELLED when the abort callback stopped it (the LOGITS rows are
 * then untouched). */
int bn_graph_run(bn_ctx *c);

/* Validates and runs a batch of n tokens (tokens, seq, pos: BN_POS_NEXT or
 * explicit, want: 0/1 each); all or nothing (api_seq.c). */
int bn_ctx_run_batch(bn_ctx *c, const bn_token *tokens, const int32_t *seq, const int32_t *pos,
                     const uint8_t *want, int32_t n, const char *fn);

/* Invalidates every logits row (a sequence changed). */
void bn_ctx_forget_logits(bn_ctx *c);

#endif
