/* Model binding: what a file must hold, and what the loader says when it
 * does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <bitnet/bitnet.h>

#include "gguf/gguf_types.h"
#include "mkmodel.h"
#include "tiny_model.h"

/* Loads a tiny model built with o; returns the status, message in msg. */
static int load_tiny(const bn_tiny_opts *o, const bn_model_params *p, char *msg, size_t msg_size)
{
    size_t size = 0;
    uint8_t *img = bn_tiny_build(o, &size);
    assert_non_null(img);
    bn_model *m = NULL;
    int rc = bn_model_load_from_memory(&m, img, size, p);
    snprintf(msg, msg_size, "%s", bn_last_error());
    if (rc == BN_OK)
        assert_non_null(m);
    else
        assert_null(m);
    bn_model_free(&m);
    assert_null(m);
    free(img);
    return rc;
}

static void expect_error(const bn_tiny_opts *o, int status, const char *needle)
{
    char msg[512];
    int rc = load_tiny(o, NULL, msg, sizeof msg);
    if (rc != status || !strstr(msg, needle))
        fail_msg("expected %s with '%s', got %s: %s", bn_strerror(status), needle, bn_strerror(rc), msg);
}

static void test_tiny_loads(void **state)
{
    (void)state;
    bn_tiny_opts o;
    bn_tiny_default(&o);
    size_t size;
    uint8_t *img = bn_tiny_build(&o, &size);
    assert_non_null(img);
    bn_model *m = NULL;
    assert_int_equal(bn_model_load_from_memory(&m, img, size, NULL), BN_OK);
    assert_string_equal(bn_model_arch_name(m), "bitnet-b1.58");
    assert_string_equal(bn_model_name(m), "tiny");
    assert_string_equal(bn_model_weight_type_name(m), "I2_S");
    assert_int_equal(bn_model_n_vocab(m), BN_TINY_N_VOCAB);
    assert_int_equal(bn_model_n_embd(m), BN_TINY_N_EMBD);
    assert_int_equal(bn_model_n_layer(m), 1);
    assert_int_equal(bn_model_n_head(m), BN_TINY_N_HEAD);
    assert_int_equal(bn_model_n_head_kv(m), BN_TINY_N_HEAD_KV);
    assert_int_equal(bn_model_n_ff(m), BN_TINY_N_FF);
    assert_int_equal(bn_model_n_ctx_train(m), 64);
    uint64_t E = BN_TINY_N_EMBD, F = BN_TINY_N_FF, V = BN_TINY_N_VOCAB, KV = E / 2;
    uint64_t params = E * V + 4 * E + F + E * E * 2 + E * KV * 2 + 3 * E * F;
    assert_int_equal(bn_model_n_params(m), params);
    assert_true(bn_model_weight_bytes(m) > 0 && bn_model_weight_bytes(m) < size);

    /* metadata by index and by key, with snprintf-like truncation */
    int32_t n = bn_model_meta_count(m);
    assert_true(n >= 10);
    char buf[64];
    assert_int_equal(bn_model_meta_key_by_index(m, 0, buf, sizeof buf), 20);
    assert_string_equal(buf, "general.architecture");
    assert_int_equal(bn_model_meta_key_by_index(m, n, buf, sizeof buf), BN_E_RANGE);
    assert_int_equal(bn_model_meta_key_by_index(m, -1, buf, sizeof buf), BN_E_RANGE);
    assert_int_equal(bn_model_meta_string(m, "general.architecture", buf, 5), 12);
    assert_string_equal(buf, "bitn");
    assert_int_equal(bn_model_meta_string(m, "general.architecture", NULL, 0), 12);
    assert_int_equal(bn_model_meta_string(m, "bitnet-b1.58.block_count", buf, sizeof buf), 1);
    assert_string_equal(buf, "1");
    assert_int_equal(bn_model_meta_string(m, "bitnet-b1.58.rope.freq_base", buf, sizeof buf), 5);
    assert_string_equal(buf, "10000");
    assert_int_equal(bn_model_meta_string(m, "no.such.key", buf, sizeof buf), BN_E_NOT_FOUND);
    assert_int_equal(bn_model_meta_string(NULL, "x", buf, sizeof buf), BN_E_INVALID_ARG);
    bn_model_free(&m);
    free(img);
}

static void test_getters_accept_null(void **state)
{
    (void)state;
    assert_string_equal(bn_model_arch_name(NULL), "");
    assert_string_equal(bn_model_name(NULL), "");
    assert_int_equal(bn_model_n_vocab(NULL), 0);
    assert_int_equal(bn_model_n_params(NULL), 0);
    assert_int_equal(bn_model_meta_count(NULL), 0);
    bn_model_free(NULL);
    bn_model *m = NULL;
    bn_model_free(&m);
    assert_int_equal(bn_model_load(NULL, "x", NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_model_load(&m, NULL, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_model_load_from_memory(&m, NULL, 10, NULL), BN_E_INVALID_ARG);
    assert_string_not_equal(bn_strerror(BN_E_FORMAT), bn_strerror(BN_E_MODEL));
    assert_string_equal(bn_strerror(12345), "unknown status code");
    for (int s = BN_OK; s >= BN_E_INTERNAL; s--)
        assert_string_not_equal(bn_strerror(s), "unknown status code");
}

static void test_versions(void **state)
{
    (void)state;
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", BN_VERSION_MAJOR, BN_VERSION_MINOR, BN_VERSION_PATCH);
    assert_string_equal(bn_version_string(), want);
    assert_int_equal(bn_version_api(), BN_API_VERSION);
    assert_int_equal(bn_version_api() >> 16, BN_API_VERSION_MAJOR);
}

static void test_binding_errors(void **state)
{
    (void)state;
    bn_tiny_opts o;

    bn_tiny_default(&o);
    o.skip_tensor = "blk.0.ffn_up.weight";
    expect_error(&o, BN_E_MODEL, "'blk.0.ffn_up.weight' is missing");

    bn_tiny_default(&o);
    o.skip_tensor = "output_norm.weight";
    expect_error(&o, BN_E_MODEL, "'output_norm.weight' is missing");

    bn_tiny_default(&o);
    o.bad_shape_tensor = "blk.0.attn_k.weight";
    expect_error(&o, BN_E_MODEL, "'blk.0.attn_k.weight' has shape [512, 128], expected [256, 128]");

    bn_tiny_default(&o);
    o.bad_shape_tensor = "blk.0.ffn_sub_norm.weight";
    expect_error(&o, BN_E_MODEL, "'blk.0.ffn_sub_norm.weight' has shape [768], expected [512]");

    bn_tiny_default(&o);
    o.arch = "gpt-neox";
    expect_error(&o, BN_E_UNSUPPORTED, "architecture 'gpt-neox' is not supported");

    bn_tiny_default(&o);
    o.hidden_activation = "gelu";
    expect_error(&o, BN_E_UNSUPPORTED, "hidden_activation' = 'gelu'");

    bn_tiny_default(&o);
    o.skip_key = 1;
    expect_error(&o, BN_E_MODEL, "missing metadata 'bitnet-b1.58.embedding_length'");

    bn_tiny_default(&o);
    o.vocab_size_key = 299;
    expect_error(&o, BN_E_MODEL, "vocab_size' = 299 but token_embd.weight has 300 rows");

    bn_tiny_default(&o);
    o.extra_layer_tensor = 1;
    expect_error(&o, BN_E_MODEL, "'blk.1.attn_norm.weight' exists but block_count is 1");

    /* a sub-norm in a llama file is not silently ignored */
    bn_tiny_default(&o);
    o.arch = "llama";
    o.weight_type = BN_TYPE_TQ2_0;
    expect_error(&o, BN_E_MODEL, "'blk.0.attn_sub_norm.weight' is not used by architecture llama");

    /* type id 36 without bitnet.cpp's file type is not I2_S */
    bn_tiny_default(&o);
    o.file_type = 1;
    expect_error(&o, BN_E_UNSUPPORTED, "type id 36 means I2_S only");
}

static void test_llama_layout_and_tq2(void **state)
{
    (void)state;
    bn_tiny_opts o;
    bn_tiny_default(&o);
    o.arch = "llama";
    o.llama_layout = 1;
    o.weight_type = BN_TYPE_TQ2_0;
    char msg[512];
    assert_int_equal(load_tiny(&o, NULL, msg, sizeof msg), BN_OK);
    o.arch = "bitnet";          /* a bitnet file needs its sub-norms */
    expect_error(&o, BN_E_MODEL, "'blk.0.attn_sub_norm.weight' is missing");
}

static void test_invalid_code(void **state)
{
    (void)state;
    bn_tiny_opts o;
    bn_tiny_default(&o);
    o.code3 = 1;
    expect_error(&o, BN_E_MODEL, "'blk.0.attn_q.weight': I2_S byte 5 holds the invalid code 0b11");
    bn_model_params p;
    bn_model_params_default(&p);
    p.check_weights = 0;       /* trusted: loads, code read as 0 */
    char msg[512];
    assert_int_equal(load_tiny(&o, &p, msg, sizeof msg), BN_OK);
}

static int cancel_at_half(float fraction, void *user)
{
    int *calls = user;
    (*calls)++;
    return fraction >= 0.5f;
}

static int count_progress(float fraction, void *user)
{
    float *last = user;
    assert_true(fraction >= *last && fraction <= 1.0f);
    *last = fraction;
    return 0;
}

static void test_progress(void **state)
{
    (void)state;
    bn_tiny_opts o;
    bn_tiny_default(&o);
    bn_model_params p;
    bn_model_params_default(&p);
    int calls = 0;
    p.progress = cancel_at_half;
    p.progress_user_data = &calls;
    char msg[512];
    assert_int_equal(load_tiny(&o, &p, msg, sizeof msg), BN_E_CANCELLED);
    assert_true(calls >= 1);
    float last = 0.0f;
    p.progress = count_progress;
    p.progress_user_data = &last;
    assert_int_equal(load_tiny(&o, &p, msg, sizeof msg), BN_OK);
    assert_true(last == 1.0f);
}

static void test_params_default(void **state)
{
    (void)state;
    bn_model_params p;
    memset(&p, 0x5a, sizeof p);
    bn_model_params_default(&p);
    assert_int_equal(p.use_mmap, 1);
    assert_int_equal(p.check_weights, 1);
    assert_null(p.progress);
    for (size_t i = 0; i < sizeof p.reserved; i++)
        assert_int_equal(p.reserved[i], 0);
    bn_model_params_default(NULL);
}

/* The published 2B4T key set: no pre-tokenizer, no EOT id, no activation key. */
static void test_published_keys_and_files(void **state)
{
    (void)state;
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.type = BN_MKMODEL_I2_S;
    o.published_keys = 1;
    o.hp.n_vocab = 128256;
    o.hp.n_layer = 1;
    o.log = NULL;
    char path[256];
    snprintf(path, sizeof path, "%s/published-%d.gguf", BN_TEST_BUILDDIR, (int)getpid());
    assert_int_equal(bn_mkmodel_write(&o, path), BN_OK);
    for (int mmap_on = 0; mmap_on <= 1; mmap_on++) {
        bn_model_params p;
        bn_model_params_default(&p);
        p.use_mmap = mmap_on;
        bn_model *m = NULL;
        int rc = bn_model_load(&m, path, &p);
        if (rc)
            fail_msg("%s", bn_last_error());
        assert_string_equal(bn_model_arch_name(m), "bitnet-b1.58");
        assert_string_equal(bn_model_name(m), "bitnet2b");
        assert_int_equal(bn_model_n_vocab(m), 128256);
        char buf[8];
        assert_int_equal(bn_model_meta_string(m, "tokenizer.ggml.pre", buf, sizeof buf), BN_E_NOT_FOUND);
        bn_model_free(&m);
    }
    unlink(path);

    bn_model *m = NULL;
    assert_int_equal(bn_model_load(&m, BN_TEST_BUILDDIR "/does-not-exist.gguf", NULL), BN_E_IO);
    assert_non_null(strstr(bn_last_error(), "does-not-exist.gguf: cannot open"));
    assert_int_equal(bn_model_load(&m, BN_TEST_BUILDDIR, NULL), BN_E_IO);
    assert_non_null(strstr(bn_last_error(), "not a regular file"));
    assert_int_equal(bn_model_load(&m, BN_TEST_SRCDIR "/meson.build", NULL), BN_E_FORMAT);
    assert_non_null(strstr(bn_last_error(), "not a GGUF file"));
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_loads),
        cmocka_unit_test(test_getters_accept_null),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_binding_errors),
        cmocka_unit_test(test_llama_layout_and_tq2),
        cmocka_unit_test(test_invalid_code),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_params_default),
        cmocka_unit_test(test_published_keys_and_files),
    };
    return cmocka_run_group_tests_name("model loading", tests, NULL, NULL);
}
