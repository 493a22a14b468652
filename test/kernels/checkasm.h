/*
 * checkasm (dav1d style): every entry of the kernel table (lib/kernels/
 * kernels.h) at every CPU level this machine has, against the scalar
 * reference, on random and edge inputs, with canaries around every output
 * and a check that inputs are left alone. `checkasm --bench` times them.
 *
 * One file per kernel family; this header holds what they share: the
 * levels under test, the per-(kernel, level) counters, failure reports, a
 * deterministic RNG and the test's own packer of the tpack.h layout.
 */
#ifndef BN_TEST_CHECKASM_H
#define BN_TEST_CHECKASM_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/platform.h"
#include "kernels/kernels.h"
#include "kernels/tpack.h"

#define BN_CA_MAX_LEVELS 4

/* What the summary counts, one line per (row, level). */
enum bn_ca_kernel {
    BN_CA_TGEMM,        /* table entry vs bn_tgemm_ref, one scale per tensor */
    BN_CA_TGEMM_ROWS,   /* the same, one scale per row */
    BN_CA_TGEMM_BLOCKS, /* the same, one scale per row and chunk */
    BN_CA_TGEMM_FILE,   /* packed from I2_S/TQ2_0/TQ1_0 vs the file-layout dot products */
    BN_CA_BLOCKSCALED,  /* the same for TQ files packed with row or block scales */
    BN_CA_QUANT,
    BN_CA_F16GEMM,
    BN_CA_Q8GEMM,
    BN_CA_ATTN,
    BN_CA_Q8CONV,       /* F16 -> Q8_0 conversion (output_q8) */
    BN_CA_Q4GEMM,
    BN_CA_N_KERNELS
};

typedef struct bn_ca {
    int quick;                              /* fewer cases (emulation) */
    int quiet;                              /* count failures, print none */
    int max_level;                          /* bn_cpu_detect_level() */
    bn_kernels k[BN_CA_MAX_LEVELS];         /* bn_kernels_init(&k[l], l), l <= max_level */
    long cases[BN_CA_N_KERNELS][BN_CA_MAX_LEVELS];
    long fails[BN_CA_N_KERNELS][BN_CA_MAX_LEVELS];
    double worst[BN_CA_N_KERNELS][BN_CA_MAX_LEVELS];   /* largest |error| / tolerance seen */
    uint64_t seed;
} bn_ca;

extern const char *const bn_ca_kernel_names[BN_CA_N_KERNELS];

/* Records a failure of `kernel` at `level`; prints the first few in full. */
/* Out of memory in the test itself (not in a kernel): message, exit 2. */
_Noreturn void bn_ca_oom(void);
void bn_ca_fail(bn_ca *ca, int kernel, int level, const char *fmt, ...) BN_PRINTF(4, 5);

/* Records |got - want| against a tolerance; returns whether it is within. */
int bn_ca_within(bn_ca *ca, int kernel, int level, double got, double want, double tol);

/* ---- deterministic random numbers (splitmix64) ---------------------------- */
void bn_ca_srand(uint64_t seed);
uint64_t bn_ca_rand(void);
/* uniform in [0, n) */
static inline int64_t bn_ca_randn(int64_t n)
{
    return (int64_t)(bn_ca_rand() % (uint64_t)n);
}
/* uniform in [lo, hi) */
float bn_ca_randf(float lo, float hi);

/* Bits of a float, for exact comparisons and messages. */
uint32_t bn_ca_bits(float f);

/* ---- the packed layout, written from tpack.h's description ---------------- */
/* Packs codes[rows][k] (0..2) as tpack.h describes, independently of
 * tpack.c; out must hold bn_ca_packed_bytes(rows, k) bytes. */
size_t bn_ca_packed_bytes(int64_t rows, int64_t k);
void bn_ca_pack_codes(const uint8_t *codes, int64_t rows, int64_t k, uint8_t *out);
/* A bn_tpack over those codes with the given scale (free with bn_tpack_free).
 * Returns 0, or -1 when out of memory. */
int bn_ca_tpack_from_codes(bn_tpack *p, const uint8_t *codes, int64_t rows, int64_t k, float scale);

/* ---- the families (each adds to ca's counters) ---------------------------- */
void bn_ca_check_tgemm(bn_ca *ca);
void bn_ca_check_tgemm_file(bn_ca *ca);
void bn_ca_check_quant(bn_ca *ca);
void bn_ca_check_q8conv(bn_ca *ca);
/* checkasm --dense-layout (checkasm_dense.c) */
int bn_ca_dense_layout(void);
void bn_ca_check_f16gemm(bn_ca *ca);
void bn_ca_check_q8gemm(bn_ca *ca);
void bn_ca_check_q4gemm(bn_ca *ca);
void bn_ca_check_attn(bn_ca *ca);
void bn_ca_bench(bn_ca *ca);
/* Runs the checks on deliberately broken kernels; 0 if all were caught. */
int bn_ca_self_test(bn_ca *ca);

#endif
