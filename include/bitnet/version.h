/**
 * @file version.h
 * @brief libbitnet version numbers: the single place they are defined.
 *
 * meson.build reads them from here, so a release changes only this file.
 */
#ifndef BITNET_VERSION_H
#define BITNET_VERSION_H

/* Release of the package (what bn_version_string() returns). */
/** Release major number. */
#define BN_VERSION_MAJOR 0
/** Release minor number. */
#define BN_VERSION_MINOR 2
/** Release patch number. */
#define BN_VERSION_PATCH 0

/* Version of the ABI. The SONAME is libbitnet.so.<BN_API_VERSION_MAJOR>;
 * MINOR grows when symbols or fields are added compatibly; PATCH for fixes. */
/** ABI major number: the SONAME is libbitnet.so.MAJOR. */
#define BN_API_VERSION_MAJOR 0
/** ABI minor number: grows when symbols or fields are added compatibly. */
#define BN_API_VERSION_MINOR 2
/** ABI patch number: grows for fixes. */
#define BN_API_VERSION_PATCH 0

/** Packs major/minor/patch the way bn_version_api() returns them. */
#define BN_VERSION_PACK(major, minor, patch) \
    ((unsigned)(((major) << 16) | ((minor) << 8) | (patch)))

/** The ABI version these headers describe, packed like bn_version_api(). */
#define BN_API_VERSION \
    BN_VERSION_PACK(BN_API_VERSION_MAJOR, BN_API_VERSION_MINOR, BN_API_VERSION_PATCH)

#endif /* BITNET_VERSION_H */
