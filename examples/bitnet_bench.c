/* bitnet-bench: prompt-processing and decode speed of a model, the machine's
 * read bandwidth measured in the same run (interleaved with the rounds), and
 * decode speed as a fraction of that roofline. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/membw.h"
#include "common/tool_common.h"

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
            "      --parallel N    N sequences in one context: their prompts in one batch,\n"
            "                      then one batch per step decoding a token of each; pp and\n"
            "                      tg are then aggregate tokens/s of all N (default 1: off)\n"
            "      --shared-prompt with --parallel: one prompt, computed once in sequence 0\n"
            "                      and copied to the others (bn_ctx_seq_copy)\n"
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

/* One repetition of --parallel: every sequence's prompt (or one shared
 * prompt copied to all), then n_gen steps that decode one token of every
 * sequence in one batch. Times in *pp_s and *tg_s. */
static int run_parallel(bn_ctx *c, bn_batch *b, bn_token *tok, int n_par, int n_prompt, int n_gen,
                        int shared, unsigned seed, double *pp_s, double *tg_s)
{
    const int nv = bn_model_n_vocab(bn_ctx_model(c)), nb = bn_ctx_n_batch(c);
    int rc = bn_ctx_seq_clear(c, -1);
    fill_tokens(tok, (n_prompt + n_gen) * n_par, nv, seed);
    double s = bn_tool_now();
    /* prompts, batched across sequences up to n_batch tokens */
    const int n_fill = shared ? 1 : n_par;
    for (int q = 0, i = 0; q < n_fill && !rc;) {
        bn_batch_clear(b);
        while (q < n_fill && bn_batch_n_tokens(b) < nb && !rc) {
            rc = bn_batch_add(b, tok[q * n_prompt + i], q, BN_POS_NEXT, i + 1 == n_prompt);
            if (++i == n_prompt) {
                i = 0;
                q++;
            }
        }
        if (!rc && bn_batch_n_tokens(b))
            rc = bn_decode_batch(c, b);
    }
    for (int q = 1; q < n_par && shared && !rc && n_prompt > 0; q++)
        rc = bn_ctx_seq_copy(c, 0, q, -1);
    *pp_s = bn_tool_now() - s;
    s = bn_tool_now();
    const bn_token *gen = tok + n_prompt * n_par;
    for (int i = 0; i < n_gen && !rc; i++) {
        bn_batch_clear(b);
        for (int q = 0; q < n_par && !rc; q++)
            rc = bn_batch_add(b, gen[i * n_par + q], q, BN_POS_NEXT, 1);
        if (!rc)
            rc = bn_decode_batch(c, b);
    }
    *tg_s = bn_tool_now() - s;
    return rc;
}

int main(int argc, char **argv)
{
    const char *prog = "bitnet-bench", *model_path = NULL;
    int n_prompt = 128, n_gen = 64, reps = 3, rounds = 3, threads = 0, json = 0, bw = 1, q8 = 0;
    int n_par = 1, shared = 0;
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
        } else if (!strcmp(a, "--parallel") && v) {
            n_par = bn_tool_int_arg(prog, a, argv[++i]);
        } else if (!strcmp(a, "--shared-prompt")) {
            shared = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", prog, a);
            usage(stderr);
            return 2;
        }
    }
    if (!model_path || reps < 1 || rounds < 1 || reps * rounds > 256 || n_par < 1 || n_par > 4096
        || (n_par > 1 && n_gen < 1)) {
        fprintf(stderr, "%s: %s\n", prog, !model_path ? "no model given (-m)"
                : n_par < 1 || n_par > 4096 ? "--parallel: expected 1 to 4096"
                : n_par > 1 && n_gen < 1 ? "--parallel needs -n of at least 1" : "bad -r or -R");
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
    if (n_par > 1) {
        cp.n_seq_max = n_par;
        cp.n_batch = n_prompt * n_par > n_par ? n_prompt * n_par : n_par;
        cp.n_batch = cp.n_batch > 4096 ? 4096 : cp.n_batch < n_par ? n_par : cp.n_batch;
    }
    bn_ctx *c = NULL;
    rc = bn_ctx_new(&c, m, &cp);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
        bn_model_free(&m);
        return 1;
    }
    const int nv = bn_model_n_vocab(m), nt = bn_ctx_n_threads(c);
    bn_token *tok = malloc((size_t)(n_prompt + n_gen + 1) * (size_t)n_par * sizeof *tok);
    double pp[256], tg[256], bws[256], roof[256];
    int n_pp = 0, n_tg = 0, n_bw = 0;
    const double bytes_tok = (double)bn_model_bytes_per_token(m);
    /* first token after load, for the load-to-first-token figure */
    fill_tokens(tok, 1, nv, 7);
    rc = bn_decode(c, tok, 1);
    double first_token_s = bn_tool_now() - t0;
    bn_batch *batch = NULL;
    if (n_par > 1)
        rc = bn_batch_new(&batch, bn_ctx_n_batch(c));
    for (int r = 0; r < rounds && !rc; r++) {
        double round_bw = bw ? bn_bench_read_bandwidth(nt, (size_t)1 << 30, 3) : 0.0;
        if (bw)
            bws[n_bw++] = round_bw;
        for (int k = 0; k < reps && !rc && n_par > 1; k++) {
            double pp_s = 0, tg_s = 0;
            rc = run_parallel(c, batch, tok, n_par, n_prompt, n_gen, shared, (unsigned)(r * 100 + k), &pp_s, &tg_s);
            if (n_prompt > 0)
                pp[n_pp++] = (double)(shared ? n_prompt : n_prompt * n_par) / pp_s;
            const double tps = (double)n_gen * n_par / tg_s;
            tg[n_tg++] = tps;
            if (bw && round_bw > 0)
                roof[n_tg - 1] = tps / n_par * bytes_tok / (round_bw * 1e9);
        }
        for (int k = 0; k < reps && !rc && n_prompt > 0 && n_par == 1; k++) {
            fill_tokens(tok, n_prompt, nv, (unsigned)(r * 100 + k));
            rc = bn_ctx_truncate(c, 0);
            double s = bn_tool_now();
            if (!rc)
                rc = bn_decode(c, tok, (size_t)n_prompt);
            pp[n_pp++] = n_prompt / (bn_tool_now() - s);
        }
        for (int k = 0; k < reps && !rc && n_gen > 0 && n_par == 1; k++) {
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
    bn_batch_free(&batch);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
        free(tok);
        bn_ctx_free(&c);
        bn_model_free(&m);
        return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0;
    stats spp = summarize(pp, n_pp), stg = summarize(tg, n_tg), sbw = summarize(bws, n_bw);
    stats sroof = summarize(roof, bw ? n_tg : 0);
    /* F16 cache: K and V of every layer and KV head */
    const double kv_pos = 2.0 * bn_model_n_layer(m) * bn_model_n_head_kv(m)
                          * (bn_model_n_embd(m) / bn_model_n_head(m)) * 2.0;
    if (json) {
        printf("{\"model\":\"%s\",\"arch\":\"%s\",\"weights\":\"%s\",\"kernels\":\"%s\",\"threads\":%d,"
               "\"load_s\":%.4f,\"first_token_s\":%.4f,\"peak_rss_mb\":%.1f,\"bytes_per_token\":%.0f,",
               model_path, bn_model_arch_name(m), bn_model_weight_type_name(m), bn_model_kernel_name(m), nt,
               load_s, first_token_s, rss_mb, bytes_tok);
        printf("\"pp\":{\"tokens\":%d,\"mean\":%.3f,\"sd\":%.3f,\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},",
               n_prompt, spp.mean, spp.sd, spp.median, spp.min, spp.max);
        printf("\"tg\":{\"tokens\":%d,\"mean\":%.3f,\"sd\":%.3f,\"median\":%.3f,\"min\":%.3f,\"max\":%.3f},",
               n_gen, stg.mean, stg.sd, stg.median, stg.min, stg.max);
        if (n_par > 1)
            printf("\"parallel\":{\"sequences\":%d,\"shared_prompt\":%s,\"aggregate_tg\":%.3f,"
                   "\"per_sequence_tg\":%.3f,\"kv_bytes_per_position\":%.0f,\"kv_bytes_per_sequence\":%.0f,"
                   "\"kv_bytes_per_sequence_4096\":%.0f},",
                   n_par, shared ? "true" : "false", stg.median, stg.median / n_par, kv_pos,
                   kv_pos * (n_prompt + n_gen), kv_pos * 4096);
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
        if (n_par > 1)
            printf("parallel     %d sequences%s: decode %.2f tok/s in all, %.2f per sequence (medians); "
                   "KV %.1f MB per sequence (%.0f bytes per position, %.1f MB at 4096)\n",
                   n_par, shared ? " (shared prompt)" : "", stg.median, stg.median / n_par,
                   kv_pos * (n_prompt + n_gen) / 1e6, kv_pos, kv_pos * 4096 / 1e6);
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
