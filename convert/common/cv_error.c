#include "cv_error.h"

#include <stdarg.h>
#include <stdio.h>

int cv_fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}
