/* Ternary models with row (per-channel) and block scales: bitnet-mkmodel
 * --scales writes TQ2_0 / TQ1_0 files whose block scales differ between
 * rows or within them; the library packs them with one scale per row or per
 * row and chunk (lib/kernels/tpack.h) and runs them on every kernel level.
 * Within a level the logits are bit for bit the same for any thread count
 * and batch split, and the same for TQ2_0 and TQ1_0 files of the same
 * weights and scales (one packed form); across levels the ternary products
 * are bit-identical (checkasm) and only the float kernels (attention, the
 * F16 head) may round differently, a few float epsilons. The scales change
 * the logits (they are not ignored). */
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
#include "test_util.h"

#define N 9

/* Writes the test's model with the given type and scales; returns its path
 * (remove with bn_test_temp_file_remove). */
static char *write(enum bn_mkmodel_type type, enum bn_mkmodel_scales scales)
{
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    /* rows of 512 and 1024: two and four blocks per row, so that block
     * scales differ within rows; few layers, quick under qemu-aarch64 (CI
     * step g2) */
    o.hp.n_embd = 512;
    o.hp.n_ff = 1024;
    o.hp.n_layer = 2;
    o.type = type;
    o.scales = scales;
    o.log = NULL;
    char *path = bn_test_temp_file("", 0);
    assert_non_null(path);
    if (bn_mkmodel_write(&o, path))
        fail_msg("bn_mkmodel_write(%s): %s", bn_mkmodel_scales_name(scales), bn_last_error());
    return path;
}

static bn_model *load(const char *path, int level)
{
    bn_model *m = NULL;
    bn_model_params mp;
    bn_model_params_default(&mp);
    mp.use_mmap = 0;
    mp.cpu_level_cap = level;
    if (bn_model_load(&m, path, &mp))
        fail_msg("bn_model_load(%s): %s", path, bn_last_error());
    return m;
}

/* logits of N tokens, all in one batch or one by one */
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
        t[i] = (bn_token)((i * 131 + 7) % nv);
    float *out = malloc((size_t)N * (size_t)nv * sizeof *out);
    assert_non_null(out);
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

static void test_scales(void **state)
{
    (void)state;
    static const enum bn_mkmodel_scales forms[] = { BN_MKMODEL_SCALES_ROW, BN_MKMODEL_SCALES_BLOCK };
    char *upath = write(BN_MKMODEL_TQ2_0, BN_MKMODEL_SCALES_TENSOR);
    bn_model *um = load(upath, -1);
    bn_test_temp_file_remove(upath);
    const size_t nl = (size_t)N * (size_t)bn_model_n_vocab(um);
    float *uniform = run(um, 2, 0);
    bn_model_free(&um);
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        const char *name = bn_mkmodel_scales_name(forms[f]);
        char *path = write(BN_MKMODEL_TQ2_0, forms[f]);
        float *scalar = NULL, *best = NULL;
        char prev[256] = "";
        for (int level = 0; level <= 3; level++) {
            bn_model *m = load(path, level);
            const char *kname = bn_model_kernel_name(m);
            if (!strcmp(kname, prev)) {     /* past this CPU's best level */
                bn_model_free(&m);
                break;
            }
            snprintf(prev, sizeof prev, "%s", kname);
            /* one thread, one batch of N; three threads, one token at a
             * time (the kernels' token groups and the row split differ) */
            float *a = run(m, 1, 0), *b = run(m, 3, 1);
            if (memcmp(a, b, nl * sizeof *a))
                fail_msg("%s scales, %s: logits differ between 1 thread in one batch and 3 threads one by one",
                         name, kname);
            free(b);
            if (!scalar) {
                scalar = a;
                const double rel = rel_distance(uniform, a, nl);
                print_message("%s scales: relative distance to one scale per tensor %.3f\n", name, rel);
                assert_true(rel > 0.01);
            } else {
                const double rel = rel_distance(scalar, a, nl);
                print_message("%s scales, %s: relative distance to scalar %.2g\n", name, kname, rel);
                assert_true(rel < 1e-4);
                free(best);
                best = a;
            }
            bn_model_free(&m);
        }
        bn_test_temp_file_remove(path);
        /* TQ1_0: the same codes and scales, the same packed tensor */
        char *path1 = write(BN_MKMODEL_TQ1_0, forms[f]);
        bn_model *m1 = load(path1, -1);
        bn_test_temp_file_remove(path1);
        float *b = run(m1, 2, 0);
        if (memcmp(best ? best : scalar, b, nl * sizeof *b))
            fail_msg("%s scales, %s: TQ1_0 and TQ2_0 files give different logits", name, bn_model_kernel_name(m1));
        free(b);
        bn_model_free(&m1);
        free(best);
        free(scalar);
    }
    free(uniform);

    /* only the TQ types hold row or block scales */
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.type = BN_MKMODEL_I2_S;
    o.scales = BN_MKMODEL_SCALES_ROW;
    o.log = NULL;
    assert_int_equal(bn_mkmodel_write(&o, "/nonexistent/never-written.gguf"), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "--scales"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scales),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
