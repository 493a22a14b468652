/* bitnet-perplexity: perplexity of a model on a token sequence, in windows of
 * the context size (each window scored from its second token on). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tool_common.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bitnet-perplexity -m MODEL (-f TEXT | --tokens LIST | --tokens-file FILE) [OPTIONS]\n"
            "Perplexity of a model on a token sequence, cut into windows of -c tokens.\n\n"
            "  -m, --model FILE      GGUF model\n"
            "  -f, --file TEXT       a text file, tokenized with the model's tokenizer (BOS added\n"
            "                        as the model asks)\n"
            "      --tokens LIST     comma-separated token ids\n"
            "      --tokens-file F   token ids from a file (whitespace or commas; - = stdin)\n"
            "  -c, --ctx-size N      window size (default 512, at most the model's context)\n"
            "  -b, --batch-size N    tokens per decode call (default 512)\n"
            "  -t, --threads N       threads (default: all CPUs)\n"
            "      --json            print the result as one JSON object\n"
            "  -h, --help            show this help and exit\n"
            "      --version         show the library version and exit\n");
}

/* -log softmax(logits)[target], in double */
static double nll(const float *logits, int nv, int target)
{
    double max = logits[0];
    for (int i = 1; i < nv; i++)
        max = logits[i] > max ? logits[i] : max;
    double sum = 0.0;
    for (int i = 0; i < nv; i++)
        sum += exp((double)logits[i] - max);
    return log(sum) + max - (double)logits[target];
}

/* The text's tokens with the model's tokenizer; returns the count, -1 on failure. */
static long tokenize_file(const char *prog, const bn_model *m, const char *path, bn_token **out)
{
    size_t len = 0, n = 0;
    char *text = bn_tool_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "%s: cannot read %s\n", prog, path);
        return -1;
    }
    int rc = bn_tokenize(m, text, len, NULL, 0, BN_TOKENIZE_ADD_SPECIAL, &n);
    if (rc == BN_E_RANGE || rc == BN_OK) {
        *out = malloc((n ? n : 1) * sizeof **out);
        rc = *out ? bn_tokenize(m, text, len, *out, n, BN_TOKENIZE_ADD_SPECIAL, &n) : BN_E_NOMEM;
    }
    free(text);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
        return -1;
    }
    return (long)n;
}

int main(int argc, char **argv)
{
    const char *prog = "bitnet-perplexity", *model_path = NULL, *text_path = NULL;
    bn_tool_init(prog);
    bn_token *tokens = NULL;
    long n_tokens = -1;
    int n_ctx = 512, n_batch = 512, threads = 0, json = 0;
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
        } else if ((!strcmp(a, "-f") || !strcmp(a, "--file")) && v) {
            text_path = v;
            i++;
        } else if (!strcmp(a, "--tokens") && v) {
            free(tokens);
            n_tokens = bn_tool_parse_tokens(v, &tokens);
            i++;
        } else if (!strcmp(a, "--tokens-file") && v) {
            free(tokens);
            n_tokens = bn_tool_read_tokens(v, &tokens);
            i++;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) && v) {
            n_ctx = bn_tool_int_arg(prog, a, v);
            i++;
        } else if ((!strcmp(a, "-b") || !strcmp(a, "--batch-size")) && v) {
            n_batch = bn_tool_int_arg(prog, a, v);
            i++;
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && v) {
            threads = bn_tool_int_arg(prog, a, v);
            i++;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", prog, a);
            usage(stderr);
            return 2;
        }
    }
    if (!model_path || (n_tokens < 2 && !text_path) || n_ctx < 2 || n_batch < 1) {
        fprintf(stderr, "%s: %s\n", prog, !model_path ? "no model given (-m)" :
                n_tokens < 2 && !text_path ? "need a text or at least two tokens" : "bad -c or -b");
        usage(stderr);
        free(tokens);
        return 2;
    }
    bn_model *m = bn_tool_load_model(prog, model_path);
    if (!m) {
        free(tokens);
        return 1;
    }
    if (text_path) {
        free(tokens);
        tokens = NULL;
        n_tokens = tokenize_file(prog, m, text_path, &tokens);
        if (n_tokens < 2) {
            if (n_tokens >= 0)
                fprintf(stderr, "%s: %s gives fewer than two tokens\n", prog, text_path);
            free(tokens);
            bn_model_free(&m);
            return 1;
        }
    }
    if (n_ctx > bn_model_n_ctx_train(m))
        n_ctx = bn_model_n_ctx_train(m);
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.n_threads = threads;
    cp.logits_all = 1;
    bn_ctx *c = NULL;
    int rc = bn_ctx_new(&c, m, &cp);
    const int nv = bn_model_n_vocab(m);
    double sum = 0.0, t0 = bn_tool_now();
    long scored = 0;
    for (long start = 0; !rc && start + 1 < n_tokens; start += n_ctx) {
        long len = n_tokens - start < n_ctx ? n_tokens - start : n_ctx;
        rc = bn_ctx_truncate(c, 0);
        for (long off = 0; !rc && off < len; off += bn_ctx_n_batch(c)) {
            long n = len - off < bn_ctx_n_batch(c) ? len - off : bn_ctx_n_batch(c);
            rc = bn_decode(c, tokens + start + off, (size_t)n);
            for (long i = 0; !rc && i < n; i++) {
                long pos = off + i;             /* predicts token start + pos + 1 */
                if (pos + 1 >= len)
                    break;
                sum += nll(bn_ctx_logits_ith(c, (int32_t)i), nv, tokens[start + pos + 1]);
                scored++;
            }
        }
    }
    double secs = bn_tool_now() - t0;
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
    } else {
        double ppl = exp(sum / (double)scored);
        if (json)
            printf("{\"perplexity\":%.6f,\"mean_nll\":%.6f,\"tokens_scored\":%ld,\"n_ctx\":%d,"
                   "\"tokens_per_second\":%.2f}\n", ppl, sum / (double)scored, scored, n_ctx,
                   (double)n_tokens / secs);
        else
            printf("perplexity %.4f over %ld predicted tokens (windows of %d), %.1f tokens/s\n", ppl,
                   scored, n_ctx, (double)n_tokens / secs);
    }
    bn_ctx_free(&c);
    bn_model_free(&m);
    free(tokens);
    return rc ? 1 : 0;
}
