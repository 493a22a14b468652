/* CPUs without kernels of their own (neither x86-64 nor arm64): the scalar
 * reference is the only level. */
#include "kernels/kernels.h"

int bn_cpu_detect_level(void)
{
    return BN_LEVEL_SCALAR;
}

const char *bn_cpu_level_name(int level)
{
    (void)level;
    return "scalar";
}
