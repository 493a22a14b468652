/* Public entry points for saved sequence state: argument checks, buffers
 * and files; the format is in ctx/seq_state.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ctx/seq_state.h"

static int check(const bn_ctx *c, int32_t seq, const char *fn)
{
    if (!c)
        return bn_fail(BN_E_INVALID_ARG, "%s: NULL context", fn);
    if (seq < 0 || seq >= c->n_seq_max)
        return bn_fail(BN_E_RANGE, "%s: sequence %d outside [0, %d)", fn, seq, c->n_seq_max);
    return BN_OK;
}

size_t bn_ctx_seq_state_size(const bn_ctx *c, int32_t seq)
{
    return c && seq >= 0 && seq < c->n_seq_max ? bn_seq_state_size(c, seq) : 0;
}

int bn_ctx_seq_state_save(const bn_ctx *c, int32_t seq, void *buf, size_t buf_size, size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_seq_state_save: n_out is NULL");
    *n_out = 0;
    int rc = check(c, seq, "bn_ctx_seq_state_save");
    if (rc)
        return rc;
    if (!buf && buf_size)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_seq_state_save: NULL buffer of %zu bytes", buf_size);
    const size_t need = bn_seq_state_size(c, seq);
    if (!need)
        return bn_fail(BN_E_NOMEM, "bn_ctx_seq_state_save: the state's size overflows");
    *n_out = need;
    if (buf_size < need)
        return bn_fail(BN_E_RANGE, "bn_ctx_seq_state_save: the state needs %zu bytes, the buffer has %zu",
                       need, buf_size);
    bn_seq_state_write(c, seq, buf);
    return BN_OK;
}

int bn_ctx_seq_state_load(bn_ctx *c, int32_t seq, const void *data, size_t size)
{
    int rc = check(c, seq, "bn_ctx_seq_state_load");
    if (rc)
        return rc;
    if (!data)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_seq_state_load: data is NULL");
    return bn_seq_state_read(c, seq, data, size);
}

int bn_ctx_seq_state_save_file(const bn_ctx *c, int32_t seq, const char *path)
{
    int rc = check(c, seq, "bn_ctx_seq_state_save_file");
    if (rc)
        return rc;
    if (!path)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_seq_state_save_file: path is NULL");
    const size_t n = bn_seq_state_size(c, seq);
    uint8_t *buf = n ? malloc(n) : NULL;
    if (!buf)
        return bn_fail(BN_E_NOMEM, "bn_ctx_seq_state_save_file: cannot allocate %zu bytes", n);
    bn_seq_state_write(c, seq, buf);
    FILE *f = fopen(path, "wb");
    if (!f) {
        rc = bn_fail(BN_E_IO, "%s: %s", path, strerror(errno));
    } else {
        int bad = fwrite(buf, 1, n, f) != n;
        bad |= fclose(f) != 0;
        if (bad)
            rc = bn_fail(BN_E_IO, "%s: cannot write %zu bytes: %s", path, n, strerror(errno));
    }
    free(buf);
    return rc;
}

int bn_ctx_seq_state_load_file(bn_ctx *c, int32_t seq, const char *path)
{
    int rc = check(c, seq, "bn_ctx_seq_state_load_file");
    if (rc)
        return rc;
    if (!path)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_seq_state_load_file: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return bn_fail(BN_E_IO, "%s: %s", path, strerror(errno));
    /* read it whole, in growing steps: the file's size is only a hint */
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *b = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    const int err = ferror(f);
    fclose(f);
    if (!buf)
        return bn_fail(BN_E_NOMEM, "%s: out of memory reading the state", path);
    if (err)
        rc = bn_fail(BN_E_IO, "%s: read error", path);
    else
        rc = bn_seq_state_read(c, seq, buf, n);
    free(buf);
    return rc;
}
