/*
 * checkasm: conformance test and micro-benchmark of the kernel table.
 *
 *   checkasm [--quick] [--seed N]   every entry at every level vs the reference
 *   checkasm --bench                timings (not part of the test suite)
 *   checkasm --self-test            the checks against deliberately broken
 *                                   kernels: each must be caught
 *   checkasm --dense-layout         the 1.6-bit layout experiment
 *                                   (checkasm_dense.c; not a test)
 *   checkasm --probe-avx512         runs one AVX-512 kernel directly, whatever
 *                                   the CPU: under qemu-x86_64 it must die of
 *                                   SIGILL (proves the emulator traps AVX-512)
 *
 * It prints "detected level: NAME" and the kernels chosen by default, which
 * test/kernels/run-emulated.sh checks under each emulated CPU model. Exit
 * status 0 when every case passed, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkasm.h"

#if defined(__x86_64__)
#include "arch/x86_64/kernels_x86.h"
#endif

static int probe_avx512(void)
{
#if defined(__x86_64__)
    static const uint8_t code1[4] = { 1, 1, 1, 1 };
    bn_tpack w;
    if (bn_ca_tpack_from_codes(&w, code1, 1, 4, 1.0f))
        return 2;
    static int8_t q[256];
    const float xs = 1.0f;
    const int32_t sum = 0;
    const bn_qx x = { q, 256, &xs, &sum };
    float y = 0.0f;
    printf("probe: calling bn_tgemm_avx512 directly\n");
    fflush(stdout);
    bn_tgemm_avx512(&w, 0, 1, &x, 1, &y, 1, 0);
    bn_tpack_free(&w);
    printf("probe: bn_tgemm_avx512 ran (y = %g)\n", (double)y);
    return 0;
#else
    printf("probe: not an x86-64 build\n");
    return 0;
#endif
}

static void usage(void)
{
    fprintf(stderr, "usage: checkasm [--quick] [--seed N] [--bench] [--self-test] [--probe-avx512] [--dense-layout]\n");
}

int main(int argc, char **argv)
{
    bn_ca ca;
    memset(&ca, 0, sizeof ca);
    ca.seed = 0x62697466u;
    int bench = 0, self_test = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            ca.quick = 1;
        else if (!strcmp(argv[i], "--bench"))
            bench = 1;
        else if (!strcmp(argv[i], "--self-test"))
            self_test = 1;
        else if (!strcmp(argv[i], "--probe-avx512"))
            return probe_avx512();
        else if (!strcmp(argv[i], "--dense-layout"))
            return bn_ca_dense_layout();
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            ca.seed = strtoull(argv[++i], NULL, 0);
        else {
            usage();
            return 2;
        }
    }

    ca.max_level = bn_cpu_detect_level();
    if (ca.max_level >= BN_CA_MAX_LEVELS)
        ca.max_level = BN_CA_MAX_LEVELS - 1;
    bn_kernels def;
    bn_kernels_init(&def, -1);
    printf("detected level: %s (%d)\n", bn_cpu_level_name(ca.max_level), ca.max_level);
    printf("default kernels: %s (level %d)\n", def.name, def.level);
    int bad = def.level != ca.max_level;
    for (int l = 0; l <= ca.max_level; l++) {
        bn_kernels_init(&ca.k[l], l);
        if (ca.k[l].level != l) {
            printf("FAIL bn_kernels_init(level %d) gave level %d (%s)\n", l, ca.k[l].level, ca.k[l].name);
            bad = 1;
        }
    }
    if (bad) {
        printf("checkasm: the kernel table does not match the detected level\n");
        return 1;
    }
    bn_ca_srand(ca.seed);

    if (self_test)
        return bn_ca_self_test(&ca);
    if (bench) {
        bn_ca_bench(&ca);
        return 0;
    }

    printf("seed: %#llx%s\n", (unsigned long long)ca.seed, ca.quick ? " (quick)" : "");
    fflush(stdout);
    static void (*const families[])(bn_ca *) = { bn_ca_check_tgemm, bn_ca_check_tgemm_file, bn_ca_check_quant,
                                                 bn_ca_check_f16gemm, bn_ca_check_q8gemm, bn_ca_check_attn,
                                                 bn_ca_check_q8conv, bn_ca_check_q4gemm };
    static const char *const family_names[] = { "tgemm", "packing", "quant", "f16gemm", "q8gemm", "attn",
                                                  "q8conv", "q4gemm" };
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        families[f](&ca);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%s: checked in %.2f s\n", family_names[f],
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
        fflush(stdout);
    }

    long failed = 0;
    for (int kern = 0; kern < BN_CA_N_KERNELS; kern++)
        for (int l = 0; l <= ca.max_level; l++) {
            const long n = ca.cases[kern][l], bad_n = ca.fails[kern][l];
            failed += bad_n;
            if (n == 0 && bad_n == 0) {
                if (l > 0)
                    printf("%s %s: same function as %s, skipped\n", bn_ca_kernel_names[kern], ca.k[l].name,
                           ca.k[l - 1].name);
                continue;
            }
            if (bad_n)
                printf("%s %s: %ld of %ld cases FAILED\n", bn_ca_kernel_names[kern], ca.k[l].name, bad_n, n);
            else if (ca.worst[kern][l] > 0.0)
                printf("%s %s: %ld cases OK (largest error %.2g of the tolerance)\n", bn_ca_kernel_names[kern],
                       ca.k[l].name, n, ca.worst[kern][l]);
            else
                printf("%s %s: %ld cases OK\n", bn_ca_kernel_names[kern], ca.k[l].name, n);
        }
    printf(failed ? "checkasm: FAILED\n" : "checkasm: all OK\n");
    return failed ? 1 : 0;
}
