/*
 * A program built the way users build theirs: against the installed headers
 * and library found with `pkg-config bitnet`. test/packaging/check.sh builds
 * it once linked to libbitnet.so and once to libbitnet.a.
 * Exit status 0 when the library it runs with matches the headers it was
 * compiled with.
 */
#include <bitnet/bitnet.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    int bad = 0;
    char expected[32];
    const char *version = bn_version_string();
    uint32_t api = bn_version_api();

    snprintf(expected, sizeof(expected), "%d.%d.%d", BN_VERSION_MAJOR, BN_VERSION_MINOR,
             BN_VERSION_PATCH);
    if (version == NULL || strcmp(version, expected) != 0) {
        fprintf(stderr, "bn_version_string() = %s, headers say %s\n",
                version ? version : "(null)", expected);
        bad = 1;
    }
    /* What a binding checks: same ABI major, at least the minor it was built with. */
    if ((api >> 16) != BN_API_VERSION_MAJOR || api < BN_API_VERSION) {
        fprintf(stderr, "bn_version_api() = 0x%06x, headers say 0x%06x\n", (unsigned)api,
                (unsigned)BN_API_VERSION);
        bad = 1;
    }
    /* Installed next to these very headers, it must be exactly their version. */
    if (api != BN_API_VERSION) {
        fprintf(stderr, "bn_version_api() = 0x%06x is not the installed headers' 0x%06x\n",
                (unsigned)api, (unsigned)BN_API_VERSION);
        bad = 1;
    }

    bn_model_params mp;
    memset(&mp, 0xa5, sizeof(mp));
    bn_model_params_default(&mp);
    if (mp.use_mmap != 1 || mp.check_weights != 1 || mp.progress != NULL ||
        mp.progress_user_data != NULL) {
        fprintf(stderr, "bn_model_params_default() did not set the documented defaults\n");
        bad = 1;
    }
    for (size_t i = 0; i < sizeof(mp.reserved); i++) {
        if (mp.reserved[i] != 0) {
            fprintf(stderr, "bn_model_params_default() left reserved[%zu] = %u\n", i,
                    (unsigned)mp.reserved[i]);
            bad = 1;
            break;
        }
    }

    const char *ok = bn_strerror(BN_OK);
    const char *nomem = bn_strerror(BN_E_NOMEM);
    const char *unknown = bn_strerror(-12345);
    if (ok == NULL || nomem == NULL || unknown == NULL || nomem[0] == '\0' ||
        strcmp(ok, nomem) == 0) {
        fprintf(stderr, "bn_strerror() returned NULL, empty or identical strings\n");
        bad = 1;
    }

    printf("pkgconfig_example: libbitnet %s, ABI %u.%u.%u, BN_E_NOMEM: \"%s\": %s\n",
           version ? version : "(null)", (unsigned)(api >> 16), (unsigned)((api >> 8) & 0xff),
           (unsigned)(api & 0xff), nomem ? nomem : "(null)", bad ? "FAILED" : "ok");
    return bad;
}
