/* Messages of the converters' readers: formatted into the caller's buffer,
 * so that a reader (and its fuzz target) reports without printing. */
#ifndef BN_CONVERT_CV_ERROR_H
#define BN_CONVERT_CV_ERROR_H

#include <stddef.h>

/* Formats the message into err (n bytes) and returns -1, so that a failure
 * reads `return cv_fail(err, n, "%s: ...", path);`. */
int cv_fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
