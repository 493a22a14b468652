#include "tool_common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *tool_prog = "libbitnet tool";

static void close_stdout(void)
{
    /* errors of earlier writes stay flagged; a flush or close may add one */
    int failed = ferror(stdout);
    errno = 0;
    if (fclose(stdout) != 0)
        failed = 1;
    if (failed) {
        fprintf(stderr, "%s: cannot write the output%s%s\n", tool_prog, errno ? ": " : "",
                errno ? strerror(errno) : "");
        _exit(1);
    }
}

void bn_tool_init(const char *prog)
{
    tool_prog = prog;
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        /* open() takes the lowest free descriptor: this one */
        int nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (nfd != fd)
            _exit(127);     /* cannot even say so: stderr may be the one missing */
    }
    atexit(close_stdout);
}

int bn_tool_close_output(const char *prog, FILE *f, const char *path)
{
    /* a write that failed earlier left its errno: call right after it */
    int err = errno, failed = ferror(f);
    if (fclose(f) != 0) {
        failed = 1;
        err = errno;
    }
    if (!failed)
        return 0;
    fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(err ? err : EIO));
    return -1;
}

double bn_tool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long parse_list(const char *s, bn_token **out)
{
    size_t cap = 64, n = 0;
    bn_token *v = malloc(cap * sizeof *v);
    if (!v)
        return -1;
    while (*s) {
        while (*s && (isspace((unsigned char)*s) || *s == ','))
            s++;
        if (!*s)
            break;
        char *end;
        errno = 0;
        long t = strtol(s, &end, 10);
        if (end == s || errno || t < 0 || t > INT32_MAX) {
            free(v);
            return -1;
        }
        if (n == cap) {
            bn_token *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free(v);
                return -1;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = (bn_token)t;
        s = end;
    }
    *out = v;
    return (long)n;
}

long bn_tool_parse_tokens(const char *list, bn_token **out)
{
    return parse_list(list, out);
}

char *bn_tool_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = realloc(buf, 2 * cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    if (f != stdin)
        fclose(f);
    if (!buf)
        return NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

long bn_tool_read_tokens(const char *path, bn_token **out)
{
    size_t n;
    char *buf = bn_tool_read_file(path, &n);
    if (!buf)
        return -1;
    long r = parse_list(buf, out);
    free(buf);
    return r;
}

int bn_tool_int_arg(const char *prog, const char *opt, const char *value)
{
    char *end;
    errno = 0;
    long v = value ? strtol(value, &end, 10) : -1;
    if (!value || *end || errno || v < 0 || v > INT32_MAX) {
        fprintf(stderr, "%s: %s needs a non-negative integer, got '%s'\n", prog, opt, value ? value : "");
        exit(2);
    }
    return (int)v;
}

bn_model *bn_tool_load_model(const char *prog, const char *path)
{
    bn_model *m = NULL;
    int rc = bn_model_load(&m, path, NULL);
    if (rc) {
        fprintf(stderr, "%s: %s: %s\n", prog, bn_strerror(rc), bn_last_error());
        return NULL;
    }
    return m;
}
