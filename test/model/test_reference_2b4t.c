/* Slow suite: the 2B4T shape (1.19 GB per file) against the reference logits
 * in shared/reference (not copied into the repository: 8 MB per run). Skipped
 * (77) when shared/ is not next to the source tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "reference_check.h"

#define REF_DIR BN_TEST_SRCDIR "/../../shared/reference/logits"

static const bn_ref_case cases[] = {
    { "2b4t-seed1 i2_s", &bn_ref_b2b4t_seed1, BN_MKMODEL_SHAPE_2B4T, BN_MKMODEL_I2_S, 0, 0, 0, 1, 0, 0, 3 },
    { "2b4t-seed1 tq2_0", &bn_ref_b2b4t_seed1, BN_MKMODEL_SHAPE_2B4T, BN_MKMODEL_TQ2_0, 0, 0, 0, 1, 0, 0, 3 },
    { "2b4t-seed1 tq1_0", &bn_ref_b2b4t_seed1, BN_MKMODEL_SHAPE_2B4T, BN_MKMODEL_TQ1_0, 0, 0, 0, 1, 0, 0, 3 },
};

static void test_case(void **state)
{
    bn_ref_result r;
    bn_ref_check(*state, BN_TEST_BUILDDIR, REF_DIR, 2, &r);
}

int main(void)
{
    if (access(REF_DIR "/2b4t-seed1.0.f32", R_OK) != 0) {
        printf("skipped: %s not found\n", REF_DIR);
        return 77;
    }
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct CMUnitTest t = { cases[i].label, test_case, NULL, NULL, (void *)&cases[i] };
        tests[i] = t;
    }
    return cmocka_run_group_tests_name("reference logits, 2B4T shape", tests, NULL, NULL);
}
