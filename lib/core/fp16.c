#include "core/fp16.h"

#include <math.h>

uint16_t bn_f16_from_f64(double d)
{
    uint16_t sign = signbit(d) ? 0x8000u : 0;
    double a = fabs(d);
    if (isnan(d))
        return sign | 0x7e00u;
    if (a >= 65520.0)                       /* rounds to infinity */
        return sign | 0x7c00u;
    if (a < 0x1p-14) {
        /* subnormal range: units of 2^-24, nearbyint rounds half to even */
        double q = nearbyint(a * 0x1p24);
        return sign | (uint16_t)q;          /* q == 1024 becomes the smallest normal */
    }
    int e;
    double m = frexp(a, &e);                /* a = m * 2^e, m in [0.5, 1) */
    double q = nearbyint(m * 2048.0);       /* 11 significant bits */
    if (q == 2048.0) {
        q = 1024.0;
        e += 1;
    }
    uint16_t exp = (uint16_t)(e - 1 + 15);
    if (exp >= 31)
        return sign | 0x7c00u;
    return sign | (uint16_t)(exp << 10) | (uint16_t)((uint32_t)q - 1024u);
}
