/* The decode's choice between kernels with the same bits (graph/kernel_pick.h):
 * the timing state machine on made-up durations, and on real models that
 * the logits of every pass are the same bits whether a context uses the
 * level's kernels, the alternatives, or times both (BITNET_KERNEL_PICK). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bitnet/bitnet.h>

#include "graph/kernel_pick.h"
#include "mkmodel.h"
#include "test_util.h"

/* setenv is POSIX; Windows' CRT has _putenv_s, where "" removes the variable */
static void set_env(const char *name, const char *value)
{
#if defined(_WIN32)
    _putenv_s(name, value ? value : "");
#else
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
#endif
}

/* enough single-token passes to finish timing both products */
#define N (2 + 4 * BN_PICK_SAMPLES + 8)

/* Runs passes with the given durations per kernel (ns[0] own, ns[1]
 * alternative) for product 0 and then 1; returns the choices. */
static void simulate(const uint64_t own[2], const uint64_t alt[2], const uint8_t has[2], uint8_t chosen[2],
                     int *passes_timed)
{
    bn_kernel_pick p;
    bn_kernel_pick_init(&p, BN_PICK_TIMED, has);
    *passes_timed = 0;
    for (int i = 0; i < 100; i++) {
        uint8_t use[BN_PICK_COUNT];
        if (!bn_kernel_pick_begin(&p, use))
            break;
        (*passes_timed)++;
        uint64_t ns = 0;
        for (int s = 0; s < BN_PICK_COUNT; s++)
            ns += use[s] ? alt[s] : own[s];
        bn_kernel_pick_end(&p, ns + (uint64_t)(i % 3));     /* a little jitter */
    }
    memcpy(chosen, p.use_alt, BN_PICK_COUNT);
}

static void test_state_machine(void **state)
{
    (void)state;
    uint8_t chosen[2];
    int timed;
    const uint8_t both[2] = { 1, 1 };
    /* the alternative float product 10 % faster (5 % of the pass: past
     * the margin), the ternary one slower */
    simulate((const uint64_t[]){ 1000, 1000 }, (const uint64_t[]){ 900, 1100 }, both, chosen, &timed);
    assert_int_equal(chosen[BN_PICK_FLOAT], 1);
    assert_int_equal(chosen[BN_PICK_TERNARY], 0);
    assert_int_equal(timed, 1 + 4 * BN_PICK_SAMPLES);
    /* within the margin: keep the level's own */
    simulate((const uint64_t[]){ 1000, 1000 }, (const uint64_t[]){ 985, 985 }, both, chosen, &timed);
    assert_int_equal(chosen[BN_PICK_FLOAT], 0);
    assert_int_equal(chosen[BN_PICK_TERNARY], 0);
    /* no alternative: nothing timed, nothing chosen */
    const uint8_t none[2] = { 0, 0 }, tern[2] = { 0, 1 };
    simulate((const uint64_t[]){ 1000, 5000 }, (const uint64_t[]){ 1, 1 }, none, chosen, &timed);
    assert_int_equal(timed, 0);
    assert_int_equal(chosen[0] | chosen[1], 0);
    simulate((const uint64_t[]){ 1000, 5000 }, (const uint64_t[]){ 1, 1 }, tern, chosen, &timed);
    assert_int_equal(chosen[BN_PICK_FLOAT], 0);
    assert_int_equal(chosen[BN_PICK_TERNARY], 1);
    assert_int_equal(timed, 1 + 2 * BN_PICK_SAMPLES);
    /* fixed modes */
    bn_kernel_pick p;
    uint8_t use[BN_PICK_COUNT];
    bn_kernel_pick_init(&p, BN_PICK_LOWER, tern);
    assert_int_equal(bn_kernel_pick_begin(&p, use), 0);
    assert_int_equal(use[BN_PICK_FLOAT], 0);
    assert_int_equal(use[BN_PICK_TERNARY], 1);
    bn_kernel_pick_init(&p, BN_PICK_OWN, both);
    assert_int_equal(bn_kernel_pick_begin(&p, use), 0);
    assert_int_equal(use[0] | use[1], 0);
}

static char *write_model(const char *plan)
{
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.type = BN_MKMODEL_I2_S;
    o.plan = plan;
    o.log = NULL;
    char *path = bn_test_temp_file("", 0);
    assert_non_null(path);
    if (bn_mkmodel_write(&o, path))
        fail_msg("bn_mkmodel_write: %s", bn_last_error());
    return path;
}

static bn_model *load(const char *path, int head, const char *mode)
{
    bn_model *m = NULL;
    bn_model_params mp;
    bn_model_params_default(&mp);
    mp.use_mmap = 0;
    mp.output_q8 = head == 1;
    mp.output_q4 = head == 2;
    set_env("BITNET_KERNEL_PICK", mode);
    const int rc = bn_model_load(&m, path, &mp);
    set_env("BITNET_KERNEL_PICK", NULL);
    if (rc)
        fail_msg("bn_model_load: %s", bn_last_error());
    return m;
}

/* logits of N single-token passes after a 5-token prompt */
static float *run(bn_model *m, int threads)
{
    const int nv = bn_model_n_vocab(m);
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = 64;
    cp.n_threads = threads;
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new(&c, m, &cp), BN_OK);
    float *out = malloc((size_t)N * (size_t)nv * sizeof *out);
    assert_non_null(out);
    const bn_token prompt[5] = { 3, 17, 40, 9, 100 };
    assert_int_equal(bn_decode(c, prompt, 5), BN_OK);
    for (int i = 0; i < N; i++) {
        const bn_token t = (bn_token)((i * 97 + 5) % nv);
        assert_int_equal(bn_decode(c, &t, 1), BN_OK);
        memcpy(out + (size_t)i * (size_t)nv, bn_ctx_logits(c), (size_t)nv * sizeof *out);
    }
    bn_ctx_free(&c);
    return out;
}

/* the same bits with the level's kernels, the alternatives, and timed
 * (which switches between them pass by pass), with 1 and 2 threads */
static void check_modes(const char *plan, int head)
{
    static const struct { const char *mode; int threads; } runs[] = {
        { "own", 1 }, { "lower", 1 }, { "timed", 1 }, { "timed", 2 },
    };
    char *path = write_model(plan);
    float *ref = NULL;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        bn_model *m = load(path, head, runs[i].mode);
        if (i == 2)
            print_message("%s, head %d: %s\n", plan ? plan : "ternary", head, bn_model_kernel_name(m));
        float *got = run(m, runs[i].threads);
        const size_t bytes = (size_t)N * (size_t)bn_model_n_vocab(m) * sizeof *got;
        bn_model_free(&m);
        if (!ref) {
            ref = got;
            continue;
        }
        if (memcmp(ref, got, bytes))
            fail_msg("%s, head %d: BITNET_KERNEL_PICK=%s with %d threads changed the logits",
                     plan ? plan : "-", head, runs[i].mode, runs[i].threads);
        free(got);
    }
    free(ref);
    bn_test_temp_file_remove(path);
}

static void test_same_bits(void **state)
{
    (void)state;
    check_modes(NULL, 0);                                   /* F16 head */
    check_modes(NULL, 2);                                   /* Q4_0 head */
    check_modes("attn_output=q8_0,ffn_down=q4_0", 1);      /* Q8_0 head and linears */
}

static void test_bad_env(void **state)
{
    (void)state;
    set_env("BITNET_KERNEL_PICK", "fastest");
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.log = NULL;
    char *path = bn_test_temp_file("", 0);
    assert_non_null(path);
    assert_int_equal(bn_mkmodel_write(&o, path), BN_OK);
    bn_model *m = NULL;
    assert_int_equal(bn_model_load(&m, path, NULL), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "BITNET_KERNEL_PICK"));
    set_env("BITNET_KERNEL_PICK", NULL);
    bn_test_temp_file_remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_same_bits),
        cmocka_unit_test(test_bad_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
