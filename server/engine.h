/*
 * The sequences the scheduler decodes: one context with n_seq sequences
 * (libbitnet's multi-sequence API, 0.2) and the batch of its next forward
 * pass, behind the few calls the scheduler needs.
 */
#ifndef BN_SRV_ENGINE_H
#define BN_SRV_ENGINE_H

#include <stdint.h>

#include <bitnet/bitnet.h>

typedef struct srv_engine srv_engine;

typedef struct srv_engine_params {
    int32_t n_seq, n_ctx, n_batch, n_threads;
    int32_t n_draft;                /* drafts per sequence and pass: room for them in every pass */
    int (*abort_fn)(void *user);    /* asked during a pass; non-zero stops it */
    void *abort_user;
} srv_engine_params;

/* 0 or a bn_status (bn_last_error() says more). */
int srv_engine_new(srv_engine **out, bn_model *m, const srv_engine_params *p);
void srv_engine_free(srv_engine **e);
int32_t srv_engine_n_seq(const srv_engine *e);
int32_t srv_engine_n_ctx(const srv_engine *e);
int32_t srv_engine_n_batch(const srv_engine *e);

/* The next pass: tokens added in order, the tokens of one sequence together. */
void srv_engine_clear(srv_engine *e);
int srv_engine_add(srv_engine *e, bn_token t, int32_t seq, int want_logits);
int srv_engine_decode(srv_engine *e);
/* The logits of token i of the last pass, or NULL. */
const float *srv_engine_logits(const srv_engine *e, int32_t i);
/* The context, for the speculative decoder's calls (bn_spec_draft, bn_spec_accept). */
bn_ctx *srv_engine_ctx(srv_engine *e);

int srv_engine_seq_truncate(srv_engine *e, int32_t seq, int32_t n);
/* dst = the first n tokens of src (their keys and values copied, not recomputed). */
int srv_engine_seq_copy(srv_engine *e, int32_t src, int32_t dst, int32_t n);

#endif
