/* Typed access to validated GGUF metadata values. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "gguf/gguf.h"

const char *bn_gguf_vtype_name(uint32_t type)
{
    static const char *const names[BN_GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64",
    };
    return type < BN_GGUF_VTYPE_COUNT ? names[type] : "unknown";
}

int bn_gguf_str_eq(bn_gguf_str s, const char *cstr)
{
    size_t n = strlen(cstr);
    return s.len == n && !memcmp(s.ptr, cstr, n);
}

static int is_unsigned(uint32_t t)
{
    return t == BN_GGUF_U8 || t == BN_GGUF_U16 || t == BN_GGUF_U32 || t == BN_GGUF_U64;
}

static int is_signed(uint32_t t)
{
    return t == BN_GGUF_I8 || t == BN_GGUF_I16 || t == BN_GGUF_I32 || t == BN_GGUF_I64;
}

int bn_gguf_get_u32(const bn_gguf *g, const char *key, uint32_t *out)
{
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, key);
    if (!kv)
        return BN_E_NOT_FOUND;
    uint32_t t = kv->value.type;
    if (is_unsigned(t) && kv->value.v.u64 <= UINT32_MAX) {
        *out = (uint32_t)kv->value.v.u64;
        return BN_OK;
    }
    if (is_signed(t) && kv->value.v.i64 >= 0 && kv->value.v.i64 <= (int64_t)UINT32_MAX) {
        *out = (uint32_t)kv->value.v.i64;
        return BN_OK;
    }
    if (is_unsigned(t) || is_signed(t))
        return bn_fail(BN_E_MODEL, "metadata '%s': value out of range for a 32-bit count", key);
    return bn_fail(BN_E_MODEL, "metadata '%s' has type %s, expected an integer", key,
                   bn_gguf_vtype_name(t));
}

int bn_gguf_get_f32(const bn_gguf *g, const char *key, float *out)
{
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, key);
    if (!kv)
        return BN_E_NOT_FOUND;
    uint32_t t = kv->value.type;
    if (t == BN_GGUF_F32 || t == BN_GGUF_F64)
        *out = (float)kv->value.v.f64;
    else if (is_unsigned(t))
        *out = (float)kv->value.v.u64;
    else if (is_signed(t))
        *out = (float)kv->value.v.i64;
    else
        return bn_fail(BN_E_MODEL, "metadata '%s' has type %s, expected a number", key,
                       bn_gguf_vtype_name(t));
    return BN_OK;
}

int bn_gguf_get_bool(const bn_gguf *g, const char *key, int *out)
{
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, key);
    if (!kv)
        return BN_E_NOT_FOUND;
    if (kv->value.type != BN_GGUF_BOOL)
        return bn_fail(BN_E_MODEL, "metadata '%s' has type %s, expected bool", key,
                       bn_gguf_vtype_name(kv->value.type));
    *out = kv->value.v.u64 != 0;
    return BN_OK;
}

int bn_gguf_get_str(const bn_gguf *g, const char *key, bn_gguf_str *out)
{
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, key);
    if (!kv)
        return BN_E_NOT_FOUND;
    if (kv->value.type != BN_GGUF_STRING)
        return bn_fail(BN_E_MODEL, "metadata '%s' has type %s, expected string", key,
                       bn_gguf_vtype_name(kv->value.type));
    *out = kv->value.v.str;
    return BN_OK;
}

void bn_gguf_str_iter_init(bn_gguf_str_iter *it, const bn_gguf_value *arr)
{
    it->p = arr->v.arr.data;
    it->left = arr->v.arr.elem_type == BN_GGUF_STRING ? arr->v.arr.nbytes : 0;
}

int bn_gguf_str_iter_next(bn_gguf_str_iter *it, bn_gguf_str *out)
{
    uint64_t len;
    if (it->left < 8)
        return 0;
    memcpy(&len, it->p, 8);
    if (len > it->left - 8) /* cannot happen on a validated array */
        return 0;
    out->ptr = (const char *)it->p + 8;
    out->len = len;
    it->p += 8 + len;
    it->left -= 8 + len;
    return 1;
}

/* Converting a double outside the int64 range to int64 is undefined
 * behaviour, and a file may hold any float: saturate, NaN gives 0. */
static int64_t saturate_i64(double d)
{
    if (isnan(d))
        return 0;
    if (d >= 9223372036854775808.0)
        return INT64_MAX;
    if (d < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

int64_t bn_gguf_arr_i64(const bn_gguf_value *arr, uint64_t i)
{
    const uint8_t *p = arr->v.arr.data;
    switch (arr->v.arr.elem_type) {
    case BN_GGUF_U8: case BN_GGUF_BOOL: return p[i];
    case BN_GGUF_I8: return (int8_t)p[i];
    case BN_GGUF_U16: { uint16_t x; memcpy(&x, p + 2 * i, 2); return x; }
    case BN_GGUF_I16: { int16_t x; memcpy(&x, p + 2 * i, 2); return x; }
    case BN_GGUF_U32: { uint32_t x; memcpy(&x, p + 4 * i, 4); return x; }
    case BN_GGUF_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); return x; }
    case BN_GGUF_U64: case BN_GGUF_I64: { int64_t x; memcpy(&x, p + 8 * i, 8); return x; }
    case BN_GGUF_F32: case BN_GGUF_F64: return saturate_i64(bn_gguf_arr_f64(arr, i));
    default: return 0;
    }
}

double bn_gguf_arr_f64(const bn_gguf_value *arr, uint64_t i)
{
    const uint8_t *p = arr->v.arr.data;
    switch (arr->v.arr.elem_type) {
    case BN_GGUF_F32: { float x; memcpy(&x, p + 4 * i, 4); return x; }
    case BN_GGUF_F64: { double x; memcpy(&x, p + 8 * i, 8); return x; }
    case BN_GGUF_U64: { uint64_t x; memcpy(&x, p + 8 * i, 8); return (double)x; }
    case BN_GGUF_STRING: case BN_GGUF_ARRAY: return 0;
    default: return (double)bn_gguf_arr_i64(arr, i);
    }
}

int bn_gguf_value_to_text(const bn_gguf_value *v, char *buf, size_t buf_size)
{
    if (!buf && buf_size)
        return BN_E_INVALID_ARG;
    int n;
    switch (v->type) {
    case BN_GGUF_STRING: {
        uint64_t len = v->v.str.len;
        if (len > INT32_MAX)
            return BN_E_RANGE;
        if (buf_size) {
            size_t k = len < buf_size - 1 ? (size_t)len : buf_size - 1;
            memcpy(buf, v->v.str.ptr, k);
            buf[k] = 0;
        }
        return (int)len;
    }
    case BN_GGUF_ARRAY:
        n = snprintf(buf, buf_size, "[%s x %" PRIu64 "]", bn_gguf_vtype_name(v->v.arr.elem_type),
                     v->v.arr.count);
        break;
    case BN_GGUF_BOOL:
        n = snprintf(buf, buf_size, "%s", v->v.u64 ? "true" : "false");
        break;
    case BN_GGUF_F32: case BN_GGUF_F64:
        n = snprintf(buf, buf_size, "%.9g", v->v.f64);
        break;
    case BN_GGUF_I8: case BN_GGUF_I16: case BN_GGUF_I32: case BN_GGUF_I64:
        n = snprintf(buf, buf_size, "%" PRId64, v->v.i64);
        break;
    default:
        n = snprintf(buf, buf_size, "%" PRIu64, v->v.u64);
        break;
    }
    return n;
}
