/*
 * bitnet-convert: a Hugging Face checkpoint directory (config.json,
 * safetensors, tokenizer files) to a GGUF model that libbitnet loads, and for
 * TQ1_0 / TQ2_0 upstream llama.cpp too. One tensor at a time, from
 * memory-mapped files, so memory stays near the largest tensor. See
 * doc/convert.md for the sources and the layout facts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "core/error.h"
#include "cv_gguf.h"
#include "cv_progress.h"
#include "gguf/gguf_types.h"
#include "hf_config.h"
#include "hf_vocab.h"
#include "hf_weights.h"
#include "safetensors.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bitnet-convert DIR -o OUT.gguf [--type i2_s|tq2_0|tq1_0] [--output-type f16|q8_0|q4_0|f32]\n"
            "Convert a Hugging Face checkpoint (config.json, model.safetensors or its shards with\n"
            "model.safetensors.index.json, tokenizer.json or tokenizer.model, tokenizer_config.json,\n"
            "generation_config.json) to GGUF.\n\n"
            "  -o, --output FILE   the GGUF file to write (required)\n"
            "  --type T            ternary linear weights: i2_s (default; bitnet.cpp and libbitnet),\n"
            "                      tq2_0 or tq1_0 (also upstream llama.cpp)\n"
            "  --output-type T     output head: f16, q8_0, q4_0 or f32; default: an untied head as F16,\n"
            "                      a tied one stays tied\n"
            "  --name NAME         general.name (default: from config.json or DIR)\n"
            "  -h, --help          show this help and exit\n"
            "      --version       show the version and exit\n\n"
            "Sources: BitNetForCausalLM (microsoft/bitnet-b1.58-2B-4T and -bf16), BitnetForCausalLM\n"
            "(1bitLLM/bitnet_b1_58-*), LlamaForCausalLM quantised with bitnet (HF1BitLLM/Llama3-8B-1.58,\n"
            "tiiuae/Falcon3-*-1.58bit).\n");
}

typedef struct cv {
    const char *dir, *out, *name;
    uint32_t type;
    int head_type;
    hf_config cfg;
    st_model st;
    hf_vocab vocab;
    hf_weights w;
    uint64_t done;
} cv;

static int emit(void *user, uint64_t i, FILE *f)
{
    cv *c = user;
    if (hf_weights_emit(&c->w, i, f))
        return BN_E_FORMAT;
    cv_progress(++c->done, c->w.n, c->w.t[i].name);
    return BN_OK;
}

/* The GGUF architecture: bitnet.cpp's name for 2B4T in I2_S files, the
 * upstream llama.cpp names otherwise (doc/convert.md, "Output"). */
static const char *gguf_arch(const cv *c)
{
    switch (c->cfg.source) {
    case HF_BITNET_2B4T: return c->type == BN_TYPE_I2_S && c->cfg.relu2 ? "bitnet-b1.58" : "bitnet";
    case HF_BITNET_1BITLLM: return "bitnet";
    default: return "llama";
    }
}

static int add_metadata(cv *c, bn_gguf_writer *w)
{
    const hf_config *h = &c->cfg;
    const char *A = gguf_arch(c);
    const char *name = c->name ? c->name : h->name;
    char k[128];
    int rc = bn_gguf_writer_add_str(w, "general.architecture", A, strlen(A)) ||
             bn_gguf_writer_add_str(w, "general.name", name, strlen(name)) ||
             bn_gguf_writer_add_uint(w, "general.file_type", BN_GGUF_U32, cv_file_type(c->type)) ||
             bn_gguf_writer_add_uint(w, "general.quantization_version", BN_GGUF_U32, 2);
#define U(key, v) (snprintf(k, sizeof k, "%s." key, A), bn_gguf_writer_add_uint(w, k, BN_GGUF_U32, (uint64_t)(v)))
#define F(key, v) (snprintf(k, sizeof k, "%s." key, A), bn_gguf_writer_add_float(w, k, BN_GGUF_F32, (v)))
    rc = rc || U("vocab_size", h->n_vocab) || U("context_length", h->n_ctx) || U("embedding_length", h->n_embd) ||
         U("block_count", h->n_layer) || U("feed_forward_length", h->n_ff) ||
         U("attention.head_count", h->n_head) || U("attention.head_count_kv", h->n_head_kv) ||
         F("rope.freq_base", h->rope_theta) || F("attention.layer_norm_rms_epsilon", h->rms_eps) ||
         U("rope.dimension_count", h->head_dim);
#undef U
#undef F
    if (!rc && h->relu2) {
        snprintf(k, sizeof k, "%s.hidden_activation", A);
        rc = bn_gguf_writer_add_str(w, k, "relu2", 5);
    }
    return rc || hf_vocab_write(&c->vocab, w);
}

static int run(cv *c)
{
    char err[1024] = "";
    int status = 1;
    bn_gguf_writer *w = NULL;
    if (hf_config_load(&c->cfg, c->dir, err, sizeof err)) {
        fprintf(stderr, "bitnet-convert: %s\n", err);
        return 1;
    }
    fprintf(stderr, "%s: %s, %lld layers, n_embd %lld, n_ff %lld, vocab %lld\n", c->dir, c->cfg.arch_class,
            (long long)c->cfg.n_layer, (long long)c->cfg.n_embd, (long long)c->cfg.n_ff, (long long)c->cfg.n_vocab);
    if (st_model_open(&c->st, c->dir, err, sizeof err) ||
        hf_vocab_load(&c->vocab, c->dir, (uint64_t)c->cfg.n_vocab, c->cfg.bos_id, c->cfg.eos_id, err, sizeof err) ||
        hf_weights_plan(&c->w, &c->st, &c->cfg, c->type, c->head_type, err, sizeof err)) {
        fprintf(stderr, "bitnet-convert: %s\n", err);
        goto out;
    }
    if (bn_gguf_writer_new(&w, 3, BN_GGUF_DEFAULT_ALIGNMENT) || add_metadata(c, w)) {
        fprintf(stderr, "bitnet-convert: %s\n", bn_last_error());
        goto out;
    }
    for (uint64_t i = 0; i < c->w.n; i++) {
        const hf_out_tensor *o = &c->w.t[i];
        if (bn_gguf_writer_add_tensor(w, o->name, o->n_dims, o->ne, o->type)) {
            fprintf(stderr, "bitnet-convert: tensor %s: %s\n", o->name, bn_last_error());
            goto out;
        }
    }
    if (cv_gguf_write_file(w, c->out, emit, c, "bitnet-convert"))
        goto out;
    if (!strcmp(gguf_arch(c), "bitnet") && c->type != BN_TYPE_I2_S)
        for (uint64_t i = 0; i < c->w.n; i++)
            if (!strcmp(c->w.t[i].name, "output.weight"))
                fprintf(stderr, "note: upstream llama.cpp's bitnet architecture has no output.weight (a tied "
                        "head only); this file is for libbitnet\n");
    if (c->w.lossy)
        fprintf(stderr, "full-precision weights were ternarised with absmean (scale = mean |w|)\n");
    fprintf(stderr, "wrote %s: arch %s, %llu tensors, ternary weights %s\n", c->out, gguf_arch(c),
            (unsigned long long)c->w.n, bn_type_name(c->type));
    status = 0;
out:
    bn_gguf_writer_free(&w);
    hf_weights_free(&c->w);
    hf_vocab_free(&c->vocab);
    st_model_close(&c->st);
    return status;
}

int main(int argc, char **argv)
{
    cv c;
    memset(&c, 0, sizeof c);
    c.type = BN_TYPE_I2_S;
    c.head_type = -1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint32_t t;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(o, "--version")) {
            printf("bitnet-convert (libbitnet) %s\n", bn_version_string());
            return 0;
        } else if ((!strcmp(o, "-o") || !strcmp(o, "--output")) && v) {
            c.out = v;
            i++;
        } else if (!strcmp(o, "--name") && v) {
            c.name = v;
            i++;
        } else if (!strcmp(o, "--type") && v) {
            if (cv_parse_ternary_type(v, &c.type)) {
                fprintf(stderr, "bitnet-convert: --type %s: expected i2_s, tq2_0 or tq1_0\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(o, "--output-type") && v) {
            if (cv_parse_float_type(v, &t)) {
                fprintf(stderr, "bitnet-convert: --output-type %s: expected f16, q8_0, q4_0 or f32\n", v);
                return 2;
            }
            c.head_type = (int)t;
            i++;
        } else if (o[0] == '-' && o[1]) {
            fprintf(stderr, "bitnet-convert: unknown option or missing value: %s\n", o);
            usage(stderr);
            return 2;
        } else if (!c.dir) {
            c.dir = o;
        } else {
            fprintf(stderr, "bitnet-convert: unexpected argument %s\n", o);
            return 2;
        }
    }
    if (!c.dir || !c.out) {
        usage(stderr);
        return 2;
    }
    return run(&c);
}
