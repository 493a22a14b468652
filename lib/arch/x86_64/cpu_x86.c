/* CPU features on x86-64: CPUID says what the core implements, XGETBV what
 * register state the OS saves. AVX-512 is used only when both agree. */
#include <stdint.h>

#include "arch/x86_64/kernels_x86.h"
#include "core/platform.h"
#include "kernels/kernels.h"

#if defined(__GNUC__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

int bn_cpu_detect_level(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return BN_LEVEL_SCALAR;
    const int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return BN_LEVEL_SCALAR;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6)        /* XMM and YMM state */
        return BN_LEVEL_SCALAR;
    if (__get_cpuid_max(0, NULL) < 7)
        return BN_LEVEL_SCALAR;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1, bmi2 = (b >> 8) & 1;
    const int avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    const int avx512vnni = (c >> 11) & 1;
    int level = BN_LEVEL_SCALAR;
    if (avx2 && fma && f16c && bmi2)
        level = BN_LEVEL_X86_AVX2;
    /* opmask, upper halves of ZMM0-15, ZMM16-31 */
    if (level == BN_LEVEL_X86_AVX2 && avx512f && avx512bw && avx512vl && avx512vnni
        && (xcr0 & 0xe0) == 0xe0)
        level = BN_LEVEL_X86_AVX512;
#if defined(BN_HAVE_AMX)
    /* tile config and tile data state (XCR0 bits 17, 18): Linux enables them
     * but hands the data state out per process, see bn_x86_amx_enable; under
     * Wine the Windows side cannot ask for it (bn_os_amx_available) */
    const int amx_tile = (d >> 24) & 1, amx_int8 = (d >> 25) & 1;
    if (level == BN_LEVEL_X86_AVX512 && amx_tile && amx_int8 && (xcr0 & 0x60000) == 0x60000
        && bn_os_amx_available())
        level = BN_LEVEL_X86_AMX;
#endif
    return level;
}

/* The OS's way of granting the tile data state (core/platform.h). */
int bn_x86_amx_enable(void)
{
    return bn_os_amx_request();
}
#else
int bn_cpu_detect_level(void)
{
    return BN_LEVEL_SCALAR;
}

int bn_x86_amx_enable(void)
{
    return 0;
}
#endif

const char *bn_cpu_level_name(int level)
{
    switch (level) {
    case BN_LEVEL_X86_AVX2: return "avx2";
    case BN_LEVEL_X86_AVX512: return "avx512vnni";
    case BN_LEVEL_X86_AMX: return "amx";
    default: return "scalar";
    }
}
