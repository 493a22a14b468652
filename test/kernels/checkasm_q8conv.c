/*
 * checkasm: the F16 to Q8_0 conversion (output_q8 at load) against
 * bn_q8_from_f16_ref, byte for byte, with nothing written past the row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkasm.h"
#include "core/fp16.h"
#include "gguf/gguf_types.h"

#define GUARD 64
#define CANARY 0xa5

enum { H_RANDOM, H_TIES, H_TINY, H_ZERO_BLOCKS, H_SPECIAL, N_HPAT };

/* F16 weights: ordinary, exact .5 ties after scaling, subnormal-only blocks
 * (d itself subnormal in F16), zero blocks, and inf/NaN/-0 among normals */
static uint16_t half_value(int hpat, int64_t i)
{
    switch (hpat) {
    case H_TIES:
        /* max 127 in each block gives d = 1 and 1/d = 1: x.5 is a tie */
        return bn_f16_from_f32(i % 32 == 0 ? 127.0f : (float)(bn_ca_randn(254) - 127) + 0.5f);
    case H_TINY:
        return (uint16_t)(bn_ca_randn(0x400) | (bn_ca_randn(2) << 15));
    case H_ZERO_BLOCKS:
        return i / 32 % 2 ? 0 : bn_f16_from_f32(bn_ca_randf(-1.0f, 1.0f));
    case H_SPECIAL: {
        static const uint16_t special[] = { 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x7bff, 0x0001 };
        return bn_ca_randn(8) == 0 ? special[bn_ca_randn(6)] : bn_f16_from_f32(bn_ca_randf(-3.0f, 3.0f));
    }
    default:
        return bn_f16_from_f32(bn_ca_randf(-2.0f, 2.0f) * (bn_ca_randn(4) ? 1.0f : 1e-3f));
    }
}

static void run_case(bn_ca *ca, int64_t k, int hpat, long id)
{
    const size_t nb = (size_t)(k / 32) * sizeof(bn_block_q8_0);
    uint16_t *w = malloc(sizeof(uint16_t) * (size_t)k), *w_copy = malloc(sizeof(uint16_t) * (size_t)k);
    uint8_t *ref = malloc(nb + 2 * GUARD), *got = malloc(nb + 2 * GUARD);
    if (!w || !w_copy || !ref || !got)
        bn_ca_oom();
    for (int64_t i = 0; i < k; i++)
        w[i] = half_value(hpat, i);
    memcpy(w_copy, w, sizeof(uint16_t) * (size_t)k);
    memset(ref, CANARY, nb + 2 * GUARD);
    bn_q8_from_f16_ref(w, k, ref + GUARD);
    for (int l = 0; l <= ca->max_level; l++) {
        if (l > 0 && ca->k[l].q8_from_f16 == ca->k[l - 1].q8_from_f16)
            continue;
        ca->cases[BN_CA_Q8CONV][l]++;
        memset(got, CANARY, nb + 2 * GUARD);
        ca->k[l].q8_from_f16(w, k, got + GUARD);
        for (size_t i = 0; i < nb + 2 * GUARD; i++)
            if (got[i] != ref[i]) {
                bn_ca_fail(ca, BN_CA_Q8CONV, l, "case #%ld: K=%lld pattern %d: byte %lld of the row is %02x, want %02x",
                           id, (long long)k, hpat, (long long)i - GUARD, got[i], ref[i]);
                break;
            }
        if (memcmp(w, w_copy, sizeof(uint16_t) * (size_t)k))
            bn_ca_fail(ca, BN_CA_Q8CONV, l, "case #%ld: modified its input", id);
    }
    free(w);
    free(w_copy);
    free(ref);
    free(got);
}

void bn_ca_check_q8conv(bn_ca *ca)
{
    static const int64_t ks[] = { 32, 64, 96, 2560 };
    long id = 0;
    for (size_t ik = 0; ik < sizeof ks / sizeof ks[0]; ik++)
        for (int hpat = 0; hpat < N_HPAT; hpat++)
            for (int rep = 0; rep < (ca->quick ? 1 : 8); rep++)
                run_case(ca, ks[ik], hpat, id++);
}
