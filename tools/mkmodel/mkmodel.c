/* The generator's driver: options, then metadata and tensor list, then one
 * streaming pass that writes the file. */
#include "mkmodel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "gguf/gguf.h"
#include "mkmodel_config.h"
#include "mkmodel_meta.h"
#include "mkmodel_tensors.h"
#include "mkmodel_vocab.h"

#define GGUF_VERSION 3
#define IO_BUFFER_SIZE ((size_t)1 << 20)

static const bn_mkmodel_hparams shapes[BN_MKMODEL_SHAPE_COUNT] = {
    /* n_embd n_layer n_ff n_head n_head_kv n_vocab n_ctx rope_theta rms_eps */
    [BN_MKMODEL_SHAPE_SMALL] = { 256, 4, 768, 4, 2, 1024, 512, 500000.0, 1e-5 },
    /* microsoft/bitnet-b1.58-2B-4T */
    [BN_MKMODEL_SHAPE_2B4T] = { 2560, 30, 6912, 20, 5, 128256, 4096, 500000.0, 1e-5 },
};

static const char *name_of(const char *const *names, int count, int i)
{
    return i >= 0 && i < count ? names[i] : NULL;
}

const char *bn_mkmodel_shape_name(int shape)
{
    static const char *const n[] = { "small", "2b4t" };
    return name_of(n, BN_MKMODEL_SHAPE_COUNT, shape);
}

const char *bn_mkmodel_type_name(int type)
{
    static const char *const n[] = { "i2_s", "tq2_0", "tq1_0", "f16", "f32" };
    return name_of(n, BN_MKMODEL_TYPE_COUNT, type);
}

const char *bn_mkmodel_family_name(int family)
{
    static const char *const n[] = { "bitnet", "llama" };
    return name_of(n, BN_MKMODEL_FAMILY_COUNT, family);
}

const char *bn_mkmodel_act_name(int act)
{
    static const char *const n[] = { NULL, "relu2", "silu" };
    return name_of(n, BN_MKMODEL_ACT_COUNT, act);
}

const char *bn_mkmodel_arch_name(int arch)
{
    static const char *const n[] = { NULL, "bitnet-b1.58", "bitnet-25", "bitnet" };
    return name_of(n, BN_MKMODEL_ARCH_COUNT, arch);
}

const char *bn_mkmodel_embd_name(int embd)
{
    static const char *const n[] = { NULL, "f16", "f32" };
    return name_of(n, BN_MKMODEL_EMBD_COUNT, embd);
}

const char *bn_mkmodel_scales_name(int scales)
{
    static const char *const n[] = { "tensor", "row", "block" };
    return name_of(n, BN_MKMODEL_SCALES_COUNT, scales);
}

void bn_mkmodel_set_shape(bn_mkmodel_opts *o, enum bn_mkmodel_shape shape)
{
    if ((unsigned)shape >= BN_MKMODEL_SHAPE_COUNT)
        return;
    o->shape = shape;
    o->hp = shapes[shape];
}

void bn_mkmodel_default_opts(bn_mkmodel_opts *o)
{
    memset(o, 0, sizeof *o);
    bn_mkmodel_set_shape(o, BN_MKMODEL_SHAPE_SMALL);
    o->type = BN_MKMODEL_F32;
    o->family = BN_MKMODEL_FAMILY_BITNET;
    o->act = BN_MKMODEL_ACT_DEFAULT;
    o->arch = BN_MKMODEL_ARCH_DEFAULT;
    o->embd_type = BN_MKMODEL_EMBD_DEFAULT;
    o->embd_std = 0.04;
    o->seed = 1;
    o->vocab = "synthetic";
    o->log = stderr;
}

/* Everything but the payloads, shared by write and describe. */
typedef struct model {
    bn_mkmodel_config c;
    bn_mkmodel_vocab vocab;
    bn_mkmodel_meta meta;
    bn_mkmodel_tensor *tensors;
    uint64_t n_tensors;
} model;

static void model_free(model *m)
{
    bn_mkmodel_vocab_free(&m->vocab);
    bn_mkmodel_meta_free(&m->meta);
    free(m->tensors);
    m->tensors = NULL;
}

static int model_build(model *m, const bn_mkmodel_opts *o)
{
    memset(m, 0, sizeof *m);
    int rc = bn_mkmodel_resolve(o, &m->c);
    if (!rc) rc = bn_mkmodel_vocab_build(&m->vocab, o->vocab, (uint64_t)m->c.hp.n_vocab, o->seed);
    if (!rc) rc = bn_mkmodel_meta_build(&m->meta, o, &m->c, &m->vocab);
    if (!rc) rc = bn_mkmodel_tensor_plan(&m->c, &m->tensors, &m->n_tensors);
    if (rc)
        model_free(m);
    return rc;
}

uint64_t bn_mkmodel_tensor_count(const bn_mkmodel_opts *o)
{
    bn_mkmodel_opts quiet = *o;
    quiet.log = NULL;
    bn_mkmodel_config c;
    return bn_mkmodel_resolve(&quiet, &c) ? 0 : bn_mkmodel_tensor_plan_count(&c);
}

typedef struct emit_ctx {
    bn_mkmodel_emitter e;
    const bn_mkmodel_tensor *tensors;
} emit_ctx;

static int emit_tensor(void *user, uint64_t index, FILE *f)
{
    emit_ctx *ctx = user;
    return bn_mkmodel_emit(&ctx->e, &ctx->tensors[index], f);
}

static int write_file(const model *m, const bn_mkmodel_opts *o, bn_gguf_writer *w,
                      const char *path)
{
    emit_ctx ctx = { .tensors = m->tensors };
    int rc = bn_mkmodel_emitter_init(&ctx.e, o->seed, o->embd_std, o->scales, o->verbose ? o->log : NULL);
    if (rc)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f) {
        bn_mkmodel_emitter_free(&ctx.e);
        return bn_fail(BN_E_IO, "cannot create '%s': %s", path, strerror(errno));
    }
    /* Only a regular file is removed on failure: the path may be a device
     * such as /dev/null or /dev/stdout. */
    struct stat st;
    int regular = !fstat(fileno(f), &st) && S_ISREG(st.st_mode);
    setvbuf(f, NULL, _IOFBF, IO_BUFFER_SIZE);
    rc = bn_gguf_writer_write(w, f, emit_tensor, &ctx);
    if (rc)
        bn_fail_prefix(rc, path);
    if (fclose(f) && !rc)
        rc = bn_fail(BN_E_IO, "'%s': write failed: %s", path, strerror(errno));
    bn_mkmodel_emitter_free(&ctx.e);
    if (rc && regular)
        remove(path);               /* no truncated model left behind */
    return rc;
}

int bn_mkmodel_write(const bn_mkmodel_opts *o, const char *path)
{
    if (!path)
        return bn_fail(BN_E_INVALID_ARG, "mkmodel: NULL path");
    model m;
    int rc = model_build(&m, o);
    if (rc)
        return rc;
    bn_gguf_writer *w = NULL;
    rc = bn_gguf_writer_new(&w, GGUF_VERSION, BN_GGUF_DEFAULT_ALIGNMENT);
    if (!rc) rc = bn_mkmodel_meta_add_to(&m.meta, w);
    for (uint64_t i = 0; !rc && i < m.n_tensors; i++) {
        const bn_mkmodel_tensor *t = &m.tensors[i];
        rc = bn_gguf_writer_add_tensor(w, t->name, t->n_dims, t->ne, t->type);
    }
    if (!rc)
        rc = write_file(&m, o, w, path);
    bn_gguf_writer_free(&w);
    model_free(&m);
    return rc;
}

int bn_mkmodel_describe(const bn_mkmodel_opts *o, FILE *out)
{
    model m;
    int rc = model_build(&m, o);
    if (rc)
        return rc;
    bn_mkmodel_meta_print(&m.meta, out);
    for (uint64_t i = 0; i < m.n_tensors; i++) {
        const bn_mkmodel_tensor *t = &m.tensors[i];
        fprintf(out, "tensor %s [%llu", t->name, (unsigned long long)t->ne[0]);
        for (uint32_t d = 1; d < t->n_dims; d++)
            fprintf(out, ", %llu", (unsigned long long)t->ne[d]);
        fprintf(out, "] %s\n", bn_type_name(t->type));
    }
    model_free(&m);
    return BN_OK;
}
