/* Status reporting inside the library: every failure records a message for
 * bn_last_error() on the calling thread and returns its status code. */
#ifndef BN_CORE_ERROR_H
#define BN_CORE_ERROR_H

#include <stdio.h>     /* __MINGW_PRINTF_FORMAT */

#include "bitnet/bitnet.h"

#if defined(__MINGW_PRINTF_FORMAT)
/* mingw-w64's C99 printf (__USE_MINGW_ANSI_STDIO, which _GNU_SOURCE turns
 * on) takes %zu; plain `printf` would mean the CRT's, which does not */
#  define BN_PRINTF(fmt, args) __attribute__((format(__MINGW_PRINTF_FORMAT, fmt, args)))
#elif defined(__GNUC__)
#  define BN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define BN_PRINTF(fmt, args)
#endif

/* Records a formatted message as the thread's last error and returns status,
 * so that a failure reads `return bn_fail(BN_E_FORMAT, "...", ...);`. */
int bn_fail(int status, const char *fmt, ...) BN_PRINTF(2, 3);

/* Prefixes the current last-error message with "prefix: " (e.g. a file name)
 * and returns status unchanged. */
int bn_fail_prefix(int status, const char *prefix);

#endif
