/*
 * Writes the seed corpus of fuzz_gguf into a directory:
 *
 *     ninja -C build test/fuzz/fuzz_gguf_gen_corpus
 *     build/test/fuzz/fuzz_gguf_gen_corpus test/fuzz/corpus/gguf
 *
 * Valid tiny models (that load and bind), a file with every metadata and
 * tensor type, and a few broken variants of them. Output is deterministic.
 * The files have no .gguf suffix because the repository ignores *.gguf.
 * Inputs found by the fuzzer (crash-*) are kept in the directory by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char *out_dir;
static int failures;

static void save(const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        failures++;
        return;
    }
    printf("%-32s %6zu bytes\n", name, n);
}

/* Writes a copy of p with `len` bytes at `pos` replaced. */
static void save_patched(const char *name, const uint8_t *p, size_t n, size_t pos,
                         const void *bytes, size_t len)
{
    if (pos + len > n) {
        fprintf(stderr, "gen_corpus: %s: patch outside the file\n", name);
        failures++;
        return;
    }
    uint8_t *q = malloc(n);
    if (!q) {
        failures++;
        return;
    }
    memcpy(q, p, n);
    memcpy(q + pos, bytes, len);
    save(name, q, n);
    free(q);
}

static void save_u32(const char *name, const uint8_t *p, size_t n, size_t pos, uint32_t v)
{
    save_patched(name, p, n, pos, &v, 4);
}

static void save_u64(const char *name, const uint8_t *p, size_t n, size_t pos, uint64_t v)
{
    save_patched(name, p, n, pos, &v, 8);
}

/* Byte positions of a key's type field and of a tensor's fields. */
static size_t kv_type_pos(const uint8_t *p, size_t n, const char *key)
{
    bn_gguf g;
    size_t pos = 0;
    if (bn_gguf_parse(&g, p, n) == BN_OK) {
        const bn_gguf_kv *kv = bn_gguf_find_kv(&g, key);
        if (kv)
            pos = (size_t)((const uint8_t *)kv->key.ptr - p) + (size_t)kv->key.len;
        bn_gguf_release(&g);
    }
    if (!pos) {
        fprintf(stderr, "gen_corpus: no key %s\n", key);
        failures++;
    }
    return pos;
}

typedef struct tpos {
    size_t n_dims, type, offset;
    uint64_t data;          /* payload position in the file */
} tpos;

static tpos tensor_pos(const uint8_t *p, size_t n, const char *name)
{
    bn_gguf g;
    tpos r = { 0, 0, 0, 0 };
    if (bn_gguf_parse(&g, p, n) == BN_OK) {
        const bn_gguf_tensor *t = bn_gguf_find_tensor(&g, name);
        if (t) {
            r.n_dims = (size_t)((const uint8_t *)t->name.ptr - p) + (size_t)t->name.len;
            r.type = r.n_dims + 4 + 8 * t->n_dims;
            r.offset = r.type + 4;
            r.data = g.data_offset + t->offset;
        }
        bn_gguf_release(&g);
    }
    if (!r.n_dims) {
        fprintf(stderr, "gen_corpus: no tensor %s\n", name);
        failures++;
    }
    return r;
}

static int relu2_meta(bn_gguf_writer *w, void *user)
{
    (void)user;
    return bn_gguf_writer_add_str(w, "bitnet.hidden_activation", "relu2", 5);
}

static const uint8_t a_u8[] = { 1, 2, 3 };
static const int32_t a_i32[] = { -1, 0, 1 };
static const float a_f32[] = { 0.5f, -1e30f, 2.0f };
static const uint8_t a_bool[] = { 1, 0 };
static const char *const a_str[] = { "a", "", "bc" };

static int all_types_meta(bn_gguf_writer *w, void *user)
{
    (void)user;
    int rc = 0;
    rc |= bn_gguf_writer_add_uint(w, "general.file_type", BN_GGUF_U32, BN_FILE_TYPE_MOSTLY_I2_S);
    rc |= bn_gguf_writer_add_uint(w, "u8", BN_GGUF_U8, 1);
    rc |= bn_gguf_writer_add_int(w, "i8", BN_GGUF_I8, -1);
    rc |= bn_gguf_writer_add_uint(w, "u16", BN_GGUF_U16, 2);
    rc |= bn_gguf_writer_add_int(w, "i16", BN_GGUF_I16, -2);
    rc |= bn_gguf_writer_add_uint(w, "u32", BN_GGUF_U32, 3);
    rc |= bn_gguf_writer_add_int(w, "i32", BN_GGUF_I32, -3);
    rc |= bn_gguf_writer_add_float(w, "f32", BN_GGUF_F32, 0.5);
    rc |= bn_gguf_writer_add_bool(w, "bool", 1);
    rc |= bn_gguf_writer_add_str(w, "str", "s", 1);
    rc |= bn_gguf_writer_add_uint(w, "u64", BN_GGUF_U64, 4);
    rc |= bn_gguf_writer_add_int(w, "i64", BN_GGUF_I64, -4);
    rc |= bn_gguf_writer_add_float(w, "f64", BN_GGUF_F64, 0.25);
    rc |= bn_gguf_writer_add_array(w, "a.u8", BN_GGUF_U8, a_u8, 3);
    rc |= bn_gguf_writer_add_array(w, "a.i32", BN_GGUF_I32, a_i32, 3);
    rc |= bn_gguf_writer_add_array(w, "a.f32", BN_GGUF_F32, a_f32, 3);
    rc |= bn_gguf_writer_add_array(w, "a.bool", BN_GGUF_BOOL, a_bool, 2);
    rc |= bn_gguf_writer_add_str_array(w, "a.str", a_str, NULL, 3);
    rc |= bn_gguf_writer_add_array(w, "a.empty", BN_GGUF_U64, NULL, 0);
    return rc ? BN_E_INTERNAL : BN_OK;
}

static int build_model(const bn_test_model_spec *s, uint8_t **p, size_t *n)
{
    int rc = bn_test_model_gguf(s, p, n);
    if (rc) {
        fprintf(stderr, "gen_corpus: model: %s\n", bn_last_error());
        failures++;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    bn_test_model_spec s;
    uint8_t *p = NULL;
    size_t n = 0;

    /* F32 model */
    bn_test_model_spec_default(&s);
    if (!build_model(&s, &p, &n)) {
        save("valid-f32", p, n);
        tpos q = tensor_pos(p, n, "blk.0.attn_q.weight");
        save_u32("bad-f32-as-id36", p, n, q.type, 36);
        free(p);
    }

    /* I2_S model, and broken variants of it */
    bn_test_model_spec_default(&s);
    s.weight_type = BN_TYPE_I2_S;
    if (!build_model(&s, &p, &n)) {
        save("valid-i2s", p, n);
        save("bad-i2s-truncated", p, n / 2);
        tpos q = tensor_pos(p, n, "blk.0.attn_q.weight");
        tpos k = tensor_pos(p, n, "blk.0.attn_k.weight");
        save_patched("bad-i2s-code3", p, n, (size_t)q.data + 3, "\xff", 1);
        save_patched("bad-i2s-scale-nan", p, n, (size_t)q.data + 64, "\x00\x00\xc0\x7f", 4);
        uint64_t q_off;
        memcpy(&q_off, p + q.offset, 8);
        save_u64("bad-overlap", p, n, k.offset, q_off);
        save_u64("bad-offset-huge", p, n, k.offset, UINT64_MAX - 31);
        save_u32("bad-type-tl1", p, n, q.type, 38);
        save_u32("bad-n-dims-5", p, n, q.n_dims, 5);
        save_u64("bad-kv-count-huge", p, n, 16, UINT64_MAX);
        save_u64("bad-tensor-count-huge", p, n, 8, 1ull << 40);
        save_u32("bad-version-1", p, n, 4, 1);
        size_t name = kv_type_pos(p, n, "general.name");
        save_u64("bad-string-length-huge", p, n, name + 4, UINT64_MAX - 3);
        size_t ft = kv_type_pos(p, n, "general.file_type");
        save_u32("bad-i2s-file-type-0", p, n, ft + 4, 0);
        size_t nl = kv_type_pos(p, n, "bitnet-b1.58.block_count");
        save_u32("bad-block-count-2", p, n, nl + 4, 2);
        free(p);
    }

    /* F16, untied, GGUF v2, alignment 64 */
    bn_test_model_spec_default(&s);
    s.weight_type = BN_TYPE_F16;
    s.embd_type = BN_TYPE_F16;
    s.tied = 0;
    s.version = 2;
    s.alignment = 64;
    if (!build_model(&s, &p, &n)) {
        save("valid-f16-untied-v2-align64", p, n);
        size_t al = kv_type_pos(p, n, "general.alignment");
        save_u32("bad-alignment-3", p, n, al + 4, 3);
        save_u32("bad-alignment-type-i32", p, n, al, BN_GGUF_I32);
        free(p);
    }

    /* llama: no sub-norms, BF16 weights, Q8_0 embedding */
    bn_test_model_spec_default(&s);
    s.arch = "llama";
    s.n_embd = 32;
    s.n_ff = 64;
    s.weight_type = BN_TYPE_BF16;
    s.embd_type = BN_TYPE_Q8_0;
    if (!build_model(&s, &p, &n)) {
        save("valid-llama-bf16-q8", p, n);
        free(p);
    }

    /* bitnet (1bitLLM) with hidden_activation and a per-tensor output scale */
    static const bn_test_tensor scale[] = {
        { "blk.0.attn_q.scale", BN_TYPE_F32, 1, { 1, 1, 1, 1 } },
        { "blk.0.ffn_down.scale", BN_TYPE_F32, 1, { 1, 1, 1, 1 } },
    };
    bn_test_model_spec_default(&s);
    s.arch = "bitnet";
    s.weight_type = BN_TYPE_I2_S;
    s.meta = relu2_meta;
    s.extra = scale;
    s.n_extra = 2;
    if (!build_model(&s, &p, &n)) {
        save("valid-bitnet-relu2-scales", p, n);
        free(p);
    }

    /* every metadata and tensor type, not a model */
    static const bn_test_tensor ts[] = {
        { "f32", BN_TYPE_F32, 2, { 4, 2, 1, 1 } },
        { "f16", BN_TYPE_F16, 1, { 8, 1, 1, 1 } },
        { "bf16", BN_TYPE_BF16, 3, { 2, 2, 2, 1 } },
        { "q8_0", BN_TYPE_Q8_0, 1, { 32, 1, 1, 1 } },
        { "tq1_0", BN_TYPE_TQ1_0, 1, { 256, 1, 1, 1 } },
        { "tq2_0", BN_TYPE_TQ2_0, 1, { 256, 1, 1, 1 } },
        { "i2_s", BN_TYPE_I2_S, 4, { 32, 2, 1, 2 } },
    };
    if (bn_test_gguf_build(3, 32, all_types_meta, NULL, ts, sizeof ts / sizeof ts[0], &p, &n)
        == BN_OK) {
        save("valid-all-types", p, n);
        size_t arr = kv_type_pos(p, n, "a.u8");
        save_u32("bad-nested-array", p, n, arr + 4, BN_GGUF_ARRAY);
        size_t b = kv_type_pos(p, n, "bool");
        save_patched("bad-bool-2", p, n, b + 4, "\x02", 1);
        size_t u32 = kv_type_pos(p, n, "u32");
        save_patched("bad-duplicate-key", p, n, u32 - 3, "i32", 3);
        tpos tq2 = tensor_pos(p, n, "tq2_0");
        save_u64("bad-tq2-row-128", p, n, tq2.n_dims + 4, 128);
        free(p);
    } else {
        failures++;
    }
    return failures ? 1 : 0;
}
