/* Half-float conversions: the fast float->half equals the exact double->half
 * on every rounding boundary and on random floats; half->float round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/fp16.h"

static void check(float f)
{
    uint16_t fast = bn_f16_from_f32(f), exact = bn_f16_from_f64((double)f);
    if (fast != exact && !((fast & 0x7fff) > 0x7c00 && (exact & 0x7fff) > 0x7c00))
        fail_msg("%a (bits %08x): fast %04x, exact %04x", (double)f, bn_f32_bits(f), fast, exact);
}

static void test_boundaries(void **state)
{
    (void)state;
    /* every half value, the midpoints to its neighbours and one float ulp
     * either side of them: all the places where rounding can go wrong */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        for (uint32_t s = 0; s <= 0x8000; s += 0x8000) {
            float a = bn_f16_to_f32((uint16_t)(h | s)), b = bn_f16_to_f32((uint16_t)((h + 1) | s));
            float mid = (float)(((double)a + (double)b) / 2.0);
            uint32_t mb = bn_f32_bits(mid);
            check(a);
            check(mid);
            check(bn_f32_from_bits(mb + 1));
            check(bn_f32_from_bits(mb - 1));
        }
    }
    const float special[] = { 0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 1e30f, -1e30f, 1e-30f,
                              0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-26f };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        check(special[i]);
    assert_int_equal(bn_f16_from_f32(__builtin_inff()), 0x7c00);
    assert_int_equal(bn_f16_from_f32(-__builtin_inff()), 0xfc00);
    assert_true((bn_f16_from_f32(__builtin_nanf("")) & 0x7fff) > 0x7c00);
}

static void test_random(void **state)
{
    (void)state;
    uint64_t z = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 4000000; i++) {
        z += 0x9E3779B97F4A7C15ull;
        uint64_t r = z;
        r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ull;
        r = (r ^ (r >> 27)) * 0x94D049BB133111EBull;
        r ^= r >> 31;
        check(bn_f32_from_bits((uint32_t)r));
    }
    for (uint32_t h = 0; h < 0x7c00; h++)   /* every finite half round trips */
        assert_int_equal(bn_f16_from_f32(bn_f16_to_f32((uint16_t)h)), h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests_name("fp16", tests, NULL, NULL);
}
