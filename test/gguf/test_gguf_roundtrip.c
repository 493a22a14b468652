/* Writer -> reader round trip of every metadata value type and every tensor
 * type, for GGUF v2 and v3 and several alignments; then the typed getters,
 * string iteration, array access and text formatting on what was read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* ---- the metadata written ----------------------------------------------- */

static const uint8_t a_u8[] = { 0, 1, 200, 255 };
static const int8_t a_i8[] = { -128, -1, 0, 127 };
static const uint16_t a_u16[] = { 0, 65535, 1234 };
static const int16_t a_i16[] = { -32768, 32767, -2 };
static const uint32_t a_u32[] = { 0, UINT32_MAX, 40 };
static const int32_t a_i32[] = { INT32_MIN, INT32_MAX, -7 };
static const float a_f32[] = { 1.5f, -2.75f, 0.0f, 1e-30f, 3.0e38f };
static const uint8_t a_bool[] = { 1, 0, 1 };
static const uint64_t a_u64[] = { 0, UINT64_MAX, 1ull << 40 };
static const int64_t a_i64[] = { INT64_MIN, INT64_MAX, -3 };
static const double a_f64[] = { 0.1, -1e300, 2.5 };
static const double a_f64_special[] = { NAN, INFINITY, -INFINITY, -1e300, 9.3e18, -9.3e18,
                                        -9223372036854775808.0, -0.5 };
static const char *const a_str[] = { "alpha", "", "\xce\xb3-utf8", "x" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int add_all_meta(bn_gguf_writer *w, void *user)
{
    (void)user;
    int rc = 0;
    rc |= bn_gguf_writer_add_uint(w, "general.file_type", BN_GGUF_U32, BN_FILE_TYPE_MOSTLY_I2_S);
    rc |= bn_gguf_writer_add_uint(w, "s.u8", BN_GGUF_U8, 200);
    rc |= bn_gguf_writer_add_int(w, "s.i8", BN_GGUF_I8, -5);
    rc |= bn_gguf_writer_add_uint(w, "s.u16", BN_GGUF_U16, 65535);
    rc |= bn_gguf_writer_add_int(w, "s.i16", BN_GGUF_I16, -32768);
    rc |= bn_gguf_writer_add_uint(w, "s.u32", BN_GGUF_U32, UINT32_MAX);
    rc |= bn_gguf_writer_add_int(w, "s.i32", BN_GGUF_I32, 123);
    rc |= bn_gguf_writer_add_float(w, "s.f32", BN_GGUF_F32, 1.5);
    rc |= bn_gguf_writer_add_bool(w, "s.bool", 1);
    rc |= bn_gguf_writer_add_bool(w, "s.bool_false", 0);
    rc |= bn_gguf_writer_add_str(w, "s.str", "hello, gguf", 11);
    rc |= bn_gguf_writer_add_str(w, "s.str_empty", "", 0);
    rc |= bn_gguf_writer_add_uint(w, "s.u64", BN_GGUF_U64, UINT64_MAX);
    rc |= bn_gguf_writer_add_uint(w, "s.u64_small", BN_GGUF_U64, 7);
    rc |= bn_gguf_writer_add_int(w, "s.i64", BN_GGUF_I64, INT64_MIN);
    rc |= bn_gguf_writer_add_int(w, "s.i64_u32max", BN_GGUF_I64, (int64_t)UINT32_MAX);
    rc |= bn_gguf_writer_add_int(w, "s.i64_big", BN_GGUF_I64, (int64_t)UINT32_MAX + 1);
    rc |= bn_gguf_writer_add_float(w, "s.f64", BN_GGUF_F64, 0.1);
    rc |= bn_gguf_writer_add_array(w, "a.u8", BN_GGUF_U8, a_u8, N(a_u8));
    rc |= bn_gguf_writer_add_array(w, "a.i8", BN_GGUF_I8, a_i8, N(a_i8));
    rc |= bn_gguf_writer_add_array(w, "a.u16", BN_GGUF_U16, a_u16, N(a_u16));
    rc |= bn_gguf_writer_add_array(w, "a.i16", BN_GGUF_I16, a_i16, N(a_i16));
    rc |= bn_gguf_writer_add_array(w, "a.u32", BN_GGUF_U32, a_u32, N(a_u32));
    rc |= bn_gguf_writer_add_array(w, "a.i32", BN_GGUF_I32, a_i32, N(a_i32));
    rc |= bn_gguf_writer_add_array(w, "a.f32", BN_GGUF_F32, a_f32, N(a_f32));
    rc |= bn_gguf_writer_add_array(w, "a.bool", BN_GGUF_BOOL, a_bool, N(a_bool));
    rc |= bn_gguf_writer_add_array(w, "a.u64", BN_GGUF_U64, a_u64, N(a_u64));
    rc |= bn_gguf_writer_add_array(w, "a.i64", BN_GGUF_I64, a_i64, N(a_i64));
    rc |= bn_gguf_writer_add_array(w, "a.f64", BN_GGUF_F64, a_f64, N(a_f64));
    rc |= bn_gguf_writer_add_array(w, "a.f64_special", BN_GGUF_F64, a_f64_special,
                                   N(a_f64_special));
    rc |= bn_gguf_writer_add_str_array(w, "a.str", a_str, NULL, N(a_str));
    rc |= bn_gguf_writer_add_array(w, "a.empty_u8", BN_GGUF_U8, NULL, 0);
    rc |= bn_gguf_writer_add_array(w, "a.empty_f64", BN_GGUF_F64, NULL, 0);
    rc |= bn_gguf_writer_add_str_array(w, "a.empty_str", NULL, NULL, 0);
    return rc ? BN_E_INTERNAL : BN_OK;
}

/* Keys in the order written, with their types. */
static const struct {
    const char *key;
    uint32_t type;
} keys_written[] = {
    { "general.file_type", BN_GGUF_U32 },
    { "s.u8", BN_GGUF_U8 }, { "s.i8", BN_GGUF_I8 }, { "s.u16", BN_GGUF_U16 },
    { "s.i16", BN_GGUF_I16 }, { "s.u32", BN_GGUF_U32 }, { "s.i32", BN_GGUF_I32 },
    { "s.f32", BN_GGUF_F32 }, { "s.bool", BN_GGUF_BOOL }, { "s.bool_false", BN_GGUF_BOOL },
    { "s.str", BN_GGUF_STRING }, { "s.str_empty", BN_GGUF_STRING }, { "s.u64", BN_GGUF_U64 },
    { "s.u64_small", BN_GGUF_U64 }, { "s.i64", BN_GGUF_I64 }, { "s.i64_u32max", BN_GGUF_I64 },
    { "s.i64_big", BN_GGUF_I64 }, { "s.f64", BN_GGUF_F64 },
    { "a.u8", BN_GGUF_ARRAY }, { "a.i8", BN_GGUF_ARRAY }, { "a.u16", BN_GGUF_ARRAY },
    { "a.i16", BN_GGUF_ARRAY }, { "a.u32", BN_GGUF_ARRAY }, { "a.i32", BN_GGUF_ARRAY },
    { "a.f32", BN_GGUF_ARRAY }, { "a.bool", BN_GGUF_ARRAY }, { "a.u64", BN_GGUF_ARRAY },
    { "a.i64", BN_GGUF_ARRAY }, { "a.f64", BN_GGUF_ARRAY }, { "a.f64_special", BN_GGUF_ARRAY },
    { "a.str", BN_GGUF_ARRAY },
    { "a.empty_u8", BN_GGUF_ARRAY }, { "a.empty_f64", BN_GGUF_ARRAY },
    { "a.empty_str", BN_GGUF_ARRAY },
};

/* ---- the tensors written -------------------------------------------------- */

static const bn_test_tensor tensors[] = {
    { "t.f32", BN_TYPE_F32, 2, { 3, 5, 1, 1 } },
    { "t.f16", BN_TYPE_F16, 1, { 7, 1, 1, 1 } },
    { "t.bf16", BN_TYPE_BF16, 3, { 2, 3, 4, 1 } },
    { "t.q8_0", BN_TYPE_Q8_0, 2, { 64, 3, 1, 1 } },
    { "t.tq1_0", BN_TYPE_TQ1_0, 2, { 256, 2, 1, 1 } },
    { "t.tq2_0", BN_TYPE_TQ2_0, 4, { 512, 1, 1, 2 } },
    { "t.i2_s", BN_TYPE_I2_S, 2, { 32, 12, 1, 1 } },  /* 128-blocks cross rows */
    { "t.one", BN_TYPE_F32, 1, { 1, 1, 1, 1 } },
};
/* payload sizes worked out by hand from FORMATS.md */
static const uint64_t tensor_bytes[] = { 60, 14, 48, 3 * 2 * 34, 2 * 54, 4 * 66, 96 + 32, 4 };

static uint8_t *build_all(uint32_t version, uint32_t alignment, size_t *size)
{
    uint8_t *data = NULL;
    int rc = bn_test_gguf_build(version, alignment, add_all_meta, NULL, tensors, N(tensors), &data,
                                size);
    assert_int_equal(rc, BN_OK);
    assert_non_null(data);
    return data;
}

static const bn_gguf_value *val(const bn_gguf *g, const char *key)
{
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, key);
    if (!kv)
        fail_msg("key '%s' not found", key);
    return &kv->value;
}

static void check_scalars(const bn_gguf *g)
{
    assert_int_equal(val(g, "s.u8")->v.u64, 200);
    assert_int_equal(val(g, "s.i8")->v.i64, -5);
    assert_int_equal(val(g, "s.u16")->v.u64, 65535);
    assert_int_equal(val(g, "s.i16")->v.i64, -32768);
    assert_int_equal(val(g, "s.u32")->v.u64, UINT32_MAX);
    assert_int_equal(val(g, "s.i32")->v.i64, 123);
    assert_true(val(g, "s.f32")->v.f64 == 1.5);
    assert_int_equal(val(g, "s.bool")->v.u64, 1);
    assert_int_equal(val(g, "s.bool_false")->v.u64, 0);
    assert_true(bn_gguf_str_eq(val(g, "s.str")->v.str, "hello, gguf"));
    assert_int_equal(val(g, "s.str_empty")->v.str.len, 0);
    assert_true(val(g, "s.u64")->v.u64 == UINT64_MAX);
    assert_true(val(g, "s.i64")->v.i64 == INT64_MIN);
    assert_true(val(g, "s.f64")->v.f64 == 0.1);
}

static void check_arrays(const bn_gguf *g)
{
    const bn_gguf_value *v;
#define CHECK_ARR(key, et, want)                                                          \
    do {                                                                                 \
        v = val(g, key);                                                                 \
        assert_int_equal(v->type, BN_GGUF_ARRAY);                                        \
        assert_int_equal(v->v.arr.elem_type, et);                                        \
        assert_int_equal(v->v.arr.count, N(want));                                        \
        assert_int_equal(v->v.arr.nbytes, sizeof(want));                                 \
        assert_memory_equal(v->v.arr.data, want, sizeof(want));                           \
        for (size_t i_ = 0; i_ < N(want); i_++) {                                         \
            if ((et) != BN_GGUF_F32 && (et) != BN_GGUF_F64)                              \
                assert_true(bn_gguf_arr_i64(v, i_) == (int64_t)(want)[i_]);               \
            assert_true(bn_gguf_arr_f64(v, i_) == (double)(want)[i_]);                    \
        }                                                                                \
    } while (0)
    CHECK_ARR("a.u8", BN_GGUF_U8, a_u8);
    CHECK_ARR("a.i8", BN_GGUF_I8, a_i8);
    CHECK_ARR("a.u16", BN_GGUF_U16, a_u16);
    CHECK_ARR("a.i16", BN_GGUF_I16, a_i16);
    CHECK_ARR("a.u32", BN_GGUF_U32, a_u32);
    CHECK_ARR("a.i32", BN_GGUF_I32, a_i32);
    CHECK_ARR("a.f32", BN_GGUF_F32, a_f32);
    CHECK_ARR("a.bool", BN_GGUF_BOOL, a_bool);
    CHECK_ARR("a.i64", BN_GGUF_I64, a_i64);
    CHECK_ARR("a.f64", BN_GGUF_F64, a_f64);
#undef CHECK_ARR
    /* u64 elements: exact as double where representable; int64 view wraps */
    v = val(g, "a.u64");
    assert_int_equal(v->v.arr.elem_type, BN_GGUF_U64);
    assert_int_equal(v->v.arr.count, 3);
    assert_memory_equal(v->v.arr.data, a_u64, sizeof a_u64);
    assert_true(bn_gguf_arr_f64(v, 1) == 18446744073709551615.0);
    assert_true(bn_gguf_arr_i64(v, 2) == (int64_t)1 << 40);
    /* float arrays as integers: truncation toward zero */
    v = val(g, "a.f32");
    assert_true(bn_gguf_arr_i64(v, 0) == 1);
    assert_true(bn_gguf_arr_i64(v, 1) == -2);
    assert_true(bn_gguf_arr_i64(v, 3) == 0);
    v = val(g, "a.f64");
    assert_true(bn_gguf_arr_i64(v, 2) == 2);
    /* floats outside the int64 range saturate, NaN gives 0 */
    v = val(g, "a.f64_special");
    static const int64_t sat[] = { 0, INT64_MAX, INT64_MIN, INT64_MIN, INT64_MAX, INT64_MIN,
                                   INT64_MIN, 0 };
    assert_int_equal(v->v.arr.count, N(sat));
    for (size_t i = 0; i < N(sat); i++)
        assert_true(bn_gguf_arr_i64(v, i) == sat[i]);
    assert_true(isnan(bn_gguf_arr_f64(v, 0)));
    v = val(g, "a.f32");
    assert_true(bn_gguf_arr_i64(v, 4) == INT64_MAX); /* 3e38 */

    /* empty arrays */
    v = val(g, "a.empty_u8");
    assert_int_equal(v->v.arr.count, 0);
    assert_int_equal(v->v.arr.nbytes, 0);
    v = val(g, "a.empty_f64");
    assert_int_equal(v->v.arr.elem_type, BN_GGUF_F64);
    assert_int_equal(v->v.arr.count, 0);
    bn_gguf_str_iter it;
    bn_gguf_str s;
    v = val(g, "a.empty_str");
    assert_int_equal(v->v.arr.elem_type, BN_GGUF_STRING);
    assert_int_equal(v->v.arr.count, 0);
    bn_gguf_str_iter_init(&it, v);
    assert_int_equal(bn_gguf_str_iter_next(&it, &s), 0);

    /* strings, one of them empty */
    v = val(g, "a.str");
    assert_int_equal(v->v.arr.elem_type, BN_GGUF_STRING);
    assert_int_equal(v->v.arr.count, N(a_str));
    uint64_t nbytes = 0;
    for (size_t i = 0; i < N(a_str); i++)
        nbytes += 8 + strlen(a_str[i]);
    assert_int_equal(v->v.arr.nbytes, nbytes);
    bn_gguf_str_iter_init(&it, v);
    for (size_t i = 0; i < N(a_str); i++) {
        assert_int_equal(bn_gguf_str_iter_next(&it, &s), 1);
        assert_true(bn_gguf_str_eq(s, a_str[i]));
    }
    assert_int_equal(bn_gguf_str_iter_next(&it, &s), 0);
    assert_int_equal(bn_gguf_str_iter_next(&it, &s), 0);
    /* a numeric array gives no strings */
    bn_gguf_str_iter_init(&it, val(g, "a.u8"));
    assert_int_equal(bn_gguf_str_iter_next(&it, &s), 0);
    /* numeric views of a string array are 0 */
    assert_true(bn_gguf_arr_f64(val(g, "a.str"), 0) == 0.0);
    assert_true(bn_gguf_arr_i64(val(g, "a.str"), 0) == 0);
}

static void check_tensors(const bn_gguf *g, const uint8_t *data, size_t size, uint32_t alignment)
{
    assert_int_equal(g->n_tensors, N(tensors));
    assert_int_equal(g->data_offset % alignment, 0);
    assert_true(g->data_offset <= size);
    uint64_t offset = 0;
    for (size_t i = 0; i < N(tensors); i++) {
        const bn_test_tensor *want = &tensors[i];
        const bn_gguf_tensor *t = &g->tensors[i];
        assert_ptr_equal(bn_gguf_find_tensor(g, want->name), t);
        assert_true(bn_gguf_str_eq(t->name, want->name));
        assert_int_equal(t->n_dims, want->n_dims);
        uint64_t n = 1;
        for (uint32_t d = 0; d < 4; d++) {
            assert_int_equal(t->ne[d], want->ne[d]);
            n *= want->ne[d];
        }
        assert_int_equal(t->n_elements, n);
        assert_int_equal(t->type, want->type);
        assert_int_equal(t->nbytes, tensor_bytes[i]);
        assert_int_equal(t->offset, offset);
        assert_ptr_equal(t->data, data + g->data_offset + offset);
        size_t pn = 0;
        uint8_t *payload = bn_test_payload(want->type, want->ne[0], n, i, &pn);
        assert_non_null(payload);
        assert_int_equal(pn, t->nbytes);
        assert_memory_equal(t->data, payload, pn);
        free(payload);
        offset = (offset + t->nbytes + alignment - 1) / alignment * alignment;
    }
    /* the writer pads the last payload too */
    assert_int_equal(g->data_offset + offset, size);
    assert_null(bn_gguf_find_tensor(g, "t.f3"));
    assert_null(bn_gguf_find_tensor(g, "t.f32 "));
    assert_null(bn_gguf_find_tensor(g, ""));
    assert_null(bn_gguf_find_tensor(g, NULL));
}

static void roundtrip(uint32_t version, uint32_t alignment)
{
    size_t size = 0;
    uint8_t *data = build_all(version, alignment, &size);
    bn_gguf g;
    int rc = bn_gguf_parse(&g, data, size);
    if (rc)
        fail_msg("v%u alignment %u: %s", version, alignment, bn_last_error());
    assert_int_equal(g.version, version);
    assert_int_equal(g.alignment, alignment);
    assert_ptr_equal(g.base, data);
    assert_int_equal(g.size, size);
    size_t extra = alignment != BN_GGUF_DEFAULT_ALIGNMENT; /* general.alignment first */
    assert_int_equal(g.n_kv, N(keys_written) + extra);
    if (extra) {
        assert_true(bn_gguf_str_eq(g.kv[0].key, "general.alignment"));
        assert_int_equal(g.kv[0].value.type, BN_GGUF_U32);
        assert_int_equal(g.kv[0].value.v.u64, alignment);
    }
    for (size_t i = 0; i < N(keys_written); i++) {
        const bn_gguf_kv *kv = &g.kv[i + extra];
        assert_true(bn_gguf_str_eq(kv->key, keys_written[i].key));
        assert_int_equal(kv->value.type, keys_written[i].type);
        assert_ptr_equal(bn_gguf_find_kv(&g, keys_written[i].key), kv);
    }
    assert_null(bn_gguf_find_kv(&g, "s.u"));
    assert_null(bn_gguf_find_kv(&g, "s.u8x"));
    assert_null(bn_gguf_find_kv(&g, ""));
    assert_null(bn_gguf_find_kv(&g, NULL));
    assert_null(bn_gguf_find_kv(NULL, "s.u8"));
    check_scalars(&g);
    check_arrays(&g);
    check_tensors(&g, data, size, alignment);
    bn_gguf_release(&g);
    assert_int_equal(g.n_kv, 0);
    assert_null(g.kv);
    bn_gguf_release(&g); /* twice is harmless */
    bn_gguf_release(NULL);
    free(data);
}

static void test_roundtrip_v3(void **state)
{
    (void)state;
    roundtrip(3, 32);
}

static void test_roundtrip_v2(void **state)
{
    (void)state;
    roundtrip(2, 32);
}

static void test_roundtrip_alignments(void **state)
{
    (void)state;
    static const uint32_t aligns[] = { 1, 8, 64, 4096 };
    for (size_t i = 0; i < N(aligns); i++) {
        roundtrip(3, aligns[i]);
        roundtrip(2, aligns[i]);
    }
}

/* A file with no tensors and no padding after the metadata is valid. */
static void test_metadata_only(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *data = NULL;
    assert_int_equal(bn_test_gguf_build(3, 32, add_all_meta, NULL, NULL, 0, &data, &size), BN_OK);
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(&g, data, size), BN_OK);
    assert_int_equal(g.n_tensors, 0);
    assert_int_equal(g.data_offset % 32, 0);
    check_scalars(&g);
    bn_gguf_release(&g);
    /* the writer pads the header; without the padding it still parses */
    bn_gguf_writer *w = NULL;
    assert_int_equal(bn_gguf_writer_new(&w, 3, 32), BN_OK);
    assert_int_equal(bn_gguf_writer_add_uint(w, "k", BN_GGUF_U8, 1), BN_OK);
    uint8_t *d2 = NULL;
    size_t n2 = 0;
    assert_int_equal(bn_test_gguf_to_memory(w, NULL, NULL, &d2, &n2), BN_OK);
    bn_gguf_writer_free(&w);
    assert_null(w);
    assert_int_equal(n2, 64); /* 24 + 8 + 1 + 4 + 1 = 38, padded to 64 */
    assert_int_equal(bn_gguf_parse(&g, d2, 38), BN_OK);
    assert_int_equal(g.data_offset, 38);
    assert_int_equal(g.n_kv, 1);
    bn_gguf_release(&g);
    free(d2);
    free(data);
    /* empty file: no tensors, no metadata */
    assert_int_equal(bn_gguf_writer_new(&w, 2, 32), BN_OK);
    assert_int_equal(bn_test_gguf_to_memory(w, NULL, NULL, &data, &size), BN_OK);
    bn_gguf_writer_free(&w);
    assert_int_equal(size, 32);
    assert_int_equal(bn_gguf_parse(&g, data, size), BN_OK);
    assert_int_equal(bn_gguf_parse(&g, data, 24), BN_OK); /* no padding at all */
    assert_int_equal(g.data_offset, 24);
    bn_gguf_release(&g);
    free(data);
}

static void test_typed_getters(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *data = build_all(3, 32, &size);
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(&g, data, size), BN_OK);
    uint32_t u = 0;
    /* integers of every width and sign convert when they fit */
    assert_int_equal(bn_gguf_get_u32(&g, "s.u8", &u), BN_OK);
    assert_int_equal(u, 200);
    assert_int_equal(bn_gguf_get_u32(&g, "s.u16", &u), BN_OK);
    assert_int_equal(u, 65535);
    assert_int_equal(bn_gguf_get_u32(&g, "s.u32", &u), BN_OK);
    assert_int_equal(u, UINT32_MAX);
    assert_int_equal(bn_gguf_get_u32(&g, "s.u64_small", &u), BN_OK);
    assert_int_equal(u, 7);
    assert_int_equal(bn_gguf_get_u32(&g, "s.i32", &u), BN_OK);
    assert_int_equal(u, 123);
    assert_int_equal(bn_gguf_get_u32(&g, "s.i64_u32max", &u), BN_OK);
    assert_int_equal(u, UINT32_MAX);
    /* out of range: BN_E_MODEL naming the key, *out untouched */
    static const char *const out_of_range[] = { "s.u64", "s.i8", "s.i16", "s.i64", "s.i64_big" };
    for (size_t i = 0; i < N(out_of_range); i++) {
        u = 42;
        assert_int_equal(bn_gguf_get_u32(&g, out_of_range[i], &u), BN_E_MODEL);
        assert_int_equal(u, 42);
        assert_non_null(strstr(bn_last_error(), out_of_range[i]));
        assert_non_null(strstr(bn_last_error(), "range"));
    }
    /* not integers */
    static const char *const not_int[] = { "s.f32", "s.f64", "s.bool", "s.str", "a.u32" };
    for (size_t i = 0; i < N(not_int); i++) {
        assert_int_equal(bn_gguf_get_u32(&g, not_int[i], &u), BN_E_MODEL);
        assert_non_null(strstr(bn_last_error(), not_int[i]));
    }
    assert_int_equal(bn_gguf_get_u32(&g, "absent", &u), BN_E_NOT_FOUND);

    float f = 0;
    assert_int_equal(bn_gguf_get_f32(&g, "s.f32", &f), BN_OK);
    assert_true(f == 1.5f);
    assert_int_equal(bn_gguf_get_f32(&g, "s.f64", &f), BN_OK);
    assert_true(f == 0.1f);
    assert_int_equal(bn_gguf_get_f32(&g, "s.i8", &f), BN_OK);
    assert_true(f == -5.0f);
    assert_int_equal(bn_gguf_get_f32(&g, "s.u16", &f), BN_OK);
    assert_true(f == 65535.0f);
    assert_int_equal(bn_gguf_get_f32(&g, "s.str", &f), BN_E_MODEL);
    assert_int_equal(bn_gguf_get_f32(&g, "s.bool", &f), BN_E_MODEL);
    assert_int_equal(bn_gguf_get_f32(&g, "a.f32", &f), BN_E_MODEL);
    assert_int_equal(bn_gguf_get_f32(&g, "absent", &f), BN_E_NOT_FOUND);

    int b = -1;
    assert_int_equal(bn_gguf_get_bool(&g, "s.bool", &b), BN_OK);
    assert_int_equal(b, 1);
    assert_int_equal(bn_gguf_get_bool(&g, "s.bool_false", &b), BN_OK);
    assert_int_equal(b, 0);
    assert_int_equal(bn_gguf_get_bool(&g, "s.u8", &b), BN_E_MODEL);
    assert_int_equal(bn_gguf_get_bool(&g, "absent", &b), BN_E_NOT_FOUND);

    bn_gguf_str s;
    assert_int_equal(bn_gguf_get_str(&g, "s.str", &s), BN_OK);
    assert_true(bn_gguf_str_eq(s, "hello, gguf"));
    assert_false(bn_gguf_str_eq(s, "hello"));
    assert_int_equal(bn_gguf_get_str(&g, "s.str_empty", &s), BN_OK);
    assert_int_equal(s.len, 0);
    assert_true(bn_gguf_str_eq(s, ""));
    assert_int_equal(bn_gguf_get_str(&g, "a.str", &s), BN_E_MODEL);
    assert_int_equal(bn_gguf_get_str(&g, "s.u8", &s), BN_E_MODEL);
    assert_int_equal(bn_gguf_get_str(&g, "absent", &s), BN_E_NOT_FOUND);
    bn_gguf_release(&g);
    free(data);
}

static void expect_text(const bn_gguf *g, const char *key, const char *want)
{
    char buf[64];
    int n = bn_gguf_value_to_text(val(g, key), buf, sizeof buf);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
    /* the length is reported without a buffer, as snprintf does */
    assert_int_equal(bn_gguf_value_to_text(val(g, key), NULL, 0), n);
    /* truncated copies stay NUL-terminated */
    char small[4];
    memset(small, 'X', sizeof small);
    assert_int_equal(bn_gguf_value_to_text(val(g, key), small, sizeof small), n);
    assert_int_equal(strlen(small), n < 3 ? (size_t)n : 3);
    assert_memory_equal(small, want, strlen(small));
    char one[1] = { 'X' };
    assert_int_equal(bn_gguf_value_to_text(val(g, key), one, 1), n);
    assert_int_equal(one[0], 0);
}

static void test_value_to_text(void **state)
{
    (void)state;
    size_t size = 0;
    uint8_t *data = build_all(3, 32, &size);
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(&g, data, size), BN_OK);
    expect_text(&g, "s.u8", "200");
    expect_text(&g, "s.i8", "-5");
    expect_text(&g, "s.u16", "65535");
    expect_text(&g, "s.i16", "-32768");
    expect_text(&g, "s.u32", "4294967295");
    expect_text(&g, "s.i32", "123");
    expect_text(&g, "s.f32", "1.5");
    expect_text(&g, "s.f64", "0.1");
    expect_text(&g, "s.bool", "true");
    expect_text(&g, "s.bool_false", "false");
    expect_text(&g, "s.str", "hello, gguf");
    expect_text(&g, "s.str_empty", "");
    expect_text(&g, "s.u64", "18446744073709551615");
    expect_text(&g, "s.i64", "-9223372036854775808");
    expect_text(&g, "a.u8", "[u8 x 4]");
    expect_text(&g, "a.str", "[string x 4]");
    expect_text(&g, "a.empty_str", "[string x 0]");
    expect_text(&g, "a.bool", "[bool x 3]");
    expect_text(&g, "a.f64", "[f64 x 3]");
    char buf[8];
    assert_int_equal(bn_gguf_value_to_text(val(&g, "s.u8"), NULL, sizeof buf), BN_E_INVALID_ARG);
    bn_gguf_release(&g);
    free(data);

    assert_string_equal(bn_gguf_vtype_name(BN_GGUF_U8), "u8");
    assert_string_equal(bn_gguf_vtype_name(BN_GGUF_F64), "f64");
    assert_string_equal(bn_gguf_vtype_name(BN_GGUF_ARRAY), "array");
    assert_string_equal(bn_gguf_vtype_name(BN_GGUF_VTYPE_COUNT), "unknown");
    assert_string_equal(bn_gguf_vtype_name(UINT32_MAX), "unknown");
}

/* Type names and payload sizes of every type the library knows. */
static void test_type_table(void **state)
{
    (void)state;
    static const struct {
        uint32_t id;
        const char *name;
        uint64_t ne0, n, bytes;
    } types[] = {
        { BN_TYPE_F32, "F32", 3, 6, 24 },
        { BN_TYPE_F16, "F16", 3, 6, 12 },
        { BN_TYPE_BF16, "BF16", 5, 5, 10 },
        { BN_TYPE_Q8_0, "Q8_0", 64, 128, 4 * 34 },
        { BN_TYPE_Q4_0, "Q4_0", 64, 128, 4 * 18 },
        { BN_TYPE_TQ1_0, "TQ1_0", 256, 768, 3 * 54 },
        { BN_TYPE_TQ2_0, "TQ2_0", 512, 1024, 4 * 66 },
        { BN_TYPE_I2_S, "I2_S", 32, 128, 64 },
        { BN_TYPE_I2_S, "I2_S", 2560, 2560 * 6912, 2560 * 6912 / 4 + 32 },
    };
    for (size_t i = 0; i < N(types); i++) {
        uint64_t nb = 0;
        assert_string_equal(bn_type_name(types[i].id), types[i].name);
        assert_non_null(bn_type_info_get(types[i].id));
        assert_true(bn_type_info_get(types[i].id)->supported);
        assert_int_equal(bn_type_nbytes(types[i].id, types[i].ne0, types[i].n, &nb), 1);
        assert_int_equal(nb, types[i].bytes);
    }
    uint64_t nb;
    assert_int_equal(bn_type_nbytes(BN_TYPE_TQ2_0, 128, 256, &nb), 0);
    assert_int_equal(bn_type_nbytes(BN_TYPE_TQ1_0, 255, 255, &nb), 0);
    assert_int_equal(bn_type_nbytes(BN_TYPE_Q8_0, 16, 32, &nb), 0);
    assert_int_equal(bn_type_nbytes(BN_TYPE_I2_S, 64, 192, &nb), 0);
    assert_int_equal(bn_type_nbytes(BN_TYPE_F32, 1, UINT64_MAX / 2, &nb), 0); /* overflows */
    assert_int_equal(bn_type_nbytes(5, 32, 32, &nb), 0);
    assert_non_null(strstr(bn_last_error(), "unknown"));
    assert_null(bn_type_info_get(BN_TYPE_TL1));
    assert_null(bn_type_info_get(BN_TYPE_TL2));
    assert_null(bn_type_info_get(37));
    assert_string_equal(bn_type_name(BN_TYPE_TL1), "TL1");
    assert_string_equal(bn_type_name(BN_TYPE_TL2), "TL2");
    assert_string_equal(bn_type_name(1000), "unknown");
    assert_true(bn_type_is_ternary(BN_TYPE_I2_S));
    assert_true(bn_type_is_ternary(BN_TYPE_TQ1_0));
    assert_true(bn_type_is_ternary(BN_TYPE_TQ2_0));
    assert_false(bn_type_is_ternary(BN_TYPE_F32));
    assert_false(bn_type_is_ternary(BN_TYPE_Q8_0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_v3),
        cmocka_unit_test(test_roundtrip_v2),
        cmocka_unit_test(test_roundtrip_alignments),
        cmocka_unit_test(test_metadata_only),
        cmocka_unit_test(test_typed_getters),
        cmocka_unit_test(test_value_to_text),
        cmocka_unit_test(test_type_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
