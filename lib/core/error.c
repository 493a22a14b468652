#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One message per thread: the only per-thread state of the library. */
static _Thread_local char bn_last_error_msg[512];

int bn_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(bn_last_error_msg, sizeof bn_last_error_msg, fmt, ap);
    va_end(ap);
    return status;
}

int bn_fail_prefix(int status, const char *prefix)
{
    char old[sizeof bn_last_error_msg];
    memcpy(old, bn_last_error_msg, sizeof old);
    size_t n = strnlen(prefix, sizeof old / 2);
    memcpy(bn_last_error_msg, prefix, n);
    memcpy(bn_last_error_msg + n, ": ", 2);
    size_t room = sizeof bn_last_error_msg - n - 3;
    size_t k = strnlen(old, room);
    memcpy(bn_last_error_msg + n + 2, old, k);
    bn_last_error_msg[n + 2 + k] = 0;
    return status;
}

const char *bn_last_error(void)
{
    return bn_last_error_msg;
}

const char *bn_strerror(int status)
{
    switch (status) {
    case BN_OK: return "success";
    case BN_E_INVALID_ARG: return "invalid argument";
    case BN_E_NOMEM: return "out of memory";
    case BN_E_IO: return "input/output error";
    case BN_E_FORMAT: return "malformed GGUF file";
    case BN_E_UNSUPPORTED: return "unsupported feature";
    case BN_E_MODEL: return "inconsistent model";
    case BN_E_NOT_FOUND: return "not found";
    case BN_E_RANGE: return "out of range";
    case BN_E_CTX_FULL: return "context full";
    case BN_E_BATCH: return "batch too large";
    case BN_E_CANCELLED: return "cancelled";
    case BN_E_UTF8: return "invalid UTF-8";
    case BN_E_INTERNAL: return "internal error";
    default: return "unknown status code";
    }
}
