/* checkasm: shared helpers (failure reports, RNG, the test's own packer). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkasm.h"

/* failures printed in full per (kernel, level); the rest are only counted */
#define MAX_REPORTS 3

const char *const bn_ca_kernel_names[BN_CA_N_KERNELS] = {
    "tgemm", "tgemm/rows", "tgemm/blocks", "tgemm/file", "tgemm/file-scales", "quant", "f16gemm", "q8gemm", "attn", "q8conv", "q4gemm",
};

void bn_ca_oom(void)
{
    fprintf(stderr, "checkasm: out of memory\n");
    exit(2);
}

void bn_ca_fail(bn_ca *ca, int kernel, int level, const char *fmt, ...)
{
    if (ca->fails[kernel][level]++ >= MAX_REPORTS || ca->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s %s: ", bn_ca_kernel_names[kernel], ca->k[level].name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

int bn_ca_within(bn_ca *ca, int kernel, int level, double got, double want, double tol)
{
    const double err = fabs(got - want);
    if (err == 0.0)
        return 1;
    const double ratio = tol > 0.0 ? err / tol : INFINITY;
    if (ratio > ca->worst[kernel][level])
        ca->worst[kernel][level] = ratio;
    return err <= tol;
}

static uint64_t rng_state;

void bn_ca_srand(uint64_t seed)
{
    rng_state = seed;
}

uint64_t bn_ca_rand(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

float bn_ca_randf(float lo, float hi)
{
    return lo + (hi - lo) * (float)((double)(bn_ca_rand() >> 40) / (double)(1u << 24));
}

uint32_t bn_ca_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

size_t bn_ca_packed_bytes(int64_t rows, int64_t k)
{
    int64_t n_chunks = bn_tp_k_padded(k) / BN_TP_CHUNK, n_tiles = (rows + BN_TP_ROWS - 1) / BN_TP_ROWS;
    return (size_t)(n_tiles * n_chunks) * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
}

/* tpack.h: [tile][chunk][row in tile][64 bytes]; byte j of a row chunk holds
 * weights 256c + 64p + j in bits 2p+1:2p; padding rows and weights code 1 */
void bn_ca_pack_codes(const uint8_t *codes, int64_t rows, int64_t k, uint8_t *out)
{
    int64_t n_chunks = bn_tp_k_padded(k) / BN_TP_CHUNK, n_tiles = (rows + BN_TP_ROWS - 1) / BN_TP_ROWS;
    for (int64_t t = 0; t < n_tiles; t++)
        for (int64_t c = 0; c < n_chunks; c++)
            for (int r = 0; r < BN_TP_ROWS; r++) {
                int64_t row = t * BN_TP_ROWS + r;
                uint8_t *dst = out + ((t * n_chunks + c) * BN_TP_ROWS + r) * BN_TP_CHUNK_BYTES;
                for (int j = 0; j < 64; j++) {
                    unsigned byte = 0;
                    for (int p = 0; p < 4; p++) {
                        int64_t kk = c * BN_TP_CHUNK + 64 * p + j;
                        unsigned code = row < rows && kk < k ? codes[row * k + kk] : 1;
                        byte |= code << (2 * p);
                    }
                    dst[j] = (uint8_t)byte;
                }
            }
}

int bn_ca_tpack_from_codes(bn_tpack *p, const uint8_t *codes, int64_t rows, int64_t k, float scale)
{
    memset(p, 0, sizeof *p);
    p->rows = rows;
    p->k = k;
    p->n_chunks = bn_tp_k_padded(k) / BN_TP_CHUNK;
    p->n_tiles = (rows + BN_TP_ROWS - 1) / BN_TP_ROWS;
    p->bytes = bn_ca_packed_bytes(rows, k);
    /* exactly the packed size (a multiple of 64): ASan sees any over-read */
    p->mem = bn_aligned_alloc(64, p->bytes);
    if (!p->mem)
        return -1;
    bn_ca_pack_codes(codes, rows, k, p->mem);
    p->codes = p->mem;
    p->scale = scale;
    return 0;
}
