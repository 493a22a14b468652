#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/fp16.h"

/* ---- files -------------------------------------------------------------- */

char *bn_test_temp_file(const void *data, size_t size)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    size_t n = strlen(dir) + sizeof "/bn_test_XXXXXX";
    char *path = malloc(n);
    if (!path)
        return NULL;
    snprintf(path, n, "%s/bn_test_XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    const uint8_t *p = data;
    size_t done = 0;
    while (done < size) {
        ssize_t k = write(fd, p + done, size - done);
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    if (close(fd) != 0 || done != size) {
        unlink(path);
        free(path);
        return NULL;
    }
    return path;
}

void bn_test_temp_file_remove(char *path)
{
    if (!path)
        return;
    unlink(path);
    free(path);
}

uint8_t *bn_test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *p = realloc(buf, cap + 1);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t k = fread(buf + len, 1, cap - len, f);
        len += k;
        if (k == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    *size = len;
    return buf;
}

/* ---- tensor payloads ---------------------------------------------------- */

/* splitmix64: a counter-based generator, so payloads depend only on (seed, i). */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rnd(uint64_t seed, uint64_t i)
{
    return mix(mix(seed) ^ i);
}

/* A float in [-1, 1] with few significant bits (exact in f16 and bf16). */
static float rnd_float(uint64_t seed, uint64_t i)
{
    return (float)((int)(rnd(seed, i) % 257) - 128) / 128.0f;
}

static uint8_t rnd_code(uint64_t seed, uint64_t i)
{
    return (uint8_t)(rnd(seed, i) % 3);
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

uint8_t *bn_test_payload(uint32_t type, uint64_t ne0, uint64_t n_elements, uint64_t seed,
                         size_t *nbytes)
{
    uint64_t n64;
    if (!bn_type_nbytes(type, ne0, n_elements, &n64) || n64 > SIZE_MAX / 2)
        return NULL;
    size_t n = (size_t)n64;
    uint8_t *p = calloc(1, n ? n : 1);
    if (!p)
        return NULL;
    switch (type) {
    case BN_TYPE_F32:
        for (uint64_t i = 0; i < n_elements; i++) {
            float v = rnd_float(seed, i);
            memcpy(p + 4 * i, &v, 4);
        }
        break;
    case BN_TYPE_F16:
        for (uint64_t i = 0; i < n_elements; i++)
            put16(p + 2 * i, bn_f16_from_f32(rnd_float(seed, i)));
        break;
    case BN_TYPE_BF16:
        for (uint64_t i = 0; i < n_elements; i++)
            put16(p + 2 * i, (uint16_t)(bn_f32_bits(rnd_float(seed, i)) >> 16));
        break;
    case BN_TYPE_Q8_0:
        for (uint64_t b = 0; b < n_elements / BN_QK8_0; b++) {
            uint8_t *blk = p + b * sizeof(bn_block_q8_0);
            put16(blk, bn_f16_from_f32(1.0f / 64.0f));
            for (uint32_t k = 0; k < BN_QK8_0; k++)
                blk[2 + k] = (uint8_t)(int8_t)((int)(rnd(seed, b * BN_QK8_0 + k) % 255) - 127);
        }
        break;
    case BN_TYPE_TQ2_0:
        for (uint64_t b = 0; b < n_elements / BN_QK_K; b++) {
            uint8_t *blk = p + b * sizeof(bn_block_tq2_0);
            for (uint32_t k = 0; k < BN_QK_K / 4; k++) {
                uint64_t i = b * BN_QK_K + 4 * k;
                blk[k] = (uint8_t)(rnd_code(seed, i) | rnd_code(seed, i + 1) << 2
                                   | rnd_code(seed, i + 2) << 4 | rnd_code(seed, i + 3) << 6);
            }
            put16(blk + offsetof(bn_block_tq2_0, d), bn_f16_from_f32(0.5f));
        }
        break;
    case BN_TYPE_TQ1_0:
        for (uint64_t b = 0; b < n_elements / BN_QK_K; b++) {
            uint8_t *blk = p + b * sizeof(bn_block_tq1_0);
            /* 52 bytes of 5 trits each, q = c0*81 + c1*27 + c2*9 + c3*3 + c4
             * stored as ceil(q * 256 / 243); the qh bytes end in a 0 trit */
            for (uint32_t k = 0; k < 52; k++) {
                uint32_t q = 0;
                for (uint32_t t = 0; t < 5; t++)
                    q = q * 3 + (k >= 48 && t == 4 ? 0 : rnd_code(seed, b * 260 + k * 5 + t));
                blk[k] = (uint8_t)((q * 256 + 242) / 243);
            }
            put16(blk + offsetof(bn_block_tq1_0, d), bn_f16_from_f32(0.25f));
        }
        break;
    case BN_TYPE_I2_S: {
        for (uint64_t i = 0; i < n_elements / 4; i++)
            p[i] = (uint8_t)(rnd_code(seed, 4 * i) << 6 | rnd_code(seed, 4 * i + 1) << 4
                             | rnd_code(seed, 4 * i + 2) << 2 | rnd_code(seed, 4 * i + 3));
        float scale = 0.5f + (float)(seed % 8) / 16.0f;
        memcpy(p + n_elements / 4, &scale, 4);
        break;
    }
    default:
        /* types the library only knows by name: any bytes will do */
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)rnd(seed, i);
        break;
    }
    *nbytes = n;
    return p;
}

/* ---- GGUF images ---------------------------------------------------------- */

int bn_test_gguf_to_memory(bn_gguf_writer *w, bn_gguf_emit_fn emit, void *user, uint8_t **data,
                           size_t *size)
{
    char *buf = NULL;
    size_t len = 0;
    *data = NULL;
    *size = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return BN_E_NOMEM;
    int rc = bn_gguf_writer_write(w, f, emit, user);
    if (fclose(f) != 0 && !rc)
        rc = BN_E_IO;
    if (rc) {
        free(buf);
        return rc;
    }
    *data = (uint8_t *)buf;
    *size = len;
    return BN_OK;
}

typedef struct build_ctx {
    const bn_test_tensor *tensors;
} build_ctx;

static uint64_t count_elements(const bn_test_tensor *t)
{
    uint64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims && d < 4; d++)
        n *= t->ne[d];
    return n;
}

static int emit_payload(void *user, uint64_t i, FILE *f)
{
    const build_ctx *b = user;
    const bn_test_tensor *t = &b->tensors[i];
    size_t n;
    uint8_t *p = bn_test_payload(t->type, t->ne[0], count_elements(t), i, &n);
    if (!p)
        return BN_E_INVALID_ARG;
    int rc = fwrite(p, 1, n, f) == n ? BN_OK : BN_E_IO;
    free(p);
    return rc;
}

int bn_test_gguf_build(uint32_t version, uint32_t alignment, bn_test_meta_fn meta, void *user,
                       const bn_test_tensor *tensors, size_t n_tensors, uint8_t **data,
                       size_t *size)
{
    bn_gguf_writer *w = NULL;
    *data = NULL;
    *size = 0;
    int rc = bn_gguf_writer_new(&w, version, alignment); /* writes general.alignment */
    if (!rc && meta)
        rc = meta(w, user);
    for (size_t i = 0; !rc && i < n_tensors; i++)
        rc = bn_gguf_writer_add_tensor(w, tensors[i].name, tensors[i].n_dims, tensors[i].ne,
                                       tensors[i].type);
    build_ctx b = { tensors };
    if (!rc)
        rc = bn_test_gguf_to_memory(w, emit_payload, &b, data, size);
    bn_gguf_writer_free(&w);
    return rc;
}

/* ---- tiny models ---------------------------------------------------------- */

void bn_test_model_spec_default(bn_test_model_spec *s)
{
    memset(s, 0, sizeof *s);
    s->arch = "bitnet-b1.58";
    s->version = 3;
    s->alignment = BN_GGUF_DEFAULT_ALIGNMENT;
    s->n_embd = 16;
    s->n_layer = 1;
    s->n_ff = 32;
    s->n_head = 2;
    s->n_head_kv = 1;
    s->n_vocab = 8;
    s->n_ctx = 64;
    s->weight_type = BN_TYPE_F32;
    s->embd_type = BN_TYPE_F32;
    s->tied = 1;
}

static uint32_t file_type_of(uint32_t weight_type)
{
    switch (weight_type) {
    case BN_TYPE_F16: return 1;
    case BN_TYPE_BF16: return 32;
    case BN_TYPE_TQ1_0: return 36;  /* llama.cpp's LLAMA_FTYPE_MOSTLY_TQ1_0 */
    case BN_TYPE_TQ2_0: return 37;
    case BN_TYPE_I2_S: return BN_FILE_TYPE_MOSTLY_I2_S;
    default: return 0;
    }
}

static int omitted(const bn_test_model_spec *s, const char *name)
{
    return s->omit && !strcmp(s->omit, name);
}

static int model_meta(bn_gguf_writer *w, void *user)
{
    const bn_test_model_spec *s = user;
    char key[128];
    int rc = BN_OK;
#define META_U32(suffix, v)                                                              \
    do {                                                                                 \
        snprintf(key, sizeof key, "%s.%s", s->arch, suffix);                             \
        if (!rc && !omitted(s, key))                                                     \
            rc = bn_gguf_writer_add_uint(w, key, BN_GGUF_U32, v);                        \
    } while (0)
    if (!omitted(s, "general.architecture"))
        rc = bn_gguf_writer_add_str(w, "general.architecture", s->arch, strlen(s->arch));
    if (!rc && !omitted(s, "general.name"))
        rc = bn_gguf_writer_add_str(w, "general.name", "bn-test", 7);
    if (!rc && !omitted(s, "general.file_type"))
        rc = bn_gguf_writer_add_uint(w, "general.file_type", BN_GGUF_U32,
                                     file_type_of(s->weight_type));
    META_U32("context_length", s->n_ctx);
    META_U32("embedding_length", s->n_embd);
    META_U32("block_count", s->n_layer);
    META_U32("feed_forward_length", s->n_ff);
    META_U32("attention.head_count", s->n_head);
    META_U32("attention.head_count_kv", s->n_head_kv);
    META_U32("vocab_size", s->n_vocab);
#undef META_U32
    snprintf(key, sizeof key, "%s.rope.freq_base", s->arch);
    if (!rc && !omitted(s, key))
        rc = bn_gguf_writer_add_float(w, key, BN_GGUF_F32, 500000.0);
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", s->arch);
    if (!rc && !omitted(s, key))
        rc = bn_gguf_writer_add_float(w, key, BN_GGUF_F32, 1e-5);
    if (!rc && s->meta)
        rc = s->meta(w, s->meta_user);
    return rc;
}

#define MODEL_NAME_LEN 48

typedef struct tensor_list {
    const bn_test_model_spec *spec;
    bn_test_tensor *ts;
    char *names;            /* MODEL_NAME_LEN bytes per tensor */
    size_t n;
} tensor_list;

/* Appends "<what>.weight" (layer < 0) or "blk.<layer>.<what>.weight", a
 * vector when ne1 is 0, unless the spec omits it. */
static void add_tensor(tensor_list *l, const char *what, int layer, uint32_t type, uint64_t ne0,
                       uint64_t ne1)
{
    char *nm = l->names + l->n * MODEL_NAME_LEN;
    if (layer < 0)
        snprintf(nm, MODEL_NAME_LEN, "%s.weight", what);
    else
        snprintf(nm, MODEL_NAME_LEN, "blk.%d.%s.weight", layer, what);
    if (omitted(l->spec, nm))
        return;
    bn_test_tensor *t = &l->ts[l->n++];
    t->name = nm;
    t->type = type;
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->ne[2] = t->ne[3] = 1;
}

int bn_test_model_gguf(const bn_test_model_spec *s, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (!s || !s->arch || s->n_layer > 4096 || (s->n_extra && !s->extra))
        return BN_E_INVALID_ARG;
    int sub_norms = strcmp(s->arch, "llama") != 0;
    size_t max = 3 + (size_t)s->n_layer * 11 + s->n_extra;
    tensor_list l = { s, calloc(max, sizeof *l.ts), calloc(max, MODEL_NAME_LEN), 0 };
    if (!l.ts || !l.names) {
        free(l.ts);
        free(l.names);
        return BN_E_NOMEM;
    }
    uint64_t e = s->n_embd, f = s->n_ff, v = s->n_vocab;
    uint64_t kv = s->n_head ? e / s->n_head * s->n_head_kv : 0;
    uint32_t wt = s->weight_type;
    add_tensor(&l, "token_embd", -1, s->embd_type, e, v);
    add_tensor(&l, "output_norm", -1, BN_TYPE_F32, e, 0);
    if (!s->tied)
        add_tensor(&l, "output", -1, s->embd_type, e, v);
    for (int il = 0; il < (int)s->n_layer; il++) {
        add_tensor(&l, "attn_norm", il, BN_TYPE_F32, e, 0);
        add_tensor(&l, "attn_q", il, wt, e, e);
        add_tensor(&l, "attn_k", il, wt, e, kv);
        add_tensor(&l, "attn_v", il, wt, e, kv);
        if (sub_norms)
            add_tensor(&l, "attn_sub_norm", il, BN_TYPE_F32, e, 0);
        add_tensor(&l, "attn_output", il, wt, e, e);
        add_tensor(&l, "ffn_norm", il, BN_TYPE_F32, e, 0);
        add_tensor(&l, "ffn_gate", il, wt, e, f);
        add_tensor(&l, "ffn_up", il, wt, e, f);
        if (sub_norms)
            add_tensor(&l, "ffn_sub_norm", il, BN_TYPE_F32, f, 0);
        add_tensor(&l, "ffn_down", il, wt, f, e);
    }
    for (size_t i = 0; i < s->n_extra; i++)
        l.ts[l.n++] = s->extra[i];
    int rc = bn_test_gguf_build(s->version, s->alignment, model_meta, (void *)s, l.ts, l.n, data,
                                size);
    free(l.ts);
    free(l.names);
    return rc;
}

uint64_t bn_test_statm_bytes(int field)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    unsigned long long v[2] = { 0, 0 };
    if (fp) {
        if (fscanf(fp, "%llu %llu", &v[0], &v[1]) != 2)
            v[0] = v[1] = 0;
        fclose(fp);
    }
    return field == 0 || field == 1 ? (uint64_t)v[field] * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

int bn_test_rlimit_as_binds(void)
{
    void *p = mmap(NULL, (size_t)1 << 30, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    munmap(p, (size_t)1 << 30);
    return 0;
}
