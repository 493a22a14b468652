/* The GGUF writer's argument checks and error paths, and the tiny models of
 * test_util (which other tests rely on) loading through the public API from
 * memory and from a file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_writer_new(void **state)
{
    (void)state;
    bn_gguf_writer *w = (bn_gguf_writer *)&w;
    assert_int_equal(bn_gguf_writer_new(NULL, 3, 32), BN_E_INVALID_ARG);
    static const uint32_t bad_versions[] = { 0, 1, 4, UINT32_MAX };
    for (size_t i = 0; i < N(bad_versions); i++) {
        assert_int_equal(bn_gguf_writer_new(&w, bad_versions[i], 32), BN_E_INVALID_ARG);
        assert_null(w);
        assert_true(*bn_last_error());
    }
    static const uint32_t bad_aligns[] = { 0, 3, 24, 1u << 17, UINT32_MAX };
    for (size_t i = 0; i < N(bad_aligns); i++) {
        w = (bn_gguf_writer *)&w;
        assert_int_equal(bn_gguf_writer_new(&w, 3, bad_aligns[i]), BN_E_INVALID_ARG);
        assert_null(w);
    }
    assert_int_equal(bn_gguf_writer_new(&w, 2, 1), BN_OK);
    bn_gguf_writer_free(&w);
    assert_null(w);
    bn_gguf_writer_free(&w);
    bn_gguf_writer_free(NULL);
}

static void test_bad_adds(void **state)
{
    (void)state;
    bn_gguf_writer *w = NULL;
    assert_int_equal(bn_gguf_writer_new(&w, 3, 32), BN_OK);
    assert_int_equal(bn_gguf_writer_add_int(w, "k", BN_GGUF_F32, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_int(w, "k", BN_GGUF_STRING, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_int(w, "k", 13, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_uint(w, "k", BN_GGUF_F64, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_float(w, "k", BN_GGUF_U32, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_int(NULL, "k", BN_GGUF_U32, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_int(w, NULL, BN_GGUF_U32, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_str(w, "k", NULL, 0), BN_E_INVALID_ARG);
    uint8_t one = 1;
    assert_int_equal(bn_gguf_writer_add_array(w, "k", BN_GGUF_STRING, &one, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_array(w, "k", BN_GGUF_ARRAY, &one, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_array(w, "k", 13, &one, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_array(w, "k", BN_GGUF_U8, NULL, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_array(w, "k", BN_GGUF_U64, &one, UINT64_MAX / 4),
                     BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_str_array(w, "k", NULL, NULL, 1), BN_E_INVALID_ARG);

    uint64_t ne[5] = { 256, 2, 1, 1, 1 };
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 0, ne, BN_TYPE_F32), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 5, ne, BN_TYPE_F32), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_tensor(w, NULL, 2, ne, BN_TYPE_F32), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 2, NULL, BN_TYPE_F32), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_tensor(NULL, "t", 2, ne, BN_TYPE_F32), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 2, ne, 5), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 2, ne, BN_TYPE_TL1), BN_E_INVALID_ARG);
    uint64_t rows128[2] = { 128, 4 }, i2s_bad[2] = { 32, 3 }, big[2] = { 1ull << 32, 1ull << 32 };
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 2, rows128, BN_TYPE_TQ2_0),
                     BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "t: "));
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 2, rows128, BN_TYPE_TQ1_0),
                     BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 2, i2s_bad, BN_TYPE_I2_S), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_add_tensor(w, "t", 2, big, BN_TYPE_F32), BN_E_INVALID_ARG);

    /* the failed adds left nothing behind: the image is empty and valid */
    assert_int_equal(bn_gguf_writer_add_uint(w, "ok", BN_GGUF_U8, 1), BN_OK);
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(bn_test_gguf_to_memory(w, NULL, NULL, &data, &size), BN_OK);
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(&g, data, size), BN_OK);
    assert_int_equal(g.n_kv, 1);
    assert_int_equal(g.n_tensors, 0);
    bn_gguf_release(&g);
    free(data);
    bn_gguf_writer_free(&w);
}

static int emit_fail(void *user, uint64_t i, FILE *f)
{
    (void)user;
    (void)i;
    (void)f;
    return BN_E_CANCELLED;
}

static int emit_short(void *user, uint64_t i, FILE *f)
{
    (void)user;
    (void)i;
    return fwrite("abc", 1, 3, f) == 3 ? BN_OK : BN_E_IO;
}

static int emit_f32x4(void *user, uint64_t i, FILE *f)
{
    (void)user;
    float v[4] = { 1.0f, 2.0f, 3.0f, (float)i };
    return fwrite(v, 1, sizeof v, f) == sizeof v ? BN_OK : BN_E_IO;
}

static void test_write_errors(void **state)
{
    (void)state;
    bn_gguf_writer *w = NULL;
    assert_int_equal(bn_gguf_writer_new(&w, 3, 32), BN_OK);
    uint64_t ne[1] = { 4 };
    assert_int_equal(bn_gguf_writer_add_tensor(w, "a", 1, ne, BN_TYPE_F32), BN_OK);
    assert_int_equal(bn_gguf_writer_add_tensor(w, "b", 1, ne, BN_TYPE_F32), BN_OK);
    uint8_t *data = NULL;
    size_t size = 0;
    /* tensors but no emitter, no file */
    assert_int_equal(bn_test_gguf_to_memory(w, NULL, NULL, &data, &size), BN_E_INVALID_ARG);
    assert_null(data);
    assert_int_equal(bn_gguf_writer_write(w, NULL, emit_f32x4, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_gguf_writer_write(NULL, stdout, emit_f32x4, NULL), BN_E_INVALID_ARG);
    /* the emitter's error comes back; a wrong payload size is caught */
    assert_int_equal(bn_test_gguf_to_memory(w, emit_fail, NULL, &data, &size), BN_E_CANCELLED);
    assert_int_equal(bn_test_gguf_to_memory(w, emit_short, NULL, &data, &size), BN_E_INTERNAL);
    assert_non_null(strstr(bn_last_error(), "'a'"));
    /* a stream that cannot be written */
    FILE *ro = fopen("/dev/null", "r");
    assert_non_null(ro);
    assert_int_equal(bn_gguf_writer_write(w, ro, emit_f32x4, NULL), BN_E_IO);
    fclose(ro);
    /* and the same writer still produces a good file */
    assert_int_equal(bn_test_gguf_to_memory(w, emit_f32x4, NULL, &data, &size), BN_OK);
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(&g, data, size), BN_OK);
    assert_int_equal(g.n_tensors, 2);
    float v[4];
    memcpy(v, bn_gguf_find_tensor(&g, "b")->data, sizeof v);
    assert_true(v[2] == 3.0f && v[3] == 1.0f);
    assert_int_equal(bn_gguf_find_tensor(&g, "b")->offset, 32);
    bn_gguf_release(&g);
    free(data);
    bn_gguf_writer_free(&w);
}

/* Strings with explicit lengths may hold any bytes, NUL included. */
static void test_binary_strings(void **state)
{
    (void)state;
    bn_gguf_writer *w = NULL;
    assert_int_equal(bn_gguf_writer_new(&w, 3, 32), BN_OK);
    const char *strs[] = { "a\0b", "\xff\xfe", "" };
    size_t lens[] = { 3, 2, 0 };
    assert_int_equal(bn_gguf_writer_add_str_array(w, "bin", strs, lens, 3), BN_OK);
    assert_int_equal(bn_gguf_writer_add_str(w, "nul", "x\0y", 3), BN_OK);
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(bn_test_gguf_to_memory(w, NULL, NULL, &data, &size), BN_OK);
    bn_gguf_writer_free(&w);
    bn_gguf g;
    assert_int_equal(bn_gguf_parse(&g, data, size), BN_OK);
    bn_gguf_str_iter it;
    bn_gguf_str s;
    bn_gguf_str_iter_init(&it, &bn_gguf_find_kv(&g, "bin")->value);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(bn_gguf_str_iter_next(&it, &s), 1);
        assert_int_equal(s.len, lens[i]);
        assert_memory_equal(s.ptr, strs[i], lens[i]);
    }
    assert_int_equal(bn_gguf_str_iter_next(&it, &s), 0);
    char buf[8];
    assert_int_equal(bn_gguf_value_to_text(&bn_gguf_find_kv(&g, "nul")->value, buf, sizeof buf), 3);
    assert_memory_equal(buf, "x\0y", 4);
    bn_gguf_release(&g);
    free(data);
}

/* Every tiny model test_util can make loads and binds. */
static void test_util_models(void **state)
{
    (void)state;
    static const struct {
        const char *arch;
        uint32_t weight, embd, n_embd, n_ff, version, alignment;
        int tied;
    } models[] = {
        { "bitnet-b1.58", BN_TYPE_F32, BN_TYPE_F32, 16, 32, 3, 32, 1 },
        { "bitnet-b1.58", BN_TYPE_I2_S, BN_TYPE_F32, 16, 32, 3, 32, 1 },
        { "bitnet-b1.58", BN_TYPE_F16, BN_TYPE_F16, 16, 32, 2, 32, 0 },
        { "bitnet-b1.58", BN_TYPE_BF16, BN_TYPE_BF16, 16, 32, 3, 64, 1 },
        { "bitnet-b1.58", BN_TYPE_TQ2_0, BN_TYPE_Q8_0, 256, 256, 3, 32, 1 },
        { "bitnet", BN_TYPE_TQ1_0, BN_TYPE_F16, 256, 256, 3, 32, 0 },
        { "bitnet-25", BN_TYPE_I2_S, BN_TYPE_Q8_0, 32, 64, 3, 128, 0 },
        { "llama", BN_TYPE_I2_S, BN_TYPE_F32, 16, 32, 3, 32, 1 },
    };
    for (size_t i = 0; i < N(models); i++) {
        bn_test_model_spec s;
        bn_test_model_spec_default(&s);
        s.arch = models[i].arch;
        s.weight_type = models[i].weight;
        s.embd_type = models[i].embd;
        s.n_embd = models[i].n_embd;
        s.n_ff = models[i].n_ff;
        s.version = models[i].version;
        s.alignment = models[i].alignment;
        s.tied = models[i].tied;
        uint8_t *data = NULL;
        size_t size = 0;
        assert_int_equal(bn_test_model_gguf(&s, &data, &size), BN_OK);
        bn_model *m = NULL;
        int rc = bn_model_load_from_memory(&m, data, size, NULL);
        if (rc)
            fail_msg("model %zu: %s", i, bn_last_error());
        assert_string_equal(bn_model_arch_name(m), models[i].arch);
        assert_string_equal(bn_model_name(m), "bn-test");
        assert_string_equal(bn_model_weight_type_name(m), bn_type_name(models[i].weight));
        assert_int_equal(bn_model_n_embd(m), models[i].n_embd);
        assert_int_equal(bn_model_n_ff(m), models[i].n_ff);
        assert_int_equal(bn_model_n_layer(m), 1);
        assert_int_equal(bn_model_n_head(m), 2);
        assert_int_equal(bn_model_n_head_kv(m), 1);
        assert_int_equal(bn_model_n_vocab(m), 8);
        assert_int_equal(bn_model_n_ctx_train(m), 64);
        char buf[32];
        assert_int_equal(bn_model_meta_string(m, "general.name", buf, sizeof buf), 7);
        assert_string_equal(buf, "bn-test");
        bn_model_free(&m);
        free(data);
    }
}

/* The file helpers, and a model loaded from a path both ways. */
static void test_files(void **state)
{
    (void)state;
    bn_test_model_spec s;
    bn_test_model_spec_default(&s);
    s.weight_type = BN_TYPE_I2_S;
    uint8_t *data = NULL;
    size_t size = 0;
    assert_int_equal(bn_test_model_gguf(&s, &data, &size), BN_OK);
    char *path = bn_test_temp_file(data, size);
    assert_non_null(path);
    size_t n = 0;
    uint8_t *back = bn_test_read_file(path, &n);
    assert_non_null(back);
    assert_int_equal(n, size);
    assert_memory_equal(back, data, size);
    assert_int_equal(back[n], 0);
    free(back);
    for (int use_mmap = 0; use_mmap < 2; use_mmap++) {
        bn_model_params p;
        bn_model_params_default(&p);
        p.use_mmap = use_mmap;
        bn_model *m = NULL;
        int rc = bn_model_load(&m, path, &p);
        if (rc)
            fail_msg("%s", bn_last_error());
        assert_int_equal(bn_model_n_embd(m), 16);
        bn_model_free(&m);
    }
    bn_test_temp_file_remove(path);
    assert_null(bn_test_read_file("/nonexistent/bn_test", &n));
    bn_test_temp_file_remove(NULL);
    free(data);
    /* deterministic: the same spec gives the same bytes */
    uint8_t *again = NULL;
    size_t size2 = 0;
    assert_int_equal(bn_test_model_gguf(&s, &again, &size2), BN_OK);
    assert_int_equal(bn_test_model_gguf(&s, &data, &size), BN_OK);
    assert_int_equal(size, size2);
    assert_memory_equal(data, again, size);
    free(again);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_new),
        cmocka_unit_test(test_bad_adds),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_binary_strings),
        cmocka_unit_test(test_util_models),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
