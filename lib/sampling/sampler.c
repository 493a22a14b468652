/*
 * The sampling chain, in this order:
 *   1. penalties on a copy of the logits, for each distinct token of the
 *      window (count c): repeat (divide a positive logit, multiply a
 *      negative one), then subtract c * frequency + presence;
 *   2. temperature 0: greedy, the largest logit, the lowest id on ties
 *      (bn_sampler_check_params rejects a negative one);
 *   3. top-k (ties broken towards the lower id), then probabilities by a
 *      softmax over the kept tokens at temperature 1;
 *   4. min-p (relative to the most likely) and top-p (the shortest prefix,
 *      most likely first, whose mass reaches top_p): both measured on those
 *      probabilities, so their order does not matter;
 *   5. temperature on what is left, and one draw.
 * NaN logits count as -inf; tokens at -inf are never drawn. When some
 * logits are +inf the draw is greedy among them.
 */
#include "sampling/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/sort.h"

/* ---- random numbers: splitmix64 seeds xoshiro256** ------------------------ */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(uint64_t s[4])
{
    const uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Uniform in [0, 1) with 53 random bits. */
static double uniform01(uint64_t s[4]) { return (double)(xoshiro_next(s) >> 11) * 0x1.0p-53; }

/* ---- parameters ----------------------------------------------------------- */
int bn_sampler_check_params(const bn_sampler_params *p)
{
    /* Negative is an error, not a spelling of greedy: 0 is the one way to ask for it. */
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature))
        return bn_fail(BN_E_INVALID_ARG, "sampler: temperature %g: expected a finite number >= 0 (0 = greedy)",
                       (double)p->temperature);
    if (p->top_k < 0)
        return bn_fail(BN_E_INVALID_ARG, "sampler: top_k %d: expected 0 (all) or more", p->top_k);
    if (!(p->top_p >= 0.0f && p->top_p <= 1.0f))
        return bn_fail(BN_E_INVALID_ARG, "sampler: top_p %g: expected 0 to 1", (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return bn_fail(BN_E_INVALID_ARG, "sampler: min_p %g: expected 0 to 1", (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty))
        return bn_fail(BN_E_INVALID_ARG, "sampler: repeat_penalty %g: expected a positive number (1 = off)",
                       (double)p->repeat_penalty);
    if (!isfinite(p->frequency_penalty))
        return bn_fail(BN_E_INVALID_ARG, "sampler: frequency_penalty %g is not finite",
                       (double)p->frequency_penalty);
    if (!isfinite(p->presence_penalty))
        return bn_fail(BN_E_INVALID_ARG, "sampler: presence_penalty %g is not finite",
                       (double)p->presence_penalty);
    if (p->penalty_last_n < 0 || p->penalty_last_n > BN_SAMPLER_MAX_WINDOW)
        return bn_fail(BN_E_INVALID_ARG, "sampler: penalty_last_n %d: expected 0 to %d", p->penalty_last_n,
                       BN_SAMPLER_MAX_WINDOW);
    return BN_OK;
}

/* ---- life cycle ----------------------------------------------------------- */
int bn_sampler_alloc(bn_sampler **out, int32_t n_vocab, const bn_sampler_params *p)
{
    bn_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_E_NOMEM, "sampler: out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    const size_t nv = (size_t)n_vocab, nw = p->penalty_last_n ? (size_t)p->penalty_last_n : 1;
    s->work = malloc(nv * sizeof *s->work);
    s->cand = malloc(nv * sizeof *s->cand);
    s->weight = malloc(nv * sizeof *s->weight);
    s->count = calloc(nv, sizeof *s->count);
    s->window = malloc(nw * sizeof *s->window);
    s->distinct = malloc(nw * sizeof *s->distinct);
    if (!s->work || !s->cand || !s->weight || !s->count || !s->window || !s->distinct) {
        bn_sampler_destroy(s);
        return bn_fail(BN_E_NOMEM, "sampler: cannot allocate buffers for %d tokens", n_vocab);
    }
    bn_sampler_restart(s);
    *out = s;
    return BN_OK;
}

void bn_sampler_destroy(bn_sampler *s)
{
    if (!s)
        return;
    free(s->work);
    free(s->cand);
    free(s->weight);
    free(s->count);
    free(s->window);
    free(s->distinct);
    free(s);
}

void bn_sampler_restart(bn_sampler *s)
{
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64(&x);
    s->win_len = 0;
    s->win_next = 0;
}

void bn_sampler_record(bn_sampler *s, bn_token t)
{
    const int32_t n = s->p.penalty_last_n;
    if (n == 0)
        return;
    s->window[s->win_next] = t;
    s->win_next = s->win_next + 1 == n ? 0 : s->win_next + 1;
    if (s->win_len < n)
        s->win_len++;
}

/* ---- the chain ------------------------------------------------------------ */
static void apply_penalties(bn_sampler *s)
{
    const bn_sampler_params *p = &s->p;
    if (p->repeat_penalty == 1.0f && p->frequency_penalty == 0.0f && p->presence_penalty == 0.0f)
        return;
    int32_t n_distinct = 0;
    for (int32_t i = 0; i < s->win_len; i++) {
        bn_token t = s->window[i];
        if (s->count[t]++ == 0)
            s->distinct[n_distinct++] = t;
    }
    for (int32_t i = 0; i < n_distinct; i++) {
        bn_token t = s->distinct[i];
        float l = s->work[t];
        l = l <= 0.0f ? l * p->repeat_penalty : l / p->repeat_penalty;
        l -= (float)s->count[t] * p->frequency_penalty + p->presence_penalty;
        s->work[t] = l;
        s->count[t] = 0;
    }
}

/* a ranks above b: larger logit, or the same logit and a lower id. */
static int better(const float *l, uint32_t a, uint32_t b)
{
    return l[a] > l[b] || (l[a] == l[b] && a < b);
}

static int32_t argmax(const float *l, int32_t n)
{
    int32_t best = -1;
    for (int32_t i = 0; i < n; i++)
        if (l[i] == l[i] && (best < 0 || l[i] > l[best]))
            best = i;
    return best;
}

/* Keeps the k best of the n candidates in cand[0..k) (in heap order) with a
 * min-heap whose root is the worst kept token: O(n log k), no allocation. */
static int32_t keep_top_k(const float *l, uint32_t *cand, int32_t n, int32_t k)
{
    if (k <= 0 || k >= n)
        return n;
    for (int32_t i = 0; i < n; i++) {
        uint32_t t = cand[i];
        int32_t pos;
        if (i < k) {
            pos = i;            /* sift up */
            while (pos > 0 && better(l, cand[(pos - 1) / 2], t)) {
                cand[pos] = cand[(pos - 1) / 2];
                pos = (pos - 1) / 2;
            }
        } else {
            if (!better(l, t, cand[0]))
                continue;
            pos = 0;            /* replace the root, sift down */
            for (;;) {
                int32_t c = 2 * pos + 1;
                if (c >= k)
                    break;
                if (c + 1 < k && better(l, cand[c], cand[c + 1]))
                    c++;
                if (!better(l, t, cand[c]))
                    break;
                cand[pos] = cand[c];
                pos = c;
            }
        }
        cand[pos] = t;
    }
    return k;
}

static int cmp_rank(uint32_t a, uint32_t b, const void *ctx)
{
    const float *l = ctx;
    return better(l, a, b) ? -1 : better(l, b, a) ? 1 : 0;
}

static void swap_u32(uint32_t *a, uint32_t *b)
{
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

/* Partitions cand[lo, hi) around a median-of-three pivot: better tokens
 * first, then the pivot, whose position is returned, then worse tokens. */
static int32_t partition(const float *l, uint32_t *cand, int32_t lo, int32_t hi)
{
    int32_t mid = lo + (hi - lo) / 2, last = hi - 1;
    if (better(l, cand[mid], cand[lo]))
        swap_u32(&cand[mid], &cand[lo]);
    if (better(l, cand[last], cand[lo]))
        swap_u32(&cand[last], &cand[lo]);
    if (better(l, cand[last], cand[mid]))
        swap_u32(&cand[last], &cand[mid]);
    swap_u32(&cand[mid], &cand[last]);      /* the median, as pivot, at the end */
    const uint32_t pivot = cand[last];
    int32_t store = lo;
    for (int32_t i = lo; i < last; i++)
        if (better(l, cand[i], pivot))
            swap_u32(&cand[i], &cand[store++]);
    swap_u32(&cand[store], &cand[last]);
    return store;
}

/*
 * top-p: the smallest m such that the m best candidates (ranked by `better`)
 * carry at least `target` of the mass w[] (indexed by token). A quickselect
 * on the mass instead of a sort, so O(n) expected with a full vocabulary;
 * after too many rounds (a hostile order) it sorts what is left. The kept
 * tokens end up in cand[0, m), in a deterministic order.
 */
static int32_t top_p_cut(const float *l, const float *w, uint32_t *cand, int32_t n, double target)
{
    int32_t lo = 0, hi = n, rounds = 0;
    double acc = 0.0;               /* mass of cand[0, lo): always < target */
    while (lo < hi) {
        if (++rounds > 64) {
            bn_sort_indexes(cand + lo, (size_t)(hi - lo), cmp_rank, l);
            for (; lo < hi; lo++) {
                acc += w[cand[lo]];
                if (acc >= target)
                    return lo + 1;
            }
            return lo;
        }
        int32_t p = partition(l, cand, lo, hi);
        double front = acc;
        for (int32_t i = lo; i < p; i++)
            front += w[cand[i]];
        if (front >= target) {
            hi = p;
        } else if (front + w[cand[p]] >= target) {
            return p + 1;
        } else {
            acc = front + w[cand[p]];
            lo = p + 1;
        }
    }
    return lo > 0 ? lo : 1;         /* the whole mass fell short by rounding */
}

int bn_sampler_filter(bn_sampler *s, const float *logits, int32_t *n_out, double *sum_out, int *greedy)
{
    *greedy = 0;
    const bn_sampler_params *p = &s->p;
    float *l = s->work, *w = s->weight;     /* w is indexed by token id */
    memcpy(l, logits, (size_t)s->n_vocab * sizeof *l);
    apply_penalties(s);

    int32_t best = argmax(l, s->n_vocab);
    if (best < 0 || l[best] == -INFINITY)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_sample: every logit is -inf or NaN");
    if (p->temperature <= 0.0f || l[best] == INFINITY) {
        s->cand[0] = (uint32_t)best;
        w[best] = 1.0f;
        *n_out = 1;
        *sum_out = 1.0;
        *greedy = 1;
        return BN_OK;
    }

    int32_t n = 0;
    for (int32_t i = 0; i < s->n_vocab; i++)
        if (l[i] > -INFINITY)       /* false for NaN too */
            s->cand[n++] = (uint32_t)i;
    n = keep_top_k(l, s->cand, n, p->top_k);

    /* Probabilities (unnormalised, the best at 1) at temperature 1. */
    const float lmax = l[best];
    double total = 0.0;
    for (int32_t i = 0; i < n; i++) {
        uint32_t t = s->cand[i];
        w[t] = expf(l[t] - lmax);
        total += w[t];
    }
    if (p->min_p > 0.0f) {
        int32_t kept = 0;
        for (int32_t i = 0; i < n; i++)
            if (w[s->cand[i]] >= p->min_p)
                s->cand[kept++] = s->cand[i];
        n = kept;           /* never empty: the best has weight 1 */
    }
    if (p->top_p < 1.0f && n > 1)
        n = top_p_cut(l, w, s->cand, n, (double)p->top_p * total);

    double sum = 0.0;
    const float inv_t = 1.0f / p->temperature;
    for (int32_t i = 0; i < n; i++) {
        uint32_t t = s->cand[i];
        const float d = l[t] - lmax;            /* 0 for the best: avoids 0 * inf */
        w[t] = d == 0.0f ? 1.0f : expf(d * inv_t);
        sum += w[t];
    }
    *n_out = n;
    *sum_out = sum;
    return BN_OK;
}

int32_t bn_sampler_draw(bn_sampler *s, int32_t n, double sum)
{
    const float *w = s->weight;
    const double u = uniform01(s->rng) * sum;
    double cum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        cum += w[s->cand[i]];
        if (u < cum)
            return i;
    }
    return n - 1;       /* rounding left u past the last sum */
}

double bn_sampler_uniform(bn_sampler *s)
{
    return uniform01(s->rng);
}

int bn_sampler_pick(bn_sampler *s, const float *logits, bn_token *out)
{
    int32_t n;
    double sum;
    int greedy;
    int rc = bn_sampler_filter(s, logits, &n, &sum, &greedy);
    if (rc)
        return rc;
    /* greedy: no draw, so the generator's state does not move */
    *out = (bn_token)s->cand[greedy ? 0 : bn_sampler_draw(s, n, sum)];
    return BN_OK;
}
