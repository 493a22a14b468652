/* The sampler: greedy picks, which tokens each filter keeps (many seeded
 * draws, frequencies against the expected distribution), penalties on the
 * right logits, determinism, reset, argument checks, and no allocation per
 * token.
 *
 * Linked against the internal static library with the allocation functions
 * wrapped (-Wl,--wrap) so that allocations can be counted, and so that the
 * penalised logits (the sampler's work buffer) can be inspected. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bitnet/bitnet.h>

#include "alloc_hook.h"

#include "sampling/sampler.h"
#include "test_util.h"

/* ---- fixture: a tiny model, only its vocabulary size matters -------------- */
#define NV 64

typedef struct fixture {
    uint8_t *img;
    bn_model *model;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    bn_test_model_spec spec;
    bn_test_model_spec_default(&spec);
    spec.n_vocab = NV;
    size_t size;
    if (!f || bn_test_model_gguf(&spec, &f->img, &size) != BN_OK ||
        bn_model_load_from_memory(&f->model, f->img, size, NULL) != BN_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bn_model_free(&f->model);
    free(f->img);
    free(f);
    return 0;
}

static bn_sampler *make(const bn_model *m, const bn_sampler_params *p)
{
    bn_sampler *s = NULL;
    int rc = bn_sampler_new(&s, m, p);
    if (rc)
        fail_msg("bn_sampler_new: %s: %s", bn_strerror(rc), bn_last_error());
    return s;
}

/* Parameters with every filter and penalty off: plain softmax sampling. */
static bn_sampler_params plain(void)
{
    bn_sampler_params p;
    bn_sampler_params_default(&p);
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

/* Logits giving the probabilities probs[0..n) to tokens 0..n-1 and
 * (almost) nothing to the rest. */
static void logits_from_probs(float *l, const double *probs, int n)
{
    for (int i = 0; i < NV; i++)
        l[i] = i < n ? (float)log(probs[i]) : -1000.0f;
}

#define DRAWS 20000

/* Draws DRAWS tokens into counts[NV]. */
static void draw(bn_sampler *s, const float *l, long *counts)
{
    memset(counts, 0, NV * sizeof *counts);
    for (int i = 0; i < DRAWS; i++) {
        bn_token t = -1;
        assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
        assert_true(t >= 0 && t < NV);
        counts[t]++;
    }
}

/* The observed frequency is within 5 standard deviations of p. */
static void assert_plausible(long count, double p)
{
    double sd = sqrt(p * (1 - p) / DRAWS), f = (double)count / DRAWS;
    if (fabs(f - p) > 5 * sd + 1e-9)
        fail_msg("frequency %.4f, expected %.4f (sd %.4f)", f, p, sd);
}

/* ---- tests ------------------------------------------------------------------ */
static void test_defaults(void **state)
{
    (void)state;
    bn_sampler_params p;
    memset(&p, 0xAB, sizeof p);
    bn_sampler_params_default(&p);
    assert_true(p.temperature == 0.8f);
    assert_int_equal(p.top_k, 40);
    assert_true(p.top_p == 0.95f);
    assert_true(p.min_p == 0.05f);
    assert_true(p.repeat_penalty == 1.0f);
    assert_true(p.frequency_penalty == 0.0f && p.presence_penalty == 0.0f);
    assert_int_equal(p.penalty_last_n, 64);
    assert_true(p.seed == 0x5EED);
    for (size_t i = 0; i < sizeof p.reserved; i++)
        assert_int_equal(p.reserved[i], 0);
    bn_sampler_params_default(NULL);    /* no crash */
}

/* Greedy: the largest logit; on a tie the lowest id; NaN never wins. */
static void test_greedy(void **state)
{
    fixture *f = *state;
    float l[NV];
    for (int i = 0; i < NV; i++)
        l[i] = (float)(i % 7) * 0.1f;
    l[20] = 3.0f;
    l[9] = 3.0f;
    l[40] = 3.0f;
    l[5] = NAN;
    const float temps[] = { 0.0f, -0.0f };   /* negative is an error: test_param_validation */
    for (int k = 0; k < 2; k++) {
        bn_sampler_params p = plain();
        p.temperature = temps[k];
        bn_sampler *s = make(f->model, &p);
        for (int i = 0; i < 10; i++) {
            bn_token t = -1;
            assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
            assert_int_equal(t, 9);
        }
        bn_sampler_free(&s);
        assert_null(s);
    }
    /* the input is not modified */
    assert_true(l[20] == 3.0f && isnan(l[5]));
}

/* Sampling at temperature 1 with nothing filtered follows the softmax. */
static void test_plain_distribution(void **state)
{
    fixture *f = *state;
    const double probs[4] = { 0.4, 0.3, 0.2, 0.1 };
    float l[NV];
    logits_from_probs(l, probs, 4);
    bn_sampler_params p = plain();
    bn_sampler *s = make(f->model, &p);
    long counts[NV];
    draw(s, l, counts);
    for (int i = 0; i < 4; i++)
        assert_plausible(counts[i], probs[i]);
    bn_sampler_free(&s);
}

static void test_top_k(void **state)
{
    fixture *f = *state;
    float l[NV];
    for (int i = 0; i < NV; i++)
        l[i] = (float)((i * 37) % NV) * 0.01f;     /* a permutation: no ties */
    /* the three largest: values 63, 62, 61 (* 0.01) */
    int top[3];
    for (int v = 63, j = 0; v >= 61; v--, j++)
        for (int i = 0; i < NV; i++)
            if ((i * 37) % NV == v)
                top[j] = i;
    bn_sampler_params p = plain();
    p.top_k = 3;
    bn_sampler *s = make(f->model, &p);
    long counts[NV];
    draw(s, l, counts);
    double z = 0;
    for (int j = 0; j < 3; j++)
        z += exp(l[top[j]]);
    long seen = 0;
    for (int j = 0; j < 3; j++) {
        assert_plausible(counts[top[j]], exp(l[top[j]]) / z);
        seen += counts[top[j]];
    }
    assert_int_equal(seen, DRAWS);      /* nothing else */
    bn_sampler_free(&s);

    /* top_k = 1 is greedy; ties at the cut go to the lower id */
    for (int i = 0; i < NV; i++)
        l[i] = 1.0f;
    p.top_k = 2;
    s = make(f->model, &p);
    draw(s, l, counts);
    assert_int_equal(counts[0] + counts[1], DRAWS);
    assert_plausible(counts[0], 0.5);
    bn_sampler_free(&s);
}

/* top_p 0.75 over (0.5, 0.3, 0.15, 0.05): 0.5 < 0.75 <= 0.8 keeps 2 tokens. */
static void test_top_p(void **state)
{
    fixture *f = *state;
    const double probs[4] = { 0.15, 0.5, 0.05, 0.3 };
    float l[NV];
    logits_from_probs(l, probs, 4);
    bn_sampler_params p = plain();
    p.top_p = 0.75f;
    bn_sampler *s = make(f->model, &p);
    long counts[NV];
    draw(s, l, counts);
    assert_int_equal(counts[1] + counts[3], DRAWS);
    assert_plausible(counts[1], 0.5 / 0.8);
    bn_sampler_free(&s);

    /* top_p 0: only the most likely */
    p.top_p = 0.0f;
    s = make(f->model, &p);
    draw(s, l, counts);
    assert_int_equal(counts[1], DRAWS);
    bn_sampler_free(&s);
}

/* min_p 0.25: tokens at least a quarter as likely as the best stay. */
static void test_min_p(void **state)
{
    fixture *f = *state;
    const double probs[5] = { 0.4, 0.05, 0.3, 0.15, 0.11 };  /* cut at 0.1 */
    float l[NV];
    logits_from_probs(l, probs, 5);
    bn_sampler_params p = plain();
    p.min_p = 0.25f;
    bn_sampler *s = make(f->model, &p);
    long counts[NV];
    draw(s, l, counts);
    assert_int_equal(counts[0] + counts[2] + counts[3] + counts[4], DRAWS);
    assert_plausible(counts[0], 0.4 / 0.96);
    assert_plausible(counts[4], 0.11 / 0.96);
    bn_sampler_free(&s);
}

/* Temperature applies to what the filters left: T = 0.5 squares the odds. */
static void test_temperature(void **state)
{
    fixture *f = *state;
    const double probs[3] = { 0.6, 0.3, 0.1 };
    float l[NV];
    logits_from_probs(l, probs, 3);
    bn_sampler_params p = plain();
    p.temperature = 0.5f;
    p.top_k = 2;
    bn_sampler *s = make(f->model, &p);
    long counts[NV];
    draw(s, l, counts);
    assert_int_equal(counts[0] + counts[1], DRAWS);
    assert_plausible(counts[0], 0.36 / (0.36 + 0.09));
    bn_sampler_free(&s);

    /* a tiny temperature is greedy in effect */
    p.temperature = 1e-30f;
    p.top_k = 0;
    s = make(f->model, &p);
    draw(s, l, counts);
    assert_int_equal(counts[0], DRAWS);
    bn_sampler_free(&s);
}

/* The set a filter combination keeps, computed the slow way: sort, cut. */
static int rank_cmp(const void *a, const void *b, void *l)
{
    const float *v = l;
    int x = *(const int *)a, y = *(const int *)b;
    if (v[x] != v[y])
        return v[x] > v[y] ? -1 : 1;
    return x - y;
}

static int reference_set(const float *l, int top_k, float top_p, float min_p, int *keep)
{
    int order[NV];
    for (int i = 0; i < NV; i++)
        order[i] = i;
    qsort_r(order, NV, sizeof *order, rank_cmp, (void *)l);
    int n = top_k > 0 && top_k < NV ? top_k : NV;
    const float lmax = l[order[0]];
    double total = 0;
    for (int i = 0; i < n; i++)
        total += expf(l[order[i]] - lmax);
    int m = 0;
    double cum = 0;
    for (int i = 0; i < n; i++) {
        float w = expf(l[order[i]] - lmax);
        if (min_p > 0 && w < min_p)
            break;
        keep[m++] = order[i];
        cum += w;
        if (top_p < 1.0f && cum >= (double)top_p * total)
            break;
    }
    return m;
}

/* With a huge temperature the draw is uniform over the kept set: after
 * enough draws every kept token, and no other, has appeared. */
static void test_filters_against_reference(void **state)
{
    fixture *f = *state;
    uint64_t x = 12345;
    const int ks[] = { 0, 5, 20 };
    const float ps[] = { 0.3f, 0.9f, 1.0f }, mps[] = { 0.0f, 0.1f };
    for (int round = 0; round < 18; round++) {
        float l[NV];
        for (int i = 0; i < NV; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            l[i] = (float)((x >> 40) % 100000) * (round % 2 ? 1e-4f : 6e-5f);
        }
        bn_sampler_params p = plain();
        p.top_k = ks[round % 3];
        p.top_p = ps[(round / 3) % 3];
        p.min_p = mps[(round / 9) % 2];
        p.temperature = 1e30f;
        p.seed = (uint64_t)round;
        int keep[NV];
        int m = reference_set(l, p.top_k, p.top_p, p.min_p, keep);
        bn_sampler *s = make(f->model, &p);
        long counts[NV] = { 0 };
        for (int i = 0; i < 3000; i++) {
            bn_token t;
            assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
            counts[t]++;
        }
        int in_set[NV] = { 0 };
        for (int i = 0; i < m; i++)
            in_set[keep[i]] = 1;
        for (int i = 0; i < NV; i++)
            if ((counts[i] > 0) != in_set[i])
                fail_msg("round %d (k %d, p %g, min_p %g): token %d drawn %ld times, in the set: %d (set of %d)",
                         round, p.top_k, (double)p.top_p, (double)p.min_p, i, counts[i], in_set[i], m);
        bn_sampler_free(&s);
    }
}

/* Penalties change exactly the logits of tokens in the window. */
static void test_penalties(void **state)
{
    fixture *f = *state;
    float l[NV];
    for (int i = 0; i < NV; i++)
        l[i] = (float)(i % 5) - 2.0f;       /* -2 .. 2 */
    bn_sampler_params p = plain();
    p.temperature = 0.0f;
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.25f;
    p.presence_penalty = 0.5f;
    p.penalty_last_n = 4;
    bn_sampler *s = make(f->model, &p);
    /* window (4): 3 4 4 0 after the first 1 slides out */
    const bn_token hist[] = { 1, 3, 4, 4, 0 };
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++)
        assert_int_equal(bn_sampler_accept(s, hist[i]), BN_OK);
    bn_token t;
    assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
    for (int i = 0; i < NV; i++) {
        float want = l[i];
        if (i == 3)         /* logit 1, once */
            want = 1.0f / 2.0f - 0.25f - 0.5f;
        else if (i == 4)    /* logit 2, twice */
            want = 2.0f / 2.0f - 0.5f - 0.5f;
        else if (i == 0)    /* logit -2, once: multiplied */
            want = -2.0f * 2.0f - 0.25f - 0.5f;
        if (s->work[i] != want)
            fail_msg("token %d: penalised logit %g, expected %g", i, (double)s->work[i], (double)want);
    }
    /* greedy after penalties: 4 fell to 0, so the first logit 2 left is 9 */
    assert_int_equal(t, 9);
    /* the sampled token joined the window: 4 4 0 9 */
    assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
    assert_true(s->work[9] == 2.0f / 2.0f - 0.25f - 0.5f);
    assert_true(s->work[3] == l[3]);
    bn_sampler_free(&s);

    /* penalty_last_n = 0: no window at all */
    p.penalty_last_n = 0;
    s = make(f->model, &p);
    assert_int_equal(bn_sampler_accept(s, 4), BN_OK);
    assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
    assert_int_equal(t, 4);
    bn_sampler_free(&s);
}

static void sequence(bn_sampler *s, const float *l, bn_token *out, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(bn_sampler_sample(s, l, &out[i]), BN_OK);
}

/* The same seed gives the same tokens; another seed other tokens; reset
 * starts again from the seed with an empty window. */
static void test_seed_and_reset(void **state)
{
    fixture *f = *state;
    float l[NV];
    for (int i = 0; i < NV; i++)
        l[i] = (float)(i % 9) * 0.3f;
    bn_sampler_params p;
    bn_sampler_params_default(&p);
    p.repeat_penalty = 1.3f;
    p.seed = 1234;
    bn_sampler *a = make(f->model, &p), *b = make(f->model, &p);
    p.seed = 1235;
    bn_sampler *c = make(f->model, &p);
    bn_token sa[200], sb[200], sc[200];
    sequence(a, l, sa, 200);
    sequence(b, l, sb, 200);
    sequence(c, l, sc, 200);
    assert_memory_equal(sa, sb, sizeof sa);
    assert_memory_not_equal(sa, sc, sizeof sa);
    bn_sampler_reset(a);
    sequence(a, l, sb, 200);
    assert_memory_equal(sa, sb, sizeof sa);
    bn_sampler_reset(NULL);

    /* reset empties the window: greedy picks the penalised token again */
    bn_sampler_free(&a);
    p.temperature = 0.0f;
    p.repeat_penalty = 10.0f;
    a = make(f->model, &p);
    bn_token t;
    assert_int_equal(bn_sampler_sample(a, l, &t), BN_OK);
    assert_int_equal(t, 8);
    assert_int_equal(bn_sampler_sample(a, l, &t), BN_OK);
    assert_int_equal(t, 17);
    bn_sampler_reset(a);
    assert_int_equal(bn_sampler_sample(a, l, &t), BN_OK);
    assert_int_equal(t, 8);
    bn_sampler_free(&a);
    bn_sampler_free(&b);
    bn_sampler_free(&c);
}

/* Only a finite logit (or +inf) can be picked. */
static void test_special_logits(void **state)
{
    fixture *f = *state;
    float l[NV];
    bn_sampler_params p = plain();
    bn_sampler *s = make(f->model, &p);
    bn_token t = 77;
    for (int i = 0; i < NV; i++)
        l[i] = i % 2 ? NAN : -INFINITY;
    assert_int_equal(bn_sampler_sample(s, l, &t), BN_E_INVALID_ARG);
    assert_int_equal(t, 77);
    assert_non_null(strstr(bn_last_error(), "-inf"));
    l[30] = 0.0f;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
        assert_int_equal(t, 30);
    }
    l[12] = INFINITY;
    l[40] = INFINITY;
    assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
    assert_int_equal(t, 12);
    bn_sampler_free(&s);
}

static void expect_bad(const bn_model *m, const bn_sampler_params *p, const char *field)
{
    bn_sampler *s = (bn_sampler *)(uintptr_t)1;
    assert_int_equal(bn_sampler_new(&s, m, p), BN_E_INVALID_ARG);
    assert_null(s);
    if (!strstr(bn_last_error(), field))
        fail_msg("message '%s' does not name %s", bn_last_error(), field);
}

static void test_param_validation(void **state)
{
    fixture *f = *state;
    bn_sampler_params p;
#define BAD(field, value)                     \
    do {                                      \
        bn_sampler_params_default(&p);        \
        p.field = value;                      \
        expect_bad(f->model, &p, #field);     \
    } while (0)
    BAD(temperature, NAN);
    BAD(temperature, INFINITY);
    BAD(temperature, -1.0f);        /* an error, not greedy: 0 is greedy */
    BAD(temperature, -1e-30f);
    BAD(temperature, -INFINITY);
    BAD(top_k, -1);
    BAD(top_p, -0.1f);
    BAD(top_p, 1.5f);
    BAD(top_p, NAN);
    BAD(min_p, -0.01f);
    BAD(min_p, 2.0f);
    BAD(repeat_penalty, 0.0f);
    BAD(repeat_penalty, -1.0f);
    BAD(repeat_penalty, INFINITY);
    BAD(frequency_penalty, NAN);
    BAD(presence_penalty, -INFINITY);
    BAD(penalty_last_n, -1);
    BAD(penalty_last_n, BN_SAMPLER_MAX_WINDOW + 1);
#undef BAD
    /* edges that are fine */
    bn_sampler_params_default(&p);
    p.top_p = 0.0f;
    p.min_p = 1.0f;
    p.top_k = 1000000;
    p.penalty_last_n = 0;
    p.frequency_penalty = -1.0f;
    bn_sampler *s = make(f->model, &p);
    bn_sampler_free(&s);
    bn_sampler_params_default(&p);
    p.temperature = 0.0f;           /* greedy */
    s = make(f->model, &p);
    bn_sampler_free(&s);
    p.temperature = -0.0f;          /* compares equal to 0: greedy too */
    s = make(f->model, &p);
    bn_sampler_free(&s);
    p.temperature = 1e30f;
    p.repeat_penalty = 1e-30f;
    p.penalty_last_n = BN_SAMPLER_MAX_WINDOW;
    s = make(f->model, &p);
    bn_sampler_free(&s);
    /* NULL params = defaults */
    s = make(f->model, NULL);
    bn_sampler_free(&s);
}

static void test_null_arguments(void **state)
{
    fixture *f = *state;
    bn_sampler *s = NULL;
    assert_int_equal(bn_sampler_new(NULL, f->model, NULL), BN_E_INVALID_ARG);
    s = (bn_sampler *)(uintptr_t)1;
    assert_int_equal(bn_sampler_new(&s, NULL, NULL), BN_E_INVALID_ARG);
    assert_null(s);
    s = make(f->model, NULL);
    float l[NV] = { 0 };
    bn_token t;
    assert_int_equal(bn_sampler_sample(NULL, l, &t), BN_E_INVALID_ARG);
    assert_int_equal(bn_sampler_sample(s, NULL, &t), BN_E_INVALID_ARG);
    assert_int_equal(bn_sampler_sample(s, l, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_sampler_accept(NULL, 0), BN_E_INVALID_ARG);
    assert_int_equal(bn_sampler_accept(s, -1), BN_E_RANGE);
    assert_int_equal(bn_sampler_accept(s, NV), BN_E_RANGE);
    assert_int_equal(bn_sampler_accept(s, NV - 1), BN_OK);
    bn_sampler_free(&s);
    bn_sampler_free(&s);
    bn_sampler_free(NULL);
}

/* Every buffer comes from bn_sampler_new: sampling and accepting never
 * allocate, whatever the filters. */
static void test_no_allocation_per_token(void **state)
{
    fixture *f = *state;
    float l[NV];
    for (int i = 0; i < NV; i++)
        l[i] = sinf((float)i);
    bn_sampler_params variants[4];
    variants[0] = plain();
    bn_sampler_params_default(&variants[1]);
    variants[1].repeat_penalty = 1.1f;
    variants[1].frequency_penalty = 0.1f;
    variants[2] = plain();
    variants[2].top_p = 0.9f;       /* sorts */
    variants[3] = plain();
    variants[3].temperature = 0.0f;
    for (int v = 0; v < 4; v++) {
        bn_sampler *s = make(f->model, &variants[v]);
        long before = bn_test_alloc_count();
        for (int i = 0; i < 1000; i++) {
            bn_token t;
            assert_int_equal(bn_sampler_sample(s, l, &t), BN_OK);
            assert_int_equal(bn_sampler_accept(s, (bn_token)(i % NV)), BN_OK);
        }
        bn_sampler_reset(s);
        assert_int_equal(bn_test_alloc_count() - before, 0);
        bn_sampler_free(&s);
    }
}

/* Out of memory in bn_sampler_new at each allocation: an error, no leak. */
static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    for (long k = 0;; k++) {
        bn_sampler *s = NULL;
        bn_test_alloc_fail_after(k);
        int rc = bn_sampler_new(&s, f->model, NULL);
        bn_test_alloc_fail_after(-1);
        if (rc == BN_OK) {
            assert_true(k > 0);
            bn_sampler_free(&s);
            break;
        }
        assert_int_equal(rc, BN_E_NOMEM);
        assert_null(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_plain_distribution),
        cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_top_p),
        cmocka_unit_test(test_min_p),
        cmocka_unit_test(test_temperature),
        cmocka_unit_test(test_filters_against_reference),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_seed_and_reset),
        cmocka_unit_test(test_special_logits),
        cmocka_unit_test(test_param_validation),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_no_allocation_per_token),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
