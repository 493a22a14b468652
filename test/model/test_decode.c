/* The decode API: bad input leaves the context unchanged, results do not
 * depend on threads or batching, history can be rewound, contexts share a
 * model across threads, and out-of-memory is reported, not fatal.
 *
 * Linked against the internal static library with -Wl,--wrap for the
 * allocation functions, so that the library's Nth allocation can be made to
 * fail (fail_after). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bitnet/bitnet.h>

#include "alloc_hook.h"

#include "gguf/gguf_types.h"
#include "model/model.h"
#include "test_util.h"
#include "tiny_model.h"

/* ---- fixtures ------------------------------------------------------------ */
typedef bn_tiny_fixture fixture;

static const bn_token prompt[12] = { 1, 17, 42, 299, 0, 5, 100, 200, 7, 8, 250, 3 };
#define N_PROMPT 12
#define NV BN_TINY_N_VOCAB

static bn_ctx *new_ctx(bn_model *m, int n_threads, int logits_all, int n_ctx, int n_batch)
{
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_threads = n_threads;
    p.logits_all = logits_all;
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    bn_ctx *c = NULL;
    int rc = bn_ctx_new(&c, m, &p);
    if (rc)
        fail_msg("bn_ctx_new: %s", bn_last_error());
    return c;
}

/* All prompt logits, batch or token by token, into out[N_PROMPT][NV]. */
static void run_prompt(bn_model *m, int n_threads, int one_by_one, float *out)
{
    bn_ctx *c = new_ctx(m, n_threads, 1, 32, 16);
    if (one_by_one) {
        for (int i = 0; i < N_PROMPT; i++) {
            assert_int_equal(bn_decode(c, &prompt[i], 1), BN_OK);
            memcpy(out + i * NV, bn_ctx_logits(c), NV * sizeof *out);
        }
    } else {
        assert_int_equal(bn_decode(c, prompt, N_PROMPT), BN_OK);
        for (int i = 0; i < N_PROMPT; i++)
            memcpy(out + i * NV, bn_ctx_logits_ith(c, i), NV * sizeof *out);
    }
    assert_int_equal(bn_ctx_pos(c), N_PROMPT);
    bn_ctx_free(&c);
}

/* ---- tests --------------------------------------------------------------- */
static void test_threads_and_batching_bit_identical(void **state)
{
    fixture *f = *state;
    static float ref[N_PROMPT * NV], other[N_PROMPT * NV];
    run_prompt(f->model, 1, 0, ref);
    for (int threads = 1; threads <= 4; threads++)
        for (int one = 0; one <= 1; one++) {
            if (threads == 1 && !one)
                continue;
            run_prompt(f->model, threads, one, other);
            if (memcmp(ref, other, sizeof ref))
                fail_msg("logits differ with %d threads, %s", threads, one ? "token by token" : "one batch");
        }
    /* the logits are not trivial */
    int nonzero = 0;
    for (int i = 0; i < N_PROMPT * NV; i++)
        nonzero += ref[i] != 0.0f;
    assert_true(nonzero > N_PROMPT * NV / 2);
}

static void test_bad_input_leaves_context_unchanged(void **state)
{
    fixture *f = *state;
    bn_ctx *c = new_ctx(f->model, 2, 0, 16, 8);
    assert_null(bn_ctx_logits(c));
    assert_int_equal(bn_ctx_n_ctx(c), 16);
    assert_int_equal(bn_ctx_n_batch(c), 8);
    assert_int_equal(bn_ctx_n_threads(c), 2);
    assert_ptr_equal(bn_ctx_model(c), f->model);
    assert_int_equal(bn_decode(c, prompt, 4), BN_OK);
    static float before[NV];
    memcpy(before, bn_ctx_logits(c), sizeof before);

    bn_token bad_hi[2] = { 1, NV }, bad_lo[2] = { -1, 1 };
    assert_int_equal(bn_decode(NULL, prompt, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_decode(c, NULL, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_decode(c, prompt, 0), BN_E_INVALID_ARG);
    assert_int_equal(bn_decode(c, bad_hi, 2), BN_E_RANGE);
    assert_non_null(strstr(bn_last_error(), "token 1 is 300"));
    assert_int_equal(bn_decode(c, bad_lo, 2), BN_E_RANGE);
    assert_int_equal(bn_decode(c, prompt, 9), BN_E_BATCH);
    assert_int_equal(bn_decode(c, prompt, 8), BN_OK);              /* 12 of 16 */
    memcpy(before, bn_ctx_logits(c), sizeof before);
    assert_int_equal(bn_decode(c, prompt, 5), BN_E_CTX_FULL);       /* 17 > 16 */
    assert_int_equal(bn_ctx_pos(c), 12);
    assert_memory_equal(before, bn_ctx_logits(c), sizeof before);
    assert_int_equal(bn_decode(c, prompt, 4), BN_OK);               /* exactly full */
    assert_int_equal(bn_decode(c, prompt, 1), BN_E_CTX_FULL);
    assert_null(bn_ctx_logits_ith(c, 0));                           /* logits_all off */
    assert_non_null(bn_ctx_logits_ith(c, -1));
    assert_null(bn_ctx_logits_ith(c, 4));
    bn_ctx_free(&c);
    assert_null(c);
    bn_ctx_free(NULL);
}

static void test_truncate_replays_identically(void **state)
{
    fixture *f = *state;
    static float first[N_PROMPT * NV];
    run_prompt(f->model, 2, 0, first);
    bn_ctx *c = new_ctx(f->model, 2, 1, 32, 16);
    assert_int_equal(bn_decode(c, prompt, N_PROMPT), BN_OK);
    assert_int_equal(bn_ctx_truncate(c, N_PROMPT + 1), BN_E_RANGE);
    assert_int_equal(bn_ctx_truncate(c, -1), BN_E_RANGE);
    assert_int_equal(bn_ctx_truncate(NULL, 0), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_truncate(c, 5), BN_OK);
    assert_int_equal(bn_ctx_pos(c), 5);
    assert_null(bn_ctx_logits(c));
    /* a different continuation, then rewind again and replay the original */
    bn_token other[3] = { 9, 9, 9 };
    assert_int_equal(bn_decode(c, other, 3), BN_OK);
    assert_int_equal(bn_ctx_truncate(c, 5), BN_OK);
    assert_int_equal(bn_decode(c, prompt + 5, N_PROMPT - 5), BN_OK);
    for (int i = 5; i < N_PROMPT; i++)
        assert_memory_equal(bn_ctx_logits_ith(c, i - 5), first + i * NV, NV * sizeof(float));
    bn_ctx_free(&c);
}

typedef struct thread_job {
    bn_model *model;
    float *out;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    for (int rep = 0; rep < 3; rep++)
        run_prompt(j->model, 2, rep & 1, j->out);
    return NULL;
}

static void test_contexts_share_model_across_threads(void **state)
{
    fixture *f = *state;
    enum { N = 4 };
    static float ref[N_PROMPT * NV], outs[N][N_PROMPT * NV];
    run_prompt(f->model, 1, 0, ref);
    pthread_t th[N];
    thread_job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i].model = f->model;
        jobs[i].out = outs[i];
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_memory_equal(ref, outs[i], sizeof ref);
    }
}

static void test_ctx_params(void **state)
{
    fixture *f = *state;
    bn_ctx_params p;
    memset(&p, 0x7f, sizeof p);
    bn_ctx_params_default(&p);
    assert_int_equal(p.n_ctx, 0);
    assert_int_equal(p.n_batch, 512);
    assert_int_equal(p.n_threads, 0);
    assert_int_equal(p.kv_type, BN_KV_F16);
    assert_int_equal(p.logits_all, 0);
    for (size_t i = 0; i < sizeof p.reserved; i++)
        assert_int_equal(p.reserved[i], 0);
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new(&c, f->model, NULL), BN_OK);
    assert_int_equal(bn_ctx_n_ctx(c), 64);      /* the model's training context */
    assert_int_equal(bn_ctx_n_batch(c), 64);    /* capped at n_ctx */
    assert_true(bn_ctx_n_threads(c) >= 1);
    bn_ctx_free(&c);
    struct { int field, value; } bad[] = { { 0, -1 }, { 0, 1 << 25 }, { 1, 0 }, { 2, -3 }, { 3, 7 }, { 4, 2 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bn_ctx_params_default(&p);
        int32_t *fields[] = { &p.n_ctx, &p.n_batch, &p.n_threads, &p.kv_type, &p.logits_all };
        *fields[bad[i].field] = bad[i].value;
        assert_int_equal(bn_ctx_new(&c, f->model, &p), BN_E_INVALID_ARG);
        assert_null(c);
    }
    assert_int_equal(bn_ctx_new(&c, NULL, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_new(NULL, f->model, NULL), BN_E_INVALID_ARG);
}

static void test_kv_f32_close_to_f16(void **state)
{
    fixture *f = *state;
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.kv_type = BN_KV_F32;
    p.n_ctx = 32;
    bn_ctx *c32 = NULL, *c16 = new_ctx(f->model, 2, 0, 32, 16);
    assert_int_equal(bn_ctx_new(&c32, f->model, &p), BN_OK);
    assert_int_equal(bn_decode(c32, prompt, N_PROMPT), BN_OK);
    assert_int_equal(bn_decode(c16, prompt, N_PROMPT), BN_OK);
    const float *a = bn_ctx_logits(c32), *b = bn_ctx_logits(c16);
    double max = 0, scale = 0;
    for (int i = 0; i < NV; i++) {
        double d = a[i] - b[i];
        max = d > max ? d : -d > max ? -d : max;
        scale = a[i] > scale ? a[i] : -a[i] > scale ? -a[i] : scale;
    }
    assert_true(scale > 0);
    assert_true(max < 0.05 * scale + 1e-3);
    bn_ctx_free(&c32);
    bn_ctx_free(&c16);
}

/* The Q8_0 output projection (output_q8) stays close to the F16 one. */
static void test_output_q8(void **state)
{
    fixture *f = *state;
    bn_tiny_opts o;
    bn_tiny_default(&o);
    size_t size;
    uint8_t *img = bn_tiny_build(&o, &size);
    bn_model_params mp;
    bn_model_params_default(&mp);
    mp.output_q8 = 1;
    bn_model *m8 = NULL;
    assert_int_equal(bn_model_load_from_memory(&m8, img, size, &mp), BN_OK);
    assert_non_null(strstr(bn_model_kernel_name(m8), "output Q8_0"));
    assert_true(bn_model_bytes_per_token(m8) < bn_model_bytes_per_token(f->model));
    bn_ctx *a = new_ctx(f->model, 2, 0, 32, 16), *b = new_ctx(m8, 2, 0, 32, 16);
    assert_int_equal(bn_decode(a, prompt, N_PROMPT), BN_OK);
    assert_int_equal(bn_decode(b, prompt, N_PROMPT), BN_OK);
    const float *la = bn_ctx_logits(a), *lb = bn_ctx_logits(b);
    double max = 0, scale = 0;
    for (int i = 0; i < NV; i++) {
        double d = la[i] - lb[i];
        max = d > max ? d : -d > max ? -d : max;
        scale = la[i] > scale ? la[i] : -la[i] > scale ? -la[i] : scale;
    }
    assert_true(scale > 0);
    assert_true(max > 0);                  /* it is a different computation */
    assert_true(max < 0.02 * scale + 1e-4);
    bn_ctx_free(&a);
    bn_ctx_free(&b);
    bn_model_free(&m8);
    free(img);
}

/* output_q8 on a mapped file: the F16 pages of the tied embedding are let go
 * and its rows read with pread (model_embed.c); the logits must equal those
 * of the same model read into memory. */
static void test_output_q8_mapped(void **state)
{
    (void)state;
    bn_tiny_opts o;
    bn_tiny_default(&o);
    size_t size;
    uint8_t *img = bn_tiny_build(&o, &size);
    char *path = bn_test_temp_file(img, size);
    assert_non_null(path);
    bn_model_params mp;
    bn_model_params_default(&mp);
    mp.output_q8 = 1;
    bn_model *mapped = NULL, *mem = NULL;
    assert_int_equal(bn_model_load(&mapped, path, &mp), BN_OK);
    assert_int_equal(bn_model_load_from_memory(&mem, img, size, &mp), BN_OK);
    bn_test_temp_file_remove(path);
    assert_true(mapped->tied_output);
    assert_true(mapped->embed_by_pread);
    assert_false(mem->embed_by_pread);
    for (int threads = 1; threads <= 2; threads++) {
        bn_ctx *a = new_ctx(mapped, threads, 0, 32, 16), *b = new_ctx(mem, threads, 0, 32, 16);
        assert_int_equal(bn_decode(a, prompt, N_PROMPT), BN_OK);
        assert_int_equal(bn_decode(b, prompt, N_PROMPT), BN_OK);
        assert_memory_equal(bn_ctx_logits(a), bn_ctx_logits(b), sizeof(float) * NV);
        bn_ctx_free(&a);
        bn_ctx_free(&b);
    }
    bn_model_free(&mapped);
    bn_model_free(&mem);
    free(img);
}

/* Every allocation of bn_ctx_new and bn_model_load failing in turn:
 * BN_E_NOMEM each time, and (under ASan) no leak. */
static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    int failures = 0;
    for (long n = 0;; n++) {
        bn_ctx *c = NULL;
        bn_test_alloc_fail_after(n);
        int rc = bn_ctx_new(&c, f->model, NULL);
        bn_test_alloc_fail_after(-1);
        if (rc == BN_OK) {
            assert_int_equal(bn_decode(c, prompt, 3), BN_OK);
            bn_ctx_free(&c);
            break;
        }
        assert_int_equal(rc, BN_E_NOMEM);
        assert_null(c);
        failures++;
    }
    assert_true(failures >= 3);
    bn_tiny_opts o;
    bn_tiny_default(&o);
    size_t size;
    uint8_t *img = bn_tiny_build(&o, &size);
    failures = 0;
    for (long n = 0;; n++) {
        bn_model *m = NULL;
        bn_test_alloc_fail_after(n);
        int rc = bn_model_load_from_memory(&m, img, size, NULL);
        bn_test_alloc_fail_after(-1);
        if (rc == BN_OK) {
            bn_model_free(&m);
            break;
        }
        assert_int_equal(rc, BN_E_NOMEM);
        failures++;
    }
    assert_true(failures >= 3);
    free(img);
    /* a context too large for the machine */
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_ctx = 1 << 24;
    p.n_batch = 1;
    bn_ctx *c = NULL;
    int rc = bn_ctx_new(&c, f->model, &p);
    if (rc == BN_OK)       /* the machine had the memory after all (overcommit) */
        bn_ctx_free(&c);
    else
        assert_int_equal(rc, BN_E_NOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_and_batching_bit_identical),
        cmocka_unit_test(test_bad_input_leaves_context_unchanged),
        cmocka_unit_test(test_truncate_replays_identically),
        cmocka_unit_test(test_contexts_share_model_across_threads),
        cmocka_unit_test(test_ctx_params),
        cmocka_unit_test(test_kv_f32_close_to_f16),
        cmocka_unit_test(test_output_q8),
        cmocka_unit_test(test_output_q8_mapped),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests_name("decode API", tests, bn_tiny_fixture_setup,
                                       bn_tiny_fixture_teardown);
}
