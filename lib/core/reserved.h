/* The reserved tail of a public params struct must be zero: a caller that
 * skipped the _default() function, or a field from a newer header, is told so
 * instead of being read as "default". */
#ifndef BN_CORE_RESERVED_H
#define BN_CORE_RESERVED_H

#include <stddef.h>

/* Returns BN_OK when the n bytes at `reserved` are all zero, else
 * BN_E_INVALID_ARG with a message naming the struct (`what`) and the first
 * nonzero byte. Pass the struct's reserved array and its sizeof: fields added
 * at the front of that array shrink the checked range by themselves. */
int bn_reserved_check(const void *reserved, size_t n, const char *what);

#endif
