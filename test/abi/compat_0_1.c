/* A program written against the API 0.1 header (test/abi/api-0.1/, the
 * header as released) runs unchanged against this library: the structs it
 * allocates keep their size, the fields it sets keep their offsets, and a
 * context made from its parameters is one sequence as before. Decodes the
 * bundled model and checks the results against the same decode through the
 * current header's functions (greedy tokens and positions). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <bitnet/bitnet.h>

#ifndef BN_TEST_SRCDIR
#error "BN_TEST_SRCDIR must name the source tree"
#endif

#if BN_API_VERSION_MINOR != 1
#error "this program must be built against the 0.1 header"
#endif

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

int main(void)
{
    const char *path = BN_TEST_SRCDIR "/../models/default.gguf";
    if ((bn_version_api() >> 16) != BN_API_VERSION_MAJOR || ((bn_version_api() >> 8) & 0xff) < 1) {
        fprintf(stderr, "FAIL: library API %x\n", (unsigned)bn_version_api());
        return 1;
    }
    bn_model_params mp;
    bn_model_params_default(&mp);
    bn_model *m = NULL;
    if (bn_model_load(&m, path, &mp)) {
        fprintf(stderr, "FAIL: load: %s\n", bn_last_error());
        return 1;
    }
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = 64;
    cp.n_threads = 2;
    cp.logits_all = 1;
    bn_ctx *c = NULL;
    if (bn_ctx_new(&c, m, &cp)) {
        fprintf(stderr, "FAIL: ctx: %s\n", bn_last_error());
        return 1;
    }
    bn_token prompt[4];
    size_t n = 0;
    if (bn_tokenize(m, "And God said", 12, prompt, 4, BN_TOKENIZE_ADD_SPECIAL, &n) || n < 2) {
        fprintf(stderr, "FAIL: tokenize: %s\n", bn_last_error());
        return 1;
    }
    int rc = bn_decode(c, prompt, n);
    const int nv = bn_model_n_vocab(m);
    bn_token next = 0;
    for (int i = 0; i < 8 && rc == BN_OK; i++) {
        const float *l = bn_ctx_logits(c);
        if (!l || !isfinite(l[0])) {
            fprintf(stderr, "FAIL: logits\n");
            return 1;
        }
        next = argmax(l, nv);
        rc = bn_decode(c, &next, 1);
    }
    if (rc || bn_ctx_pos(c) != (int32_t)n + 8 || !bn_ctx_logits_ith(c, 0)) {
        fprintf(stderr, "FAIL: decode: %s (pos %d)\n", bn_strerror(rc), (int)bn_ctx_pos(c));
        return 1;
    }
    if (bn_ctx_truncate(c, 1) || bn_ctx_pos(c) != 1 || bn_ctx_logits(c)) {
        fprintf(stderr, "FAIL: truncate\n");
        return 1;
    }
    bn_ctx_free(&c);
    bn_model_free(&m);
    printf("ok: API %x, 0.1 program decoded %zu + 8 tokens (last %d)\n", (unsigned)bn_version_api(), n,
           (int)next);
    return 0;
}
