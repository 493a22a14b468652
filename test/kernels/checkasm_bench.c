/*
 * checkasm --bench: each entry at each level on 2B4T-sized matrices, one
 * thread. Ternary GEMV is memory bound, so n_tok = 1 is timed twice: "hot"
 * (one matrix, repeatedly: as fast as the caches allow) and "cold" (cycling
 * through copies that fill 256 MB: what decode sees); the small batches
 * (2 to 32 tokens) cold as well. A plain read of the
 * same 256 MB, measured in the same run, gives the bandwidth to compare with
 * (it varies between runs on shared machines).
 *
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that a busy
 * machine that hands the thread a fraction of a core does not divide every
 * figure by that fraction; the smallest fraction seen is printed at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkasm.h"
#include "core/fp16.h"

#define COLD_BYTES ((size_t)256 << 20)
#define MIN_SECONDS 0.3

static volatile float sink;

typedef struct stamp {
    double wall, cpu;
} stamp;

static double min_share = 1.0;

static double seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static stamp now(void)
{
    stamp s = { seconds(CLOCK_MONOTONIC), seconds(CLOCK_THREAD_CPUTIME_ID) };
    return s;
}

/* CPU seconds of this thread since s; notes the share of the wall time */
static double since(stamp s)
{
    const stamp e = now();
    const double cpu = e.cpu - s.cpu, wall = e.wall - s.wall;
    if (wall > 0.05 && cpu / wall < min_share)
        min_share = cpu / wall;
    return cpu;
}

static void *xalloc(size_t n)
{
    void *p = bn_aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p)
        bn_ca_oom();
    return p;
}

/* plain sequential read, baseline C: the bandwidth the kernels compete with */
static double stream_read(const uint8_t *buf, size_t bytes)
{
    const uint64_t *p = (const uint64_t *)(const void *)buf;
    double best = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const stamp t0 = now();
        for (size_t i = 0; i + 4 <= bytes / 8; i += 4) {
            a0 += p[i];
            a1 += p[i + 1];
            a2 += p[i + 2];
            a3 += p[i + 3];
        }
        const double dt = since(t0);
        sink = (float)(a0 + a1 + a2 + a3);
        if ((double)bytes / dt > best)
            best = (double)bytes / dt;
    }
    return best / 1e9;
}

/* ns per call of tgemm over packs[0..n_packs) in turn */
static double time_tgemm(bn_tgemm_fn f, const bn_tpack *packs, size_t n_packs, const bn_qx *x, int n_tok, float *y)
{
    long calls = 0;
    const stamp t0 = now();
    double dt;
    do {
        const bn_tpack *w = &packs[(size_t)calls % n_packs];
        f(w, 0, w->n_tiles, x, n_tok, y, (size_t)w->rows, 0);
        calls++;
        dt = since(t0);
    } while (dt < MIN_SECONDS || (calls < (long)n_packs && calls < 4096));
    sink = y[0];
    return dt * 1e9 / (double)calls;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The same packs with one scale per row and per row and chunk (tpack.h),
 * cold, 1 and 8 tokens: medians of 5 rounds that alternate the three forms,
 * and each form's time against one scale per tensor. */
static void bench_scale_forms(bn_ca *ca, int l, const bn_tpack *packs, size_t n_copies, const bn_qx *x, float *y)
{
    enum { ROUNDS = 5 };
    const bn_tpack *p0 = &packs[0];
    const size_t n_row = (size_t)p0->n_tiles * BN_TP_ROWS, n_block = n_row * (size_t)p0->n_chunks;
    bn_tpack *forms[3] = { calloc(n_copies, sizeof(bn_tpack)), calloc(n_copies, sizeof(bn_tpack)),
                           calloc(n_copies, sizeof(bn_tpack)) };
    /* each copy its own scales, as each tensor has */
    float *sc = xalloc(sizeof(float) * n_copies * (n_row + n_block));
    if (!forms[0] || !forms[1] || !forms[2])
        bn_ca_oom();
    for (size_t i = 0; i < n_copies * (n_row + n_block); i++)
        sc[i] = bn_ca_randf(0.5f, 1.5f);
    for (size_t i = 0; i < n_copies; i++) {
        forms[0][i] = forms[1][i] = forms[2][i] = packs[i];
        forms[1][i].row_scales = sc + i * n_row;
        forms[2][i].block_scales = sc + n_copies * n_row + i * n_block;
        forms[1][i].scale = forms[2][i].scale = 0.0f;
    }
    static const int toks[] = { 1, 8 };
    printf("tgemm   %-11s K=%-5lld rows=%-5lld cold, scales per tensor / row / block", ca->k[l].name,
           (long long)p0->k, (long long)p0->rows);
    for (size_t it = 0; it < sizeof toks / sizeof toks[0]; it++) {
        double t[3][ROUNDS];
        for (int r = 0; r < ROUNDS; r++)
            for (int f = 0; f < 3; f++)
                t[f][r] = time_tgemm(ca->k[l].tgemm, forms[f], n_copies, x, toks[it], y);
        for (int f = 0; f < 3; f++)
            qsort(t[f], ROUNDS, sizeof t[f][0], cmp_double);
        printf(" | n_tok=%d: %8.0f ns, %.3fx, %.3fx", toks[it], t[0][ROUNDS / 2], t[1][ROUNDS / 2] / t[0][ROUNDS / 2],
               t[2][ROUNDS / 2] / t[0][ROUNDS / 2]);
    }
    printf("\n");
    for (int f = 0; f < 3; f++)
        free(forms[f]);
    bn_aligned_free(sc);
}

static void bench_tgemm(bn_ca *ca, uint8_t *big)
{
    /* 2B4T's products, and an 8B-class FFN's down projection (rows taken in
     * segments by the batch kernels) */
    static const int64_t shapes[][2] = { { 2560, 2560 }, { 2560, 640 }, { 2560, 6912 }, { 6912, 2560 }, { 14336, 1024 } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int64_t k = shapes[s][0], rows = shapes[s][1], kp = bn_tp_k_padded(k);
        /* activation rows as a context lays them out */
        const int64_t xs_row = bn_tp_x_stride(k);
        const size_t bytes = bn_ca_packed_bytes(rows, k);
        const size_t n_copies = COLD_BYTES / bytes;
        bn_tpack *packs = calloc(n_copies, sizeof *packs);
        int8_t *xq = xalloc((size_t)(128 * xs_row));
        float *xs = malloc(128 * sizeof(float)), *y = xalloc(sizeof(float) * (size_t)(128 * rows));
        int32_t *sum = malloc(128 * sizeof(int32_t));
        if (!packs || !xs || !sum)
            bn_ca_oom();
        for (size_t i = 0; i < (size_t)(128 * xs_row); i++)
            xq[i] = (int8_t)bn_ca_rand();
        for (int t = 0; t < 128; t++) {
            xs[t] = 0.01f;
            sum[t] = 0;
        }
        for (size_t i = 0; i < n_copies; i++) {
            bn_tpack *p = &packs[i];
            p->rows = rows;
            p->k = k;
            p->n_chunks = kp / BN_TP_CHUNK;
            p->n_tiles = (rows + BN_TP_ROWS - 1) / BN_TP_ROWS;
            p->codes = big + i * bytes;
            p->scale = 1.0f;
            p->bytes = bytes;
        }
        for (int l = 0; l <= ca->max_level; l++) {
            if (l > 0 && ca->k[l].tgemm == ca->k[l - 1].tgemm)
                continue;
            const size_t work_bytes = ca->k[l].tgemm_work ? ca->k[l].tgemm_work(kp) : 0;
            uint8_t *work = work_bytes ? xalloc(work_bytes) : NULL;
            const bn_qx x = { xq, (size_t)xs_row, xs, sum, work, work_bytes };
            const double hot = time_tgemm(ca->k[l].tgemm, packs, 1, &x, 1, y);
            const double cold = time_tgemm(ca->k[l].tgemm, packs, n_copies, &x, 1, y);
            const double batch = time_tgemm(ca->k[l].tgemm, packs, 1, &x, 128, y);
            /* GB/s of packed weights for the GEMV; for the batch, where
             * the weights are read once for 128 tokens, ns per token and
             * ternary MACs per second */
            printf("tgemm   %-11s K=%-5lld rows=%-5lld %5.2f MB | n_tok=1: hot %9.0f ns %5.1f GB/s, cold %9.0f ns "
                   "%5.1f GB/s | n_tok=128: %11.0f ns/call %8.0f ns/token %6.1f GMAC/s\n",
                   ca->k[l].name, (long long)k, (long long)rows, (double)bytes / 1e6, hot, (double)bytes / hot, cold,
                   (double)bytes / cold, batch, batch / 128, (double)(k * rows) * 128 / batch);
            /* the small batches of batched decoding and speculative
             * drafts: weights from memory as in decode; "x" is tokens per
             * second against n_tok = 1 cold */
            printf("tgemm   %-11s K=%-5lld rows=%-5lld cold", ca->k[l].name, (long long)k, (long long)rows);
            static const int small[] = { 2, 4, 8, 16, 32 };
            for (size_t j = 0; j < sizeof small / sizeof small[0]; j++) {
                const double t = time_tgemm(ca->k[l].tgemm, packs, n_copies, &x, small[j], y);
                printf(" | n_tok=%d: %8.0f ns %4.1fx", small[j], t, cold * small[j] / t);
            }
            printf("\n");
            bench_scale_forms(ca, l, packs, n_copies, &x, y);
            fflush(stdout);
            bn_aligned_free(work);
        }
        free(packs);
        bn_aligned_free(xq);
        free(xs);
        bn_aligned_free(y);
        free(sum);
    }
}

static void bench_quant(bn_ca *ca)
{
    static const int64_t ns[] = { 2560, 6912 };
    for (size_t s = 0; s < sizeof ns / sizeof ns[0]; s++) {
        const int64_t n = ns[s];
        float *x = xalloc(sizeof(float) * (size_t)n);
        int8_t *q = xalloc((size_t)bn_tp_k_padded(n));
        for (int64_t i = 0; i < n; i++)
            x[i] = bn_ca_randf(-3.0f, 3.0f);
        for (int l = 0; l <= ca->max_level; l++) {
            if (l > 0 && ca->k[l].quant == ca->k[l - 1].quant)
                continue;
            long calls = 0;
            int32_t sum;
            const stamp t0 = now();
    double dt;
            do {
                sink = ca->k[l].quant(x, n, bn_tp_k_padded(n), q, &sum);
                calls++;
                dt = since(t0);
            } while (dt < MIN_SECONDS);
            const double ns_call = dt * 1e9 / (double)calls;
            printf("quant   %-11s n=%-5lld %9.0f ns %6.1f GB/s of floats\n", ca->k[l].name, (long long)n, ns_call,
                   (double)n * 4 / ns_call);
        }
        bn_aligned_free(x);
        bn_aligned_free(q);
    }
}

/* The output-head products (F16, Q8_0, Q4_0 weights x float activations):
 * cold on a slice of the 128256 x 2560 projection of at least 80 MB (beyond
 * the caches like the whole), and hot on 256 rows (in cache: what the
 * instructions allow, the ceiling of two cores' decode is twice that). */
enum { HEAD_F16, HEAD_Q8, HEAD_Q4, HEAD_TYPES };

static const char *const head_names[HEAD_TYPES] = { "f16gemm", "q8gemm", "q4gemm" };

static size_t head_row_bytes(int type, int64_t k)
{
    return type == HEAD_F16 ? (size_t)k * 2 : type == HEAD_Q8 ? (size_t)k / 32 * 34 : (size_t)k / 32 * 18;
}

static void head_call(const bn_ca *ca, int l, int type, const void *w, int64_t k, int64_t rows, const float *x,
                      int n_tok, float *y)
{
    if (type == HEAD_F16)
        ca->k[l].f16gemm(w, k, 0, rows, x, (size_t)k, n_tok, y, (size_t)rows);
    else if (type == HEAD_Q8)
        ca->k[l].q8gemm(w, k, 0, rows, x, (size_t)k, n_tok, y, (size_t)rows);
    else
        ca->k[l].q4gemm(w, k, 0, rows, x, (size_t)k, n_tok, y, (size_t)rows);
}

static int head_same_as_below(const bn_ca *ca, int l, int type)
{
    if (l == 0)
        return 0;
    return type == HEAD_F16  ? ca->k[l].f16gemm == ca->k[l - 1].f16gemm
           : type == HEAD_Q8 ? ca->k[l].q8gemm == ca->k[l - 1].q8gemm
                             : ca->k[l].q4gemm == ca->k[l - 1].q4gemm;
}

/* random weights: F16 values, or blocks with an f16 scale and random quants */
static void head_fill(int type, uint8_t *w, int64_t k, int64_t rows)
{
    if (type == HEAD_F16) {
        uint16_t *h = (uint16_t *)(void *)w;
        for (int64_t i = 0; i < rows * k; i++)
            h[i] = bn_f16_from_f32(bn_ca_randf(-1.0f, 1.0f));
        return;
    }
    const size_t block = type == HEAD_Q8 ? 34 : 18, n = (size_t)(rows * k / 32);
    for (size_t b = 0; b < n; b++) {
        const uint16_t d = bn_f16_from_f32(bn_ca_randf(0.001f, 0.01f));
        memcpy(w + b * block, &d, sizeof d);
        for (size_t i = 2; i < block; i++)
            w[b * block + i] = (uint8_t)bn_ca_rand();
    }
}

static void bench_head_type(bn_ca *ca, int type)
{
    const int64_t k = 2560, hot_rows = 256;
    int64_t rows = 16384;
    while (head_row_bytes(type, k) * (size_t)rows < (size_t)80e6)
        rows *= 2;
    static const int toks[] = { 1, 8 };
    uint8_t *w = xalloc(head_row_bytes(type, k) * (size_t)rows);
    float *x = xalloc(sizeof(float) * (size_t)(8 * k)), *y = xalloc(sizeof(float) * (size_t)(8 * rows));
    head_fill(type, w, k, rows);
    for (int64_t i = 0; i < 8 * k; i++)
        x[i] = bn_ca_randf(-1.0f, 1.0f);
    /* hot: n_tok 1 on hot_rows rows; cold: n_tok 1 and 8 on all of them */
    for (int run = 0; run < 3; run++) {
        const int hot = run == 0, n_tok = hot ? 1 : toks[run - 1];
        const int64_t r = hot ? hot_rows : rows;
        const double bytes = (double)head_row_bytes(type, k) * (double)r;
        for (int l = 0; l <= ca->max_level; l++) {
            if (head_same_as_below(ca, l, type))
                continue;
            long calls = 0;
            const stamp t0 = now();
            double dt;
            do {
                head_call(ca, l, type, w, k, r, x, n_tok, y);
                calls++;
                dt = since(t0);
            } while (dt < MIN_SECONDS);
            sink = y[0];
            const double ns_call = dt * 1e9 / (double)calls;
            printf("%-7s %-11s K=%lld rows=%-6lld %5.1f MB %s n_tok=%d: %11.0f ns %6.1f GB/s\n", head_names[type],
                   ca->k[l].name, (long long)k, (long long)r, bytes / 1e6, hot ? "hot " : "cold", n_tok, ns_call,
                   bytes / ns_call);
            fflush(stdout);
        }
    }
    bn_aligned_free(w);
    bn_aligned_free(x);
    bn_aligned_free(y);
}

void bn_ca_bench(bn_ca *ca)
{
    uint8_t *big = xalloc(COLD_BYTES);
    /* random codes 0..2 in every 2-bit field */
    for (size_t i = 0; i < COLD_BYTES; i++) {
        uint64_t r = bn_ca_rand();
        big[i] = (uint8_t)(r % 3 | (r >> 8) % 3 << 2 | (r >> 16) % 3 << 4 | (r >> 24) % 3 << 6);
    }
    printf("bench: one thread; stream read of 256 MB (baseline C): %.1f GB/s\n", stream_read(big, COLD_BYTES));
    fflush(stdout);
    bench_tgemm(ca, big);
    bench_quant(ca);
    for (int type = 0; type < HEAD_TYPES; type++)
        bench_head_type(ca, type);
    printf("bench: stream read again: %.1f GB/s\n", stream_read(big, COLD_BYTES));
    printf("bench: this thread got at least %.0f%% of a core while timed%s\n", 100.0 * min_share,
           min_share < 0.9 ? " (busy machine: figures are per CPU second; memory bandwidth is shared)" : "");
    bn_aligned_free(big);
}
