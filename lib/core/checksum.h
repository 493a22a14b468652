/* A fast 64-bit checksum for detecting corruption (saved states), not an
 * authenticator: anyone can forge a blob that passes it. h is a seed (or
 * the result over earlier data, to fold several pieces into one value). */
#ifndef BN_CORE_CHECKSUM_H
#define BN_CORE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint64_t bn_checksum64(uint64_t h, const void *data, size_t n);

#endif
