#include "core/error.h"
#include "core/platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One message per thread, the only per-thread state of the library: in
 * core/platform.h's buffer, or dropped when the thread has none. */
int bn_fail(int status, const char *fmt, ...)
{
    char *msg = bn_thread_error_buffer();
    if (!msg)
        return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, BN_ERROR_MSG_SIZE, fmt, ap);
    va_end(ap);
    return status;
}

int bn_fail_prefix(int status, const char *prefix)
{
    char *msg = bn_thread_error_buffer();
    if (!msg)
        return status;
    char old[BN_ERROR_MSG_SIZE];
    memcpy(old, msg, sizeof old);
    size_t n = strnlen(prefix, sizeof old / 2);
    memcpy(msg, prefix, n);
    memcpy(msg + n, ": ", 2);
    size_t room = BN_ERROR_MSG_SIZE - n - 3;
    size_t k = strnlen(old, room);
    memcpy(msg + n + 2, old, k);
    msg[n + 2 + k] = 0;
    return status;
}

const char *bn_last_error(void)
{
    const char *msg = bn_thread_error_buffer();
    return msg ? msg : "";
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
