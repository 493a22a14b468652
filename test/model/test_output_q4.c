/* The Q4_0 output head (bn_model_params.output_q4): the head is converted at
 * load, results stay bit-identical across thread counts and batch splits,
 * logits stay close to the F16 head's (within what 4-bit weights allow, far
 * tighter than a random head), and bad parameters are refused. */
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

#define MODEL BN_TEST_SRCDIR "/../models/default.gguf"
#define N 24

static bn_model *load(int q4, int q8)
{
    bn_model_params mp;
    bn_model_params_default(&mp);
    mp.output_q4 = q4;
    mp.output_q8 = q8;
    bn_model *m = NULL;
    if (bn_model_load(&m, MODEL, &mp))
        fail_msg("bn_model_load: %s", bn_last_error());
    return m;
}

/* logits of every position of a fixed text, batch or token by token */
static float *run(bn_model *m, int threads, int one_by_one, const bn_token *t, size_t n)
{
    const int nv = bn_model_n_vocab(m);
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = 64;
    cp.n_threads = threads;
    cp.logits_all = 1;
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new(&c, m, &cp), BN_OK);
    float *out = malloc(n * (size_t)nv * sizeof *out);
    for (size_t i = 0; i < n; i += one_by_one ? 1 : n) {
        const size_t k = one_by_one ? 1 : n;
        assert_int_equal(bn_decode(c, t + i, k), BN_OK);
        for (size_t j = 0; j < k; j++)
            memcpy(out + (i + j) * (size_t)nv, bn_ctx_logits_ith(c, (int32_t)j), (size_t)nv * sizeof *out);
    }
    bn_ctx_free(&c);
    return out;
}

static void test_q4_head(void **state)
{
    (void)state;
    bn_model *f16 = load(0, 0), *q4 = load(1, 0);
    assert_non_null(strstr(bn_model_kernel_name(q4), "output Q4_0"));
    /* the head's bytes: 18 per 32 weights instead of 64 */
    const uint64_t head_f16 = (uint64_t)bn_model_n_vocab(f16) * (uint64_t)bn_model_n_embd(f16) * 2;
    assert_int_equal(bn_model_bytes_per_token(f16) - bn_model_bytes_per_token(q4), head_f16 - head_f16 * 18 / 64);
    static const char text[] = "And God said, Let there be light: and there was light. And God saw the light";
    bn_token t[N];
    size_t n = 0;
    assert_int_equal(bn_tokenize(f16, text, strlen(text), t, N, BN_TOKENIZE_ADD_SPECIAL, &n), BN_OK);
    const int nv = bn_model_n_vocab(f16);
    float *ref = run(f16, 2, 0, t, n), *a = run(q4, 1, 1, t, n);
    for (int threads = 1; threads <= 3; threads++)
        for (int one = 0; one <= 1; one++) {
            float *b = run(q4, threads, one, t, n);
            if (memcmp(a, b, n * (size_t)nv * sizeof *a))
                fail_msg("Q4_0 head: logits differ with %d threads, %s", threads, one ? "one by one" : "batch");
            free(b);
        }
    /* close to the F16 head: rms distance well under the logits' spread,
     * and the same top token at most positions */
    double d2 = 0, v2 = 0;
    int agree = 0;
    for (size_t p = 0; p < n; p++) {
        const float *x = ref + p * (size_t)nv, *y = a + p * (size_t)nv;
        int bx = 0, by = 0;
        for (int i = 0; i < nv; i++) {
            d2 += (double)(x[i] - y[i]) * (x[i] - y[i]);
            v2 += (double)x[i] * x[i];
            bx = x[i] > x[bx] ? i : bx;
            by = y[i] > y[by] ? i : by;
        }
        agree += bx == by;
    }
    const double rel = sqrt(d2 / v2);
    print_message("Q4_0 head vs F16: relative rms logit distance %.4f, top-1 agreement %d of %zu\n", rel, agree, n);
    assert_true(rel < 0.15);
    assert_true(agree * 10 >= (int)n * 7);
    free(ref);
    free(a);
    bn_model_free(&f16);
    bn_model_free(&q4);

    bn_model_params mp;
    bn_model_params_default(&mp);
    mp.output_q4 = 1;
    mp.output_q8 = 1;
    bn_model *m = NULL;
    assert_int_equal(bn_model_load(&m, MODEL, &mp), BN_E_INVALID_ARG);
    mp.output_q8 = 0;
    mp.output_q4 = 2;
    assert_int_equal(bn_model_load(&m, MODEL, &mp), BN_E_INVALID_ARG);
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q4_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
