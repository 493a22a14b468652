#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const ep_names[SRV_EP_COUNT] = {
    "chat_completions", "completions", "tokenize", "detokenize", "models", "health", "metrics",
    "other",
};
/* The statuses we answer with, each its own label; the last column is "other". */
static const int statuses[7] = { 200, 400, 401, 404, 413, 429, 503 };
static const double ttft_le[SRV_TTFT_BUCKETS] = {
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
};
#define WINDOW_SECONDS 10.0

void srv_metrics_init(srv_metrics *m, int n_sequences)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->n_sequences = n_sequences;
}

void srv_metrics_destroy(srv_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void srv_metrics_request(srv_metrics *m, srv_endpoint ep, int status)
{
    int col = 7;
    for (int i = 0; i < 7; i++)
        if (statuses[i] == status)
            col = i;
    pthread_mutex_lock(&m->mu);
    m->requests[ep][col == 7 ? 7 : col]++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_ttft(srv_metrics *m, double s)
{
    pthread_mutex_lock(&m->mu);
    m->ttft_count++;
    m->ttft_sum += s;
    for (int i = 0; i < SRV_TTFT_BUCKETS; i++)
        if (s <= ttft_le[i])
            m->ttft_bucket[i]++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_finished(srv_metrics *m, int32_t prompt, int32_t cached, int32_t generated,
                          int cancelled)
{
    (void)generated;    /* counted per step, so that the rate is live */
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += (uint64_t)prompt;
    m->cached_tokens += (uint64_t)cached;
    m->cancelled += cancelled ? 1 : 0;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_generated(srv_metrics *m, int n)
{
    pthread_mutex_lock(&m->mu);
    m->generated_tokens += (uint64_t)n;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_drafts(srv_metrics *m, int drafted, int accepted)
{
    pthread_mutex_lock(&m->mu);
    m->drafted += (uint64_t)drafted;
    m->draft_accepted += (uint64_t)accepted;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_step(srv_metrics *m, double now, double seconds, int generated)
{
    pthread_mutex_lock(&m->mu);
    m->decode_steps++;
    m->decode_seconds += seconds;
    if (m->window_start == 0)
        m->window_start = now;
    m->window_tokens += generated;
    if (now - m->window_start >= WINDOW_SECONDS) {
        m->tokens_per_second = m->window_tokens / (now - m->window_start);
        m->window_start = now;
        m->window_tokens = 0;
    }
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_gauges(srv_metrics *m, int queue_depth, int busy)
{
    pthread_mutex_lock(&m->mu);
    m->queue_depth = queue_depth;
    m->busy_sequences = busy;
    pthread_mutex_unlock(&m->mu);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int put(srv_buf *out, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    return srv_buf_append(out, line, (size_t)n);
}

/* One metric of one value: its HELP and TYPE lines, then the sample. */
static int put_counter(srv_buf *out, const char *name, const char *help, uint64_t v)
{
    return put(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name, (unsigned long long)v);
}

static int put_gauge(srv_buf *out, const char *name, const char *help, int v)
{
    return put(out, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v);
}

int srv_metrics_write(srv_metrics *m, srv_buf *out)
{
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    rc |= put(out, "# HELP bitnet_requests_total HTTP requests answered, by endpoint and status.\n"
                   "# TYPE bitnet_requests_total counter\n");
    for (int e = 0; e < SRV_EP_COUNT; e++)
        for (int s = 0; s < 8; s++)
            if (m->requests[e][s]) {
                char st[8];
                snprintf(st, sizeof st, "%d", statuses[s < 7 ? s : 0]);
                rc |= put(out, "bitnet_requests_total{endpoint=\"%s\",status=\"%s\"} %llu\n",
                          ep_names[e], s < 7 ? st : "other", (unsigned long long)m->requests[e][s]);
            }
    rc |= put_counter(out, "bitnet_prompt_tokens_total", "Prompt tokens of finished requests.", m->prompt_tokens);
    rc |= put_counter(out, "bitnet_prompt_tokens_cached_total",
                      "Prompt tokens reused from the cache (common prefixes).", m->cached_tokens);
    rc |= put_counter(out, "bitnet_generated_tokens_total", "Tokens generated.", m->generated_tokens);
    rc |= put(out, "# HELP bitnet_generated_tokens_per_second Generated tokens per second over the last %g s.\n"
                   "# TYPE bitnet_generated_tokens_per_second gauge\n"
                   "bitnet_generated_tokens_per_second %.3f\n", WINDOW_SECONDS, m->tokens_per_second);
    rc |= put_counter(out, "bitnet_requests_cancelled_total", "Generations stopped because the client went away.",
                      m->cancelled);
    rc |= put_counter(out, "bitnet_draft_tokens_total", "Drafted tokens checked (--draft).", m->drafted);
    rc |= put_counter(out, "bitnet_draft_tokens_accepted_total", "Drafted tokens the model agreed with.",
                      m->draft_accepted);
    rc |= put_counter(out, "bitnet_decode_steps_total", "Forward passes (batches) run.", m->decode_steps);
    rc |= put(out, "# HELP bitnet_decode_seconds_total Time spent in forward passes.\n"
                   "# TYPE bitnet_decode_seconds_total counter\n"
                   "bitnet_decode_seconds_total %.6f\n", m->decode_seconds);
    rc |= put_gauge(out, "bitnet_queue_depth", "Requests waiting for a sequence.", m->queue_depth);
    rc |= put_gauge(out, "bitnet_busy_sequences", "Sequences serving a request.", m->busy_sequences);
    rc |= put_gauge(out, "bitnet_sequences", "Sequences of the context (--parallel).", m->n_sequences);
    rc |= put(out, "# HELP bitnet_time_to_first_token_seconds From a request's arrival to its first generated token.\n"
                   "# TYPE bitnet_time_to_first_token_seconds histogram\n");
    for (int i = 0; i < SRV_TTFT_BUCKETS; i++)
        rc |= put(out, "bitnet_time_to_first_token_seconds_bucket{le=\"%g\"} %llu\n", ttft_le[i],
                  (unsigned long long)m->ttft_bucket[i]);
    rc |= put(out, "bitnet_time_to_first_token_seconds_bucket{le=\"+Inf\"} %llu\n"
                   "bitnet_time_to_first_token_seconds_sum %.6f\n"
                   "bitnet_time_to_first_token_seconds_count %llu\n",
              (unsigned long long)m->ttft_count, m->ttft_sum, (unsigned long long)m->ttft_count);
    pthread_mutex_unlock(&m->mu);
    return rc ? -1 : 0;
}
