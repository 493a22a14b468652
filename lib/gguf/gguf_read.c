/* GGUF reader: validates the whole header against the buffer before anything
 * else in the library looks at it. */
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/error.h"
#include "core/sort.h"
#include "gguf/gguf.h"

typedef struct cursor {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
} cursor;

static uint64_t left(const cursor *c) { return c->size - c->pos; }

static int need(const cursor *c, uint64_t n, const char *what)
{
    if (n > left(c))
        return bn_fail(BN_E_FORMAT, "truncated at byte %llu: %s needs %llu bytes, %llu left",
                       (unsigned long long)c->pos, what, (unsigned long long)n,
                       (unsigned long long)left(c));
    return BN_OK;
}

static int rd(cursor *c, void *dst, uint64_t n, const char *what)
{
    int rc = need(c, n, what);
    if (rc)
        return rc;
    memcpy(dst, c->base + c->pos, (size_t)n);
    c->pos += n;
    return BN_OK;
}

static int rd_u32(cursor *c, uint32_t *v, const char *what) { return rd(c, v, 4, what); }
static int rd_u64(cursor *c, uint64_t *v, const char *what) { return rd(c, v, 8, what); }

/* GGUF v1 used 32-bit counts; v2 and v3 use 64-bit ones. */
static int rd_str(cursor *c, bn_gguf_str *s, uint64_t max_len, const char *what)
{
    uint64_t len;
    int rc = rd_u64(c, &len, what);
    if (rc)
        return rc;
    if (len > max_len)
        return bn_fail(BN_E_FORMAT, "%s at byte %llu: length %llu exceeds the limit %llu", what,
                       (unsigned long long)(c->pos - 8), (unsigned long long)len,
                       (unsigned long long)max_len);
    if ((rc = need(c, len, what)))
        return rc;
    s->ptr = (const char *)c->base + c->pos;
    s->len = len;
    c->pos += len;
    return BN_OK;
}

static uint64_t vtype_size(uint32_t t)
{
    switch (t) {
    case BN_GGUF_U8: case BN_GGUF_I8: case BN_GGUF_BOOL: return 1;
    case BN_GGUF_U16: case BN_GGUF_I16: return 2;
    case BN_GGUF_U32: case BN_GGUF_I32: case BN_GGUF_F32: return 4;
    case BN_GGUF_U64: case BN_GGUF_I64: case BN_GGUF_F64: return 8;
    default: return 0;
    }
}

static int rd_scalar(cursor *c, uint32_t type, bn_gguf_value *v, const char *what)
{
    uint8_t raw[8];
    uint64_t n = vtype_size(type);
    int rc = rd(c, raw, n, what);
    if (rc)
        return rc;
    v->type = type;
    switch (type) {
    case BN_GGUF_U8: v->v.u64 = raw[0]; break;
    case BN_GGUF_BOOL:
        if (raw[0] > 1)
            return bn_fail(BN_E_FORMAT, "%s: bool value %u", what, raw[0]);
        v->v.u64 = raw[0];
        break;
    case BN_GGUF_I8: v->v.i64 = (int8_t)raw[0]; break;
    case BN_GGUF_U16: { uint16_t x; memcpy(&x, raw, 2); v->v.u64 = x; break; }
    case BN_GGUF_I16: { int16_t x; memcpy(&x, raw, 2); v->v.i64 = x; break; }
    case BN_GGUF_U32: { uint32_t x; memcpy(&x, raw, 4); v->v.u64 = x; break; }
    case BN_GGUF_I32: { int32_t x; memcpy(&x, raw, 4); v->v.i64 = x; break; }
    case BN_GGUF_F32: { float x; memcpy(&x, raw, 4); v->v.f64 = x; break; }
    case BN_GGUF_U64: memcpy(&v->v.u64, raw, 8); break;
    case BN_GGUF_I64: memcpy(&v->v.i64, raw, 8); break;
    case BN_GGUF_F64: memcpy(&v->v.f64, raw, 8); break;
    default: return bn_fail(BN_E_INTERNAL, "%s: scalar type %u", what, type);
    }
    return BN_OK;
}

static int rd_array(cursor *c, bn_gguf_value *v, const char *what)
{
    uint32_t et;
    uint64_t count;
    int rc = rd_u32(c, &et, what);
    if (!rc)
        rc = rd_u64(c, &count, what);
    if (rc)
        return rc;
    if (et == BN_GGUF_ARRAY)
        return bn_fail(BN_E_FORMAT, "%s: nested arrays are not supported", what);
    if (et >= BN_GGUF_VTYPE_COUNT)
        return bn_fail(BN_E_FORMAT, "%s: unknown array element type %u", what, et);
    if (count > BN_GGUF_MAX_ARRAY_LEN)
        return bn_fail(BN_E_FORMAT, "%s: array of %llu elements exceeds the limit %u", what,
                       (unsigned long long)count, BN_GGUF_MAX_ARRAY_LEN);
    v->type = BN_GGUF_ARRAY;
    v->v.arr.elem_type = et;
    v->v.arr.count = count;
    v->v.arr.data = c->base + c->pos;
    uint64_t start = c->pos;
    if (et == BN_GGUF_STRING) {
        /* each element at least its 8-byte length: bound the walk first */
        uint64_t min_bytes;
        if (!bn_mul_u64(count, 8, &min_bytes) || (rc = need(c, min_bytes, what)))
            return rc ? rc : bn_fail(BN_E_FORMAT, "%s: array too large", what);
        for (uint64_t i = 0; i < count; i++) {
            bn_gguf_str s;
            if ((rc = rd_str(c, &s, BN_GGUF_MAX_STRING_LEN, what)))
                return rc;
        }
    } else {
        uint64_t nbytes;
        if (!bn_mul_u64(count, vtype_size(et), &nbytes))
            return bn_fail(BN_E_FORMAT, "%s: array too large", what);
        if ((rc = need(c, nbytes, what)))
            return rc;
        if (et == BN_GGUF_BOOL)
            for (uint64_t i = 0; i < count; i++)
                if (c->base[c->pos + i] > 1)
                    return bn_fail(BN_E_FORMAT, "%s: bool element %llu has value %u", what,
                                   (unsigned long long)i, c->base[c->pos + i]);
        c->pos += nbytes;
    }
    v->v.arr.nbytes = c->pos - start;
    return BN_OK;
}

static int rd_value(cursor *c, uint32_t type, bn_gguf_value *v, const char *what)
{
    if (type == BN_GGUF_STRING) {
        v->type = type;
        return rd_str(c, &v->v.str, BN_GGUF_MAX_STRING_LEN, what);
    }
    if (type == BN_GGUF_ARRAY)
        return rd_array(c, v, what);
    if (vtype_size(type) == 0)
        return bn_fail(BN_E_FORMAT, "%s: unknown value type %u", what, type);
    return rd_scalar(c, type, v, what);
}

/* Quotes a file string for a message, cut short and with non-printables as '?'. */
static const char *shown(bn_gguf_str s, char *buf, size_t n)
{
    size_t k = s.len < n - 1 ? (size_t)s.len : n - 1;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        buf[i] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    buf[k] = 0;
    return buf;
}

static int parse_kv(bn_gguf *g, cursor *c)
{
    int rc;
    char name[80];
    for (uint64_t i = 0; i < g->n_kv; i++) {
        bn_gguf_kv *kv = &g->kv[i];
        uint32_t type;
        if ((rc = rd_str(c, &kv->key, BN_GGUF_MAX_KEY_LEN, "metadata key")))
            return rc;
        if (kv->key.len == 0)
            return bn_fail(BN_E_FORMAT, "metadata pair %llu has an empty key", (unsigned long long)i);
        snprintf(name, sizeof name, "metadata '%s'", shown(kv->key, (char[64]){0}, 64));
        if ((rc = rd_u32(c, &type, name)) || (rc = rd_value(c, type, &kv->value, name)))
            return rc;
    }
    return BN_OK;
}

static int read_alignment(bn_gguf *g)
{
    g->alignment = BN_GGUF_DEFAULT_ALIGNMENT;
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, "general.alignment");
    if (!kv)
        return BN_OK;
    if (kv->value.type != BN_GGUF_U32)
        return bn_fail(BN_E_FORMAT, "general.alignment has type %s, expected u32",
                       bn_gguf_vtype_name(kv->value.type));
    uint64_t a = kv->value.v.u64;
    if (a == 0 || (a & (a - 1)) || a > BN_GGUF_MAX_ALIGNMENT)
        return bn_fail(BN_E_FORMAT, "general.alignment %llu: not a power of two up to %u",
                       (unsigned long long)a, BN_GGUF_MAX_ALIGNMENT);
    g->alignment = (uint32_t)a;
    return BN_OK;
}

/* Decides what type id 36 means (see gguf_types.h). */
static int is_i2_s_file(const bn_gguf *g)
{
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, "general.file_type");
    if (!kv)
        return 0;
    int64_t ft = -1;
    if (kv->value.type == BN_GGUF_U32 || kv->value.type == BN_GGUF_U64 || kv->value.type == BN_GGUF_U16
        || kv->value.type == BN_GGUF_U8)
        ft = (int64_t)kv->value.v.u64;
    else if (kv->value.type == BN_GGUF_I32 || kv->value.type == BN_GGUF_I64
             || kv->value.type == BN_GGUF_I16 || kv->value.type == BN_GGUF_I8)
        ft = kv->value.v.i64;
    return ft == BN_FILE_TYPE_MOSTLY_I2_S;
}

static int parse_tensor_info(bn_gguf *g, cursor *c, int i2_s_file)
{
    int rc;
    char nm[BN_GGUF_MAX_NAME_LEN + 1];
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        bn_gguf_tensor *t = &g->tensors[i];
        if ((rc = rd_str(c, &t->name, BN_GGUF_MAX_NAME_LEN, "tensor name")))
            return rc;
        if (t->name.len == 0)
            return bn_fail(BN_E_FORMAT, "tensor %llu has an empty name", (unsigned long long)i);
        shown(t->name, nm, sizeof nm);
        if ((rc = rd_u32(c, &t->n_dims, nm)))
            return rc;
        if (t->n_dims == 0 || t->n_dims > BN_GGUF_MAX_DIMS)
            return bn_fail(BN_E_FORMAT, "tensor '%s': %u dimensions (1 to %u)", nm, t->n_dims,
                           BN_GGUF_MAX_DIMS);
        t->n_elements = 1;
        for (uint32_t d = 0; d < BN_GGUF_MAX_DIMS; d++) {
            t->ne[d] = 1;
            if (d >= t->n_dims)
                continue;
            if ((rc = rd_u64(c, &t->ne[d], nm)))
                return rc;
            if (t->ne[d] == 0 || t->ne[d] > INT64_MAX)
                return bn_fail(BN_E_FORMAT, "tensor '%s': dimension %u is %llu", nm, d,
                               (unsigned long long)t->ne[d]);
            if (!bn_mul_u64(t->n_elements, t->ne[d], &t->n_elements) || t->n_elements > INT64_MAX)
                return bn_fail(BN_E_FORMAT, "tensor '%s': element count overflows", nm);
        }
        if ((rc = rd_u32(c, &t->type, nm)) || (rc = rd_u64(c, &t->offset, nm)))
            return rc;
        if (t->type == BN_TYPE_I2_S && !i2_s_file)
            return bn_fail(BN_E_UNSUPPORTED,
                           "tensor '%s': type id 36 means I2_S only in bitnet.cpp files "
                           "(general.file_type 40); this file does not declare it", nm);
        if (t->type == BN_TYPE_TL1 || t->type == BN_TYPE_TL2)
            return bn_fail(BN_E_UNSUPPORTED,
                           "tensor '%s': type %u (bitnet.cpp %s look-up-table layout, or MXFP4 "
                           "upstream) is not supported; convert the model to I2_S or TQ2_0",
                           nm, t->type, bn_type_name(t->type));
        if (!bn_type_info_get(t->type))
            return bn_fail(BN_E_UNSUPPORTED, "tensor '%s': unknown type id %u", nm, t->type);
        if (!bn_type_nbytes(t->type, t->ne[0], t->n_elements, &t->nbytes))
            return bn_fail_prefix(BN_E_FORMAT, nm);
        if (t->offset % g->alignment)
            return bn_fail(BN_E_FORMAT, "tensor '%s': offset %llu is not a multiple of the alignment %u",
                           nm, (unsigned long long)t->offset, g->alignment);
    }
    return BN_OK;
}

static int cmp_str(bn_gguf_str a, bn_gguf_str b)
{
    uint64_t n = a.len < b.len ? a.len : b.len;
    int d = memcmp(a.ptr, b.ptr, (size_t)n);
    return d ? d : (a.len > b.len) - (a.len < b.len);
}

static int cmp_kv_index(uint32_t a, uint32_t b, const void *g)
{
    const bn_gguf *gg = g;
    return cmp_str(gg->kv[a].key, gg->kv[b].key);
}

static int cmp_tensor_index(uint32_t a, uint32_t b, const void *g)
{
    const bn_gguf *gg = g;
    return cmp_str(gg->tensors[a].name, gg->tensors[b].name);
}

/* Builds the sorted name indexes used by the lookups; rejects duplicates. */
static int build_indexes(bn_gguf *g)
{
    char nm[BN_GGUF_MAX_NAME_LEN + 1];
    if ((g->n_kv && !(g->kv_order = malloc(g->n_kv * sizeof *g->kv_order)))
        || (g->n_tensors && !(g->tensor_order = malloc(g->n_tensors * sizeof *g->tensor_order))))
        return bn_fail(BN_E_NOMEM, "out of memory indexing the GGUF header");
    for (uint64_t i = 0; i < g->n_kv; i++)
        g->kv_order[i] = (uint32_t)i;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        g->tensor_order[i] = (uint32_t)i;
    bn_sort_indexes(g->kv_order, g->n_kv, cmp_kv_index, g);
    bn_sort_indexes(g->tensor_order, g->n_tensors, cmp_tensor_index, g);
    for (uint64_t i = 1; i < g->n_kv; i++) {
        bn_gguf_str k = g->kv[g->kv_order[i]].key;
        if (!cmp_str(g->kv[g->kv_order[i - 1]].key, k))
            return bn_fail(BN_E_FORMAT, "metadata key '%s' appears twice", shown(k, nm, sizeof nm));
    }
    for (uint64_t i = 1; i < g->n_tensors; i++) {
        bn_gguf_str k = g->tensors[g->tensor_order[i]].name;
        if (!cmp_str(g->tensors[g->tensor_order[i - 1]].name, k))
            return bn_fail(BN_E_FORMAT, "tensor '%s' appears twice", shown(k, nm, sizeof nm));
    }
    return BN_OK;
}

const bn_gguf_kv *bn_gguf_find_kv(const bn_gguf *g, const char *key)
{
    if (!g || !key)
        return NULL;
    bn_gguf_str k = { key, strlen(key) };
    uint64_t lo = 0, hi = g->n_kv;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int d = cmp_str(g->kv[g->kv_order[mid]].key, k);
        if (d == 0)
            return &g->kv[g->kv_order[mid]];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const bn_gguf_tensor *bn_gguf_find_tensor(const bn_gguf *g, const char *name)
{
    if (!g || !name)
        return NULL;
    bn_gguf_str k = { name, strlen(name) };
    uint64_t lo = 0, hi = g->n_tensors;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int d = cmp_str(g->tensors[g->tensor_order[mid]].name, k);
        if (d == 0)
            return &g->tensors[g->tensor_order[mid]];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int cmp_offset(const void *a, const void *b)
{
    const bn_gguf_tensor *x = *(const bn_gguf_tensor *const *)a;
    const bn_gguf_tensor *y = *(const bn_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every payload inside the data section, none overlapping another. */
static int check_data_spans(bn_gguf *g)
{
    uint64_t data_size = g->size - g->data_offset;
    if (g->n_tensors == 0)
        return BN_OK;
    const bn_gguf_tensor **order = malloc(g->n_tensors * sizeof *order);
    if (!order)
        return bn_fail(BN_E_NOMEM, "out of memory sorting %llu tensors", (unsigned long long)g->n_tensors);
    for (uint64_t i = 0; i < g->n_tensors; i++)
        order[i] = &g->tensors[i];
    qsort(order, g->n_tensors, sizeof *order, cmp_offset);
    int rc = BN_OK;
    char nm[BN_GGUF_MAX_NAME_LEN + 1], nm2[BN_GGUF_MAX_NAME_LEN + 1];
    for (uint64_t i = 0; i < g->n_tensors && !rc; i++) {
        const bn_gguf_tensor *t = order[i];
        uint64_t end;
        if (!bn_add_u64(t->offset, t->nbytes, &end) || end > data_size) {
            rc = bn_fail(BN_E_FORMAT,
                         "tensor '%s' (%s, %llu bytes at data offset %llu) extends past the end of "
                         "the file (data section is %llu bytes)",
                         shown(t->name, nm, sizeof nm), bn_type_name(t->type),
                         (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                         (unsigned long long)data_size);
        } else if (i + 1 < g->n_tensors && end > order[i + 1]->offset) {
            rc = bn_fail(BN_E_FORMAT,
                         "tensor '%s' (%s, %llu bytes at data offset %llu) overlaps tensor '%s' "
                         "at offset %llu",
                         shown(t->name, nm, sizeof nm), bn_type_name(t->type),
                         (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                         shown(order[i + 1]->name, nm2, sizeof nm2),
                         (unsigned long long)order[i + 1]->offset);
        }
    }
    free(order);
    for (uint64_t i = 0; i < g->n_tensors && !rc; i++)
        g->tensors[i].data = g->base + g->data_offset + g->tensors[i].offset;
    return rc;
}

int bn_gguf_parse(bn_gguf *g, const void *data, uint64_t size)
{
    if (!g || (!data && size))
        return bn_fail(BN_E_INVALID_ARG, "gguf: NULL argument");
    memset(g, 0, sizeof *g);
    cursor c = { data, size, 0 };
    uint8_t magic[4];
    int rc = rd(&c, magic, 4, "magic");
    if (!rc && memcmp(magic, "GGUF", 4))
        rc = bn_fail(BN_E_FORMAT, "not a GGUF file (magic %02x %02x %02x %02x)", magic[0], magic[1],
                     magic[2], magic[3]);
    if (!rc)
        rc = rd_u32(&c, &g->version, "version");
    if (!rc && (g->version == 1 || g->version > 3))
        rc = bn_fail(BN_E_UNSUPPORTED, "GGUF version %u (2 and 3 are supported)", g->version);
    if (!rc && g->version == 0)
        rc = bn_fail(BN_E_FORMAT, "GGUF version 0");
    if (!rc)
        rc = rd_u64(&c, &g->n_tensors, "tensor count");
    if (!rc)
        rc = rd_u64(&c, &g->n_kv, "metadata count");
    if (rc)
        goto fail;
    /* Bound the counts by the bytes present before allocating: a metadata pair
     * takes at least 8 + 1 + 4 + 1 bytes, a tensor info at least 8 + 1 + 4 + 8 + 4 + 8. */
    if (g->n_kv > BN_GGUF_MAX_KV || g->n_kv > left(&c) / 14) {
        rc = bn_fail(BN_E_FORMAT, "metadata count %llu is impossible for a file of %llu bytes",
                     (unsigned long long)g->n_kv, (unsigned long long)size);
        goto fail;
    }
    if (g->n_tensors > BN_GGUF_MAX_TENSORS || g->n_tensors > left(&c) / 33) {
        rc = bn_fail(BN_E_FORMAT, "tensor count %llu is impossible for a file of %llu bytes",
                     (unsigned long long)g->n_tensors, (unsigned long long)size);
        goto fail;
    }
    g->base = data;
    g->size = size;
    if (g->n_kv && !(g->kv = calloc(g->n_kv, sizeof *g->kv))) {
        rc = bn_fail(BN_E_NOMEM, "out of memory for %llu metadata pairs", (unsigned long long)g->n_kv);
        goto fail;
    }
    if ((rc = parse_kv(g, &c)))
        goto fail;
    /* index the keys now: alignment and file type lookups need them */
    uint64_t n_tensors_declared = g->n_tensors;
    g->n_tensors = 0;
    rc = build_indexes(g);
    g->n_tensors = n_tensors_declared;
    if (rc || (rc = read_alignment(g)))
        goto fail;
    if (g->n_tensors > left(&c) / 33) {
        rc = bn_fail(BN_E_FORMAT, "tensor count %llu does not fit the %llu bytes after the metadata",
                     (unsigned long long)g->n_tensors, (unsigned long long)left(&c));
        goto fail;
    }
    if (g->n_tensors && !(g->tensors = calloc(g->n_tensors, sizeof *g->tensors))) {
        rc = bn_fail(BN_E_NOMEM, "out of memory for %llu tensors", (unsigned long long)g->n_tensors);
        goto fail;
    }
    if ((rc = parse_tensor_info(g, &c, is_i2_s_file(g))))
        goto fail;
    free(g->kv_order);
    g->kv_order = NULL;
    if ((rc = build_indexes(g)))
        goto fail;
    uint64_t data_offset = 0;
    if (!bn_align_u64(c.pos, g->alignment, &data_offset) || data_offset > size) {
        if (g->n_tensors == 0 && c.pos == size) {
            data_offset = size; /* metadata-only file without trailing padding */
        } else {
            rc = bn_fail(BN_E_FORMAT, "data section would start at byte %llu, past the end (%llu bytes)",
                         (unsigned long long)data_offset, (unsigned long long)size);
            goto fail;
        }
    }
    g->data_offset = data_offset;
    if ((rc = check_data_spans(g)))
        goto fail;
    return BN_OK;
fail:
    bn_gguf_release(g);
    return rc;
}

void bn_gguf_release(bn_gguf *g)
{
    if (!g)
        return;
    free(g->kv);
    free(g->tensors);
    free(g->kv_order);
    free(g->tensor_order);
    free(g->meta_copy);
    memset(g, 0, sizeof *g);
}
