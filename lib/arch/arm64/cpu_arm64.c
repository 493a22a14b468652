/* CPU features on arm64. What the kernels need is what the OS reports: on
 * Linux and Android the ELF auxiliary vector (HWCAPs follow the kernel's view,
 * and under qemu-user the emulated model's), on FreeBSD and OpenBSD the same
 * bits through elf_aux_info, on Apple the hw.optional.arm.* sysctls. Built
 * with baseline flags (-march=armv8-a): nothing here needs an extension. */
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* The HWCAP bits the kernels depend on (Linux uapi asm/hwcap.h; FreeBSD and
 * OpenBSD use the same values). */
#define BN_HWCAP_ASIMD (1ul << 1)
#define BN_HWCAP_ASIMDDP (1ul << 20)
#define BN_HWCAP2_I8MM (1ul << 13)

static int level_from_hwcaps(unsigned long hwcap, unsigned long hwcap2)
{
    int level = BN_LEVEL_SCALAR;
    if (hwcap & BN_HWCAP_ASIMD)
        level = BN_LEVEL_ARM_NEON;
    if (level == BN_LEVEL_ARM_NEON && (hwcap & BN_HWCAP_ASIMDDP))
        level = BN_LEVEL_ARM_DOTPROD;
    /* the i8mm kernels also use sdot (their single-token path) */
    if (level == BN_LEVEL_ARM_DOTPROD && (hwcap2 & BN_HWCAP2_I8MM))
        level = BN_LEVEL_ARM_I8MM;
    return level;
}

#if defined(__linux__)
#include <sys/auxv.h>

int bn_cpu_detect_level(void)
{
    return level_from_hwcaps(getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
}

#elif defined(__APPLE__)
#include <sys/sysctl.h>
#include <sys/types.h>

static int sysctl_flag(const char *name)
{
    int v = 0;
    size_t n = sizeof v;
    if (sysctlbyname(name, &v, &n, NULL, 0) != 0)
        return 0;
    return v != 0;
}

/* Every Apple arm64 core has Advanced SIMD. FEAT_* names exist since macOS
 * 12; older systems only name dotprod (hw.optional.armv8_2_dotprod), and no
 * core before them has i8mm. */
int bn_cpu_detect_level(void)
{
    unsigned long hwcap = BN_HWCAP_ASIMD, hwcap2 = 0;
    if (sysctl_flag("hw.optional.arm.FEAT_DotProd") || sysctl_flag("hw.optional.armv8_2_dotprod"))
        hwcap |= BN_HWCAP_ASIMDDP;
    if (sysctl_flag("hw.optional.arm.FEAT_I8MM"))
        hwcap2 |= BN_HWCAP2_I8MM;
    return level_from_hwcaps(hwcap, hwcap2);
}

#elif defined(__FreeBSD__) || defined(__OpenBSD__)
#include <sys/auxv.h>

int bn_cpu_detect_level(void)
{
    unsigned long hwcap = 0, hwcap2 = 0;
    if (elf_aux_info(AT_HWCAP, &hwcap, sizeof hwcap) != 0)
        hwcap = 0;
#if defined(AT_HWCAP2)
    if (elf_aux_info(AT_HWCAP2, &hwcap2, sizeof hwcap2) != 0)
        hwcap2 = 0;
#endif
    return level_from_hwcaps(hwcap, hwcap2);
}

#else
/* Unknown OS: Advanced SIMD is part of every arm64 ABI in use, the
 * extensions cannot be asked for. */
int bn_cpu_detect_level(void)
{
    return level_from_hwcaps(BN_HWCAP_ASIMD, 0);
}
#endif

const char *bn_cpu_level_name(int level)
{
    switch (level) {
    case BN_LEVEL_ARM_NEON: return "neon";
    case BN_LEVEL_ARM_DOTPROD: return "dotprod";
    case BN_LEVEL_ARM_I8MM: return "i8mm";
    default: return "scalar";
    }
}
