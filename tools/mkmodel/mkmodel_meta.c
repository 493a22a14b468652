#include "mkmodel_meta.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define PUBLISHED_BOS 128000u
#define PUBLISHED_EOS 128001u

/* The chat template of the published 2B4T GGUF: the placeholder bitnet.cpp's
 * convert-ms-to-gguf-bitnet.py writes. The "\\n" are backslash + n in the
 * file; the Jinja string literal turns them into newlines. */
static const char published_chat_template[] =
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{% if message['role'] == 'user' %}"
    "{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% endif %}{% endfor %}";

static bn_mkmodel_kv *push(bn_mkmodel_meta *m, uint32_t type, const char *fmt, ...)
    BN_PRINTF(3, 4);

/* Appends a key (a printf format, for "<arch>.x" keys). Both key sets are
 * fixed and shorter than BN_MKMODEL_MAX_KV; the clamp only keeps a future
 * mistake in bounds. */
static bn_mkmodel_kv *push(bn_mkmodel_meta *m, uint32_t type, const char *fmt, ...)
{
    bn_mkmodel_kv *kv = &m->kv[m->n_kv < BN_MKMODEL_MAX_KV ? m->n_kv++ : BN_MKMODEL_MAX_KV - 1];
    memset(kv, 0, sizeof *kv);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kv->key, sizeof kv->key, fmt, ap);
    va_end(ap);
    kv->type = type;
    return kv;
}

static void push_u32(bn_mkmodel_meta *m, const char *arch, const char *key, uint64_t v)
{
    bn_mkmodel_kv *kv = arch ? push(m, BN_GGUF_U32, "%s.%s", arch, key)
                             : push(m, BN_GGUF_U32, "%s", key);
    kv->u = v;
}

static void push_f32(bn_mkmodel_meta *m, const char *arch, const char *key, double v)
{
    bn_mkmodel_kv *kv = arch ? push(m, BN_GGUF_F32, "%s.%s", arch, key)
                             : push(m, BN_GGUF_F32, "%s", key);
    kv->f = v;
}

static void push_str(bn_mkmodel_meta *m, const char *key, const char *s)
{
    push(m, BN_GGUF_STRING, "%s", key)->str = s;
}

static void push_bool(bn_mkmodel_meta *m, const char *key, int v)
{
    push(m, BN_GGUF_BOOL, "%s", key)->u = v != 0;
}

static void push_array(bn_mkmodel_meta *m, const char *key, uint32_t elem_type, uint64_t count,
                       const void *data, const size_t *lens)
{
    bn_mkmodel_kv *kv = push(m, BN_GGUF_ARRAY, "%s", key);
    kv->elem_type = elem_type;
    kv->count = count;
    kv->data = data;
    kv->lens = lens;
}

/* The hyper-parameter keys both key sets share. */
static void push_sizes(bn_mkmodel_meta *m, const char *a, const bn_mkmodel_hparams *hp)
{
    push_u32(m, a, "vocab_size", (uint64_t)hp->n_vocab);
    push_u32(m, a, "context_length", (uint64_t)hp->n_ctx);
    push_u32(m, a, "embedding_length", (uint64_t)hp->n_embd);
    push_u32(m, a, "block_count", (uint64_t)hp->n_layer);
    push_u32(m, a, "feed_forward_length", (uint64_t)hp->n_ff);
}

static void push_tokens(bn_mkmodel_meta *m, const bn_mkmodel_vocab *v)
{
    push_array(m, "tokenizer.ggml.tokens", BN_GGUF_STRING, v->n_tokens, v->tokens, v->token_lens);
}

static void build_mkmodel_keys(bn_mkmodel_meta *m, const bn_mkmodel_opts *o,
                               const bn_mkmodel_config *c, const bn_mkmodel_vocab *v)
{
    const char *a = c->arch;
    const bn_mkmodel_hparams *hp = &c->hp;
    const char *shape = bn_mkmodel_shape_name(o->shape);
    const char *family = bn_mkmodel_family_name(c->family), *act = bn_mkmodel_act_name(c->act);
    if (c->default_model)
        snprintf(m->name, sizeof m->name, "synthetic-bitnet-%s-%s-seed%" PRId64, shape,
                 bn_mkmodel_type_name(o->type), o->seed);
    else
        snprintf(m->name, sizeof m->name, "synthetic-%s-%s-%s-%s-seed%" PRId64, family, act,
                 shape, bn_mkmodel_type_name(o->type), o->seed);

    push_str(m, "general.architecture", a);
    push_str(m, "general.name", m->name);
    push_u32(m, NULL, "general.file_type", c->file_type);
    push_u32(m, NULL, "general.quantization_version", 2);
    push_sizes(m, a, hp);
    push_u32(m, a, "attention.head_count", (uint64_t)hp->n_head);
    push_u32(m, a, "attention.head_count_kv", (uint64_t)hp->n_head_kv);
    push_f32(m, a, "rope.freq_base", hp->rope_theta);
    push_u32(m, a, "rope.dimension_count", (uint64_t)(hp->n_embd / hp->n_head));
    push_f32(m, a, "attention.layer_norm_rms_epsilon", hp->rms_eps);
    /* Not for SiLU: upstream maps the string "silu" to its fused SwiGLU FFN,
     * which needs one gate|up tensor. */
    if (c->default_model)
        push(m, BN_GGUF_STRING, "%s.hidden_activation", a)->str = "relu2";
    push_str(m, "tokenizer.ggml.model", "gpt2");
    push_str(m, "tokenizer.ggml.pre", "llama-bpe");
    push_tokens(m, v);
    push_array(m, "tokenizer.ggml.token_type", BN_GGUF_I32, v->n_tokens, v->token_types, NULL);
    push_array(m, "tokenizer.ggml.merges", BN_GGUF_STRING, v->n_merges, v->merges, NULL);
    push_u32(m, NULL, "tokenizer.ggml.bos_token_id", v->bos);
    push_u32(m, NULL, "tokenizer.ggml.eos_token_id", v->eos);
    push_u32(m, NULL, "tokenizer.ggml.eot_token_id", v->eot);
    push_bool(m, "tokenizer.ggml.add_bos_token", 1);
    push_str(m, "mkmodel.version", BN_MKMODEL_GENERATOR);
    push_u32(m, NULL, "mkmodel.seed", (uint64_t)o->seed);
    push_str(m, "mkmodel.shape", shape);
    push_f32(m, NULL, "mkmodel.embd_std", o->embd_std);
    push_str(m, "mkmodel.vocab", v->note);
    if (!c->default_model) {        /* absent from mkmodel-1 files, which must not change */
        push_str(m, "mkmodel.family", family);
        push_str(m, "mkmodel.act", act);
    }
}

/* The 24 keys of the published file, in its order: that of bitnet.cpp's
 * converter, with general.quantization_version last. */
static int build_published_keys(bn_mkmodel_meta *m, const bn_mkmodel_config *c,
                                const bn_mkmodel_vocab *v)
{
    const char *a = c->arch;
    const bn_mkmodel_hparams *hp = &c->hp;
    m->scores = malloc(v->n_tokens * sizeof *m->scores);
    if (!m->scores)
        return bn_fail(BN_E_NOMEM, "metadata: out of memory");
    /* the converter's BPE vocab: 0 for merges, -1000 for added (special) tokens */
    for (uint64_t i = 0; i < v->n_tokens; i++)
        m->scores[i] = v->token_types[i] == 3 ? -1000.0f : 0.0f;

    push_str(m, "general.architecture", a);
    push_str(m, "general.name", "bitnet2b");
    push_sizes(m, a, hp);
    push_u32(m, a, "rope.dimension_count", (uint64_t)(hp->n_embd / hp->n_head));
    push_u32(m, a, "attention.head_count", (uint64_t)hp->n_head);
    push_u32(m, a, "attention.head_count_kv", (uint64_t)hp->n_head_kv);
    push_bool(m, "tokenizer.ggml.add_bos_token", 1);
    push_f32(m, a, "attention.layer_norm_rms_epsilon", hp->rms_eps);
    push_f32(m, a, "rope.freq_base", hp->rope_theta);
    push_u32(m, NULL, "general.file_type", c->file_type);
    push_str(m, "tokenizer.ggml.model", "gpt2");
    push_tokens(m, v);
    push_array(m, "tokenizer.ggml.scores", BN_GGUF_F32, v->n_tokens, m->scores, NULL);
    push_array(m, "tokenizer.ggml.token_type", BN_GGUF_I32, v->n_tokens, v->token_types, NULL);
    push_array(m, "tokenizer.ggml.merges", BN_GGUF_STRING, v->n_merges, v->merges, NULL);
    push_u32(m, NULL, "tokenizer.ggml.bos_token_id", PUBLISHED_BOS);
    push_u32(m, NULL, "tokenizer.ggml.eos_token_id", PUBLISHED_EOS);
    push_u32(m, NULL, "tokenizer.ggml.padding_token_id", PUBLISHED_EOS);
    push_str(m, "tokenizer.chat_template", published_chat_template);
    push_u32(m, NULL, "general.quantization_version", 2);
    return BN_OK;
}

int bn_mkmodel_meta_build(bn_mkmodel_meta *m, const bn_mkmodel_opts *o,
                          const bn_mkmodel_config *c, const bn_mkmodel_vocab *v)
{
    memset(m, 0, sizeof *m);
    if (o->published_keys)
        return build_published_keys(m, c, v);
    build_mkmodel_keys(m, o, c, v);
    return BN_OK;
}

int bn_mkmodel_meta_add_to(const bn_mkmodel_meta *m, bn_gguf_writer *w)
{
    int rc = BN_OK;
    for (size_t i = 0; !rc && i < m->n_kv; i++) {
        const bn_mkmodel_kv *kv = &m->kv[i];
        switch (kv->type) {
        case BN_GGUF_U32: rc = bn_gguf_writer_add_uint(w, kv->key, BN_GGUF_U32, kv->u); break;
        case BN_GGUF_F32: rc = bn_gguf_writer_add_float(w, kv->key, BN_GGUF_F32, kv->f); break;
        case BN_GGUF_BOOL: rc = bn_gguf_writer_add_bool(w, kv->key, (int)kv->u); break;
        case BN_GGUF_STRING: rc = bn_gguf_writer_add_str(w, kv->key, kv->str, strlen(kv->str)); break;
        case BN_GGUF_ARRAY:
            if (kv->elem_type == BN_GGUF_STRING)
                rc = bn_gguf_writer_add_str_array(w, kv->key, kv->data, kv->lens, kv->count);
            else
                rc = bn_gguf_writer_add_array(w, kv->key, kv->elem_type, kv->data, kv->count);
            break;
        default: rc = bn_fail(BN_E_INTERNAL, "metadata: bad type for '%s'", kv->key); break;
        }
    }
    return rc;
}

/* Python's repr() of a str: single quotes unless the text has ' and no ". */
static void print_str_repr(FILE *out, const char *s)
{
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    fputc(q, out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == (unsigned char)q)
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\r')
            fputs("\\r", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc(q, out);
}

/* Python's repr() of a float: the shortest digits that read back the same,
 * positional for decimal exponents -4 .. 15, else d.ddde+XX. */
static void print_float_repr(FILE *out, double x)
{
    if (isnan(x) || isinf(x)) {
        fputs(isnan(x) ? "nan" : x > 0 ? "inf" : "-inf", out);
        return;
    }
    char buf[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    char *e = strchr(buf, 'e');
    int exp10 = atoi(e + 1);
    *e = 0;
    char digits[24];                /* significant digits without the point */
    size_t nd = 0;
    int neg = buf[0] == '-';
    for (const char *p = buf + neg; *p; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    if (neg)
        fputc('-', out);
    if (exp10 < -4 || exp10 >= 16) {
        fprintf(out, "%c%s%se%c%02d", digits[0], nd > 1 ? "." : "", digits + 1,
                exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (exp10 < 0) {
        fputs("0.", out);
        for (int i = -1; i > exp10; i--)
            fputc('0', out);
        fputs(digits, out);
    } else {
        for (int i = 0; i <= exp10; i++)
            fputc((size_t)i < nd ? digits[i] : '0', out);
        fputc('.', out);
        fputs((size_t)exp10 + 1 < nd ? digits + exp10 + 1 : "0", out);
    }
}

void bn_mkmodel_meta_print(const bn_mkmodel_meta *m, FILE *out)
{
    for (size_t i = 0; i < m->n_kv; i++) {
        const bn_mkmodel_kv *kv = &m->kv[i];
        fprintf(out, "kv  %s = ", kv->key);
        switch (kv->type) {
        case BN_GGUF_U32: fprintf(out, "%" PRIu64, kv->u); break;
        case BN_GGUF_F32: print_float_repr(out, kv->f); break;
        case BN_GGUF_BOOL: fputs(kv->u ? "True" : "False", out); break;
        case BN_GGUF_STRING: print_str_repr(out, kv->str); break;
        default: fprintf(out, "[%" PRIu64 " items]", kv->count); break;
        }
        fputc('\n', out);
    }
}

void bn_mkmodel_meta_free(bn_mkmodel_meta *m)
{
    if (!m)
        return;
    free(m->scores);
    m->scores = NULL;
}
