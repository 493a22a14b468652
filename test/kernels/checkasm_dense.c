/*
 * checkasm --dense-layout: the experiment behind keeping the 2-bit packed
 * layout (tpack.h) rather than TQ1_0's denser base-3 packing (five codes per
 * byte, 1.6 bits per weight, 20 % fewer bytes per token).
 *
 * A GEMV over the dense packing: each 64-byte chunk holds 320 weights, byte j
 * the codes of weights j, 64 + j, ..., 256 + j as sum c_p 3^p. Two 256-entry
 * tables (four vpermi2b and two blends per chunk, AVX-512 VBMI) turn it into
 * the 2-bit planes of four codes plus the fifth code, which then go through
 * vpdpbusd like the packed layout. Both GEMVs are timed on the same random
 * codes, 2B4T rows (K = 2560), about 256 MB of packed weights (what decode
 * streams), with 1 and 2 threads; the figure that matters is weights per
 * second: the dense one wins only if its unpacking keeps up with memory.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkasm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "arch/x86_64/kernels_x86.h"

#define DENSE_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vnni")))
#define K 2560
#define CHUNK 320

static uint8_t table4[256], table1[256];

DENSE_TARGET static inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8)
{
    return _mm512_dpbusd_epi32(acc, u8, s8);
}

DENSE_TARGET static int32_t dense_dot(const uint8_t *row, int64_t n_chunks, const int8_t *x)
{
    const __m512i a0 = _mm512_loadu_si512(table4), a1 = _mm512_loadu_si512(table4 + 64);
    const __m512i a2 = _mm512_loadu_si512(table4 + 128), a3 = _mm512_loadu_si512(table4 + 192);
    const __m512i b0 = _mm512_loadu_si512(table1), b1 = _mm512_loadu_si512(table1 + 64);
    const __m512i b2 = _mm512_loadu_si512(table1 + 128), b3 = _mm512_loadu_si512(table1 + 192);
    const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c);
    const __m512i m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8((char)0xc0);
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0;
    for (int64_t c = 0; c < n_chunks; c++) {
        const uint8_t *p = row + c * 64;
        _mm_prefetch((const char *)p + 4096, _MM_HINT_T0);
        const __m512i v = _mm512_load_si512(p);
        const __mmask64 high = _mm512_movepi8_mask(v);   /* byte >= 128: the second half of each table */
        const __m512i w4 = _mm512_mask_blend_epi8(high, _mm512_permutex2var_epi8(a0, v, a1),
                                                  _mm512_permutex2var_epi8(a2, v, a3));
        const __m512i w1 = _mm512_mask_blend_epi8(high, _mm512_permutex2var_epi8(b0, v, b1),
                                                  _mm512_permutex2var_epi8(b2, v, b3));
        const int8_t *xc = x + c * CHUNK;
        s0 = dpbusd(s0, _mm512_and_si512(w4, m0), _mm512_loadu_si512(xc));
        s1 = dpbusd(s1, _mm512_and_si512(w4, m1), _mm512_loadu_si512(xc + 64));
        s2 = dpbusd(s2, _mm512_and_si512(w4, m2), _mm512_loadu_si512(xc + 128));
        s3 = dpbusd(s3, _mm512_and_si512(w4, m3), _mm512_loadu_si512(xc + 192));
        s4 = dpbusd(s4, w1, _mm512_loadu_si512(xc + 256));
    }
    const __m512i t = _mm512_add_epi32(_mm512_add_epi32(s0, _mm512_srai_epi32(s1, 2)),
                                       _mm512_add_epi32(_mm512_srai_epi32(s2, 4), _mm512_srai_epi32(s3, 6)));
    return _mm512_reduce_add_epi32(_mm512_add_epi32(t, s4));
}

typedef struct job {
    int dense, ith, nth;
    int64_t rows, n_chunks;
    const uint8_t *dense_codes;
    const bn_tpack *packed;
    const int8_t *x;
    float *y;
    int32_t sink;
} job;

static void *run(void *arg)
{
    job *j = arg;
    if (j->dense) {
        for (int64_t r = j->rows * j->ith / j->nth; r < j->rows * (j->ith + 1) / j->nth; r++)
            j->sink += dense_dot(j->dense_codes + r * j->n_chunks * 64, j->n_chunks, j->x);
    } else {
        const float xs = 1.0f;
        const int32_t sum = 0;
        const bn_qx x = { j->x, (size_t)bn_tp_k_padded(K), &xs, &sum, NULL, 0 };
        const int64_t t = j->packed->n_tiles;
        bn_tgemm_avx512(j->packed, t * j->ith / j->nth, t * (j->ith + 1) / j->nth, &x, 1, j->y, 0, 0);
    }
    return NULL;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* seconds for one pass over all rows with nth threads */
static double time_pass(job *proto, int nth)
{
    job jobs[2];
    pthread_t th[2];
    const double t0 = wall();
    for (int i = 0; i < nth; i++) {
        jobs[i] = *proto;
        jobs[i].ith = i;
        jobs[i].nth = nth;
        if (i > 0 && pthread_create(&th[i], NULL, run, &jobs[i]) != 0)
            return -1.0;
    }
    run(&jobs[0]);
    for (int i = 1; i < nth; i++)
        pthread_join(th[i], NULL);
    return wall() - t0;
}

int bn_ca_dense_layout(void)
{
    if (!__builtin_cpu_supports("avx512vbmi") || !__builtin_cpu_supports("avx512vnni")) {
        printf("dense-layout: needs AVX-512 VBMI and VNNI, not on this CPU\n");
        return 0;
    }
    for (int v = 0; v < 256; v++) {
        int c[5], u = v;
        for (int p = 0; p < 5; p++, u /= 3)
            c[p] = u % 3;
        table4[v] = (uint8_t)(c[0] | c[1] << 2 | c[2] << 4 | c[3] << 6);
        table1[v] = (uint8_t)c[4];
    }
    const int64_t rows = ((int64_t)256 << 20) / (K / 4), n_chunks = (K + CHUNK - 1) / CHUNK;
    uint8_t *codes = malloc((size_t)(rows * K)), *dense = bn_aligned_alloc(64, (size_t)(rows * n_chunks * 64));
    int8_t *x = bn_aligned_alloc(64, (size_t)(n_chunks * CHUNK));
    float *y = malloc(sizeof(float) * (size_t)rows);
    bn_tpack packed;
    if (!codes || !dense || !x || !y)
        bn_ca_oom();
    for (int64_t i = 0; i < rows * K; i++)
        codes[i] = (uint8_t)bn_ca_randn(3);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < n_chunks; c++)
            for (int j = 0; j < 64; j++) {
                int v = 0;
                for (int p = 4; p >= 0; p--) {
                    const int64_t k = c * CHUNK + 64 * p + j;
                    v = 3 * v + (k < K ? codes[r * K + k] : 1);
                }
                dense[(r * n_chunks + c) * 64 + j] = (uint8_t)v;
            }
    if (bn_ca_tpack_from_codes(&packed, codes, rows, K, 1.0f))
        bn_ca_oom();
    memset(x, 0, (size_t)(n_chunks * CHUNK));
    for (int i = 0; i < K; i++)
        x[i] = (int8_t)(bn_ca_randn(256) - 128);
    /* the experiment's kernel is checked too: row 0 against the codes */
    int64_t want = 0;
    for (int k = 0; k < K; k++)
        want += (int64_t)codes[k] * x[k];
    const int32_t got = dense_dot(dense, n_chunks, x);
    printf("dense-layout: row 0 dot %d, expected %lld: %s\n", got, (long long)want, got == want ? "ok" : "WRONG");
    printf("dense-layout: %lld rows of K = %d, packed %.0f MB, dense %.0f MB\n", (long long)rows, K,
           (double)packed.bytes / 1e6, (double)(rows * n_chunks * 64) / 1e6);
    job proto = { 0, 0, 1, rows, n_chunks, dense, &packed, x, y, 0 };
    for (int nth = 1; nth <= 2; nth++)
        for (int rep = 0; rep < 3; rep++)
            for (int d = 0; d < 2; d++) {
                proto.dense = d;
                const double t = time_pass(&proto, nth);
                const double bytes = d ? (double)(rows * n_chunks * 64) : (double)packed.bytes;
                printf("dense-layout: %s, %d thread%s: %6.1f Gweights/s (%5.1f GB/s of weights)\n",
                       d ? "dense 1.6-bit" : "packed 2-bit ", nth, nth > 1 ? "s" : " ", (double)(rows * K) / t / 1e9,
                       bytes / t / 1e9);
                fflush(stdout);
            }
    bn_tpack_free(&packed);
    free(codes);
    bn_aligned_free(dense);
    bn_aligned_free(x);
    free(y);
    return got == want ? 0 : 1;
}
#else
int bn_ca_dense_layout(void)
{
    printf("dense-layout: x86-64 only\n");
    return 0;
}
#endif
