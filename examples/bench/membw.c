/* Read bandwidth of this machine with N threads: each thread streams its own
 * slice of a large buffer with the widest vector loads the CPU has. Two ways
 * of reading are timed and the faster counts, so that the roofline is what
 * the machine can deliver, not what one loop happens to get: a plain loop
 * (the hardware prefetchers alone), and the GEMV kernels' way (two halves of
 * the slice side by side, software prefetch 4 KB ahead), which on a 2-vCPU
 * Emerald Rapids reads 10-20 % faster. */
#include "membw.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tool_os.h"

typedef struct slice {
    const uint8_t *p;
    size_t n;
    int prefetched;
    uint64_t sink;
} slice;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint8_t *p, size_t n)
{
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 256 <= n; i += 256) {
        a0 = _mm512_or_si512(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_or_si512(a1, _mm512_load_si512((const void *)(p + i + 64)));
        a2 = _mm512_or_si512(a2, _mm512_load_si512((const void *)(p + i + 128)));
        a3 = _mm512_or_si512(a3, _mm512_load_si512((const void *)(p + i + 192)));
    }
    a0 = _mm512_or_si512(_mm512_or_si512(a0, a1), _mm512_or_si512(a2, a3));
    return (uint64_t)_mm512_reduce_or_epi64(a0);
}

/* bytes ahead of each stream that the prefetched read asks for */
#define PREFETCH_AHEAD 4096

__attribute__((target("avx512f"))) static uint64_t read_avx512_prefetched(const uint8_t *p, size_t n)
{
    const size_t half = n / 2 / 256 * 256;
    const uint8_t *q = p + half;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 256 <= half; i += 256) {
        for (int l = 0; l < 256; l += 64) {
            _mm_prefetch((const char *)p + i + PREFETCH_AHEAD + l, _MM_HINT_T0);
            _mm_prefetch((const char *)q + i + PREFETCH_AHEAD + l, _MM_HINT_T0);
        }
        a0 = _mm512_or_si512(a0, _mm512_load_si512((const void *)(p + i)));
        a1 = _mm512_or_si512(a1, _mm512_load_si512((const void *)(p + i + 64)));
        a2 = _mm512_or_si512(a2, _mm512_load_si512((const void *)(p + i + 128)));
        a3 = _mm512_or_si512(a3, _mm512_load_si512((const void *)(p + i + 192)));
        a0 = _mm512_or_si512(a0, _mm512_load_si512((const void *)(q + i)));
        a1 = _mm512_or_si512(a1, _mm512_load_si512((const void *)(q + i + 64)));
        a2 = _mm512_or_si512(a2, _mm512_load_si512((const void *)(q + i + 128)));
        a3 = _mm512_or_si512(a3, _mm512_load_si512((const void *)(q + i + 192)));
    }
    a0 = _mm512_or_si512(_mm512_or_si512(a0, a1), _mm512_or_si512(a2, a3));
    return (uint64_t)_mm512_reduce_or_epi64(a0);
}

__attribute__((target("avx2"))) static uint64_t read_avx2(const uint8_t *p, size_t n)
{
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= n; i += 128) {
        a0 = _mm256_or_si256(a0, _mm256_load_si256((const void *)(p + i)));
        a1 = _mm256_or_si256(a1, _mm256_load_si256((const void *)(p + i + 32)));
        a2 = _mm256_or_si256(a2, _mm256_load_si256((const void *)(p + i + 64)));
        a3 = _mm256_or_si256(a3, _mm256_load_si256((const void *)(p + i + 96)));
    }
    a0 = _mm256_or_si256(_mm256_or_si256(a0, a1), _mm256_or_si256(a2, a3));
    return (uint64_t)_mm256_extract_epi64(a0, 0) | (uint64_t)_mm256_extract_epi64(a0, 3);
}
#endif

static uint64_t read_plain(const uint8_t *p, size_t n)
{
    uint64_t a = 0, b = 0, c = 0, d = 0;
    const uint64_t *q = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i + 4 <= n / 8; i += 4) {
        a |= q[i];
        b |= q[i + 1];
        c |= q[i + 2];
        d |= q[i + 3];
    }
    return a | b | c | d;
}

/* prefetched: the kernels' way of reading, where they have one (AVX-512) */
static uint64_t read_best(const uint8_t *p, size_t n, int prefetched)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f"))
        return prefetched ? read_avx512_prefetched(p, n) : read_avx512(p, n);
    if (__builtin_cpu_supports("avx2"))
        return read_avx2(p, n);
#endif
    (void)prefetched;   /* elsewhere both rounds read plainly */
    return read_plain(p, n);
}

static void *reader(void *arg)
{
    slice *s = arg;
    s->sink = read_best(s->p, s->n, s->prefetched);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double measure(int n_threads, size_t bytes, int reps)
{
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > 64)
        n_threads = 64;
    /* 2 MB aligned and advised for huge pages, as the packed weights are
     * (lib/core/hugepages.c) */
    uint8_t *buf = bn_tool_huge_alloc(bytes);
    if (!buf)
        return 0.0;
    memset(buf, 1, bytes);     /* fault every page in before timing */
    slice s[64];
    pthread_t th[64];
    size_t per = bytes / (size_t)n_threads / 4096 * 4096;
    double best = 0.0;
    /* the two ways alternate, so that drift favours neither */
    for (int r = 0; r < 2 * reps; r++) {
        double t0 = now();
        for (int i = 0; i < n_threads; i++) {
            s[i].p = buf + (size_t)i * per;
            s[i].n = per;
            s[i].prefetched = r & 1;
            if (i > 0)
                pthread_create(&th[i], NULL, reader, &s[i]);
        }
        reader(&s[0]);
        for (int i = 1; i < n_threads; i++)
            pthread_join(th[i], NULL);
        double gbs = (double)per * n_threads / (now() - t0) * 1e-9;
        best = gbs > best ? gbs : best;
    }
    bn_tool_huge_free(buf);
    return best;
}

typedef struct probe {
    int n_threads;
    size_t bytes;
    int reps;
} probe;

static double run_probe(void *arg)
{
    const probe *p = arg;
    return measure(p->n_threads, p->bytes, p->reps);
}

/* In a child process where the OS can fork, so that the probe's buffer never
 * counts in the benchmark's peak RSS. */
double bn_bench_read_bandwidth(int n_threads, size_t bytes, int reps)
{
    probe p = { n_threads, bytes, reps };
    return bn_tool_in_child(run_probe, &p);
}
