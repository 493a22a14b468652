/*
 * Malformed GGUF files: every case must be refused with a BN_E_* status and a
 * message, by bn_gguf_parse() and by the public bn_model_load_from_memory(),
 * without crashing or leaking (run under ASan to see the latter).
 *
 * The corpus is made here by mutating valid images built with the writer:
 * every truncation of a small model, then targeted edits of header fields
 * located through the reader itself, then a few model-level faults, then
 * seeded random byte edits (for those only "no crash, a status" is checked).
 * Each image is copied into a buffer of exactly its size so that ASan sees
 * any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "test_util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct img {
    uint8_t *p;
    size_t n;
} img;

/* ---- counting and checking ---------------------------------------------- */

static struct {
    int truncations, fields, model_level, random;
} counts;

static int is_one_of(int rc, const int *codes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rc == codes[i])
            return 1;
    return 0;
}

static const int parse_codes[] = { BN_E_FORMAT, BN_E_UNSUPPORTED };
static const int load_codes[] = { BN_E_FORMAT, BN_E_UNSUPPORTED, BN_E_MODEL };

static void clear_error(void)
{
    bn_fail(BN_OK, "%s", "");
}

/* A copy of exactly n bytes (at least one allocated byte, so that a
 * zero-length image is still a valid pointer). */
static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    assert_non_null(q);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* Both entry points refuse the image. parse_must_fail = 0: the image is valid
 * GGUF and only the model binding must refuse it. */
static void expect_refused(const char *what, const uint8_t *p, size_t n, int parse_must_fail,
                           const char *substr)
{
    uint8_t *buf = exact_copy(p, n);
    bn_gguf g;
    clear_error();
    int rc = bn_gguf_parse(&g, buf, n);
    if (parse_must_fail) {
        if (!is_one_of(rc, parse_codes, N(parse_codes)))
            fail_msg("%s: bn_gguf_parse returned %d (%s)", what, rc, bn_last_error());
        if (!*bn_last_error())
            fail_msg("%s: no message", what);
        if (substr && !strstr(bn_last_error(), substr))
            fail_msg("%s: message \"%s\" lacks \"%s\"", what, bn_last_error(), substr);
        /* a failed parse leaves nothing behind */
        assert_null(g.kv);
        assert_null(g.tensors);
        assert_null(g.kv_order);
        assert_null(g.tensor_order);
        assert_int_equal(g.n_kv, 0);
        assert_int_equal(g.n_tensors, 0);
    } else {
        if (rc != BN_OK)
            fail_msg("%s: expected valid GGUF, got %d (%s)", what, rc, bn_last_error());
        bn_gguf_release(&g);
    }
    bn_model *m = (bn_model *)&g; /* must be reset to NULL */
    clear_error();
    rc = bn_model_load_from_memory(&m, buf, n, NULL);
    if (!is_one_of(rc, load_codes, N(load_codes)))
        fail_msg("%s: bn_model_load_from_memory returned %d (%s)", what, rc, bn_last_error());
    if (!*bn_last_error())
        fail_msg("%s: no message from the model load", what);
    if (!parse_must_fail && substr && !strstr(bn_last_error(), substr))
        fail_msg("%s: message \"%s\" lacks \"%s\"", what, bn_last_error(), substr);
    assert_null(m);
    free(buf);
}

/* ---- images and edits ----------------------------------------------------- */

static img img_dup(const img *b)
{
    img m = { exact_copy(b->p, b->n), b->n };
    return m;
}

/* Overwrites bytes inside the image (the explicit bound also tells the
 * compiler that the copy stays inside). */
static void patch(img *m, size_t pos, const void *bytes, size_t n)
{
    if (pos > m->n || n > m->n - pos) {
        fail_msg("patch of %zu bytes at %zu outside an image of %zu", n, pos, m->n);
        return;
    }
    memcpy(m->p + pos, bytes, n);
}

static void put32(img *m, size_t pos, uint32_t v)
{
    patch(m, pos, &v, 4);
}

static void put64(img *m, size_t pos, uint64_t v)
{
    patch(m, pos, &v, 8);
}

static uint64_t get64(const img *m, size_t pos)
{
    uint64_t v;
    memcpy(&v, m->p + pos, 8);
    return v;
}

/* b with `del` bytes at pos replaced by ins[0..ins_n). */
static img splice(const img *b, size_t pos, size_t del, const void *ins, size_t ins_n)
{
    assert_true(pos + del <= b->n);
    img m;
    m.n = b->n - del + ins_n;
    m.p = malloc(m.n ? m.n : 1);
    assert_non_null(m.p);
    memcpy(m.p, b->p, pos);
    if (ins_n)
        memcpy(m.p + pos, ins, ins_n);
    memcpy(m.p + pos + ins_n, b->p + pos + del, b->n - pos - del);
    return m;
}

/* Runs a case on an edited image and frees it. */
static void field_case(const char *what, img m, const char *substr)
{
    expect_refused(what, m.p, m.n, 1, substr);
    counts.fields++;
    free(m.p);
}

static void model_case(const char *what, img m, const char *substr)
{
    expect_refused(what, m.p, m.n, 0, substr);
    counts.model_level++;
    free(m.p);
}

/* Positions of the fields of a key or tensor, found with the reader. */
typedef struct kv_pos {
    size_t len, key, type, value;
} kv_pos;

typedef struct tensor_pos {
    size_t len, name, n_dims, dims, type, offset;
    uint64_t data_offset, data_size;
} tensor_pos;

static kv_pos find_kv(const img *b, const char *key)
{
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(&g, b->p, b->n), BN_OK);
    const bn_gguf_kv *kv = bn_gguf_find_kv(&g, key);
    if (!kv)
        fail_msg("no key %s", key);
    kv_pos r;
    r.key = (size_t)((const uint8_t *)kv->key.ptr - b->p);
    r.len = r.key - 8;
    r.type = r.key + (size_t)kv->key.len;
    r.value = r.type + 4;
    bn_gguf_release(&g);
    return r;
}

static tensor_pos find_tensor(const img *b, const char *name)
{
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(&g, b->p, b->n), BN_OK);
    const bn_gguf_tensor *t = bn_gguf_find_tensor(&g, name);
    if (!t)
        fail_msg("no tensor %s", name);
    tensor_pos r;
    r.name = (size_t)((const uint8_t *)t->name.ptr - b->p);
    r.len = r.name - 8;
    r.n_dims = r.name + (size_t)t->name.len;
    r.dims = r.n_dims + 4;
    r.type = r.dims + 8 * t->n_dims;
    r.offset = r.type + 4;
    r.data_offset = g.data_offset;
    r.data_size = g.size - g.data_offset;
    bn_gguf_release(&g);
    return r;
}

static img with32(const img *b, size_t pos, uint32_t v)
{
    img m = img_dup(b);
    put32(&m, pos, v);
    return m;
}

static img with64(const img *b, size_t pos, uint64_t v)
{
    img m = img_dup(b);
    put64(&m, pos, v);
    return m;
}

static img with_bytes(const img *b, size_t pos, const void *bytes, size_t n)
{
    img m = img_dup(b);
    patch(&m, pos, bytes, n);
    return m;
}

/* ---- the base images ------------------------------------------------------ */

/* The model: the tiny I2_S model of test_util, alignment 32. Every payload is
 * a multiple of 32 bytes, so the file ends with the last payload: no
 * truncation can leave a complete file. */
static img base_model(uint32_t weight_type)
{
    bn_test_model_spec s;
    bn_test_model_spec_default(&s);
    s.weight_type = weight_type;
    img m;
    assert_int_equal(bn_test_model_gguf(&s, &m.p, &m.n), BN_OK);
    return m;
}

static const uint8_t k_arr_u8[] = { 1, 2, 3 };
static const uint8_t k_arr_bool[] = { 1, 0 };
static const char *const k_arr_str[] = { "ab", "cd", "" };

static int misc_meta(bn_gguf_writer *w, void *user)
{
    (void)user;
    int rc = 0;
    rc |= bn_gguf_writer_add_uint(w, "general.file_type", BN_GGUF_U32, BN_FILE_TYPE_MOSTLY_I2_S);
    rc |= bn_gguf_writer_add_bool(w, "k.bool", 1);
    rc |= bn_gguf_writer_add_str(w, "k.str", "value", 5);
    rc |= bn_gguf_writer_add_array(w, "k.au8", BN_GGUF_U8, k_arr_u8, 3);
    rc |= bn_gguf_writer_add_array(w, "k.abool", BN_GGUF_BOOL, k_arr_bool, 2);
    rc |= bn_gguf_writer_add_str_array(w, "k.astr", k_arr_str, NULL, 3);
    rc |= bn_gguf_writer_add_uint(w, "k.u64", BN_GGUF_U64, 5);
    rc |= bn_gguf_writer_add_uint(w, "k.u32", BN_GGUF_U32, 6);
    return rc ? BN_E_INTERNAL : BN_OK;
}

/* Every tensor type, general.alignment 64 as the first key. */
static img base_misc(void)
{
    static const bn_test_tensor ts[] = {
        { "t.f32", BN_TYPE_F32, 2, { 32, 2, 1, 1 } },
        { "t.tq2", BN_TYPE_TQ2_0, 2, { 256, 2, 1, 1 } },
        { "t.i2s", BN_TYPE_I2_S, 2, { 32, 16, 1, 1 } },
        { "t.q8", BN_TYPE_Q8_0, 1, { 32, 1, 1, 1 } },
        { "t.f16", BN_TYPE_F16, 1, { 4, 1, 1, 1 } },
        { "t.tq1", BN_TYPE_TQ1_0, 1, { 256, 1, 1, 1 } },
        { "t.b16", BN_TYPE_BF16, 3, { 2, 2, 2, 1 } },
    };
    img m;
    assert_int_equal(bn_test_gguf_build(3, 64, misc_meta, NULL, ts, N(ts), &m.p, &m.n), BN_OK);
    return m;
}

/* ---- the cases ------------------------------------------------------------ */

static void test_valid_bases(void **state)
{
    (void)state;
    img b[] = { base_model(BN_TYPE_I2_S), base_model(BN_TYPE_F32), base_misc() };
    for (size_t i = 0; i < N(b); i++) {
        bn_gguf g;
        assert_int_equal(bn_gguf_parse(&g, b[i].p, b[i].n), BN_OK);
        bn_gguf_release(&g);
        free(b[i].p);
    }
    /* the models load through the public API */
    for (int i = 0; i < 2; i++) {
        img m = base_model(i ? BN_TYPE_F32 : BN_TYPE_I2_S);
        bn_model *model = NULL;
        int rc = bn_model_load_from_memory(&model, m.p, m.n, NULL);
        if (rc)
            fail_msg("%s", bn_last_error());
        assert_string_equal(bn_model_weight_type_name(model), i ? "F32" : "I2_S");
        bn_model_free(&model);
        free(m.p);
    }
}

/* The F16 model, untied, GGUF v2, alignment 64: payloads are multiples of 64. */
static img base_model_f16_v2(void)
{
    bn_test_model_spec s;
    bn_test_model_spec_default(&s);
    s.weight_type = BN_TYPE_F16;
    s.embd_type = BN_TYPE_F16;
    s.tied = 0;
    s.version = 2;
    s.alignment = 64;
    img m;
    assert_int_equal(bn_test_model_gguf(&s, &m.p, &m.n), BN_OK);
    return m;
}

static void test_truncations(void **state)
{
    (void)state;
    img bases[] = { base_model(BN_TYPE_I2_S), base_model_f16_v2() };
    for (size_t bi = 0; bi < N(bases); bi++) {
        const img *b = &bases[bi];
        /* the premise: the file ends with the last payload, no padding after it */
        bn_gguf g;
        assert_int_equal(bn_gguf_parse(&g, b->p, b->n), BN_OK);
        const bn_gguf_tensor *last = &g.tensors[g.n_tensors - 1];
        assert_int_equal(g.data_offset + last->offset + last->nbytes, b->n);
        bn_gguf_release(&g);
        char what[128];
        for (size_t n = 0; n < b->n; n++) {
            snprintf(what, sizeof what, "base %zu truncated to %zu of %zu bytes", bi, n, b->n);
            expect_refused(what, b->p, n, 1, NULL);
            counts.truncations++;
        }
        free(bases[bi].p);
    }
}

static void test_header(void **state)
{
    (void)state;
    img b = base_model(BN_TYPE_I2_S);
    uint64_t n_tensors = get64(&b, 8), n_kv = get64(&b, 16);

    static const char *const magics[] = { "GGUf", "gGUF", "GGML", "GGJT", "FUGG", "gguf" };
    for (size_t i = 0; i < N(magics); i++)
        field_case(magics[i], with_bytes(&b, 0, magics[i], 4), "magic");
    field_case("magic zero", with_bytes(&b, 0, "\0\0\0\0", 4), "magic");
    static const uint32_t versions[] = { 0, 1, 4, 5, UINT32_MAX, 0x03000000u };
    for (size_t i = 0; i < N(versions); i++)
        field_case("version", with32(&b, 4, versions[i]), "version");

    static const uint64_t huge[] = { UINT64_MAX, UINT64_MAX - 1, (uint64_t)INT64_MAX + 1,
                                     1ull << 32, (1ull << 20) + 1 };
    for (size_t i = 0; i < N(huge); i++) {
        field_case("tensor count huge", with64(&b, 8, huge[i]), "tensor count");
        field_case("metadata count huge", with64(&b, 16, huge[i]), "metadata count");
    }
    /* just beyond what the bytes after the counts can hold */
    field_case("tensor count beyond file", with64(&b, 8, (b.n - 24) / 33 + 1), "tensor count");
    field_case("metadata count beyond file", with64(&b, 16, (b.n - 24) / 14 + 1), "metadata count");
    /* plausible but wrong: the reader walks into the wrong bytes */
    field_case("tensor count + 1", with64(&b, 8, n_tensors + 1), NULL);
    field_case("tensor count + 1000", with64(&b, 8, n_tensors + 1000), NULL);
    field_case("metadata count + 1", with64(&b, 16, n_kv + 1), NULL);
    field_case("metadata count + 40", with64(&b, 16, n_kv + 40), NULL);
    free(b.p);
}

static void test_metadata(void **state)
{
    (void)state;
    img b = base_misc();
    kv_pos str = find_kv(&b, "k.str");
    size_t left_after_len = b.n - str.key;
    /* key lengths */
    field_case("key length max", with64(&b, str.len, UINT64_MAX), "length");
    field_case("key length wraps", with64(&b, str.len, UINT64_MAX - 7), "length");
    field_case("key length over limit", with64(&b, str.len, BN_GGUF_MAX_KEY_LEN + 1), "limit");
    field_case("key length past end", with64(&b, str.len, left_after_len + 1), "truncated");
    field_case("key length to end", with64(&b, str.len, left_after_len), "truncated");
    field_case("empty key", splice(&b, str.len, 8 + 5, "\0\0\0\0\0\0\0\0", 8), "empty key");
    /* value types */
    static const uint32_t vtypes[] = { 13, 14, 100, 0x80000000u, UINT32_MAX };
    for (size_t i = 0; i < N(vtypes); i++)
        field_case("unknown value type", with32(&b, str.type, vtypes[i]), "unknown value type");
    /* string value lengths */
    size_t left_after_slen = b.n - (str.value + 8);
    field_case("string length max", with64(&b, str.value, UINT64_MAX), "length");
    field_case("string length wraps", with64(&b, str.value, UINT64_MAX - str.value), "length");
    field_case("string length over limit", with64(&b, str.value, BN_GGUF_MAX_STRING_LEN + 1),
               "limit");
    field_case("string length past end", with64(&b, str.value, left_after_slen + 1), "truncated");

    /* arrays */
    kv_pos au8 = find_kv(&b, "k.au8"), astr = find_kv(&b, "k.astr"), abool = find_kv(&b, "k.abool");
    field_case("nested array", with32(&b, au8.value, BN_GGUF_ARRAY), "nested");
    field_case("nested string array", with32(&b, astr.value, BN_GGUF_ARRAY), "nested");
    field_case("array element type 13", with32(&b, au8.value, 13), "element type");
    field_case("array element type max", with32(&b, au8.value, UINT32_MAX), "element type");
    static const uint64_t counts_huge[] = { UINT64_MAX, UINT64_MAX / 8 + 1, (uint64_t)INT64_MAX,
                                            BN_GGUF_MAX_ARRAY_LEN + 1ull };
    for (size_t i = 0; i < N(counts_huge); i++) {
        field_case("u8 array count huge", with64(&b, au8.value + 4, counts_huge[i]), NULL);
        field_case("string array count huge", with64(&b, astr.value + 4, counts_huge[i]), NULL);
        field_case("bool array count huge", with64(&b, abool.value + 4, counts_huge[i]), NULL);
    }
    size_t after_u8 = b.n - (au8.value + 12);
    field_case("u8 array count past end", with64(&b, au8.value + 4, after_u8 + 1), "truncated");
    size_t after_str = b.n - (astr.value + 12);
    field_case("string array count past end", with64(&b, astr.value + 4, after_str / 8 + 1),
               "truncated");
    /* an element of the string array: first string's length */
    size_t elem = astr.value + 12;
    field_case("array string length max", with64(&b, elem, UINT64_MAX), "length");
    field_case("array string length past end", with64(&b, elem, b.n - elem - 8 + 1), "truncated");
    field_case("array string length over limit", with64(&b, elem, BN_GGUF_MAX_STRING_LEN + 1),
               "limit");
    /* u32 array elements claimed as u64 */
    field_case("array element wider", with32(&b, au8.value, BN_GGUF_U64), NULL);

    /* booleans */
    kv_pos bo = find_kv(&b, "k.bool");
    field_case("bool 2", with_bytes(&b, bo.value, "\x02", 1), "bool");
    field_case("bool 255", with_bytes(&b, bo.value, "\xff", 1), "bool");
    field_case("bool array element 2", with_bytes(&b, abool.value + 12 + 1, "\x02", 1), "bool");
    field_case("u8 array as bool", with32(&b, au8.value, BN_GGUF_BOOL), "bool");

    /* duplicate keys: k.str, then k.u32 renamed k.u64 */
    field_case("duplicate key", with_bytes(&b, str.key, "k.u64", 5), "twice");
    kv_pos u32 = find_kv(&b, "k.u32");
    field_case("duplicate key (last)", with_bytes(&b, u32.key, "k.u64", 5), "twice");
    free(b.p);
}

static void test_alignment(void **state)
{
    (void)state;
    img b = base_misc();
    kv_pos al = find_kv(&b, "general.alignment");
    static const uint32_t bad[] = { 0, 3, 48, 96, 1u << 17, 1u << 31, UINT32_MAX };
    for (size_t i = 0; i < N(bad); i++)
        field_case("general.alignment value", with32(&b, al.value, bad[i]), "general.alignment");
    /* a valid value that does not match the file */
    field_case("general.alignment 65536", with32(&b, al.value, 65536), "alignment");
    field_case("general.alignment 128", with32(&b, al.value, 128), NULL);
    /* same value, other types: the rest of the file unchanged */
    static const uint32_t same_size[] = { BN_GGUF_I32, BN_GGUF_F32 };
    for (size_t i = 0; i < N(same_size); i++)
        field_case("general.alignment type (4 bytes)", with32(&b, al.type, same_size[i]), "type");
    const uint8_t as_u64[] = { 10, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0 };
    field_case("general.alignment u64", splice(&b, al.type, 8, as_u64, sizeof as_u64), "type");
    const uint8_t as_u16[] = { 2, 0, 0, 0, 64, 0 };
    field_case("general.alignment u16", splice(&b, al.type, 8, as_u16, sizeof as_u16), "type");
    const uint8_t as_i8[] = { 1, 0, 0, 0, 64 };
    field_case("general.alignment i8", splice(&b, al.type, 8, as_i8, sizeof as_i8), "type");
    const uint8_t as_str[] = { 8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, '6', '4' };
    field_case("general.alignment string", splice(&b, al.type, 8, as_str, sizeof as_str), "type");
    const uint8_t as_arr[] = { 9, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0 };
    field_case("general.alignment array", splice(&b, al.type, 8, as_arr, sizeof as_arr), "type");
    free(b.p);
}

static void test_tensor_info(void **state)
{
    (void)state;
    img b = base_misc();
    tensor_pos f32 = find_tensor(&b, "t.f32"), f16 = find_tensor(&b, "t.f16");
    tensor_pos tq2 = find_tensor(&b, "t.tq2"), i2s = find_tensor(&b, "t.i2s");
    tensor_pos q8 = find_tensor(&b, "t.q8"), b16 = find_tensor(&b, "t.b16");

    /* names */
    field_case("name length max", with64(&b, f16.len, UINT64_MAX), "length");
    field_case("name length over limit", with64(&b, f16.len, BN_GGUF_MAX_NAME_LEN + 1), "limit");
    field_case("name length past end", with64(&b, b16.len, b.n - b16.name + 1), NULL);
    field_case("empty name", splice(&b, f16.len, 8 + 5, "\0\0\0\0\0\0\0\0", 8), "empty name");
    field_case("duplicate name", with_bytes(&b, f16.name, "t.f32", 5), "twice");
    field_case("duplicate name (first)", with_bytes(&b, f32.name, "t.tq2", 5), "twice");

    /* dimensions */
    field_case("n_dims 0", with32(&b, f32.n_dims, 0), "dimensions");
    field_case("n_dims 0, dims removed",
               splice(&b, f32.n_dims, 4 + 16, "\0\0\0\0", 4), "dimensions");
    field_case("n_dims 5", with32(&b, f32.n_dims, 5), "dimensions");
    const uint8_t five[] = { 5, 0, 0, 0,
                             32, 0, 0, 0, 0, 0, 0, 0,
                             2, 0, 0, 0, 0, 0, 0, 0,
                             1, 0, 0, 0, 0, 0, 0, 0,
                             1, 0, 0, 0, 0, 0, 0, 0,
                             1, 0, 0, 0, 0, 0, 0, 0 };
    field_case("n_dims 5, dims added", splice(&b, f32.n_dims, 4 + 16, five, sizeof five),
               "dimensions");
    field_case("n_dims max", with32(&b, f32.n_dims, UINT32_MAX), "dimensions");
    field_case("dimension 0 is 0", with64(&b, f32.dims, 0), "dimension 0");
    field_case("dimension 1 is 0", with64(&b, f32.dims + 8, 0), "dimension 1");
    field_case("dimension 2 is 0", with64(&b, b16.dims + 16, 0), "dimension 2");
    field_case("dimension above INT64_MAX", with64(&b, f32.dims, (uint64_t)INT64_MAX + 1),
               "dimension");
    field_case("dimension max", with64(&b, f32.dims + 8, UINT64_MAX), "dimension");
    {
        img m = with64(&b, f32.dims, 1ull << 32);
        put64(&m, f32.dims + 8, 1ull << 32);
        field_case("dims product 2^64", m, "overflows");
    }
    {
        img m = with64(&b, f32.dims, 1ull << 40);
        put64(&m, f32.dims + 8, 1ull << 23);
        field_case("dims product 2^63", m, "overflows");
    }
    {
        img m = with64(&b, b16.dims, 1ull << 22);
        put64(&m, b16.dims + 8, 1ull << 21);
        put64(&m, b16.dims + 16, 1ull << 21);
        field_case("3 dims product 2^64", m, "overflows");
    }
    {   /* a huge but representable size: past the end */
        img m = with64(&b, f32.dims, 1ull << 30);
        put64(&m, f32.dims + 8, 1ull << 30);
        field_case("dims product 2^60", m, "past the end");
    }

    /* types */
    static const uint32_t unknown[] = { 4, 5, 16, 29, 31, 33, 37, 40, 41, 1000, UINT32_MAX };
    for (size_t i = 0; i < N(unknown); i++)
        field_case("unknown type", with32(&b, f32.type, unknown[i]), "unknown type");
    field_case("TL1", with32(&b, f32.type, BN_TYPE_TL1), "not supported");
    field_case("TL2", with32(&b, f32.type, BN_TYPE_TL2), "not supported");
    /* id 36 without file_type 40 */
    kv_pos ft = find_kv(&b, "general.file_type");
    field_case("I2_S, file_type 1", with32(&b, ft.value, 1), "36");
    field_case("I2_S, file_type 36", with32(&b, ft.value, 36), "36");
    field_case("I2_S, file_type as f32", with32(&b, ft.type, BN_GGUF_F32), "36");
    {
        img m = with32(&b, ft.type, BN_GGUF_I32);
        put32(&m, ft.value, (uint32_t)-40);
        field_case("I2_S, file_type as i32 -40", m, "36");
    }
    {
        const uint8_t renamed[] = "general.file_tipe";
        field_case("I2_S, file_type renamed", with_bytes(&b, ft.key, renamed, 17), "36");
    }
    /* block and row constraints */
    {
        img m = with64(&b, tq2.dims, 128);
        put64(&m, tq2.dims + 8, 4);
        field_case("TQ2_0 rows of 128", m, "not a multiple");
    }
    {
        img m = with64(&b, tq2.dims, 64);
        put64(&m, tq2.dims + 8, 8);
        field_case("TQ2_0 rows of 64", m, "not a multiple");
    }
    field_case("TQ2_0 rows of 255", with64(&b, tq2.dims, 255), "not a multiple");
    field_case("F32 as TQ2_0 (rows of 32)", with32(&b, f32.type, BN_TYPE_TQ2_0), "not a multiple");
    field_case("F32 as TQ1_0 (rows of 32)", with32(&b, f32.type, BN_TYPE_TQ1_0), "not a multiple");
    field_case("F16 as Q8_0 (rows of 4)", with32(&b, f16.type, BN_TYPE_Q8_0), "not a multiple");
    {
        img m = with64(&b, q8.dims, 16);
        field_case("Q8_0 rows of 16", m, "not a multiple");
    }
    field_case("I2_S 480 elements", with64(&b, i2s.dims + 8, 15), "multiple of 128");
    field_case("I2_S 496 elements", with64(&b, i2s.dims, 31), "multiple of 128");
    field_case("F16 as I2_S (4 elements)", with32(&b, f16.type, BN_TYPE_I2_S), "multiple of 128");
    /* I2_S whose n/4 + 32 bytes do not fit before the next tensor */
    field_case("I2_S larger than its span", with64(&b, i2s.dims + 8, 32), NULL);

    /* offsets */
    field_case("offset + 1", with64(&b, tq2.offset, get64(&b, tq2.offset) + 1), "alignment");
    field_case("offset + 32", with64(&b, tq2.offset, get64(&b, tq2.offset) + 32), "alignment");
    field_case("offset max", with64(&b, tq2.offset, UINT64_MAX), "alignment");
    field_case("offset max aligned", with64(&b, tq2.offset, UINT64_MAX - 63), "past the end");
    field_case("offset 2^62", with64(&b, tq2.offset, 1ull << 62), "past the end");
    field_case("offset = data size", with64(&b, f32.offset, b.n - f32.data_offset), "past the end");
    field_case("last offset + 64", with64(&b, b16.offset, get64(&b, b16.offset) + 64),
               "past the end");
    field_case("overlap (same offset)", with64(&b, tq2.offset, get64(&b, f32.offset)), "overlaps");
    field_case("overlap (inside)", with64(&b, f16.offset, get64(&b, q8.offset)), "overlaps");
    field_case("overlap (first on second)", with64(&b, f32.offset, get64(&b, tq2.offset)),
               "overlaps");
    free(b.p);
}

/* id 36 in a file whose file_type is not 40: the F32 model with one weight retyped. */
static void test_i2_s_without_file_type(void **state)
{
    (void)state;
    img b = base_model(BN_TYPE_F32);
    tensor_pos q = find_tensor(&b, "blk.0.attn_q.weight");
    field_case("F32 model, attn_q as 36", with32(&b, q.type, BN_TYPE_I2_S), "36");
    tensor_pos k = find_tensor(&b, "blk.0.attn_k.weight");
    field_case("F32 model, duplicate tensor", with_bytes(&b, k.name, "blk.0.attn_q.weight", 19),
               "twice");
    free(b.p);
}

/* Valid GGUF, inconsistent model: only the binding refuses these. */
static void test_model_level(void **state)
{
    (void)state;
    img b = base_model(BN_TYPE_I2_S);
    kv_pos ff = find_kv(&b, "bitnet-b1.58.feed_forward_length");
    model_case("n_ff 64", with32(&b, ff.value, 64), "shape");
    model_case("n_ff 0", with32(&b, ff.value, 0), "feed_forward_length");
    kv_pos nh = find_kv(&b, "bitnet-b1.58.attention.head_count");
    model_case("n_head 3", with32(&b, nh.value, 3), "multiple");
    kv_pos nl = find_kv(&b, "bitnet-b1.58.block_count");
    model_case("block_count 2", with32(&b, nl.value, 2), "missing");
    model_case("block_count huge", with32(&b, nl.value, UINT32_MAX), "block_count");
    model_case("block_count as f32", with32(&b, nl.type, BN_GGUF_F32), "block_count");
    kv_pos arch = find_kv(&b, "general.architecture");
    model_case("unknown architecture", with_bytes(&b, arch.value + 8, "xx", 2),
               "not supported");
    /* an invalid I2_S code and a non-finite scale in attn_q */
    tensor_pos q = find_tensor(&b, "blk.0.attn_q.weight");
    size_t q_data = (size_t)(q.data_offset + get64(&b, q.offset));
    model_case("I2_S code 0b11", with_bytes(&b, q_data + 5, "\xc0", 1), "0b11");
    const float nan = NAN, inf = INFINITY;
    model_case("I2_S scale NaN", with_bytes(&b, q_data + 16 * 16 / 4, &nan, 4), "scale");
    model_case("I2_S scale inf", with_bytes(&b, q_data + 16 * 16 / 4, &inf, 4), "scale");
    /* a norm of the wrong type, a weight of the wrong shape */
    tensor_pos on = find_tensor(&b, "output_norm.weight");
    {
        img m = with32(&b, on.type, BN_TYPE_F16);
        model_case("output_norm F16", m, "type");
    }
    tensor_pos wk = find_tensor(&b, "blk.0.attn_k.weight");
    {
        img m = with64(&b, wk.dims, 8);
        put64(&m, wk.dims + 8, 16);
        model_case("attn_k transposed", m, "shape");
    }
    free(b.p);

    /* built inconsistent with the writer */
    static const char *const omit[] = {
        "token_embd.weight", "output_norm.weight", "blk.0.attn_q.weight",
        "blk.0.ffn_sub_norm.weight", "blk.0.ffn_down.weight", "general.architecture",
        "bitnet-b1.58.embedding_length", "bitnet-b1.58.attention.head_count",
    };
    for (size_t i = 0; i < N(omit); i++) {
        bn_test_model_spec s;
        bn_test_model_spec_default(&s);
        s.weight_type = BN_TYPE_I2_S;
        s.omit = omit[i];
        img m;
        assert_int_equal(bn_test_model_gguf(&s, &m.p, &m.n), BN_OK);
        model_case(omit[i], m, NULL);
    }

    /* TQ2_0 / TQ1_0 weights: an invalid code, non-finite block scales */
    for (int tq1 = 0; tq1 < 2; tq1++) {
        bn_test_model_spec s;
        bn_test_model_spec_default(&s);
        s.n_embd = 256;
        s.n_ff = 256;
        s.weight_type = tq1 ? BN_TYPE_TQ1_0 : BN_TYPE_TQ2_0;
        img t;
        assert_int_equal(bn_test_model_gguf(&s, &t.p, &t.n), BN_OK);
        tensor_pos w = find_tensor(&t, "blk.0.ffn_up.weight");
        size_t wd = (size_t)(w.data_offset + get64(&t, w.offset));
        size_t block = tq1 ? sizeof(bn_block_tq1_0) : sizeof(bn_block_tq2_0);
        size_t d = tq1 ? offsetof(bn_block_tq1_0, d) : offsetof(bn_block_tq2_0, d);
        if (!tq1)
            model_case("TQ2_0 code 3", with_bytes(&t, wd + block + 10, "\x03", 1), "code 3");
        model_case(tq1 ? "TQ1_0 scale inf" : "TQ2_0 scale inf",
                   with_bytes(&t, wd + d, "\x00\x7c", 2), "not finite");
        model_case(tq1 ? "TQ1_0 scale NaN" : "TQ2_0 scale NaN",
                   with_bytes(&t, wd + 5 * block + d, "\x01\xfe", 2), "not finite");
        free(t.p);
    }
}

/* Seeded random edits: any outcome but a crash, a leak or a bad status. */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void check_any(const uint8_t *p, size_t n)
{
    uint8_t *buf = exact_copy(p, n);
    bn_gguf g;
    clear_error();
    int rc = bn_gguf_parse(&g, buf, n);
    if (rc == BN_OK) {
        for (uint64_t i = 0; i < g.n_tensors; i++) {
            const bn_gguf_tensor *t = &g.tensors[i];
            assert_true(t->data >= buf + g.data_offset);
            assert_true(t->nbytes <= n - (size_t)(t->data - buf));
        }
        bn_gguf_release(&g);
    } else {
        assert_true(is_one_of(rc, parse_codes, N(parse_codes)));
        assert_true(*bn_last_error());
    }
    bn_model *m = NULL;
    clear_error();
    rc = bn_model_load_from_memory(&m, buf, n, NULL);
    if (rc == BN_OK) {
        assert_non_null(m);
        bn_model_free(&m);
    } else {
        assert_true(is_one_of(rc, load_codes, N(load_codes)));
        assert_true(*bn_last_error());
        assert_null(m);
    }
    free(buf);
}

static void test_random_edits(void **state)
{
    (void)state;
    img bases[] = { base_model(BN_TYPE_I2_S), base_misc() };
    for (size_t bi = 0; bi < N(bases); bi++) {
        const img *b = &bases[bi];
        bn_gguf g;
        assert_int_equal(bn_gguf_parse(&g, b->p, b->n), BN_OK);
        size_t header = (size_t)g.data_offset;
        bn_gguf_release(&g);
        for (int iter = 0; iter < 1500; iter++) {
            img m = img_dup(b);
            int edits = 1 + (int)(rng() % 4);
            for (int e = 0; e < edits; e++) {
                /* mostly the header, where the structure is */
                size_t pos = (size_t)(rng() % (rng() % 8 ? header : m.n));
                uint64_t r = rng();
                switch (r % 4) {
                case 0: m.p[pos] = (uint8_t)(r >> 8); break;
                case 1: m.p[pos] ^= (uint8_t)(1u << ((r >> 8) % 8)); break;
                case 2: m.p[pos] = (r >> 8) % 2 ? 0xff : 0; break;
                default:
                    if (pos + 8 <= m.n) {
                        uint64_t v = (r >> 8) % 2 ? UINT64_MAX - (r >> 16) % 64 : (r >> 16) % 300;
                        memcpy(m.p + pos, &v, 8);
                    }
                    break;
                }
            }
            size_t n = rng() % 16 == 0 ? (size_t)(rng() % m.n) : m.n;
            check_any(m.p, n);
            counts.random++;
            free(m.p);
        }
        free(bases[bi].p);
    }
}

static void test_null_args(void **state)
{
    (void)state;
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(NULL, "GGUF", 4), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_parse(&g, NULL, 4), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_parse(&g, NULL, 0), BN_E_FORMAT);
    assert_true(*bn_last_error());
    bn_model *m = NULL;
    assert_int_equal(bn_model_load_from_memory(&m, NULL, 0, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_model_load_from_memory(NULL, "GGUF", 4, NULL), BN_E_INVALID_ARG);
    uint8_t one = 'G';
    assert_int_equal(bn_model_load_from_memory(&m, &one, 0, NULL), BN_E_FORMAT);
    assert_null(m);
}

static int report(void **state)
{
    (void)state;
    int total = counts.truncations + counts.fields + counts.model_level;
    printf("malformed-file cases tried: %d (%d truncations, %d field edits, %d model-level), "
           "plus %d random edits\n",
           total, counts.truncations, counts.fields, counts.model_level, counts.random);
    fflush(stdout);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_bases),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_tensor_info),
        cmocka_unit_test(test_i2_s_without_file_type),
        cmocka_unit_test(test_model_level),
        cmocka_unit_test(test_random_edits),
        cmocka_unit_test(test_null_args),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
