/* In-process checks of the generator library: the random-number spec, the
 * block encoders against independent decoders, the option checks, and a
 * written file read back with the library's own GGUF reader. (Byte identity
 * with mkmodel.py is checked by check_reference.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bitnet/bitnet.h"
#include "core/fp16.h"
#include "gguf/gguf.h"
#include "gguf/gguf_types.h"
#include "mkmodel.h"
#include "mkmodel_encode.h"
#include "mkmodel_rng.h"

/* Values computed with mkmodel.py's functions. */
static void test_rng_matches_spec(void **state)
{
    (void)state;
    assert_true(bn_mkmodel_mix64(0) == 0);
    assert_true(bn_mkmodel_mix64(0x123456789abcdefull) == 0xb2c058e4ebb5112cull);
    assert_true(bn_mkmodel_fnv1a64("token_embd.weight") == 0x2d85b88e70e67727ull);
    uint64_t key = bn_mkmodel_tensor_key(1, "blk.0.attn_q.weight");
    assert_true(key == 0xd179db19133e6a5dull);
    assert_true(bn_mkmodel_stream(key, 0) == 0x7c791728e04889c3ull);
    assert_true(bn_mkmodel_stream(key, 2) == 0x7f43f59e8a652ea1ull);
    static const uint8_t codes[16] = { 1, 1, 1, 1, 0, 0, 0, 0, 2, 1, 2, 2, 2, 0, 0, 1 };
    for (int i = 0; i < 16; i++)
        assert_int_equal(bn_mkmodel_ternary_code(bn_mkmodel_stream(key, (uint64_t)i)), codes[i]);
    assert_true(bn_mkmodel_ternary_scale(1, "blk.0.attn_q.weight", 256) == 0.059173583984375);
    assert_true(bn_mkmodel_ternary_scale(7, "blk.3.ffn_down.weight", 768) == 0.047607421875);
}

#define N_TEST 512                  /* two TQ blocks, four I2_S blocks */

static void make_codes(uint8_t *c, size_t n, uint64_t key)
{
    for (size_t i = 0; i < n; i++)
        c[i] = bn_mkmodel_ternary_code(bn_mkmodel_stream(key, i));
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Decoders written from the format descriptions (ggml dequantize_row_*). */
static uint8_t tq2_0_code(const uint8_t *blk, int i)
{
    int h = i / 128, j = i % 128;
    return (blk[32 * h + j % 32] >> (2 * (j / 32))) & 3;
}

static uint8_t tq1_0_code(const uint8_t *blk, int i)
{
    static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
    uint8_t b;
    int k;
    if (i < 160) {
        b = blk[i % 32];
        k = i / 32;
    } else if (i < 240) {
        b = blk[32 + (i - 160) % 16];
        k = (i - 160) / 16;
    } else {
        b = blk[48 + (i - 240) % 4];
        k = (i - 240) / 4;
    }
    uint8_t q = (uint8_t)(b * pow3[k]);
    return (uint8_t)((q * 3) >> 8);
}

static uint8_t i2_s_code(const uint8_t *data, int i)
{
    int blk = i / 128, j = i % 128;
    return (data[32 * blk + j % 32] >> (6 - 2 * (j / 32))) & 3;
}

static void test_encoders_decode_back(void **state)
{
    (void)state;
    uint8_t codes[N_TEST];
    uint8_t out[4 * N_TEST];
    double scale = 0.0625;
    make_codes(codes, N_TEST, 42);
    memset(codes + 256, 1, 256);    /* an all-zero block: its scale must be 0 */

    bn_mkmodel_encode(BN_TYPE_TQ2_0, codes, N_TEST, scale, out);
    assert_int_equal(bn_mkmodel_encoded_size(BN_TYPE_TQ2_0, N_TEST), 2 * 66);
    for (int i = 0; i < N_TEST; i++)
        assert_int_equal(tq2_0_code(out + 66 * (i / 256), i % 256), codes[i]);
    assert_true(bn_f16_to_f32(le16(out + 64)) == (float)scale);
    assert_int_equal(le16(out + 66 + 64), 0);

    bn_mkmodel_encode(BN_TYPE_TQ1_0, codes, N_TEST, scale, out);
    assert_int_equal(bn_mkmodel_encoded_size(BN_TYPE_TQ1_0, N_TEST), 2 * 54);
    for (int i = 0; i < N_TEST; i++)
        assert_int_equal(tq1_0_code(out + 54 * (i / 256), i % 256), codes[i]);
    assert_true(bn_f16_to_f32(le16(out + 52)) == (float)scale);
    assert_int_equal(le16(out + 54 + 52), 0);

    bn_mkmodel_encode(BN_TYPE_I2_S, codes, N_TEST, scale, out);
    assert_int_equal(bn_mkmodel_encoded_size(BN_TYPE_I2_S, N_TEST), N_TEST / 4);
    for (int i = 0; i < N_TEST; i++)
        assert_int_equal(i2_s_code(out, i), codes[i]);

    bn_mkmodel_encode(BN_TYPE_F32, codes, N_TEST, scale, out);
    for (int i = 0; i < N_TEST; i++) {
        float v;
        memcpy(&v, out + 4 * i, 4);
        assert_true(v == (float)(codes[i] - 1) * (float)scale);
    }
}

static int write_expect(bn_mkmodel_opts *o, const char *path, int expected, const char *needle)
{
    int rc = bn_mkmodel_write(o, path);
    if (rc != expected)
        print_error("rc %d (%s), expected %d\n", rc, bn_last_error(), expected);
    else if (needle && !strstr(bn_last_error(), needle))
        print_error("message '%s' lacks '%s'\n", bn_last_error(), needle);
    else
        return 1;
    return 0;
}

static void test_invalid_options(void **state)
{
    (void)state;
    const char *path = BN_MKMODEL_TEST_DIR "/never-written.gguf";
    bn_mkmodel_opts o;

    bn_mkmodel_default_opts(&o);
    o.type = BN_MKMODEL_TQ2_0;
    o.hp.n_ff = 1152;               /* TQ blocks would straddle rows */
    assert_true(write_expect(&o, path, BN_E_INVALID_ARG, "n_ff"));

    bn_mkmodel_default_opts(&o);
    o.family = BN_MKMODEL_FAMILY_LLAMA;
    o.act = BN_MKMODEL_ACT_RELU2;
    assert_true(write_expect(&o, path, BN_E_INVALID_ARG, "--act relu2"));

    bn_mkmodel_default_opts(&o);
    o.published_keys = 1;           /* arch bitnet for f32, and vocab 1024 */
    assert_true(write_expect(&o, path, BN_E_INVALID_ARG, "--published-keys"));

    bn_mkmodel_default_opts(&o);
    o.hp.n_head_kv = 3;
    assert_true(write_expect(&o, path, BN_E_INVALID_ARG, "n_head_kv"));

    bn_mkmodel_default_opts(&o);
    o.vocab = "llama3-npm:x.tgz";
    assert_true(write_expect(&o, path, BN_E_IO, "llama3-npm"));

    bn_mkmodel_default_opts(&o);
    o.hp.n_vocab = 100;
    assert_true(write_expect(&o, path, BN_E_INVALID_ARG, "n_vocab"));

    FILE *f = fopen(path, "rb");
    assert_null(f);

    bn_mkmodel_default_opts(&o);
    o.hp.n_layer = 1;
    assert_true(write_expect(&o, BN_MKMODEL_TEST_DIR "/no/such/dir/x.gguf", BN_E_IO, "cannot create"));
}

typedef struct loaded {
    uint8_t *data;
    bn_gguf g;
} loaded;

static void write_and_load(bn_mkmodel_opts *o, const char *path, loaded *l)
{
    assert_int_equal(bn_mkmodel_write(o, path), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    l->data = malloc((size_t)size);
    assert_non_null(l->data);
    assert_int_equal(fread(l->data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    remove(path);
    int rc = bn_gguf_parse(&l->g, l->data, (uint64_t)size);
    if (rc)
        print_error("parse: %s\n", bn_last_error());
    assert_int_equal(rc, 0);
}

static void unload(loaded *l)
{
    bn_gguf_release(&l->g);
    free(l->data);
}

/* One seed is one model: an I2_S file and an F32 file hold the same weights. */
static void test_files_read_back(void **state)
{
    (void)state;
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.hp.n_layer = 1;
    o.seed = 5;
    o.type = BN_MKMODEL_I2_S;
    loaded q, d;
    write_and_load(&o, BN_MKMODEL_TEST_DIR "/readback-i2_s.gguf", &q);
    o.type = BN_MKMODEL_F32;
    write_and_load(&o, BN_MKMODEL_TEST_DIR "/readback-f32.gguf", &d);

    bn_gguf_str arch;
    assert_int_equal(bn_gguf_get_str(&q.g, "general.architecture", &arch), 0);
    assert_true(bn_gguf_str_eq(arch, "bitnet-b1.58"));
    uint32_t n_vocab;
    assert_int_equal(bn_gguf_get_u32(&q.g, "bitnet-b1.58.vocab_size", &n_vocab), 0);
    assert_int_equal(n_vocab, 1024);
    assert_int_equal(q.g.n_tensors, 1 + 11 + 1);
    assert_int_equal(q.g.n_tensors, bn_mkmodel_tensor_count(&o));

    const char *name = "blk.0.ffn_down.weight";
    const bn_gguf_tensor *tq = bn_gguf_find_tensor(&q.g, name);
    const bn_gguf_tensor *td = bn_gguf_find_tensor(&d.g, name);
    assert_non_null(tq);
    assert_non_null(td);
    assert_int_equal(tq->type, BN_TYPE_I2_S);
    assert_int_equal(td->type, BN_TYPE_F32);
    assert_int_equal(tq->n_elements, 768 * 256);
    float scale;
    memcpy(&scale, tq->data + tq->n_elements / 4, 4);
    assert_true(scale == (float)bn_mkmodel_ternary_scale(5, name, 768));
    uint64_t key = bn_mkmodel_tensor_key(5, name);
    for (uint64_t i = 0; i < tq->n_elements; i++) {
        uint8_t c = i2_s_code(tq->data, (int)i);
        float v;
        memcpy(&v, td->data + 4 * i, 4);
        assert_int_equal(c, bn_mkmodel_ternary_code(bn_mkmodel_stream(key, i)));
        assert_true(v == (float)(c - 1) * scale);
    }
    unload(&q);
    unload(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_matches_spec),
        cmocka_unit_test(test_encoders_decode_back),
        cmocka_unit_test(test_invalid_options),
        cmocka_unit_test(test_files_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
