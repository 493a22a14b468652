#include "scheduler.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tool_common.h"
#include "engine.h"

/* ---- jobs --------------------------------------------------------------------------- */

static void cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

srv_job *srv_job_new(void)
{
    srv_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    pthread_mutex_init(&j->mu, NULL);
    cond_init_monotonic(&j->cv);
    j->refs = 1;
    j->max_tokens = -1;
    bn_sampler_params_default(&j->sampling);
    return j;
}

void srv_job_unref(srv_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last)
        return;
    free(j->prompt);
    for (size_t i = 0; i < j->n_stop; i++)
        free(j->stop[i]);
    srv_buf_free(&j->text);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

void srv_job_cancel(srv_job *j)
{
    pthread_mutex_lock(&j->mu);
    j->cancelled = 1;
    pthread_mutex_unlock(&j->mu);
}

static void deadline_in(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    long long ns = ts->tv_nsec + (long long)(seconds * 1e9);
    ts->tv_sec += (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

int srv_job_wait(srv_job *j, size_t seen, int want_start, double seconds)
{
    struct timespec ts;
    deadline_in(&ts, seconds);
    pthread_mutex_lock(&j->mu);
    int rc = 0;
#define NEWS (j->done || j->text.len > seen || (want_start && j->n_generated > 0))
    while (!NEWS && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    int news = NEWS;
#undef NEWS
    pthread_mutex_unlock(&j->mu);
    return news;
}

/* ---- the scheduler --------------------------------------------------------------------- */

typedef struct slot {
    srv_job *job;               /* NULL: free */
    bn_token *cache;            /* the tokens in this sequence's KV cache (n_ctx room) */
    int32_t n_cache;
    int32_t n_fed;              /* prompt tokens of the job in the cache */
    int generating;             /* the prompt is in: `next` is the token to feed */
    bn_token next;
    bn_sampler *sampler;
    bn_text_stream *stream;
    bn_spec *spec;              /* the job's speculative decoder, when drafting */
    bn_token *draft;            /* this pass's drafts after `next` (n_draft room) */
    int32_t n_draft;
    int32_t batch_index;        /* where its (first) logits are in this pass, or -1 */
    int32_t n_in_batch;         /* its tokens in this pass */
    double last_used;
} slot;

struct srv_sched {
    bn_model *model;
    srv_engine *eng;
    srv_metrics *metrics;
    int32_t n_slots, n_ctx, n_batch, queue_max;
    slot *slots;
    bn_token *eog;              /* the end-of-generation tokens, for ignore_eos */
    int32_t n_eog, n_vocab;
    int32_t n_draft;            /* drafts per sequence and pass (0: none) */
    float *masked;              /* 1 + n_draft rows of logits with those tokens ruled out */
    const float **rows;         /* 1 + n_draft: one sequence's logits rows of a pass */
    bn_token *out;              /* 1 + n_draft: the tokens a sequence gets from a pass */
    pthread_t thread;
    int started;

    pthread_mutex_t mu;         /* guards what follows */
    pthread_cond_t cv;          /* new work, or a state change */
    srv_job *head, *tail;
    int queued, busy;
    int draining;               /* no new jobs */
    int stopping;               /* the thread ends once idle */
    int cancel_all;             /* end every job now */
    atomic_int abort_pass;      /* read by the abort callback inside a pass */
};

static int abort_cb(void *user)
{
    srv_sched *s = user;
    return atomic_load(&s->abort_pass);
}

int32_t srv_sched_n_ctx(const srv_sched *s)
{
    return s->n_ctx;
}

static void publish_gauges(srv_sched *s)
{
    srv_metrics_gauges(s->metrics, s->queued, s->busy);
}

int srv_sched_submit(srv_sched *s, srv_job *j, srv_error *e)
{
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->draining) {
        rc = srv_error_set(e, 503, NULL, "the server is shutting down");
    } else if (s->queued >= s->queue_max && s->busy >= s->n_slots) {
        rc = srv_error_set(e, 429, NULL, "all %d sequences are busy and %d requests wait: try again later",
                           s->n_slots, s->queued);
    } else {
        pthread_mutex_lock(&j->mu);
        j->refs++;
        pthread_mutex_unlock(&j->mu);
        j->next = NULL;
        if (s->tail)
            s->tail->next = j;
        else
            s->head = j;
        s->tail = j;
        s->queued++;
        publish_gauges(s);
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Ends a job: done, with a finish reason or an error; wakes its connection. */
static void job_end(srv_job *j, const char *finish, int status, const char *msg)
{
    pthread_mutex_lock(&j->mu);
    j->done = 1;
    j->finish = finish;
    j->error_status = status;
    if (msg)
        snprintf(j->error_msg, sizeof j->error_msg, "%s", msg);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static int job_append(srv_job *j, const char *text, size_t len)
{
    if (!len)
        return 0;
    pthread_mutex_lock(&j->mu);
    int rc = srv_buf_append(&j->text, text, len);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

static void slot_release(srv_sched *s, slot *sl, const char *finish, int status, const char *msg)
{
    srv_job *j = sl->job;
    int cancelled;
    pthread_mutex_lock(&j->mu);
    cancelled = j->cancelled;
    pthread_mutex_unlock(&j->mu);
    srv_metrics_finished(s->metrics, sl->n_fed, j->n_cached, j->n_generated, cancelled);
    bn_sampler_free(&sl->sampler);
    bn_text_stream_free(&sl->stream);
    bn_spec_free(&sl->spec);
    sl->job = NULL;
    sl->generating = 0;
    sl->last_used = bn_tool_now();
    pthread_mutex_lock(&s->mu);
    s->busy--;
    publish_gauges(s);
    pthread_mutex_unlock(&s->mu);
    /* last, so that a client that got its answer sees the counts that include it */
    job_end(j, finish, status, msg);
    srv_job_unref(j);
}

static int32_t common_prefix(const bn_token *a, int32_t na, const bn_token *b, int32_t nb)
{
    int32_t n = na < nb ? na : nb, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/*
 * The cost of one drafted token in a pass shared by the n_slots sequences,
 * relative to the sequence's own share of that pass, which is what the
 * decoder's draft length weighs against the tokens it may save. With r the
 * cost of one more token relative to a one-token pass (the library's
 * draft_cost), a pass of B tokens costs 1 + (B - 1) r, of which each of B
 * sequences owns (1 + (B - 1) r) / B, while a draft adds r for all of them.
 * Taken at B = n_slots (not at the sequences busy right now), so that a
 * request's drafts, and with them its seeded draws, never depend on the
 * other requests; at 1 sequence it is r.
 */
static float draft_cost(const srv_sched *s, float r)
{
    const double b = s->n_slots;
    return (float)(b * r / (1.0 + (b - 1.0) * r));
}

/* Puts a job into a free slot, starting from the longest cached common prefix. */
static void slot_assign(srv_sched *s, srv_job *j)
{
    int32_t limit = j->n_prompt - 1;   /* the last prompt token is fed for its logits */
    int best_free = -1, best_src = -1;
    int32_t lcp_free = -1, lcp_src = 0;
    for (int32_t i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        int32_t l = common_prefix(sl->cache, sl->n_cache, j->prompt, limit);
        if (!sl->job && (l > lcp_free || (l == lcp_free && sl->last_used < s->slots[best_free].last_used))) {
            best_free = i;
            lcp_free = l;
        }
        if (l > lcp_src) {
            best_src = i;
            lcp_src = l;
        }
    }
    slot *sl = &s->slots[best_free];
    int32_t reuse = lcp_free;
    if (best_src >= 0 && best_src != best_free && lcp_src > lcp_free
        && srv_engine_seq_copy(s->eng, best_src, best_free, lcp_src) == BN_OK) {
        memcpy(sl->cache, s->slots[best_src].cache, (size_t)lcp_src * sizeof *sl->cache);
        reuse = lcp_src;
    } else if (srv_engine_seq_truncate(s->eng, best_free, reuse) != BN_OK) {
        srv_engine_seq_truncate(s->eng, best_free, 0);
        reuse = 0;
    }
    sl->n_cache = reuse;
    sl->n_fed = reuse;
    sl->job = j;
    sl->generating = 0;
    j->n_cached = reuse;
    char msg[160];
    int rc = bn_sampler_new(&sl->sampler, s->model, &j->sampling);
    if (!rc)
        rc = bn_text_stream_new(&sl->stream, s->model, (const char *const *)j->stop, j->n_stop);
    if (!rc && s->n_draft) {
        /* a decoder of its own per job: the draft lengths adapt to this
         * answer only, so that it does not depend on what ran before */
        bn_spec_params sp;
        bn_spec_params_default(&sp);
        sp.n_draft_max = s->n_draft;
        sp.draft_cost = draft_cost(s, sp.draft_cost);
        rc = bn_spec_new(&sl->spec, &sp);
    }
    if (rc) {
        snprintf(msg, sizeof msg, "cannot start the generation: %s", bn_strerror(rc));
        slot_release(s, sl, NULL, rc == BN_E_NOMEM ? 500 : 400, msg);
    }
}

/* Takes queued jobs into free slots. */
static void admit(srv_sched *s)
{
    for (;;) {
        pthread_mutex_lock(&s->mu);
        srv_job *j = NULL;
        if (s->head && s->busy < s->n_slots) {
            j = s->head;
            s->head = j->next;
            if (!s->head)
                s->tail = NULL;
            s->queued--;
            s->busy++;
            publish_gauges(s);
        }
        pthread_mutex_unlock(&s->mu);
        if (!j)
            return;
        slot_assign(s, j);
    }
}

/* Ends a job that never got a sequence: its client went away or its time ran out. */
static void end_unstarted(srv_sched *s, srv_job *j)
{
    pthread_mutex_lock(&j->mu);
    int cancelled = j->cancelled;
    pthread_mutex_unlock(&j->mu);
    srv_metrics_finished(s->metrics, 0, 0, 0, cancelled);
    if (cancelled)
        job_end(j, NULL, 499, "the client went away");
    else
        job_end(j, NULL, 504, "the request waited longer than the server's --timeout");
    srv_job_unref(j);
}

/* Frees the slots and queue places of jobs whose client went away or whose time is up. */
static void reap(srv_sched *s, double now)
{
    pthread_mutex_lock(&s->mu);
    srv_job *gone = NULL, **link = &s->head;
    s->tail = NULL;
    while (*link) {
        srv_job *j = *link;
        pthread_mutex_lock(&j->mu);
        int cancelled = j->cancelled;
        pthread_mutex_unlock(&j->mu);
        if (cancelled || (j->deadline > 0 && now > j->deadline)) {
            *link = j->next;
            j->next = gone;
            gone = j;
            s->queued--;
        } else {
            s->tail = j;
            link = &j->next;
        }
    }
    publish_gauges(s);
    pthread_mutex_unlock(&s->mu);
    while (gone) {
        srv_job *j = gone;
        gone = j->next;
        end_unstarted(s, j);
    }
    for (int32_t i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (!sl->job)
            continue;
        pthread_mutex_lock(&sl->job->mu);
        int cancelled = sl->job->cancelled;
        pthread_mutex_unlock(&sl->job->mu);
        if (cancelled)
            slot_release(s, sl, NULL, 499, "the client went away");
        else if (sl->job->deadline > 0 && now > sl->job->deadline)
            slot_release(s, sl, NULL, 504, "the request took longer than the server's --timeout");
    }
}

/* The next slot whose prompt goes into the pass: the one with the fewest
 * prompt tokens left (then the earliest), so that short prompts get their
 * first token after one pass instead of waiting behind a long one; -1 when
 * none waits. A long prompt still gets what room the short ones leave. */
static int32_t next_prompt(const srv_sched *s)
{
    int32_t best = -1;
    for (int32_t i = 0; i < s->n_slots; i++) {
        const slot *sl = &s->slots[i];
        if (!sl->job || sl->generating || sl->n_in_batch)
            continue;
        const slot *b = best >= 0 ? &s->slots[best] : NULL;
        int32_t left = sl->job->n_prompt - sl->n_fed;
        if (!b || left < b->job->n_prompt - b->n_fed
            || (left == b->job->n_prompt - b->n_fed && sl->job->t_arrival < b->job->t_arrival))
            best = i;
    }
    return best;
}

/* One pass: every generating slot's next token and its drafts, then prompt
 * pieces, shortest remainder first, up to n_batch. */
static int build_batch(srv_sched *s)
{
    srv_engine_clear(s->eng);
    int32_t n = 0;
    for (int32_t i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        sl->batch_index = -1;
        sl->n_in_batch = 0;
        sl->n_draft = 0;
        if (!sl->job || !sl->generating || srv_engine_add(s->eng, sl->next, i, 1) != BN_OK)
            continue;
        sl->batch_index = n++;
        sl->n_in_batch = 1;
        size_t nd = 0;
        /* the engine keeps room for n_draft per sequence: a sequence's drafts
         * never depend on the others (nor do its answers, seeded or not) */
        if (sl->spec && bn_spec_draft(sl->spec, srv_engine_ctx(s->eng), i, sl->draft, (size_t)s->n_draft, &nd))
            nd = 0;
        for (size_t k = 0; k < nd && srv_engine_add(s->eng, sl->draft[k], i, 1) == BN_OK; k++) {
            sl->n_draft++;
            sl->n_in_batch++;
            n++;
        }
    }
    for (int32_t i; n < s->n_batch && (i = next_prompt(s)) >= 0;) {
        slot *sl = &s->slots[i];
        srv_job *j = sl->job;
        int32_t k = j->n_prompt - sl->n_fed;
        if (k > s->n_batch - n)
            k = s->n_batch - n;
        for (int32_t t = 0; t < k; t++) {
            int last = sl->n_fed + t + 1 == j->n_prompt;
            srv_engine_add(s->eng, j->prompt[sl->n_fed + t], i, last);
            if (last)
                sl->batch_index = n + t;
        }
        sl->n_in_batch = k;
        n += k;
    }
    return n;
}

/* The tokens a slot gets from this pass, into s->out: one sampled from its
 * logits, or, with a speculative decoder, the accepted drafts and one more
 * (bn_spec_accept, which also cuts the rejected drafts from the cache).
 * Brings the slot's record of its cache up to date. 0 when it failed. */
static int32_t slot_tokens(srv_sched *s, slot *sl, int32_t seq)
{
    srv_job *j = sl->job;
    for (int32_t r = 0; r <= sl->n_draft; r++) {
        const float *l = srv_engine_logits(s->eng, sl->batch_index + r);
        if (l && j->ignore_eos) {
            float *m = s->masked + (size_t)r * (size_t)s->n_vocab;
            memcpy(m, l, (size_t)s->n_vocab * sizeof *l);
            for (int32_t k = 0; k < s->n_eog; k++)
                m[s->eog[k]] = -1e30f;
            l = m;
        }
        if (!l)
            return 0;
        s->rows[r] = l;
    }
    if (!sl->spec) {
        if (bn_sampler_sample(sl->sampler, s->rows[0], &s->out[0]) != BN_OK)
            return 0;
        if (sl->generating)
            sl->cache[sl->n_cache++] = sl->next;
        return 1;
    }
    /* the prompt's pass: the decoder starts from the sequence's tokens */
    if (!sl->generating && bn_spec_begin(sl->spec, sl->cache, (size_t)sl->n_cache) != BN_OK)
        return 0;
    bn_spec_stats before, after;
    bn_spec_get_stats(sl->spec, &before);
    size_t n = 0;
    if (bn_spec_accept(sl->spec, srv_engine_ctx(s->eng), seq, sl->sampler, s->rows, sl->draft,
                       (size_t)sl->n_draft, s->out, (size_t)s->n_draft + 1, &n) != BN_OK || !n)
        return 0;
    bn_spec_get_stats(sl->spec, &after);
    srv_metrics_drafts(s->metrics, sl->n_draft, (int)(after.n_accepted - before.n_accepted));
    /* the cache now holds `next` and the accepted drafts: all but the last token */
    if (sl->generating) {
        sl->cache[sl->n_cache++] = sl->next;
        for (size_t k = 0; k + 1 < n; k++)
            sl->cache[sl->n_cache++] = s->out[k];
    }
    return (int32_t)n;
}

/* After a pass: the cache bookkeeping, then the tokens of every slot that
 * has logits, as text to its job, until one ends it. */
static int after_pass(srv_sched *s, double now)
{
    int generated = 0;
    for (int32_t i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        srv_job *j = sl->job;
        if (!j)
            continue;
        if (!sl->n_in_batch)
            continue;
        if (!sl->generating) {
            int32_t fed = sl->n_in_batch;
            memcpy(sl->cache + sl->n_cache, j->prompt + sl->n_fed, (size_t)fed * sizeof *sl->cache);
            sl->n_cache += fed;
            sl->n_fed += fed;
            if (sl->n_fed < j->n_prompt)
                continue;
        }
        const int32_t n = slot_tokens(s, sl, i);
        if (!n) {
            slot_release(s, sl, NULL, 500, "no logits for the sequence (a bug in bitnet-server)");
            continue;
        }
        int ended = 0;
        for (int32_t k = 0; k < n && !ended; k++) {
            generated++;
            srv_metrics_generated(s->metrics, 1);
            pthread_mutex_lock(&j->mu);
            if (++j->n_generated == 1) {
                srv_metrics_ttft(s->metrics, now - j->t_arrival);
                pthread_cond_broadcast(&j->cv);   /* a stream's first event */
            }
            pthread_mutex_unlock(&j->mu);
            const char *text;
            size_t len;
            int stopped = 0;
            if (bn_text_stream_push(sl->stream, s->out[k], &text, &len, &stopped) != BN_OK
                || job_append(j, text, len)) {
                slot_release(s, sl, NULL, 500, "cannot turn the tokens into text");
                ended = 1;
            } else if (stopped) {
                slot_release(s, sl, "stop", 0, NULL);
                ended = 1;
            } else if ((j->max_tokens > 0 && j->n_generated >= j->max_tokens)
                       /* no room for the last token: only the last can meet this */
                       || (k + 1 == n && sl->n_cache + 1 > s->n_ctx)) {
                if (bn_text_stream_flush(sl->stream, &text, &len) == BN_OK)
                    job_append(j, text, len);
                slot_release(s, sl, "length", 0, NULL);
                ended = 1;
            }
        }
        if (ended)
            continue;
        sl->generating = 1;
        sl->next = s->out[n - 1];
    }
    return generated;
}

static void fail_all(srv_sched *s, int status, const char *msg)
{
    for (int32_t i = 0; i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->job)
            slot_release(s, sl, NULL, status, msg);
        /* a failed pass changed nothing, but start the caches afresh anyway */
        srv_engine_seq_truncate(s->eng, i, 0);
        sl->n_cache = 0;
    }
    pthread_mutex_lock(&s->mu);
    while (s->head) {
        srv_job *j = s->head;
        s->head = j->next;
        s->queued--;
        job_end(j, NULL, status, msg);
        srv_job_unref(j);
    }
    s->tail = NULL;
    publish_gauges(s);
    pthread_mutex_unlock(&s->mu);
}

static void *sched_main(void *arg)
{
    srv_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->busy && !s->stopping && !s->cancel_all)
            pthread_cond_wait(&s->cv, &s->mu);
        int cancel = s->cancel_all, stop = s->stopping && !s->head && !s->busy;
        pthread_mutex_unlock(&s->mu);
        if (cancel) {
            fail_all(s, 503, "the server is shutting down");
            pthread_mutex_lock(&s->mu);
            s->cancel_all = 0;
            stop = s->stopping;
            pthread_mutex_unlock(&s->mu);
        }
        if (stop)
            break;
        double now = bn_tool_now();
        reap(s, now);
        admit(s);
        if (!build_batch(s))
            continue;
        double t0 = bn_tool_now();
        int rc = srv_engine_decode(s->eng);
        double t1 = bn_tool_now();
        if (rc != BN_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "decoding failed: %s: %s", bn_strerror(rc), bn_last_error());
            fail_all(s, rc == BN_E_CANCELLED ? 503 : 500,
                     rc == BN_E_CANCELLED ? "the server is shutting down" : msg);
            continue;
        }
        srv_metrics_step(s->metrics, t1, t1 - t0, after_pass(s, t1));
    }
    return NULL;
}

int srv_sched_new(srv_sched **out, bn_model *m, const srv_sched_params *p, srv_metrics *metrics,
                  char *err, size_t err_size)
{
    *out = NULL;
    srv_sched *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return BN_E_NOMEM;
    }
    s->model = m;
    s->metrics = metrics;
    s->queue_max = p->queue_max;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    srv_engine_params ep = { .n_seq = p->n_parallel, .n_ctx = p->n_ctx, .n_batch = p->n_batch,
                             .n_threads = p->n_threads, .n_draft = p->n_draft, .abort_fn = abort_cb,
                             .abort_user = s };
    if (!ep.n_ctx) {
        int32_t train = bn_model_n_ctx_train(m);
        ep.n_ctx = train > 0 && train < 4096 ? train : 4096;
    }
    int rc = srv_engine_new(&s->eng, m, &ep);
    if (rc) {
        snprintf(err, err_size, "cannot create the context: %s: %s", bn_strerror(rc), bn_last_error());
        srv_sched_free(&s);
        return rc;
    }
    s->n_slots = srv_engine_n_seq(s->eng);
    s->n_ctx = srv_engine_n_ctx(s->eng);
    s->n_batch = srv_engine_n_batch(s->eng);
    /* a context shorter than the passes drafting needs keeps fewer drafts */
    s->n_draft = p->n_draft;
    if (s->n_draft > s->n_batch / s->n_slots - 1)
        s->n_draft = s->n_batch / s->n_slots - 1 > 0 ? s->n_batch / s->n_slots - 1 : 0;
    s->slots = calloc((size_t)s->n_slots, sizeof *s->slots);
    for (int32_t i = 0; s->slots && i < s->n_slots; i++)
        if (!(s->slots[i].cache = malloc((size_t)s->n_ctx * sizeof(bn_token)))) {
            rc = BN_E_NOMEM;
            break;
        }
    s->n_vocab = bn_model_n_vocab(m);
    s->masked = malloc((size_t)(1 + s->n_draft) * (size_t)s->n_vocab * sizeof *s->masked);
    s->rows = malloc((size_t)(1 + s->n_draft) * sizeof *s->rows);
    s->out = malloc((size_t)(1 + s->n_draft) * sizeof *s->out);
    for (int32_t i = 0; s->slots && s->n_draft && i < s->n_slots; i++)
        if (!(s->slots[i].draft = malloc((size_t)s->n_draft * sizeof(bn_token))))
            rc = BN_E_NOMEM;
    s->eog = malloc((size_t)s->n_vocab * sizeof *s->eog);
    for (bn_token t = 0; s->eog && t < s->n_vocab; t++)
        if (bn_model_token_is_eog(m, t))
            s->eog[s->n_eog++] = t;
    if (!s->slots || rc || !s->masked || !s->eog || !s->rows || !s->out) {
        snprintf(err, err_size, "out of memory");
        srv_sched_free(&s);
        return BN_E_NOMEM;
    }
    if (pthread_create(&s->thread, NULL, sched_main, s)) {
        snprintf(err, err_size, "cannot start the scheduler thread");
        srv_sched_free(&s);
        return BN_E_INTERNAL;
    }
    s->started = 1;
    *out = s;
    return BN_OK;
}

int srv_sched_shutdown(srv_sched *s, double drain_seconds)
{
    if (!s || !s->started)
        return 0;
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    s->stopping = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    /* the counts change on the scheduler's thread: look at them now and then */
    double end = bn_tool_now() + drain_seconds;
    int left = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        left = s->busy + s->queued;
        pthread_mutex_unlock(&s->mu);
        if (!left || bn_tool_now() >= end)
            break;
        struct timespec nap = { 0, 20 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
    if (left) {
        pthread_mutex_lock(&s->mu);
        s->cancel_all = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        atomic_store(&s->abort_pass, 1);
    }
    pthread_join(s->thread, NULL);
    s->started = 0;
    return left;
}

void srv_sched_free(srv_sched **sp)
{
    srv_sched *s = *sp;
    if (!s)
        return;
    if (s->started)
        srv_sched_shutdown(s, 0);
    for (int32_t i = 0; s->slots && i < s->n_slots; i++) {
        free(s->slots[i].cache);
        bn_sampler_free(&s->slots[i].sampler);
        bn_text_stream_free(&s->slots[i].stream);
        bn_spec_free(&s->slots[i].spec);
        free(s->slots[i].draft);
    }
    free(s->slots);
    free(s->rows);
    free(s->out);
    free(s->eog);
    free(s->masked);
    srv_engine_free(&s->eng);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *sp = NULL;
}
