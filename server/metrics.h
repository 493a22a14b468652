/* The server's counters and gauges, written as Prometheus text for GET /metrics. */
#ifndef BN_SRV_METRICS_H
#define BN_SRV_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "response.h"

/* Endpoints counted by status. */
typedef enum srv_endpoint {
    SRV_EP_CHAT, SRV_EP_COMPLETION, SRV_EP_TOKENIZE, SRV_EP_DETOKENIZE, SRV_EP_MODELS,
    SRV_EP_HEALTH, SRV_EP_METRICS, SRV_EP_OTHER, SRV_EP_COUNT
} srv_endpoint;

#define SRV_TTFT_BUCKETS 12

typedef struct srv_metrics {
    pthread_mutex_t mu;
    uint64_t requests[SRV_EP_COUNT][8];     /* by endpoint and status class (see .c) */
    uint64_t prompt_tokens;                 /* prompt tokens of finished requests */
    uint64_t cached_tokens;                 /* of which reused from the cache */
    uint64_t generated_tokens;
    uint64_t cancelled;                     /* requests whose client went away */
    uint64_t decode_steps;
    uint64_t drafted, draft_accepted;       /* speculative decoding (--draft) */
    double decode_seconds;                  /* time spent in bn_decode_batch() */
    uint64_t ttft_count, ttft_bucket[SRV_TTFT_BUCKETS];
    double ttft_sum;
    /* generated tokens per second over the last window */
    double window_start, window_tokens, tokens_per_second;
    /* gauges, set by the scheduler */
    int queue_depth, busy_sequences, n_sequences;
} srv_metrics;

void srv_metrics_init(srv_metrics *m, int n_sequences);
void srv_metrics_destroy(srv_metrics *m);
void srv_metrics_request(srv_metrics *m, srv_endpoint ep, int status);
void srv_metrics_ttft(srv_metrics *m, double seconds);
/* A finished generation: its prompt, cached and generated token counts. */
void srv_metrics_finished(srv_metrics *m, int32_t prompt, int32_t cached, int32_t generated,
                          int cancelled);
/* Tokens generated (counted as they come, before the client hears of them). */
void srv_metrics_generated(srv_metrics *m, int n);
/* Drafted tokens checked in a pass, and how many of them were accepted. */
void srv_metrics_drafts(srv_metrics *m, int drafted, int accepted);
/* A decode step: how long it took and how many tokens it generated. */
void srv_metrics_step(srv_metrics *m, double now, double seconds, int generated);
void srv_metrics_gauges(srv_metrics *m, int queue_depth, int busy);
/* Appends the Prometheus text exposition. 0 or -1 (out of memory). */
int srv_metrics_write(srv_metrics *m, srv_buf *out);

#endif
