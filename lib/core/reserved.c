#include "core/reserved.h"

#include <stdint.h>

#include "core/error.h"

int bn_reserved_check(const void *reserved, size_t n, const char *what)
{
    const uint8_t *b = reserved;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return bn_fail(BN_E_INVALID_ARG, "%s: reserved byte %zu is 0x%02x, expected 0 "
                           "(fill the struct with %s_default() first)", what, i, b[i], what);
    return BN_OK;
}
