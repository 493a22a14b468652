/* Logits of every architecture and weight type against bitnet.cpp and
 * llama.cpp on the small synthetic models (test/data/reference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "reference_check.h"

#define REF_DIR BN_TEST_SRCDIR "/data/reference"
#define MODEL_DIR BN_TEST_BUILDDIR

static const bn_ref_case cases[] = {
    /* relu^2 BitNet b1.58 (2B4T graph); arch bitnet + hidden_activation, or bitnet-b1.58 */
    { "small-seed1 f32", &bn_ref_small_seed1, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_F32, 0, 0, 0, 1, 0, 0, -1 },
    { "small-seed1 f16", &bn_ref_small_seed1, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_F16, 0, 0, 0, 1, 0, 0, -1 },
    { "small-seed1 tq2_0", &bn_ref_small_seed1, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_TQ2_0, 0, 0, 0, 1, 0, 0, 4 },
    { "small-seed1 tq1_0", &bn_ref_small_seed1, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_TQ1_0, 0, 0, 0, 1, 0, 0, 4 },
    { "small-seed1 i2_s", &bn_ref_small_seed1, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_I2_S, 0, 0, 0, 1, 0, 0, 4 },
    { "small-seed1 f32 bitnet-b1.58", &bn_ref_small_seed1, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_F32, 0, 0,
      BN_MKMODEL_ARCH_BITNET_B158, 1, 0, 0, -1 },
    { "small-seed1 tq2_0 bitnet-b1.58", &bn_ref_small_seed1, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_TQ2_0, 0, 0,
      BN_MKMODEL_ARCH_BITNET_B158, 1, 0, 0, 4 },
    { "small-seed1 tq1_0 bitnet-b1.58", &bn_ref_small_seed1, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_TQ1_0, 0, 0,
      BN_MKMODEL_ARCH_BITNET_B158, 1, 0, 0, 4 },
    /* SiLU BitNet (1bitLLM bitnet_b1_58): MHA, theta 10000 */
    { "small-silu-seed2 f32", &bn_ref_small_silu_seed2, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_F32, 0,
      BN_MKMODEL_ACT_SILU, 0, 2, 4, 10000.0, -1 },
    { "small-silu-seed2 tq2_0", &bn_ref_small_silu_seed2, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_TQ2_0, 0,
      BN_MKMODEL_ACT_SILU, 0, 2, 4, 10000.0, 2 },
    { "small-silu-seed2 i2_s", &bn_ref_small_silu_seed2, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_I2_S, 0,
      BN_MKMODEL_ACT_SILU, 0, 2, 4, 10000.0, 2 },
    /* llama with ternary weights: no sub-norms, untied output, normal rope */
    { "small-llama-seed2 f32", &bn_ref_small_llama_seed2, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_F32,
      BN_MKMODEL_FAMILY_LLAMA, 0, 0, 2, 0, 0, -1 },
    { "small-llama-seed2 tq2_0", &bn_ref_small_llama_seed2, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_TQ2_0,
      BN_MKMODEL_FAMILY_LLAMA, 0, 0, 2, 0, 0, 3 },
    { "small-llama-seed2 tq1_0", &bn_ref_small_llama_seed2, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_TQ1_0,
      BN_MKMODEL_FAMILY_LLAMA, 0, 0, 2, 0, 0, 3 },
    { "small-llama-seed2 i2_s", &bn_ref_small_llama_seed2, BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_I2_S,
      BN_MKMODEL_FAMILY_LLAMA, 0, 0, 2, 0, 0, 3 },
};

static void test_case(void **state)
{
    const bn_ref_case *c = *state;
    bn_ref_result r;
    bn_ref_check(c, MODEL_DIR, REF_DIR, 2, &r);
}

int main(void)
{
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct CMUnitTest t = { cases[i].label, test_case, NULL, NULL, (void *)&cases[i] };
        tests[i] = t;
    }
    return cmocka_run_group_tests_name("reference logits", tests, NULL, NULL);
}
