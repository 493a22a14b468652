/* bitnet-bench: prompt-processing and decode speed of a model, the machine's
 * read bandwidth measured in the same run (interleaved with the rounds), and
 * decode speed as a fraction of that roofline. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/membw.h"
#include "common/tool_common.h"
#include "common/tool_os.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bitnet-bench -m MODEL [OPTIONS]\n"
            "Measure prompt processing (pp) and decode (tg) speed, with the machine's read\n"
            "bandwidth measured between rounds (the decode roofline).\n\n"
            "  -m, --model FILE    GGUF model\n"
            "  -p, --prompt N      prompt tokens, decoded in one batch (default 128; 0 = skip)\n"
            "  -n, --gen N         tokens decoded one at a time (default 64; 0 = skip)\n"
            "  -r, --reps N        repetitions per round (default 3)\n"
            "  -R, --rounds N      rounds; bandwidth is measured before each (default 3)\n"
            "  -t, --threads N     threads (default: all CPUs)\n"
            "      --no-bandwidth  skip the bandwidth probe\n"
            "      --output-q8     convert the output projection to Q8_0 at load\n"
            "      --json          one JSON object instead of the table\n"
            "  -h, --help          show this help and exit\n"
            "      --version       show the library version and exit\n");
}

typedef struct stats {
    double mean, sd, min, max, median;
} stats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static stats summarize(const double *v, int n)
{
    stats s = { 0 };
    if (n <= 0)
        return s;
    double sorted[256];
    n = n > 256 ? 256 : n;
    memcpy(sorted, v, (size_t)n * sizeof *v);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    for (int i = 0; i < n; i++)
        s.mean += v[i] / n;
    for (int i = 0; i < n; i++)
        s.sd += (v[i] - s.mean) * (v[i] - s.mean) / (n > 1 ? n - 1 : 1);
    s.sd = sqrt(s.sd);
    s.min = sorted[0];
    s.max = sorted[n - 1];
    s.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    return s;
}

static void fill_tokens(bn_token *t, int n, int n_vocab, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        t[i] = (bn_token)((seed >> 8) % (unsigned)n_vocab);
    }
}

int main(int argc, char **argv)
{
    const char *prog = "bitnet-bench", *model_path = NULL;
    int n_prompt = 128, n_gen = 64, reps = 3, rounds = 3, threads = 0, json = 0, bw = 1, q8 = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("%s (libbitnet) %s\n", prog, bn_version_string());
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && v) {
            model_path = argv[++i];
        } else if ((!strcmp(a, "-p") || !strcmp(a, "--prompt")) && v) {
            n_prompt = bn_tool_int_arg(prog, a, argv[++i]);
        } else if ((!strcmp(a, "-n") || !strcmp(a, "--gen")) && v) {
            n_gen = bn_tool_int_arg(prog, a, argv[++i]);
        } else if ((!strcmp(a, "-r") || !strcmp(a, "--reps")) && v) {
            reps = bn_tool_int_arg(prog, a, argv[++i]);
        } else if ((!strcmp(a, "-R") || !strcmp(a, "--rounds")) && v) {
            rounds = bn_tool_int_arg(prog, a, argv[++i]);
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && v) {
            threads = bn_tool_int_arg(prog, a, argv[++i]);
        } else if (!strcmp(a, "--no-bandwidth")) {
            bw = 0;
        } else if (!strcmp(a, "--output-q8")) {
            q8 = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", prog, a);
            usage(stderr);
            return 2;
        }
    }
    if (!model_path || reps < 1 || rounds < 1 || reps * rounds > 256) {
        fprintf(stderr, "%s: %s\n", prog, !model_path ? "no model given (-m)" : "bad -r or -R");
        usage(stderr);
        return 2;
    }
    double t0 = bn_tool_now();
    bn_model_params mp;
    bn_model_params_default(&mp);
    mp.output_q8 = q8;
    bn_model *m = NULL;
    int rc = bn_model_load(&m, model_path, &mp);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
        return 1;
    }
    double load_s = bn_tool_now() - t0;
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_threads = threads;
    cp.n_ctx = n_prompt + n_gen + 1;
    cp.n_batch = n_prompt > 0 ? n_prompt : 1;
    bn_ctx *c = NULL;
    rc = bn_ctx_new(&c, m, &cp);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
        bn_model_free(&m);
        return 1;
    }
    const int nv = bn_model_n_vocab(m), nt = bn_ctx_n_threads(c);
    bn_token *tok = malloc((size_t)(n_prompt + n_gen + 1) * sizeof *tok);
    double pp[256], tg[256], bws[256], roof[256];
    int n_pp = 0, n_tg = 0, n_bw = 0;
    const double bytes_tok = (double)bn_model_bytes_per_token(m);
    /* first token after load, for the load-to-first-token figure */
    fill_tokens(tok, 1, nv, 7);
    rc = bn_decode(c, tok, 1);
    double first_token_s = bn_tool_now() - t0;
    for (int r = 0; r < rounds && !rc; r++) {
        double round_bw = bw ? bn_bench_read_bandwidth(nt, (size_t)1 << 30, 3) : 0.0;
        if (bw)
            bws[n_bw++] = round_bw;
        for (int k = 0; k < reps && !rc && n_prompt > 0; k++) {
            fill_tokens(tok, n_prompt, nv, (unsigned)(r * 100 + k));
            rc = bn_ctx_truncate(c, 0);
            double s = bn_tool_now();
            if (!rc)
                rc = bn_decode(c, tok, (size_t)n_prompt);
            pp[n_pp++] = n_prompt / (bn_tool_now() - s);
        }
        for (int k = 0; k < reps && !rc && n_gen > 0; k++) {
            fill_tokens(tok, n_gen, nv, (unsigned)(r * 100 + k + 50));
            rc = bn_ctx_truncate(c, 0);
            double s = bn_tool_now();
            for (int i = 0; i < n_gen && !rc; i++)
                rc = bn_decode(c, &tok[i], 1);
            double tps = n_gen / (bn_tool_now() - s);
            tg[n_tg++] = tps;
            if (bw && round_bw > 0)
                roof[n_tg - 1] = tps * bytes_tok / (round_bw * 1e9);
        }
    }
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
        free(tok);
        bn_ctx_free(&c);
        bn_model_free(&m);
        return 1;
    }
    double rss_mb = (double)bn_tool_peak_rss_kb() / 1024.0;
    stats spp = summarize(pp, n_pp), stg = summarize(tg, n_tg), sbw = summarize(bws, n_bw);
    stats sroof = summarize(roof, bw ? n_tg : 0);
    if (json) {
        printf("{\"model\":\"%s\",\"arch\":\"%s\",\"weights\":\"%s\",\"kernels\":\"%s\",\"threads\":%d,"
               "\"load_s\":%.4f,\"first_token_s\":%.4f,\"peak_rss_mb\":%.1f,\"bytes_per_token\":%.0f,",
               model_path, bn_model_arch_name(m), bn_model_weight_type_name(m), bn_model_kernel_name(m), nt,
               load_s, first_token_s, rss_mb, bytes_tok);
        printf("\"pp\":{\"tokens\":%d,\"mean\":%.3f,\"sd\":%.3f,\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},",
               n_prompt, spp.mean, spp.sd, spp.median, spp.min, spp.max);
        printf("\"tg\":{\"tokens\":%d,\"mean\":%.3f,\"sd\":%.3f,\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},",
               n_gen, stg.mean, stg.sd, stg.median, stg.min, stg.max);
        printf("\"bandwidth_gbps\":{\"median\":%.2f,\"min\":%.2f,\"max\":%.2f},", sbw.median, sbw.min, sbw.max);
        printf("\"tg_roofline_fraction\":{\"median\":%.4f,\"min\":%.4f,\"max\":%.4f}}\n", sroof.median,
               sroof.min, sroof.max);
    } else {
        printf("model        %s (%s, %s)\n", model_path, bn_model_arch_name(m), bn_model_weight_type_name(m));
        printf("kernels      %s, %d threads\n", bn_model_kernel_name(m), nt);
        printf("load         %.3f s (to first token %.3f s), peak RSS %.1f MB\n", load_s, first_token_s, rss_mb);
        printf("%-6s %8s %10s %10s %10s %10s\n", "test", "tokens", "mean t/s", "sd", "min", "max");
        if (n_prompt > 0)
            printf("%-6s %8d %10.2f %10.2f %10.2f %10.2f\n", "pp", n_prompt, spp.mean, spp.sd, spp.min, spp.max);
        if (n_gen > 0)
            printf("%-6s %8d %10.2f %10.2f %10.2f %10.2f\n", "tg", n_gen, stg.mean, stg.sd, stg.min, stg.max);
        if (bw) {
            printf("bandwidth    %.1f GB/s median (%.1f to %.1f), %d threads\n", sbw.median, sbw.min, sbw.max, nt);
            if (n_gen > 0)
                printf("roofline     %.1f MB per token: decode at %.1f%% of the roofline (median; %.1f%% to %.1f%%)\n",
                       bytes_tok / 1e6, 100 * sroof.median, 100 * sroof.min, 100 * sroof.max);
        }
    }
    free(tok);
    bn_ctx_free(&c);
    bn_model_free(&m);
    return 0;
}
