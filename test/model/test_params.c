/* Parameters and resources: garbage in reserved bytes and out-of-range
 * levels are refused, threads that cannot start for lack of memory are
 * BN_E_NOMEM, and a context's resident memory follows what decoding touches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <bitnet/bitnet.h>

#include "test_util.h"
#include "tiny_model.h"

typedef bn_tiny_fixture fixture;

static void expect_invalid(int rc, const char *needle)
{
    if (rc != BN_E_INVALID_ARG || !strstr(bn_last_error(), needle))
        fail_msg("expected invalid argument with '%s', got %s: %s", needle, bn_strerror(rc), bn_last_error());
}

/* ---- reserved bytes ---------------------------------------------------------- */
static void test_reserved_model_params(void **state)
{
    fixture *f = *state;
    bn_model_params p;
    const size_t last = sizeof p.reserved - 1;
    for (size_t i = 0; i <= last; i += last) {
        bn_model_params_default(&p);
        p.reserved[i] = 0x5a;
        bn_model *m = NULL;
        expect_invalid(bn_model_load_from_memory(&m, f->img, f->size, &p), "bn_model_params: reserved byte");
        assert_null(m);
    }
}

static void test_reserved_ctx_params(void **state)
{
    fixture *f = *state;
    bn_ctx_params p;
    const size_t last = sizeof p.reserved - 1;
    for (size_t i = 0; i <= last; i += last) {
        bn_ctx_params_default(&p);
        p.n_ctx = 16;
        p.reserved[i] = 1;
        bn_ctx *c = NULL;
        expect_invalid(bn_ctx_new(&c, f->model, &p), "bn_ctx_params: reserved byte");
        assert_null(c);
    }
}

static void test_reserved_sampler_params(void **state)
{
    fixture *f = *state;
    bn_sampler_params p;
    const size_t last = sizeof p.reserved - 1;
    for (size_t i = 0; i <= last; i += last) {
        bn_sampler_params_default(&p);
        p.reserved[i] = 0x80;
        bn_sampler *s = NULL;
        expect_invalid(bn_sampler_new(&s, f->model, &p), "bn_sampler_params: reserved byte");
        assert_null(s);
    }
}

/* ---- CPU level caps ----------------------------------------------------------------- */
static int load_with(const fixture *f, int32_t cap, const char *env)
{
    if (env)
        setenv("BITNET_CPU_LEVEL", env, 1);
    else
        unsetenv("BITNET_CPU_LEVEL");
    bn_model_params p;
    bn_model_params_default(&p);
    p.cpu_level_cap = cap;
    bn_model *m = NULL;
    int rc = bn_model_load_from_memory(&m, f->img, f->size, &p);
    bn_model_free(&m);
    unsetenv("BITNET_CPU_LEVEL");
    return rc;
}

static void test_cpu_level_cap(void **state)
{
    fixture *f = *state;
    assert_int_equal(load_with(f, 0, NULL), BN_OK);
    assert_int_equal(load_with(f, 3, NULL), BN_OK);
    expect_invalid(load_with(f, 4, NULL), "cpu_level_cap 4");
    expect_invalid(load_with(f, -2, NULL), "cpu_level_cap -2");
    assert_int_equal(load_with(f, -1, "scalar"), BN_OK);
    assert_int_equal(load_with(f, -1, "0"), BN_OK);
    assert_int_equal(load_with(f, -1, ""), BN_OK);
    expect_invalid(load_with(f, -1, "fastest"), "BITNET_CPU_LEVEL 'fastest'");
    expect_invalid(load_with(f, -1, "9"), "BITNET_CPU_LEVEL '9'");
    expect_invalid(load_with(f, -1, "1x"), "BITNET_CPU_LEVEL '1x'");
    assert_int_equal(load_with(f, 0, "garbage"), BN_OK);   /* an explicit cap wins */
}

/* ---- threads that cannot start -------------------------------------------------------- */
/* Under `ulimit -v` there is no room for the workers' stacks: pthread_create
 * says EAGAIN, which is out of memory, not a bug of the library. */
static void test_threads_without_memory(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)state;
    skip();     /* ASan's own thread bookkeeping dies under the limit first */
#else
    fixture *f = *state;
    if (bn_test_statm_bytes(0) == 0)
        skip();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit r;
        r.rlim_cur = r.rlim_max = bn_test_statm_bytes(0) + (24u << 20);
        if (setrlimit(RLIMIT_AS, &r))
            _exit(3);
        if (!bn_test_rlimit_as_binds())
            _exit(77);  /* qemu-user keeps RLIMIT_AS to itself */
        bn_ctx_params p;
        bn_ctx_params_default(&p);
        p.n_ctx = 16;
        p.n_threads = 64;   /* 63 stacks of 8 MB by default */
        bn_ctx *c = NULL;
        int rc = bn_ctx_new(&c, f->model, &p);
        if (rc != BN_E_NOMEM) {
            fprintf(stderr, "status %s: %s\n", bn_strerror(rc), bn_last_error());
            _exit(1);
        }
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        skip();
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
#endif
}

/* ---- resident memory ------------------------------------------------------------- */
/* A context for 2^20 tokens on 64 threads plans 256 MB of attention scores
 * alone; creating it and decoding a few tokens must not make them resident. */
static void test_ctx_resident_memory(void **state)
{
    fixture *f = *state;
    if (bn_test_statm_bytes(1) == 0)
        skip();
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_ctx = 1 << 20;
    p.n_threads = 64;
    p.n_batch = 8;
    const uint64_t before = bn_test_statm_bytes(1);
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new(&c, f->model, &p), BN_OK);
    const uint64_t created = bn_test_statm_bytes(1);
    const bn_token t[4] = { 1, 2, 3, 4 };
    assert_int_equal(bn_decode(c, t, 4), BN_OK);
    assert_int_equal(bn_decode(c, t, 1), BN_OK);
    const uint64_t decoded = bn_test_statm_bytes(1);
    bn_ctx_free(&c);
    print_message("resident: %.1f MB more after bn_ctx_new, %.1f MB after 5 tokens\n",
                  (double)(created - before) / 1048576.0, (double)(decoded - before) / 1048576.0);
    if (created - before > (48u << 20) || decoded - before > (64u << 20))
        fail_msg("resident memory grew by %llu MB at bn_ctx_new, %llu MB after decoding",
                 (unsigned long long)((created - before) >> 20), (unsigned long long)((decoded - before) >> 20));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserved_model_params),
        cmocka_unit_test(test_reserved_ctx_params),
        cmocka_unit_test(test_reserved_sampler_params),
        cmocka_unit_test(test_cpu_level_cap),
        cmocka_unit_test(test_threads_without_memory),
        cmocka_unit_test(test_ctx_resident_memory),
    };
    return cmocka_run_group_tests(tests, bn_tiny_fixture_setup, bn_tiny_fixture_teardown);
}
