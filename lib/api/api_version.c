#include "bitnet/bitnet.h"

#define BN_STR2(x) #x
#define BN_STR(x) BN_STR2(x)

const char *bn_version_string(void)
{
    return BN_STR(BN_VERSION_MAJOR) "." BN_STR(BN_VERSION_MINOR) "." BN_STR(BN_VERSION_PATCH);
}

uint32_t bn_version_api(void)
{
    return BN_API_VERSION;
}
