/*
 * The scheduler: one thread owns the context and its n_parallel sequences.
 * Requests (jobs) wait in a bounded queue, take a free sequence between two
 * forward passes, and leave it when they finish or their client goes away.
 * Each pass (bn_decode_batch) carries one token of every generating sequence
 * (with its drafts, when drafting: bn_spec_draft/bn_spec_accept) plus pieces
 * of waiting prompts, shortest remainder first, at most n_batch tokens in
 * all, so a long prompt delays the others by one piece at a time
 * (continuous batching). A
 * new prompt starts from the longest common prefix cached in any sequence
 * (bn_ctx_seq_copy), so a shared system prompt is computed once.
 */
#ifndef BN_SRV_SCHED_H
#define BN_SRV_SCHED_H

#include <pthread.h>
#include <stdint.h>

#include <bitnet/bitnet.h>

#include "metrics.h"
#include "request.h"
#include "response.h"

/* One generation request, shared by its HTTP connection and the scheduler. */
typedef struct srv_job {
    /* set before srv_sched_submit(), read-only afterwards */
    bn_token *prompt;           /* owned by the job */
    int32_t n_prompt;
    int32_t max_tokens;         /* -1: until the end of generation or a full context */
    int ignore_eos;             /* never pick an end-of-generation token */
    bn_sampler_params sampling;
    char *stop[SRV_MAX_STOP];   /* owned by the job */
    size_t n_stop;
    double t_arrival;           /* bn_tool_now() when the request came */
    double deadline;            /* bn_tool_now() time to give up; 0 = none */

    /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    srv_buf text;               /* the answer so far: whole UTF-8 sequences, stop strings cut */
    int32_t n_generated;        /* > 0: the first token came */
    int32_t n_cached;           /* prompt tokens that came from the cache */
    int done;                   /* 1 when finished (finish or error set) */
    const char *finish;         /* "stop" or "length" */
    int error_status;           /* non-zero: failed, with error_msg */
    char error_msg[256];
    int cancelled;              /* the client went away */
    struct srv_job *next;       /* the scheduler's queue */
} srv_job;

/* A new job holding one reference; NULL when out of memory. */
srv_job *srv_job_new(void);
void srv_job_unref(srv_job *j);
/* Marks the job as abandoned: the scheduler frees its sequence before its next pass. */
void srv_job_cancel(srv_job *j);
/* Waits until the answer is longer than `seen` bytes, or done, or (with
 * want_start) its first token came, at most `seconds`. Returns 1 if so, 0 on
 * timeout. */
int srv_job_wait(srv_job *j, size_t seen, int want_start, double seconds);

typedef struct srv_sched srv_sched;

typedef struct srv_sched_params {
    int32_t n_parallel, n_ctx, n_batch, n_threads, queue_max;
    int32_t n_draft;            /* most drafted tokens per sequence and pass; 0 = no drafting */
} srv_sched_params;

/* Creates the context and starts the thread. 0, or a bn_status with *err filled. */
int srv_sched_new(srv_sched **out, bn_model *m, const srv_sched_params *p, srv_metrics *metrics,
                  char *err, size_t err_size);
/* Tokens one sequence may hold (the context's n_ctx). */
int32_t srv_sched_n_ctx(const srv_sched *s);
/* Queues a job (taking a reference). 0, or 429 (queue full) / 503 (shutting
 * down) with *e filled. */
int srv_sched_submit(srv_sched *s, srv_job *j, srv_error *e);
/* Stops taking jobs, lets the running and queued ones finish for at most
 * drain_seconds, cancels what is left (their clients get an error), and stops
 * the thread. Returns the number of jobs cancelled. */
int srv_sched_shutdown(srv_sched *s, double drain_seconds);
void srv_sched_free(srv_sched **s);

#endif
