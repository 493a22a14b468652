#include "tiny_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "core/fp16.h"
#include "gguf/gguf.h"

void bn_tiny_default(bn_tiny_opts *o)
{
    memset(o, 0, sizeof *o);
    o->arch = "bitnet-b1.58";
    o->weight_type = BN_TYPE_I2_S;
    o->file_type = -1;
}

typedef struct tensor_spec {
    char name[64];
    uint64_t ne[2];
    uint32_t n_dims, type;
} tensor_spec;

typedef struct build_state {
    const bn_tiny_opts *o;
    tensor_spec t[32];
    int n;
} build_state;

static void add(build_state *s, const char *name, uint64_t ne0, uint64_t ne1, uint32_t type)
{
    if (s->o->skip_tensor && !strcmp(name, s->o->skip_tensor))
        return;
    tensor_spec *t = &s->t[s->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ne[0] = ne0 + (s->o->bad_shape_tensor && !strcmp(name, s->o->bad_shape_tensor) ? 256 : 0);
    t->ne[1] = ne1;
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->type = type;
}

/* Deterministic payloads: ternary codes cycle through -1, 0, 1. */
static int emit(void *user, uint64_t i, FILE *f)
{
    build_state *s = user;
    const tensor_spec *t = &s->t[i];
    uint64_t n = t->ne[0] * t->ne[1];
    switch (t->type) {
    case BN_TYPE_F32:
        for (uint64_t k = 0; k < n; k++) {
            float v = (t->n_dims == 1) ? 1.0f : (float)((k * 7) % 13) * 0.01f - 0.06f;
            fwrite(&v, 4, 1, f);
        }
        break;
    case BN_TYPE_F16:
        for (uint64_t k = 0; k < n; k++) {
            uint16_t h = bn_f16_from_f32((float)((k * 7) % 13) * 0.01f - 0.06f);
            fwrite(&h, 2, 1, f);
        }
        break;
    case BN_TYPE_I2_S: {
        for (uint64_t k = 0; k < n / 4; k++) {
            uint8_t b = (uint8_t)((0u << 6) | (1u << 4) | (2u << 2) | (uint8_t)(k % 3));
            if (s->o->code3 && k == 5 && !strcmp(t->name, "blk.0.attn_q.weight"))
                b = 0xff;
            fputc(b, f);
        }
        float scale = 0.05f;
        fwrite(&scale, 4, 1, f);
        for (int k = 0; k < 28; k++)
            fputc(0, f);
        break;
    }
    case BN_TYPE_TQ2_0:
        for (uint64_t b = 0; b < n / 256; b++) {
            for (int k = 0; k < 64; k++)
                fputc(0x24 + (int)(k % 3), f); /* codes 0..2 only */
            uint16_t d = bn_f16_from_f32(0.05f);
            fwrite(&d, 2, 1, f);
        }
        break;
    default:
        return -1;
    }
    return 0;
}

uint8_t *bn_tiny_build(const bn_tiny_opts *o, size_t *size)
{
    build_state s = { .o = o };
    const char *a = o->arch;
    const int E = BN_TINY_N_EMBD, F = BN_TINY_N_FF, V = BN_TINY_N_VOCAB;
    const int KV = E / BN_TINY_N_HEAD * BN_TINY_N_HEAD_KV;
    bn_gguf_writer *w = NULL;
    if (bn_gguf_writer_new(&w, 3, 32))
        return NULL;
    char key[128];
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", a, suffix), key)
    bn_gguf_writer_add_str(w, "general.architecture", a, strlen(a));
    bn_gguf_writer_add_str(w, "general.name", "tiny", 4);
    int ft = o->file_type >= 0 ? o->file_type : (o->weight_type == BN_TYPE_I2_S ? 40 : 1);
    bn_gguf_writer_add_uint(w, "general.file_type", BN_GGUF_U32, (uint64_t)ft);
    if (!o->skip_key)
        bn_gguf_writer_add_uint(w, KEY("embedding_length"), BN_GGUF_U32, (uint64_t)E);
    bn_gguf_writer_add_uint(w, KEY("block_count"), BN_GGUF_U32, 1);
    bn_gguf_writer_add_uint(w, KEY("feed_forward_length"), BN_GGUF_U32, (uint64_t)F);
    bn_gguf_writer_add_uint(w, KEY("attention.head_count"), BN_GGUF_U32, BN_TINY_N_HEAD);
    bn_gguf_writer_add_uint(w, KEY("attention.head_count_kv"), BN_GGUF_U32, BN_TINY_N_HEAD_KV);
    bn_gguf_writer_add_uint(w, KEY("context_length"), BN_GGUF_U32, 64);
    bn_gguf_writer_add_float(w, KEY("rope.freq_base"), BN_GGUF_F32, 10000.0);
    bn_gguf_writer_add_float(w, KEY("attention.layer_norm_rms_epsilon"), BN_GGUF_F32, 1e-5);
    if (o->hidden_activation)
        bn_gguf_writer_add_str(w, KEY("hidden_activation"), o->hidden_activation,
                               strlen(o->hidden_activation));
    if (o->vocab_size_key)
        bn_gguf_writer_add_uint(w, KEY("vocab_size"), BN_GGUF_U32, (uint64_t)o->vocab_size_key);
#undef KEY
    uint32_t wt = o->weight_type;
    add(&s, "token_embd.weight", E, V, BN_TYPE_F16);
    add(&s, "blk.0.attn_norm.weight", E, 1, BN_TYPE_F32);
    add(&s, "blk.0.attn_q.weight", E, E, wt);
    add(&s, "blk.0.attn_k.weight", E, KV, wt);
    add(&s, "blk.0.attn_v.weight", E, KV, wt);
    if (!o->llama_layout)
        add(&s, "blk.0.attn_sub_norm.weight", E, 1, BN_TYPE_F32);
    add(&s, "blk.0.attn_output.weight", E, E, wt);
    add(&s, "blk.0.ffn_norm.weight", E, 1, BN_TYPE_F32);
    add(&s, "blk.0.ffn_gate.weight", E, F, wt);
    add(&s, "blk.0.ffn_up.weight", E, F, wt);
    if (!o->llama_layout)
        add(&s, "blk.0.ffn_sub_norm.weight", F, 1, BN_TYPE_F32);
    add(&s, "blk.0.ffn_down.weight", F, E, wt);
    if (o->extra_layer_tensor)
        add(&s, "blk.1.attn_norm.weight", E, 1, BN_TYPE_F32);
    add(&s, "output_norm.weight", E, 1, BN_TYPE_F32);
    if (o->llama_layout)
        add(&s, "output.weight", E, V, BN_TYPE_F16);
    for (int i = 0; i < s.n; i++)
        if (bn_gguf_writer_add_tensor(w, s.t[i].name, s.t[i].n_dims, s.t[i].ne, s.t[i].type)) {
            bn_gguf_writer_free(&w);
            return NULL;
        }
    char *buf = NULL;
    FILE *f = open_memstream(&buf, size);
    int rc = f ? bn_gguf_writer_write(w, f, emit, &s) : -1;
    if (f)
        fclose(f);
    bn_gguf_writer_free(&w);
    if (rc) {
        free(buf);
        return NULL;
    }
    return (uint8_t *)buf;
}

int bn_tiny_fixture_setup(void **state)
{
    bn_tiny_fixture *f = calloc(1, sizeof *f);
    bn_tiny_opts o;
    bn_tiny_default(&o);
    if (!f || !(f->img = bn_tiny_build(&o, &f->size))
        || bn_model_load_from_memory(&f->model, f->img, f->size, NULL) != BN_OK) {
        if (f)
            free(f->img);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int bn_tiny_fixture_teardown(void **state)
{
    bn_tiny_fixture *f = *state;
    bn_model_free(&f->model);
    free(f->img);
    free(f);
    return 0;
}
