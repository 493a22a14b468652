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
            "      --output-q4     convert the output projection to Q4_0 at load\n"
            "      --parallel N    N sequences in one context: their prompts in one batch,\n"
            "                      then one batch per step decoding a token of each; pp and\n"
            "                      tg are then aggregate tokens/s of all N (default 1: off)\n"
            "      --shared-prompt with --parallel: one prompt, computed once in sequence 0\n"
            "                      and copied to the others (bn_ctx_seq_copy)\n"
            "      --spec FILE     speculative decoding: for each prompt of FILE (separated by\n"
            "                      blank lines) -n greedy tokens plainly, then with drafting;\n"
            "                      checks both give the same tokens and reports acceptance,\n"
            "                      tokens per pass and both speeds (-p and -R are not used)\n"
            "      --draft N       with --spec: most tokens drafted per pass (default 8)\n"
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

/* Greedy generation of n_gen tokens after prompt, plainly or with the
 * speculative decoder; tokens in out, the time in *secs. */
static int generate(bn_ctx *c, bn_sampler *smp, bn_spec *spec, const bn_token *prompt, size_t n_prompt,
                    bn_token *out, int n_gen, double *secs)
{
    const bn_model *m = bn_ctx_model(c);
    bn_sampler_reset(smp);
    int rc = bn_ctx_seq_clear(c, 0);
    for (size_t i = 0; i < n_prompt && !rc; i++)
        rc = bn_sampler_accept(smp, prompt[i]);
    const size_t nb = (size_t)bn_ctx_n_batch(c);
    for (size_t i = 0; i < n_prompt && !rc; i += nb)
        rc = bn_decode(c, prompt + i, n_prompt - i < nb ? n_prompt - i : nb);
    if (!rc && spec)
        rc = bn_spec_begin(spec, prompt, n_prompt);
    const double t0 = bn_tool_now();
    int n = 0;
    bn_token buf[65];
    while (!rc && n < n_gen) {
        size_t got = 1;
        if (spec) {
            rc = bn_spec_step(spec, c, 0, smp, buf, 65, &got);
        } else {
            rc = bn_sampler_sample(smp, bn_ctx_logits(c), &buf[0]);
            if (!rc && !bn_model_token_is_eog(m, buf[0]))
                rc = bn_decode(c, &buf[0], 1);
        }
        for (size_t i = 0; i < got && n < n_gen && !rc; i++) {
            out[n++] = buf[i];
            if (bn_model_token_is_eog(m, buf[i]))
                n_gen = n;          /* stop at the end of generation */
        }
    }
    *secs = bn_tool_now() - t0;
    return rc ? rc : n;
}

/* --spec: every prompt of the file, plain then speculative. */
static int bench_spec(bn_model *m, int threads, const char *path, int n_gen, int n_draft, int json)
{
    size_t len = 0;
    char *text = bn_tool_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "bitnet-bench: %s: cannot read\n", path);
        return 1;
    }
    bn_ctx_params cp;
    bn_ctx_params_default(&cp);
    cp.n_threads = threads;
    cp.n_ctx = 4096;
    bn_ctx *c = NULL;
    bn_sampler *smp = NULL;
    bn_spec *spec = NULL;
    bn_sampler_params sp;
    bn_sampler_params_default(&sp);
    sp.temperature = 0.0f;
    bn_spec_params pp;
    bn_spec_params_default(&pp);
    pp.n_draft_max = n_draft;
    bn_token *prompt = malloc(4096 * sizeof *prompt), *plain = malloc((size_t)n_gen * sizeof *plain);
    bn_token *fast = malloc((size_t)n_gen * sizeof *fast);
    int rc = !prompt || !plain || !fast ? BN_E_NOMEM : bn_ctx_new(&c, m, &cp);
    if (!rc)
        rc = bn_sampler_new(&smp, m, &sp);
    if (!rc)
        rc = bn_spec_new(&spec, &pp);
    double t_plain = 0, t_spec = 0;
    long tokens = 0, mismatches = 0, n_prompts = 0;
    /* prompts: paragraphs separated by blank lines */
    for (char *p = text; !rc && p && *p;) {
        char *end = strstr(p, "\n\n");
        if (end)
            *end = 0;
        size_t n_prompt = 0;
        if (strlen(p) > 0) {
            rc = bn_tokenize(m, p, strlen(p), prompt, 3000, BN_TOKENIZE_ADD_SPECIAL, &n_prompt);
            double s1 = 0, s2 = 0;
            int a = rc ? rc : generate(c, smp, NULL, prompt, n_prompt, plain, n_gen, &s1);
            int b = a < 0 ? a : generate(c, smp, spec, prompt, n_prompt, fast, n_gen, &s2);
            if (a < 0 || b < 0) {
                rc = a < 0 ? a : b;
                break;
            }
            const int same = a == b && !memcmp(plain, fast, (size_t)a * sizeof *plain);
            mismatches += !same;
            tokens += a;
            t_plain += s1;
            t_spec += s2;
            n_prompts++;
            if (!json)
                printf("prompt %ld: %zu tokens, %d generated, plain %.2f tok/s, speculative %.2f tok/s%s\n",
                       n_prompts, n_prompt, a, a / s1, b / s2, same ? "" : " -- OUTPUT DIFFERS");
        }
        p = end ? end + 2 : NULL;
    }
    bn_spec_stats st = { 0 };
    if (spec)
        bn_spec_get_stats(spec, &st);
    if (rc) {
        fprintf(stderr, "bitnet-bench: %s: %s\n", bn_strerror(rc), bn_last_error());
    } else if (json) {
        printf("{\"spec\":{\"prompts\":%ld,\"tokens\":%ld,\"same_output\":%s,\"n_draft_max\":%d,"
               "\"passes\":%lld,\"drafted\":%lld,\"accepted\":%lld,\"acceptance\":%.4f,"
               "\"tokens_per_pass\":%.4f,\"plain_tg\":%.3f,\"spec_tg\":%.3f,\"speedup\":%.4f}}\n",
               n_prompts, tokens, mismatches ? "false" : "true", n_draft, (long long)st.n_steps,
               (long long)st.n_drafted, (long long)st.n_accepted,
               st.n_drafted ? (double)st.n_accepted / (double)st.n_drafted : 0.0,
               st.n_steps ? (double)(st.n_tokens - n_prompts) / (double)st.n_steps : 0.0, tokens / t_plain,
               tokens / t_spec, t_plain / t_spec);
    } else {
        printf("speculative: %ld prompts, %ld tokens, outputs %s; %lld passes, %lld of %lld drafted tokens "
               "accepted (%.1f%%), %.2f tokens per pass; plain %.2f tok/s, speculative %.2f tok/s (%.2fx)\n",
               n_prompts, tokens, mismatches ? "DIFFER" : "identical", (long long)st.n_steps,
               (long long)st.n_accepted, (long long)st.n_drafted,
               st.n_drafted ? 100.0 * (double)st.n_accepted / (double)st.n_drafted : 0.0,
               st.n_steps ? (double)(st.n_tokens - n_prompts) / (double)st.n_steps : 0.0, tokens / t_plain,
               tokens / t_spec, t_plain / t_spec);
    }
    bn_spec_free(&spec);
    bn_sampler_free(&smp);
    bn_ctx_free(&c);
    free(prompt);
    free(plain);
    free(fast);
    free(text);
    return rc || mismatches;
}

int main(int argc, char **argv)
{
    const char *prog = "bitnet-bench", *model_path = NULL;
    bn_tool_init(prog);
    int n_prompt = 128, n_gen = 64, reps = 3, rounds = 3, threads = 0, json = 0, bw = 1, q8 = 0;
    int n_par = 1, shared = 0, q4 = 0, n_draft = 8;
    const char *spec_file = NULL;
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
        } else if (!strcmp(a, "--output-q4")) {
            q4 = 1;
        } else if (!strcmp(a, "--parallel") && v) {
            n_par = bn_tool_int_arg(prog, a, argv[++i]);
        } else if (!strcmp(a, "--shared-prompt")) {
            shared = 1;
        } else if (!strcmp(a, "--spec") && v) {
            spec_file = argv[++i];
        } else if (!strcmp(a, "--draft") && v) {
            n_draft = bn_tool_int_arg(prog, a, argv[++i]);
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
    mp.output_q4 = q4;
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
    if (spec_file) {
        rc = bench_spec(m, threads, spec_file, n_gen, n_draft, json);
        bn_ctx_free(&c);
        bn_model_free(&m);
        return rc ? 1 : 0;
    }
    const int nv = bn_model_n_vocab(m), nt = bn_ctx_n_threads(c);
    bn_token *tok = malloc((size_t)(n_prompt + n_gen + 1) * (size_t)n_par * sizeof *tok);
    double pp[256], tg[256], bws[256], roof[256], e2e[256];
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
            e2e[n_tg] = (double)n_gen * n_par / (pp_s + tg_s);
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
    double rss_mb = (double)bn_tool_peak_rss_kb() / 1024.0;
    stats spp = summarize(pp, n_pp), stg = summarize(tg, n_tg), sbw = summarize(bws, n_bw);
    stats sroof = summarize(roof, bw ? n_tg : 0);
    /* --parallel: generated tokens over the prompts' and the decode's time, the
     * figure a server doing the same work can be held to */
    stats se2e = summarize(e2e, n_par > 1 ? n_tg : 0);
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
                   "\"aggregate_with_prompts\":%.3f,\"per_sequence_tg\":%.3f,\"kv_bytes_per_position\":%.0f,"
                   "\"kv_bytes_per_sequence\":%.0f,"
                   "\"kv_bytes_per_sequence_4096\":%.0f},",
                   n_par, shared ? "true" : "false", stg.median, se2e.median, stg.median / n_par, kv_pos,
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
            printf("parallel     %d sequences%s: decode %.2f tok/s in all, %.2f per sequence, %.2f in all with "
                   "the prompts' time (medians); KV %.1f MB per sequence (%.0f bytes per position, %.1f MB at 4096)\n",
                   n_par, shared ? " (shared prompt)" : "", stg.median, stg.median / n_par, se2e.median,
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
