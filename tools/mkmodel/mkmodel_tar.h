/* One member of an npm package tarball (a .tgz), read by running `tar`:
 * one implementation per OS (mkmodel_tar_posix.c, mkmodel_tar_win32.c;
 * Windows 10 and later ship tar.exe). */
#ifndef BN_MKMODEL_TAR_H
#define BN_MKMODEL_TAR_H

#include <stddef.h>
#include <stdio.h>

/* Runs `tar -xOf tarball package/member` and returns its output in a
 * malloc'd, NUL-terminated buffer. BN_OK, or BN_E_IO / BN_E_NOMEM with a
 * message. */
int bn_mkmodel_tar_read(const char *tarball, const char *member, char **data, size_t *size);

/* Reads f to its end into a malloc'd, NUL-terminated buffer (mkmodel_vocab.c);
 * `what` names it in messages. */
int bn_mkmodel_read_stream(FILE *f, const char *what, char **data, size_t *size);

#endif
