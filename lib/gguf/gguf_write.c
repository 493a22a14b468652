/* GGUF writer: metadata is serialised as it is added; tensor payloads are
 * streamed by the caller so that multi-GB files never sit in memory. */
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "gguf/gguf.h"

typedef struct bn_bytes {
    uint8_t *p;
    size_t len, cap;
} bn_bytes;

typedef struct bn_writer_tensor {
    char *name;
    uint32_t n_dims;
    uint64_t ne[BN_GGUF_MAX_DIMS];
    uint32_t type;
    uint64_t nbytes;
} bn_writer_tensor;

struct bn_gguf_writer {
    uint32_t version;
    uint32_t alignment;
    uint64_t n_kv;
    bn_bytes kv;
    bn_writer_tensor *tensors;
    uint64_t n_tensors, cap_tensors;
};

static int bytes_put(bn_bytes *b, const void *src, size_t n)
{
    if (n == 0)
        return BN_OK;   /* src may be NULL (empty array, no metadata): memcpy must not see it */
    if (n > SIZE_MAX - b->len)
        return bn_fail(BN_E_NOMEM, "gguf writer: metadata too large");
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return bn_fail(BN_E_NOMEM, "gguf writer: out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return BN_OK;
}

/* GGUF is little-endian; so is every target we build for. */
static int put_u32(bn_bytes *b, uint32_t v) { return bytes_put(b, &v, 4); }
static int put_u64(bn_bytes *b, uint64_t v) { return bytes_put(b, &v, 8); }

static int put_str(bn_bytes *b, const char *s, size_t len)
{
    int rc = put_u64(b, len);
    return rc ? rc : bytes_put(b, s, len);
}

static size_t scalar_size(uint32_t type)
{
    switch (type) {
    case BN_GGUF_U8: case BN_GGUF_I8: case BN_GGUF_BOOL: return 1;
    case BN_GGUF_U16: case BN_GGUF_I16: return 2;
    case BN_GGUF_U32: case BN_GGUF_I32: case BN_GGUF_F32: return 4;
    case BN_GGUF_U64: case BN_GGUF_I64: case BN_GGUF_F64: return 8;
    default: return 0;
    }
}

int bn_gguf_writer_new(bn_gguf_writer **out, uint32_t version, uint32_t alignment)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: NULL output");
    *out = NULL;
    if (version != 2 && version != 3)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: version %u (2 or 3)", version);
    if (alignment == 0 || (alignment & (alignment - 1)) || alignment > BN_GGUF_MAX_ALIGNMENT)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: alignment %u", alignment);
    bn_gguf_writer *w = calloc(1, sizeof *w);
    if (!w)
        return bn_fail(BN_E_NOMEM, "gguf writer: out of memory");
    w->version = version;
    w->alignment = alignment;
    /* a reader assumes 32 without the key: write it for any other value */
    if (alignment != BN_GGUF_DEFAULT_ALIGNMENT) {
        int rc = bn_gguf_writer_add_uint(w, "general.alignment", BN_GGUF_U32, alignment);
        if (rc) {
            bn_gguf_writer_free(&w);
            return rc;
        }
    }
    *out = w;
    return BN_OK;
}

void bn_gguf_writer_free(bn_gguf_writer **pw)
{
    if (!pw || !*pw)
        return;
    bn_gguf_writer *w = *pw;
    for (uint64_t i = 0; i < w->n_tensors; i++)
        free(w->tensors[i].name);
    free(w->tensors);
    free(w->kv.p);
    free(w);
    *pw = NULL;
}

static int begin_kv(bn_gguf_writer *w, const char *key, uint32_t type)
{
    if (!w || !key)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: NULL argument");
    int rc = put_str(&w->kv, key, strlen(key));
    if (!rc)
        rc = put_u32(&w->kv, type);
    if (!rc)
        w->n_kv++;
    return rc;
}

/* Stores v, already range-checked by the caller, in `size` bytes. */
static int put_scalar(bn_bytes *b, uint32_t type, uint64_t bits, double f)
{
    if (type == BN_GGUF_F32) {
        float x = (float)f;
        return bytes_put(b, &x, 4);
    }
    if (type == BN_GGUF_F64)
        return bytes_put(b, &f, 8);
    return bytes_put(b, &bits, scalar_size(type)); /* low bytes: little-endian */
}

int bn_gguf_writer_add_int(bn_gguf_writer *w, const char *key, uint32_t type, int64_t v)
{
    if (scalar_size(type) == 0 || type == BN_GGUF_F32 || type == BN_GGUF_F64)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: '%s' is not an integer type", key);
    int rc = begin_kv(w, key, type);
    return rc ? rc : put_scalar(&w->kv, type, (uint64_t)v, 0);
}

int bn_gguf_writer_add_uint(bn_gguf_writer *w, const char *key, uint32_t type, uint64_t v)
{
    return bn_gguf_writer_add_int(w, key, type, (int64_t)v);
}

int bn_gguf_writer_add_float(bn_gguf_writer *w, const char *key, uint32_t type, double v)
{
    if (type != BN_GGUF_F32 && type != BN_GGUF_F64)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: '%s' is not a float type", key);
    int rc = begin_kv(w, key, type);
    return rc ? rc : put_scalar(&w->kv, type, 0, v);
}

int bn_gguf_writer_add_bool(bn_gguf_writer *w, const char *key, int v)
{
    int rc = begin_kv(w, key, BN_GGUF_BOOL);
    uint8_t b = v ? 1 : 0;
    return rc ? rc : bytes_put(&w->kv, &b, 1);
}

int bn_gguf_writer_add_str(bn_gguf_writer *w, const char *key, const char *s, size_t len)
{
    if (!s)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: NULL string for '%s'", key);
    int rc = begin_kv(w, key, BN_GGUF_STRING);
    return rc ? rc : put_str(&w->kv, s, len);
}

int bn_gguf_writer_add_array(bn_gguf_writer *w, const char *key, uint32_t elem_type,
                             const void *data, uint64_t count)
{
    size_t es = scalar_size(elem_type), nbytes;
    if (es == 0)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: '%s': bad array element type", key);
    if (!bn_mul_size(es, (size_t)count, &nbytes) || (count && !data))
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: '%s': bad array", key);
    int rc = begin_kv(w, key, BN_GGUF_ARRAY);
    if (!rc)
        rc = put_u32(&w->kv, elem_type);
    if (!rc)
        rc = put_u64(&w->kv, count);
    return rc ? rc : bytes_put(&w->kv, data, nbytes);
}

int bn_gguf_writer_add_str_array(bn_gguf_writer *w, const char *key, const char *const *strs,
                                 const size_t *lens, uint64_t count)
{
    if (count && !strs)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: '%s': NULL strings", key);
    int rc = begin_kv(w, key, BN_GGUF_ARRAY);
    if (!rc)
        rc = put_u32(&w->kv, BN_GGUF_STRING);
    if (!rc)
        rc = put_u64(&w->kv, count);
    for (uint64_t i = 0; !rc && i < count; i++)
        rc = put_str(&w->kv, strs[i], lens ? lens[i] : strlen(strs[i]));
    return rc;
}

int bn_gguf_writer_add_tensor(bn_gguf_writer *w, const char *name, uint32_t n_dims,
                              const uint64_t *ne, uint32_t type)
{
    if (!w || !name || !ne || n_dims == 0 || n_dims > BN_GGUF_MAX_DIMS)
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: bad tensor '%s'", name ? name : "");
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++)
        if (!bn_mul_u64(n, ne[d], &n))
            return bn_fail(BN_E_INVALID_ARG, "gguf writer: tensor '%s' too large", name);
    uint64_t nbytes;
    if (!bn_type_nbytes(type, ne[0], n, &nbytes))
        return bn_fail_prefix(BN_E_INVALID_ARG, name);
    if (w->n_tensors == w->cap_tensors) {
        uint64_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
        bn_writer_tensor *t = realloc(w->tensors, cap * sizeof *t);
        if (!t)
            return bn_fail(BN_E_NOMEM, "gguf writer: out of memory");
        w->tensors = t;
        w->cap_tensors = cap;
    }
    bn_writer_tensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name)
        return bn_fail(BN_E_NOMEM, "gguf writer: out of memory");
    t->n_dims = n_dims;
    memcpy(t->ne, ne, n_dims * sizeof ne[0]);
    t->type = type;
    t->nbytes = nbytes;
    w->n_tensors++;
    return BN_OK;
}

static int write_zeros(FILE *f, uint64_t n)
{
    static const uint8_t zeros[256];
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        if (fwrite(zeros, 1, k, f) != k)
            return bn_fail(BN_E_IO, "gguf writer: write failed");
        n -= k;
    }
    return BN_OK;
}

int bn_gguf_writer_write(bn_gguf_writer *w, FILE *f, bn_gguf_emit_fn emit, void *user)
{
    if (!w || !f || (w->n_tensors && !emit))
        return bn_fail(BN_E_INVALID_ARG, "gguf writer: NULL argument");
    bn_bytes head = { 0 };
    int rc = bytes_put(&head, "GGUF", 4);
    if (!rc) rc = put_u32(&head, w->version);
    if (!rc) rc = put_u64(&head, w->n_tensors);
    if (!rc) rc = put_u64(&head, w->n_kv);
    if (!rc) rc = bytes_put(&head, w->kv.p, w->kv.len);
    uint64_t offset = 0;
    for (uint64_t i = 0; !rc && i < w->n_tensors; i++) {
        const bn_writer_tensor *t = &w->tensors[i];
        rc = put_str(&head, t->name, strlen(t->name));
        if (!rc) rc = put_u32(&head, t->n_dims);
        for (uint32_t d = 0; !rc && d < t->n_dims; d++)
            rc = put_u64(&head, t->ne[d]);
        if (!rc) rc = put_u32(&head, t->type);
        if (!rc) rc = put_u64(&head, offset);
        if (!rc && !bn_align_u64(offset + t->nbytes, w->alignment, &offset))
            rc = bn_fail(BN_E_INVALID_ARG, "gguf writer: data too large");
    }
    uint64_t pad = 0;
    if (!rc && !bn_align_u64(head.len, w->alignment, &pad))
        rc = bn_fail(BN_E_INVALID_ARG, "gguf writer: header too large");
    long start = ftell(f);
    if (!rc && fwrite(head.p, 1, head.len, f) != head.len)
        rc = bn_fail(BN_E_IO, "gguf writer: write failed");
    if (!rc)
        rc = write_zeros(f, pad - head.len);
    free(head.p);
    /* ftell only measures payload sizes on a stream whose position follows
     * the bytes written: not on pipes (-1) nor on /dev/null (always 0). */
    long header_end = ftell(f);
    int track = start >= 0 && header_end >= 0 && (uint64_t)(header_end - start) == pad;
    for (uint64_t i = 0; !rc && i < w->n_tensors; i++) {
        const bn_writer_tensor *t = &w->tensors[i];
        long before = ftell(f);
        rc = emit(user, i, f);
        if (rc)
            break;
        long after = ftell(f);
        if (track && before >= 0 && after >= 0 && (uint64_t)(after - before) != t->nbytes)
            return bn_fail(BN_E_INTERNAL, "gguf writer: tensor '%s' wrote %ld bytes, expected %llu",
                           t->name, after - before, (unsigned long long)t->nbytes);
        uint64_t end = t->nbytes;
        bn_align_u64(t->nbytes, w->alignment, &end);
        rc = write_zeros(f, end - t->nbytes);
    }
    if (!rc && fflush(f))
        rc = bn_fail(BN_E_IO, "gguf writer: write failed");
    return rc;
}
