/* bitnet-logits: the logits a model gives for a token sequence, as JSON lines
 * (top-k per position) and optionally raw f32, for comparing implementations. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tool_common.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bitnet-logits -m MODEL --tokens 1,2,3 [OPTIONS]\n"
            "Print the logits of every position of a token sequence decoded in one batch.\n\n"
            "  -m, --model FILE      GGUF model\n"
            "      --tokens LIST     comma-separated token ids\n"
            "      --tokens-file F   token ids from a file (whitespace or commas; - = stdin)\n"
            "      --top K           top-K (id, logit) pairs per position (default 20)\n"
            "      --raw FILE        also write all logits as little-endian f32 [n_tokens][n_vocab]\n"
            "  -t, --threads N       threads (default: all CPUs)\n"
            "      --kv-f32          F32 KV cache instead of F16\n"
            "  -h, --help            show this help and exit\n"
            "      --version         show the library version and exit\n\n"
            "Output: one JSON object per line: {\"pos\":P,\"token\":T,\"top\":[[id,logit],...]}\n");
}

typedef struct pair {
    int id;
    float v;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return x->id - y->id;
}

int main(int argc, char **argv)
{
    const char *prog = "bitnet-logits", *model_path = NULL, *raw = NULL;
    bn_tool_init(prog);
    bn_token *tokens = NULL;
    long n_tokens = -1;
    int top = 20, threads = 0, kv_f32 = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("%s (libbitnet) %s\n", prog, bn_version_string());
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v) {
            model_path = v;
            i++;
        } else if (!strcmp(a, "--tokens") && v) {
            free(tokens);
            n_tokens = bn_tool_parse_tokens(v, &tokens);
            i++;
        } else if (!strcmp(a, "--tokens-file") && v) {
            free(tokens);
            n_tokens = bn_tool_read_tokens(v, &tokens);
            i++;
        } else if (!strcmp(a, "--top") && v) {
            top = bn_tool_int_arg(prog, a, v);
            i++;
        } else if (!strcmp(a, "--raw") && v) {
            raw = v;
            i++;
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && v) {
            threads = bn_tool_int_arg(prog, a, v);
            i++;
        } else if (!strcmp(a, "--kv-f32")) {
            kv_f32 = 1;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", prog, a);
            usage(stderr);
            return 2;
        }
    }
    if (!model_path || n_tokens <= 0) {
        fprintf(stderr, "%s: %s\n", prog, !model_path ? "no model given (-m)" :
                n_tokens == 0 ? "no tokens given" : "bad or missing token list");
        usage(stderr);
        free(tokens);
        return 2;
    }
    bn_model *m = bn_tool_load_model(prog, model_path);
    if (!m) {
        free(tokens);
        return 1;
    }
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.logits_all = 1;
    cp.n_threads = threads;
    cp.n_ctx = (int32_t)n_tokens;
    cp.n_batch = (int32_t)n_tokens;
    cp.kv_type = kv_f32 ? BN_KV_F32 : BN_KV_F16;
    bn_ctx *c = NULL;
    int rc = bn_ctx_new(&c, m, &cp);
    if (!rc)
        rc = bn_decode(c, tokens, (size_t)n_tokens);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
        bn_ctx_free(&c);
        bn_model_free(&m);
        free(tokens);
        return 1;
    }
    const int nv = bn_model_n_vocab(m);
    if (top > nv)
        top = nv;
    pair *pairs = malloc((size_t)nv * sizeof *pairs);
    FILE *rf = raw ? fopen(raw, "wb") : NULL;
    int status = 0;
    if (raw && !rf) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, raw, strerror(errno));
        status = 1;
    } else if (!pairs) {
        fprintf(stderr, "%s: out of memory\n", prog);
        status = 1;
    }
    for (long p = 0; p < n_tokens && !status; p++) {
        const float *l = bn_ctx_logits_ith(c, (int32_t)p);
        if (rf && fwrite(l, sizeof *l, (size_t)nv, rf) != (size_t)nv)
            break;      /* reported when the file is closed */
        for (int i = 0; i < nv; i++) {
            pairs[i].id = i;
            pairs[i].v = l[i];
        }
        qsort(pairs, (size_t)nv, sizeof *pairs, cmp_pair);
        printf("{\"pos\":%ld,\"token\":%d,\"top\":[", p, tokens[p]);
        for (int k = 0; k < top; k++)
            printf("%s[%d,%.6g]", k ? "," : "", pairs[k].id, (double)pairs[k].v);
        printf("]}\n");
    }
    if (rf && bn_tool_close_output(prog, rf, raw))
        status = 1;
    free(pairs);
    bn_ctx_free(&c);
    bn_model_free(&m);
    free(tokens);
    return status;
}
