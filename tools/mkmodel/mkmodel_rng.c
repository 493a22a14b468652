#include "mkmodel_rng.h"

#include <math.h>
#include <stdio.h>

#include "core/fp16.h"

uint64_t bn_mkmodel_fnv1a64(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 0x100000001B3ull;
    return h;
}

uint64_t bn_mkmodel_tensor_key(int64_t seed, const char *name)
{
    return bn_mkmodel_mix64(bn_mkmodel_fnv1a64(name) + (uint64_t)seed * BN_MKMODEL_GOLDEN);
}

double bn_mkmodel_ternary_scale(int64_t seed, const char *name, uint64_t k)
{
    char scale_name[320];
    snprintf(scale_name, sizeof scale_name, "%s#scale", name);
    double u = bn_mkmodel_uniform01(bn_mkmodel_stream(bn_mkmodel_tensor_key(seed, scale_name), 0));
    double s = (0.75 + 0.5 * u) / sqrt((double)k * 2.0 / 3.0);
    return (double)bn_f16_to_f32(bn_f16_from_f64(s));
}
