/* Mixed-precision models: bitnet-mkmodel's precision plan writes linears of
 * chosen kinds as Q8_0, Q4_0 or F16 beside ternary ones; the library runs
 * each with its own kernel (Wo and down through a residual add), bit for
 * bit the same for any thread count and batch split, and close to the
 * all-ternary model of the same weights (Q8_0 holds ternary values to an F16
 * scale's rounding; Q4_0 turns -max into -7/8 max). Bad plans are refused. */
#include <math.h>
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

#include "mkmodel.h"
#include "test_util.h"

#define N 12

static bn_model *make(const char *plan)
{
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.type = BN_MKMODEL_I2_S;
    o.plan = plan;
    o.log = NULL;
    char *path = bn_test_temp_file("", 0);
    assert_non_null(path);
    if (bn_mkmodel_write(&o, path))
        fail_msg("bn_mkmodel_write(%s): %s", plan ? plan : "-", bn_last_error());
    bn_model *m = NULL;
    bn_model_params mp;
    bn_model_params_default(&mp);
    mp.use_mmap = 0;
    if (bn_model_load(&m, path, &mp))
        fail_msg("bn_model_load(%s): %s", plan ? plan : "-", bn_last_error());
    bn_test_temp_file_remove(path);
    return m;
}

static float *run(bn_model *m, int threads, int one_by_one)
{
    const int nv = bn_model_n_vocab(m);
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = 32;
    cp.n_threads = threads;
    cp.logits_all = 1;
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new(&c, m, &cp), BN_OK);
    bn_token t[N];
    for (int i = 0; i < N; i++)
        t[i] = (bn_token)((i * 97 + 5) % nv);
    float *out = malloc((size_t)N * (size_t)nv * sizeof *out);
    for (int i = 0; i < N; i += one_by_one ? 1 : N) {
        const int k = one_by_one ? 1 : N;
        assert_int_equal(bn_decode(c, t + i, (size_t)k), BN_OK);
        for (int j = 0; j < k; j++)
            memcpy(out + (size_t)(i + j) * (size_t)nv, bn_ctx_logits_ith(c, j), (size_t)nv * sizeof *out);
    }
    bn_ctx_free(&c);
    return out;
}

static double rel_distance(const float *a, const float *b, size_t n)
{
    double d2 = 0, v2 = 0;
    for (size_t i = 0; i < n; i++) {
        d2 += (double)(a[i] - b[i]) * (a[i] - b[i]);
        v2 += (double)a[i] * a[i];
    }
    return sqrt(d2 / v2);
}

static void test_mixed_plans(void **state)
{
    (void)state;
    bn_model *base = make(NULL);
    const size_t nl = (size_t)N * (size_t)bn_model_n_vocab(base);
    float *ref = run(base, 2, 0);
    static const struct {
        const char *plan;
        double max_rel;
    } plans[] = {
        /* the ternary path rounds activations to int8 per token, the float
         * and Q kernels do not: a few percent apart even where the weights
         * are the same */
        { "attn_output=q8_0,ffn_down=q8_0", 0.1 },
        { "attn_q=q8_0,attn_k=q8_0,attn_v=q8_0,attn_output=q8_0,ffn_gate=q8_0,ffn_up=q8_0,ffn_down=q8_0", 0.15 },
        { "attn_output=q4_0", 0.6 },
        { "ffn_down=q4_0,ffn_up=f16", 0.6 },
    };
    for (size_t p = 0; p < sizeof plans / sizeof plans[0]; p++) {
        bn_model *m = make(plans[p].plan);
        float *a = run(m, 1, 1);
        for (int threads = 1; threads <= 3; threads++)
            for (int one = 0; one <= 1; one++) {
                float *b = run(m, threads, one);
                if (memcmp(a, b, nl * sizeof *a))
                    fail_msg("%s: logits differ with %d threads, %s", plans[p].plan, threads,
                             one ? "one by one" : "batch");
                free(b);
            }
        const double rel = rel_distance(ref, a, nl);
        print_message("%-40.40s relative distance to all-I2_S %.4f\n", plans[p].plan, rel);
        assert_true(rel > 0.0);
        assert_true(rel < plans[p].max_rel);
        free(a);
        bn_model_free(&m);
    }
    free(ref);
    bn_model_free(&base);

    /* refused plans */
    static const char *const bad[] = { "attn_output", "attn_x=q8_0", "ffn_down=q5_0", "attn_q=q8_0,", };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bn_mkmodel_opts o;
        bn_mkmodel_default_opts(&o);
        o.plan = bad[i];
        o.log = NULL;
        int rc = bn_mkmodel_write(&o, "/nonexistent/never-written.gguf");
        if (i == 3) {   /* a trailing comma is harmless; the path is not */
            assert_int_equal(rc, BN_E_IO);
            continue;
        }
        assert_int_equal(rc, BN_E_INVALID_ARG);
        assert_non_null(strstr(bn_last_error(), "--plan"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mixed_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
