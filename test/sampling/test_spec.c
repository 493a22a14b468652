/* Speculative decoding: greedy output equals plain decoding token for token
 * on the bundled model (with drafts accepted on repeating text); the
 * acceptance rule reproduces the sampler's filtered distribution (a
 * statistical check of bn_spec_judge against bn_sampler_probs); errors,
 * cancellation and the counters; the split form (bn_spec_draft,
 * bn_spec_accept) in a batch shared by two sequences equals the step; a
 * draft model (the bundled model drafting for itself, in a second context)
 * gives the same tokens, and its errors. */
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

#include "mkmodel.h"
#include "sampling/sampler.h"
#include "sampling/speculative.h"

#define MODEL BN_TEST_SRCDIR "/../models/default.gguf"

/* Text that repeats: the lookup finds its continuations. */
static const char prompt_text[] =
    "In the beginning God created the heaven and the earth. And the earth was without form, and void; "
    "and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. "
    "In the beginning God created the heaven and the earth. And the earth was without form, and void; "
    "and darkness was upon the face";

typedef struct fixture {
    bn_model *m;
    bn_token prompt[256];
    size_t n_prompt;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (bn_model_load(&f->m, MODEL, NULL))
        return -1;
    if (bn_tokenize(f->m, prompt_text, strlen(prompt_text), f->prompt, 256, BN_TOKENIZE_ADD_SPECIAL,
                    &f->n_prompt))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bn_model_free(&f->m);
    free(f);
    return 0;
}

static bn_ctx *new_ctx(bn_model *m)
{
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_ctx = 512;
    p.n_threads = 2;
    bn_ctx *c = NULL;
    if (bn_ctx_new(&c, m, &p))
        fail_msg("bn_ctx_new: %s", bn_last_error());
    return c;
}

static bn_sampler *greedy(bn_model *m)
{
    bn_sampler_params sp;
    bn_sampler_params_default(&sp);
    sp.temperature = 0.0f;
    sp.repeat_penalty = 1.1f;           /* the window matters: it must see every token */
    bn_sampler *s = NULL;
    assert_int_equal(bn_sampler_new(&s, m, &sp), BN_OK);
    return s;
}

#define N_GEN 96

/* The prompt into the sampler's penalty window and sequence 0 of c, and
 * the decoder started on it (if any). */
static void start(fixture *f, bn_ctx *c, bn_sampler *s, bn_spec *spec)
{
    for (size_t i = 0; i < f->n_prompt; i++)
        bn_sampler_accept(s, f->prompt[i]);
    assert_int_equal(bn_decode(c, f->prompt, f->n_prompt), BN_OK);
    if (spec)
        assert_int_equal(bn_spec_begin(spec, f->prompt, f->n_prompt), BN_OK);
}

/* Plain greedy decoding of n tokens after the prompt. */
static void plain_greedy(fixture *f, bn_token *out, int n)
{
    bn_ctx *c = new_ctx(f->m);
    bn_sampler *s = greedy(f->m);
    start(f, c, s, NULL);
    for (int i = 0; i < n; i++) {
        assert_int_equal(bn_sampler_sample(s, bn_ctx_logits(c), &out[i]), BN_OK);
        assert_int_equal(bn_decode(c, &out[i], 1), BN_OK);
    }
    bn_ctx_free(&c);
    bn_sampler_free(&s);
}

static void test_greedy_equals_plain(void **state)
{
    fixture *f = *state;
    bn_token plain[N_GEN];
    plain_greedy(f, plain, N_GEN);
    /* 64: more drafts than the context keeps logits rows for (16 by
     * default): the step drafts fewer, never a failing pass */
    for (int n_draft = 1; n_draft <= 64; n_draft *= 4) {
        bn_ctx *c = new_ctx(f->m);
        bn_sampler *s = greedy(f->m);
        bn_spec_params sp;
        bn_spec_params_default(&sp);
        sp.n_draft_max = n_draft;
        sp.draft_cost = 0.001f;            /* long drafts pay: the caps are reached */
        bn_spec *spec = NULL;
        assert_int_equal(bn_spec_new(&spec, &sp), BN_OK);
        start(f, c, s, spec);
        bn_token got[N_GEN + 65];
        size_t n_got = 0;
        while (n_got < N_GEN) {
            size_t n = 0;
            if (bn_spec_step(spec, c, 0, s, got + n_got, 65, &n))
                fail_msg("bn_spec_step: %s", bn_last_error());
            assert_true(n >= 1 && n <= (size_t)n_draft + 1);
            n_got += n;
        }
        for (int i = 0; i < N_GEN; i++)
            if (got[i] != plain[i])
                fail_msg("n_draft %d: token %d is %d, plain decoding gives %d", n_draft, i, got[i], plain[i]);
        bn_spec_stats st;
        bn_spec_get_stats(spec, &st);
        assert_int_equal(st.n_tokens, (int64_t)n_got);
        assert_true(st.n_accepted <= st.n_drafted);
        /* the repeating text is drafted and accepted, so fewer passes than tokens */
        assert_true(st.n_accepted > 0);
        assert_true(st.n_steps < (int64_t)n_got);
        print_message("n_draft %d: %lld tokens in %lld passes, %lld of %lld drafted accepted\n", n_draft,
                      (long long)st.n_tokens, (long long)st.n_steps, (long long)st.n_accepted,
                      (long long)st.n_drafted);
        /* the cache holds every returned token but the pending one */
        const int32_t pos = bn_ctx_pos(c);
        assert_true(pos == (int32_t)(f->n_prompt + n_got) || pos == (int32_t)(f->n_prompt + n_got - 1));
        bn_spec_free(&spec);
        bn_ctx_free(&c);
        bn_sampler_free(&s);
    }
}

/* The acceptance rule: for a fixed draft, the returned token is distributed
 * as the sampler's filtered distribution p. */
static void test_acceptance_rule_distribution(void **state)
{
    fixture *f = *state;
    const int32_t nv = bn_model_n_vocab(f->m);
    float *logits = calloc((size_t)nv, sizeof *logits);
    for (int32_t i = 0; i < nv; i++)
        logits[i] = -30.0f;
    const float few[6] = { 2.0f, 1.5f, 1.2f, 0.3f, -0.5f, 1.0f };
    for (int i = 0; i < 6; i++)
        logits[10 * i + 3] = few[i];
    bn_sampler_params sp;
    bn_sampler_params_default(&sp);
    sp.temperature = 0.9f;
    sp.top_k = 0;
    sp.top_p = 1.0f;
    sp.min_p = 0.0f;
    sp.penalty_last_n = 0;
    bn_sampler *s = NULL;
    assert_int_equal(bn_sampler_new(&s, f->m, &sp), BN_OK);
    bn_token ids[64];
    float probs[64];
    size_t n = 0;
    assert_int_equal(bn_sampler_probs(s, logits, NULL, NULL, 0, &n), BN_E_RANGE);
    assert_int_equal(bn_sampler_probs(s, logits, ids, probs, nv < 64 ? (size_t)nv : 64, &n), BN_E_RANGE);
    float *allp = malloc((size_t)nv * sizeof *allp);
    bn_token *allid = malloc((size_t)nv * sizeof *allid);
    assert_int_equal(bn_sampler_probs(s, logits, allid, allp, (size_t)nv, &n), BN_OK);
    double *want = calloc((size_t)nv, sizeof *want), total = 0;
    for (size_t i = 0; i < n; i++) {
        want[allid[i]] = allp[i];
        total += allp[i];
    }
    assert_true(fabs(total - 1.0) < 1e-5);
    /* drafts: the likeliest, a middling and an unlikely token, one outside */
    const bn_token drafts[4] = { 3, 23, 43, 7 };
    const int trials = 40000;
    long *count = calloc((size_t)nv, sizeof *count);
    for (int d = 0; d < 4; d++) {
        memset(count, 0, (size_t)nv * sizeof *count);
        for (int i = 0; i < trials; i++) {
            int keep;
            bn_token next;
            assert_int_equal(bn_spec_judge(s, logits, drafts[d], &keep, &next), BN_OK);
            assert_true(keep == (next == drafts[d]));
            count[next]++;
        }
        for (int32_t t = 0; t < nv; t++) {
            const double got = (double)count[t] / trials, sd = sqrt(want[t] * (1 - want[t]) / trials);
            if (fabs(got - want[t]) > 5 * sd + 1e-9)
                fail_msg("draft %d: token %d returned %.4f of the time, p = %.4f", drafts[d], t, got, want[t]);
        }
    }
    free(count);
    free(want);
    free(allp);
    free(allid);
    free(logits);
    bn_sampler_free(&s);
}

typedef struct stop_after {
    int calls, at;
} stop_after;

static int stop_cb(void *u)
{
    stop_after *a = u;
    return ++a->calls == a->at;
}

static void test_errors_and_cancel(void **state)
{
    fixture *f = *state;
    bn_ctx *c = new_ctx(f->m);
    bn_sampler *s = greedy(f->m);
    bn_spec *spec = NULL;
    bn_spec_params sp;
    bn_spec_params_default(&sp);
    assert_int_equal(bn_spec_new(&spec, &sp), BN_OK);
    bn_token out[9];
    size_t n = 5;
    /* no logits yet */
    assert_int_equal(bn_spec_begin(spec, f->prompt, f->n_prompt), BN_OK);
    assert_int_equal(bn_spec_step(spec, c, 0, s, out, 9, &n), BN_E_INVALID_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(bn_decode(c, f->prompt, f->n_prompt), BN_OK);
    assert_int_equal(bn_spec_step(spec, c, 0, s, out, 8, &n), BN_E_INVALID_ARG);   /* room */
    assert_int_equal(bn_spec_step(spec, c, 1, s, out, 9, &n), BN_E_RANGE);
    assert_int_equal(bn_spec_step(NULL, c, 0, s, out, 9, &n), BN_E_INVALID_ARG);
    /* the first step picks from the prompt's logits, without a pass */
    assert_int_equal(bn_spec_step(spec, c, 0, s, out, 9, &n), BN_OK);
    assert_int_equal(n, 1);
    const bn_token first = out[0];
    const int32_t pos = bn_ctx_pos(c);
    /* a cancelled pass changes nothing: the same step then succeeds as it
     * would have (greedy: the same tokens as a decoder never cancelled) */
    stop_after a = { 0, 2 };
    bn_ctx_set_abort_callback(c, stop_cb, &a);
    assert_int_equal(bn_spec_step(spec, c, 0, s, out, 9, &n), BN_E_CANCELLED);
    assert_int_equal(bn_ctx_pos(c), pos);
    bn_ctx_set_abort_callback(c, NULL, NULL);
    assert_int_equal(bn_spec_step(spec, c, 0, s, out, 9, &n), BN_OK);
    assert_true(n >= 1);
    bn_token plain = 0;
    assert_int_equal(bn_decode(c, &first, 0) == BN_E_INVALID_ARG, 1);
    bn_ctx *c2 = new_ctx(f->m);
    bn_sampler *s2 = greedy(f->m);
    for (size_t i = 0; i < f->n_prompt; i++)
        bn_sampler_accept(s2, f->prompt[i]);
    assert_int_equal(bn_decode(c2, f->prompt, f->n_prompt), BN_OK);
    assert_int_equal(bn_sampler_sample(s2, bn_ctx_logits(c2), &plain), BN_OK);
    assert_int_equal(plain, first);
    assert_int_equal(bn_decode(c2, &plain, 1), BN_OK);
    assert_int_equal(bn_sampler_sample(s2, bn_ctx_logits(c2), &plain), BN_OK);
    assert_int_equal(plain, out[0]);
    bn_ctx_free(&c2);
    bn_sampler_free(&s2);
    /* parameters */
    bn_spec *bad = NULL;
    sp.n_draft_max = 65;
    assert_int_equal(bn_spec_new(&bad, &sp), BN_E_INVALID_ARG);
    bn_spec_params_default(&sp);
    sp.ngram_min = 5;
    sp.ngram_max = 4;
    assert_int_equal(bn_spec_new(&bad, &sp), BN_E_INVALID_ARG);
    bn_spec_params_default(&sp);
    sp.draft_cost = -1.0f;
    assert_int_equal(bn_spec_new(&bad, &sp), BN_E_INVALID_ARG);
    bn_spec_params_default(&sp);
    sp.reserved[3] = 1;
    assert_int_equal(bn_spec_new(&bad, &sp), BN_E_INVALID_ARG);
    assert_null(bad);
    assert_int_equal(bn_spec_begin(spec, NULL, 3), BN_E_INVALID_ARG);
    bn_spec_free(&spec);
    assert_null(spec);
    bn_spec_free(NULL);
    bn_sampler_free(&s);
    bn_ctx_free(&c);
}

/* No repetition, a high draft cost: drafting pauses and probes rarely. */
static void test_drafting_pauses(void **state)
{
    fixture *f = *state;
    bn_spec_params sp;
    bn_spec_params_default(&sp);
    sp.draft_cost = 1.5f;               /* one drafted token costs more than it can bring */
    bn_spec *spec = NULL;
    assert_int_equal(bn_spec_new(&spec, &sp), BN_OK);
    assert_int_equal(bn_spec_draft_len(spec), 0);
    spec->accept_rate = 0.95;
    sp.draft_cost = 0.05f;
    bn_spec_free(&spec);
    assert_int_equal(bn_spec_new(&spec, &sp), BN_OK);
    spec->accept_rate = 0.95;
    assert_int_equal(bn_spec_draft_len(spec), 8);
    spec->accept_rate = 0.02;
    assert_int_equal(bn_spec_draft_len(spec), 0);
    bn_spec_free(&spec);
    (void)f;
}

/* A draft longer than the rows of logits a context keeps (16 by default):
 * the step checks fewer tokens instead of failing its pass. */
static void test_draft_longer_than_outputs(void **state)
{
    fixture *f = *state;
    bn_token hist[100];
    for (int i = 0; i < 100; i++)
        hist[i] = (bn_token)(7 + (i % 48) * 13 % 1500);     /* 48 tokens, then again */
    bn_ctx *c = new_ctx(f->m);
    bn_sampler *s = greedy(f->m);
    bn_spec_params sp;
    bn_spec_params_default(&sp);
    sp.n_draft_max = 64;
    sp.draft_cost = 0.0f;
    bn_spec *spec = NULL;
    assert_int_equal(bn_spec_new(&spec, &sp), BN_OK);
    spec->accept_rate = 0.99;           /* as after a long run of accepted drafts */
    assert_int_equal(bn_spec_draft_len(spec), 64);
    /* the history's last token pending, as after a step: the next step
     * drafts what followed its earlier occurrence, 36 tokens and more */
    assert_int_equal(bn_decode(c, hist, 59), BN_OK);
    assert_int_equal(bn_spec_begin(spec, hist, 60), BN_OK);
    spec->has_pending = 1;
    bn_token out[65];
    size_t n = 0;
    for (int step = 0; step < 2; step++)
        if (bn_spec_step(spec, c, 0, s, out, 65, &n))
            fail_msg("step %d: %s", step, bn_last_error());
    bn_spec_stats st;
    bn_spec_get_stats(spec, &st);
    assert_true(st.n_drafted > 0);
    assert_true(st.n_drafted <= 2 * 15);    /* at most 15 drafts a pass: 16 rows */
    bn_spec_free(&spec);
    bn_sampler_free(&s);
    bn_ctx_free(&c);
}

/* The split form (bn_spec_draft, a shared pass, bn_spec_accept) for two
 * sequences decoded in one batch returns exactly what bn_spec_step returns
 * for each alone: the same tokens with greedy and with seeded random
 * sampling (the same drafts, the same rule, the same draws), with the same
 * counters. So the step's tests (greedy equals plain, the acceptance rule's
 * distribution) hold for the split form too. */
#define N_SPLIT 2

static void run_alone(fixture *f, const bn_token *prompt, size_t n_prompt, const bn_sampler_params *smp_p,
                      const bn_spec_params *sp, bn_token *out, size_t n_want, bn_spec_stats *st)
{
    bn_ctx *c = new_ctx(f->m);
    bn_sampler *s = NULL;
    assert_int_equal(bn_sampler_new(&s, f->m, smp_p), BN_OK);
    bn_spec *spec = NULL;
    assert_int_equal(bn_spec_new(&spec, sp), BN_OK);
    for (size_t i = 0; i < n_prompt; i++)
        bn_sampler_accept(s, prompt[i]);
    assert_int_equal(bn_decode(c, prompt, n_prompt), BN_OK);
    assert_int_equal(bn_spec_begin(spec, prompt, n_prompt), BN_OK);
    size_t n_got = 0;
    while (n_got < n_want) {
        size_t n = 0;
        if (bn_spec_step(spec, c, 0, s, out + n_got, 65, &n))
            fail_msg("bn_spec_step: %s", bn_last_error());
        n_got += n;
    }
    bn_spec_get_stats(spec, st);
    bn_spec_free(&spec);
    bn_sampler_free(&s);
    bn_ctx_free(&c);
}

static void run_split(fixture *f, const bn_token *const *prompt, const size_t *n_prompt,
                      const bn_sampler_params *smp_p, const bn_spec_params *sp, bn_token (*out)[N_GEN + 65],
                      size_t n_want, bn_spec_stats *st)
{
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = 512;
    cp.n_threads = 2;
    cp.n_seq_max = N_SPLIT;
    cp.n_outputs_max = N_SPLIT * (sp->n_draft_max + 1);
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new(&c, f->m, &cp), BN_OK);
    bn_batch *b = NULL;
    assert_int_equal(bn_batch_new(&b, 512), BN_OK);
    bn_sampler *s[N_SPLIT];
    bn_spec *spec[N_SPLIT];
    size_t n_got[N_SPLIT] = { 0 };
    int32_t first[N_SPLIT];
    /* both prompts in one pass */
    for (int q = 0; q < N_SPLIT; q++) {
        assert_int_equal(bn_sampler_new(&s[q], f->m, smp_p), BN_OK);
        assert_int_equal(bn_spec_new(&spec[q], sp), BN_OK);
        for (size_t i = 0; i < n_prompt[q]; i++) {
            bn_sampler_accept(s[q], prompt[q][i]);
            assert_int_equal(bn_batch_add(b, prompt[q][i], q, BN_POS_NEXT, i + 1 == n_prompt[q]), BN_OK);
        }
        first[q] = bn_batch_n_tokens(b) - 1;
        assert_int_equal(bn_spec_begin(spec[q], prompt[q], n_prompt[q]), BN_OK);
    }
    assert_int_equal(bn_decode_batch(c, b), BN_OK);
    bn_token draft[N_SPLIT][64];
    size_t n_draft[N_SPLIT] = { 0 };
    for (;;) {
        for (int q = 0; q < N_SPLIT; q++) {
            if (first[q] < 0)
                continue;
            const float *rows[65];
            for (size_t j = 0; j <= n_draft[q]; j++)
                assert_non_null(rows[j] = bn_ctx_batch_logits(c, first[q] + (int32_t)j));
            size_t n = 0;
            if (bn_spec_accept(spec[q], c, q, s[q], rows, draft[q], n_draft[q], out[q] + n_got[q], 65, &n))
                fail_msg("bn_spec_accept: %s", bn_last_error());
            assert_true(n >= 1 && n <= n_draft[q] + 1);
            n_got[q] += n;
            /* the rejected drafts left the cache, and with them their logits */
            assert_int_equal(bn_ctx_seq_pos(c, q), (int32_t)(n_prompt[q] + n_got[q] - 1));
            if (n < n_draft[q] + 1)
                assert_null(bn_ctx_batch_logits(c, first[q]));
        }
        bn_batch_clear(b);
        for (int q = 0; q < N_SPLIT; q++) {
            first[q] = -1;
            n_draft[q] = 0;
            if (n_got[q] >= n_want)
                continue;
            if (bn_spec_draft(spec[q], c, q, draft[q], 64, &n_draft[q]))
                fail_msg("bn_spec_draft: %s", bn_last_error());
            first[q] = bn_batch_n_tokens(b);
            bn_batch_add(b, out[q][n_got[q] - 1], q, BN_POS_NEXT, 1);
            for (size_t j = 0; j < n_draft[q]; j++)
                bn_batch_add(b, draft[q][j], q, BN_POS_NEXT, 1);
        }
        if (!bn_batch_n_tokens(b))
            break;
        if (bn_decode_batch(c, b))
            fail_msg("bn_decode_batch: %s", bn_last_error());
    }
    for (int q = 0; q < N_SPLIT; q++) {
        bn_spec_get_stats(spec[q], &st[q]);
        bn_spec_free(&spec[q]);
        bn_sampler_free(&s[q]);
    }
    bn_batch_free(&b);
    bn_ctx_free(&c);
}

static void test_split_equals_step(void **state)
{
    fixture *f = *state;
    const bn_token *prompt[N_SPLIT] = { f->prompt, f->prompt + 9 };
    const size_t n_prompt[N_SPLIT] = { f->n_prompt, f->n_prompt - 9 };
    bn_spec_params sp;
    bn_spec_params_default(&sp);
    sp.draft_cost = 0.02f;
    for (int sampled = 0; sampled < 2; sampled++) {
        bn_sampler_params smp;
        bn_sampler_params_default(&smp);
        smp.temperature = sampled ? 0.8f : 0.0f;
        smp.repeat_penalty = 1.05f;
        smp.seed = 77;
        bn_token split[N_SPLIT][N_GEN + 65];
        bn_spec_stats st_split[N_SPLIT];
        run_split(f, prompt, n_prompt, &smp, &sp, split, N_GEN, st_split);
        for (int q = 0; q < N_SPLIT; q++) {
            bn_token alone[N_GEN + 65];
            bn_spec_stats st;
            run_alone(f, prompt[q], n_prompt[q], &smp, &sp, alone, N_GEN, &st);
            for (int i = 0; i < N_GEN; i++)
                if (split[q][i] != alone[i])
                    fail_msg("%s, sequence %d: token %d is %d in the shared batch, %d alone",
                             sampled ? "sampled" : "greedy", q, i, split[q][i], alone[i]);
            assert_int_equal(st.n_steps, st_split[q].n_steps);
            assert_int_equal(st.n_drafted, st_split[q].n_drafted);
            assert_int_equal(st.n_accepted, st_split[q].n_accepted);
            assert_int_equal(st.n_tokens, st_split[q].n_tokens);
            assert_true(st.n_accepted > 0);
            print_message("%s, sequence %d: %lld tokens in %lld passes, %lld of %lld drafted accepted\n",
                          sampled ? "sampled" : "greedy", q, (long long)st.n_tokens, (long long)st.n_steps,
                          (long long)st.n_accepted, (long long)st.n_drafted);
        }
    }
}

static void test_split_errors(void **state)
{
    fixture *f = *state;
    bn_ctx *c = new_ctx(f->m);
    bn_sampler *s = greedy(f->m);
    bn_spec *spec = NULL;
    assert_int_equal(bn_spec_new(&spec, NULL), BN_OK);
    bn_token draft[8] = { 0 }, out[9];
    size_t n = 7;
    assert_int_equal(bn_spec_begin(spec, f->prompt, f->n_prompt), BN_OK);
    assert_int_equal(bn_decode(c, f->prompt, f->n_prompt), BN_OK);
    /* no drafts before the first token */
    assert_int_equal(bn_spec_draft(spec, c, 0, draft, 8, &n), BN_OK);
    assert_int_equal(n, 0);
    assert_int_equal(bn_spec_draft(spec, c, 1, draft, 8, &n), BN_E_RANGE);
    assert_int_equal(bn_spec_draft(NULL, c, 0, draft, 8, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_spec_draft(spec, c, 0, NULL, 8, &n), BN_E_INVALID_ARG);
    const float *rows[9] = { bn_ctx_logits(c) };
    assert_int_equal(bn_spec_accept(spec, c, 0, s, rows, draft, 1, out, 9, &n), BN_E_INVALID_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(bn_spec_accept(spec, c, 0, s, rows, NULL, 0, out, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_spec_accept(spec, c, 1, s, rows, NULL, 0, out, 1, &n), BN_E_RANGE);
    assert_int_equal(bn_spec_accept(spec, c, 0, NULL, rows, NULL, 0, out, 1, &n), BN_E_INVALID_ARG);
    const float *none[1] = { NULL };
    assert_int_equal(bn_spec_accept(spec, c, 0, s, none, NULL, 0, out, 1, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_spec_accept(spec, c, 0, s, rows, NULL, 0, out, 1, &n), BN_OK);
    assert_int_equal(n, 1);
    /* a pass of the pending token and one draft, then a draft out of range */
    assert_int_equal(bn_decode(c, out, 1), BN_OK);
    assert_int_equal(bn_decode(c, out, 1), BN_OK);
    rows[0] = rows[1] = bn_ctx_logits(c);
    draft[0] = bn_model_n_vocab(f->m);
    assert_int_equal(bn_spec_accept(spec, c, 0, s, rows, draft, 1, out + 1, 2, &n), BN_E_RANGE);
    assert_int_equal(bn_spec_accept(spec, c, 0, s, rows, draft, 1, out + 1, 1, &n), BN_E_INVALID_ARG);
    bn_spec_free(&spec);
    bn_sampler_free(&s);
    bn_ctx_free(&c);
}

/* Greedy generation with drafts from a draft context's sequence dseq (the
 * bundled model drafting for itself): the tokens of plain decoding. A
 * draft context of n_ctx 32, shorter than the prompt, drafts nothing and
 * must still give them. */
static void test_draft_model(void **state)
{
    fixture *f = *state;
    bn_token plain[N_GEN];
    plain_greedy(f, plain, N_GEN);
    for (int variant = 0; variant < 2; variant++) {
        bn_ctx *c = new_ctx(f->m), *d = NULL;
        bn_ctx_params dp;
        bn_ctx_params_default(&dp);
        dp.n_ctx = variant ? 32 : 512;
        dp.n_seq_max = 2;
        dp.n_threads = 1;
        assert_int_equal(bn_ctx_new(&d, f->m, &dp), BN_OK);
        /* the caller's tokens in the draft context's other sequence stay */
        bn_batch *b = NULL;
        assert_int_equal(bn_batch_new(&b, 4), BN_OK);
        for (int i = 0; i < 3; i++)
            assert_int_equal(bn_batch_add(b, f->prompt[i], 0, BN_POS_NEXT, i == 2), BN_OK);
        assert_int_equal(bn_decode_batch(d, b), BN_OK);
        bn_sampler *s = greedy(f->m);
        bn_spec_params sp;
        bn_spec_params_default(&sp);
        sp.n_draft_max = 6;
        bn_spec *spec = NULL;
        assert_int_equal(bn_spec_new(&spec, &sp), BN_OK);
        assert_int_equal(bn_spec_set_draft_model(spec, d, 1, 0.05f), BN_OK);
        start(f, c, s, spec);
        bn_token got[N_GEN + 8];
        size_t n_got = 0;
        while (n_got < N_GEN) {
            size_t n = 0;
            if (bn_spec_step(spec, c, 0, s, got + n_got, 8, &n))
                fail_msg("bn_spec_step: %s", bn_last_error());
            n_got += n;
            /* the draft sequence holds a prefix of what was generated, plus drafts */
            assert_true(bn_ctx_seq_pos(d, 1) <= (int32_t)(f->n_prompt + n_got + 6));
        }
        for (int i = 0; i < N_GEN; i++)
            if (got[i] != plain[i])
                fail_msg("draft n_ctx %d: token %d is %d, plain decoding gives %d", dp.n_ctx, i, got[i], plain[i]);
        bn_spec_stats st;
        bn_spec_get_stats(spec, &st);
        print_message("draft model, n_ctx %d: %lld tokens in %lld passes, %lld of %lld drafted accepted\n",
                      dp.n_ctx, (long long)st.n_tokens, (long long)st.n_steps, (long long)st.n_accepted,
                      (long long)st.n_drafted);
        if (variant) {
            assert_int_equal(st.n_drafted, 0);
        } else {
            /* the model agrees with itself but for the penalty's changes */
            assert_true(st.n_accepted * 10 >= st.n_drafted * 7);
            assert_true(st.n_steps * 2 < (int64_t)n_got);
        }
        assert_int_equal(bn_ctx_seq_pos(d, 0), 3);
        /* the draft sequence emptied behind the decoder's back: the decoder
         * starts it again and its record matches the cache */
        if (!variant) {
            assert_int_equal(bn_ctx_seq_clear(d, 1), BN_OK);
            size_t n2 = 0;
            bn_token more[8];
            assert_int_equal(bn_spec_step(spec, c, 0, s, more, 8, &n2), BN_OK);
            assert_true(n2 >= 1);
            assert_int_equal(bn_ctx_seq_pos(d, 1), (int32_t)spec->n_dtok);
        }
        /* errors: a sequence or a cost out of range (the decoder keeps its
         * draft model) */
        assert_int_equal(bn_spec_set_draft_model(spec, d, 2, 0.1f), BN_E_RANGE);
        assert_int_equal(bn_spec_set_draft_model(spec, d, -1, 0.1f), BN_E_RANGE);
        assert_int_equal(bn_spec_set_draft_model(spec, d, 1, -0.5f), BN_E_INVALID_ARG);
        assert_int_equal(bn_spec_set_draft_model(NULL, d, 1, 0.1f), BN_E_INVALID_ARG);
        assert_true(spec->dctx == d);
        /* detached: drafting from the history again */
        assert_int_equal(bn_spec_set_draft_model(spec, NULL, 0, 0.0f), BN_OK);
        size_t n = 0;
        assert_int_equal(bn_spec_step(spec, c, 0, s, got, 8, &n), BN_OK);
        bn_spec_free(&spec);
        bn_batch_free(&b);
        bn_sampler_free(&s);
        bn_ctx_free(&d);
        bn_ctx_free(&c);
    }
}

/* A draft model of another vocabulary, or the checked context drafting for
 * itself: the step fails and says why. */
static void test_draft_model_errors(void **state)
{
    fixture *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/spec-draft-vocab.gguf", BN_SPEC_TEST_DIR);
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.hp.n_vocab = bn_model_n_vocab(f->m) + 8;
    o.log = NULL;
    assert_int_equal(bn_mkmodel_write(&o, path), 0);
    bn_model *dm = NULL;
    assert_int_equal(bn_model_load(&dm, path, NULL), BN_OK);
    bn_ctx *c = new_ctx(f->m), *d = new_ctx(dm);
    bn_sampler *s = greedy(f->m);
    bn_spec *spec = NULL;
    assert_int_equal(bn_spec_new(&spec, NULL), BN_OK);
    assert_int_equal(bn_spec_set_draft_model(spec, d, 0, 0.1f), BN_OK);
    assert_int_equal(bn_decode(c, f->prompt, f->n_prompt), BN_OK);
    assert_int_equal(bn_spec_begin(spec, f->prompt, f->n_prompt), BN_OK);
    bn_token out[9];
    size_t n = 0;
    assert_int_equal(bn_spec_step(spec, c, 0, s, out, 9, &n), BN_OK);     /* the first token needs no draft */
    spec->accept_rate = 0.9;
    assert_int_equal(bn_spec_step(spec, c, 0, s, out, 9, &n), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "draft model has"));
    bn_spec_free(&spec);
    /* the checked context as its own draft context (another sequence) */
    bn_sampler_reset(s);
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = 256;
    cp.n_seq_max = 2;
    bn_ctx *c2 = NULL;
    assert_int_equal(bn_ctx_new(&c2, f->m, &cp), BN_OK);
    assert_int_equal(bn_spec_new(&spec, NULL), BN_OK);
    assert_int_equal(bn_spec_set_draft_model(spec, c2, 1, 0.1f), BN_OK);
    assert_int_equal(bn_decode(c2, f->prompt, f->n_prompt), BN_OK);
    assert_int_equal(bn_spec_begin(spec, f->prompt, f->n_prompt), BN_OK);
    assert_int_equal(bn_spec_step(spec, c2, 0, s, out, 9, &n), BN_OK);
    spec->accept_rate = 0.9;
    assert_int_equal(bn_spec_step(spec, c2, 0, s, out, 9, &n), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "the checked one"));
    bn_spec_free(&spec);
    bn_ctx_free(&c2);
    bn_sampler_free(&s);
    bn_ctx_free(&d);
    bn_ctx_free(&c);
    bn_model_free(&dm);
    remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_equals_plain),
        cmocka_unit_test(test_acceptance_rule_distribution),
        cmocka_unit_test(test_errors_and_cancel),
        cmocka_unit_test(test_drafting_pauses),
        cmocka_unit_test(test_draft_longer_than_outputs),
        cmocka_unit_test(test_split_equals_step),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_draft_model),
        cmocka_unit_test(test_draft_model_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
