#include "reference_check.h"

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

static float *read_f32(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    float *v = malloc(n * sizeof *v);
    if (v && fread(v, sizeof *v, n, f) != n) {
        free(v);
        v = NULL;
    }
    fclose(f);
    return v;
}

static void distance(const float *a, const float *b, size_t n, double *max_abs, double *rms)
{
    double mx = 0.0, ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        mx = d > mx ? d : mx;
        ss += d * d;
    }
    *max_abs = mx;
    *rms = sqrt(ss / (double)n);
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static int is_ternary(enum bn_mkmodel_type t)
{
    return t == BN_MKMODEL_I2_S || t == BN_MKMODEL_TQ2_0 || t == BN_MKMODEL_TQ1_0;
}

void bn_ref_check(const bn_ref_case *c, const char *model_dir, const char *ref_dir, int n_threads,
                  bn_ref_result *res)
{
    memset(res, 0, sizeof *res);
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    bn_mkmodel_set_shape(&o, c->shape);
    o.type = c->type;
    o.family = c->family;
    o.act = c->act;
    o.arch = c->arch;
    o.seed = c->seed;
    o.log = NULL;
    if (c->n_head_kv)
        o.hp.n_head_kv = c->n_head_kv;
    if (c->rope_theta > 0)
        o.hp.rope_theta = c->rope_theta;
    char path[1024];
    snprintf(path, sizeof path, "%s/ref-%s-%d.gguf", model_dir, c->ref->stem, (int)getpid());
    for (char *p = path + strlen(model_dir); *p; p++)
        if (*p == ' ')
            *p = '_';
    int rc = bn_mkmodel_write(&o, path);
    if (rc)
        fail_msg("%s: generating the model: %s", c->label, bn_last_error());

    bn_model *m = NULL;
    rc = bn_model_load(&m, path, NULL);
    if (rc)
        fail_msg("%s: %s: %s", c->label, bn_strerror(rc), bn_last_error());
    const int n_vocab = bn_model_n_vocab(m);
    assert_int_equal(n_vocab, c->ref->n_vocab);

    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.logits_all = 1;
    cp.n_threads = n_threads;
    cp.n_ctx = 64;
    bn_ctx *ctx = NULL;
    assert_int_equal(bn_ctx_new(&ctx, m, &cp), BN_OK);
    bn_token prompt[16];
    for (int i = 0; i < 16; i++)
        prompt[i] = c->ref->prompt[i];
    assert_int_equal(bn_decode(ctx, prompt, 16), BN_OK);

    const size_t n = 16 * (size_t)n_vocab;
    float *mine = malloc(n * sizeof *mine);
    assert_non_null(mine);
    for (int i = 0; i < 16; i++) {
        const float *l = bn_ctx_logits_ith(ctx, i);
        assert_non_null(l);
        memcpy(mine + (size_t)i * n_vocab, l, (size_t)n_vocab * sizeof *l);
    }
    bn_ctx_free(&ctx);
    bn_model_free(&m);
    unlink(path);

    char ref_path[1024];
    snprintf(ref_path, sizeof ref_path, "%s/%s.0.f32", ref_dir, c->ref->stem);
    float *ref = read_f32(ref_path, n);
    if (!ref)
        fail_msg("cannot read %s", ref_path);
    distance(mine, ref, n, &res->max_abs, &res->rms);
    if (is_ternary(c->type)) {
        res->tol_max = 1.1 * c->ref->ternary_max;
        res->tol_rms = 1.1 * c->ref->ternary_rms;
    } else {
        res->tol_max = 0.01;
        res->tol_rms = 0.01;
    }
    for (int i = 0; i < 16; i++) {
        if (c->ref->gap[i] <= 2.0 * res->tol_max)
            continue;   /* top-1 within the allowed error: not a check */
        res->argmax_checked++;
        res->argmax_agree += argmax(mine + (size_t)i * n_vocab, n_vocab)
                             == argmax(ref + (size_t)i * n_vocab, n_vocab);
    }
    if (c->same_numerics_run >= 0) {
        snprintf(ref_path, sizeof ref_path, "%s/%s.%d.f32", ref_dir, c->ref->stem, c->same_numerics_run);
        float *same = read_f32(ref_path, n);
        if (same)
            distance(mine, same, n, &res->max_abs_same, &res->rms_same);
        free(same);
    }
    free(ref);
    free(mine);
    printf("%-34s max %.5f (limit %.5f)  rms %.5f (limit %.5f)  argmax %d/%d", c->label, res->max_abs,
           res->tol_max, res->rms, res->tol_rms, res->argmax_agree, res->argmax_checked);
    if (c->same_numerics_run >= 0)
        printf("  vs bitnet.cpp I2_S: max %.5f rms %.5f", res->max_abs_same, res->rms_same);
    printf("\n");
    fflush(stdout);
    assert_true(res->max_abs <= res->tol_max);
    assert_true(res->rms <= res->tol_rms);
    assert_int_equal(res->argmax_agree, res->argmax_checked);
}
