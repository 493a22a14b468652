/*
 * bitnet-quantize: a GGUF model to a GGUF model with its ternary linear
 * weights in another ternary type (I2_S, TQ2_0, TQ1_0), losslessly in the
 * codes; F32/F16/BF16 linear weights are made ternary (exactly when they are
 * ternary already, else with absmean). Metadata is kept; --fix-metadata
 * repairs the published 2B4T file's gaps. See doc/convert.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "core/error.h"
#include "core/fp16.h"
#include "cv_float.h"
#include "cv_gguf.h"
#include "cv_pages.h"
#include "cv_progress.h"
#include "cv_ternary.h"

typedef struct qz {
    const char *in_path, *out_path;
    uint32_t type;          /* ternary type of the linear weights */
    int out_type;           /* output head: -1 keep, else a float type */
    int exact, fix_metadata;
    bn_gguf g;
    char arch[64], new_arch[64];
    /* output tensors: index into g.tensors, or -1 for the untied head */
    int64_t *src;
    uint64_t n_out;
    uint32_t *out_types;
    double max_rel;         /* largest relative change of a scale */
    char max_rel_name[BN_GGUF_MAX_NAME_LEN + 1];
    uint64_t done;
    int lossy;              /* a float tensor was ternarised with absmean */
    int mapped;             /* the input is memory-mapped (pages can be released) */
} qz;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: bitnet-quantize IN.gguf OUT.gguf --type i2_s|tq2_0|tq1_0 [OPTIONS]\n"
            "Rewrite a model's ternary linear weights in another ternary type, losslessly in the\n"
            "codes; F32/F16/BF16 linear weights are made ternary. Metadata is kept.\n\n"
            "  --type T            i2_s, tq2_0 or tq1_0 (required)\n"
            "  --output-type T     output head: keep (default), f16, q8_0, q4_0 or f32; a tied head\n"
            "                      becomes an output.weight of that type\n"
            "  --exact             refuse any change beyond the packing: a scale that F16 cannot\n"
            "                      hold (I2_S to TQ), float weights that are not ternary\n"
            "  --fix-metadata      add what the published BitNet b1.58 2B4T file lacks: the\n"
            "                      llama-bpe pre-tokenizer, the <|eot_id|> EOT id, the trained\n"
            "                      chat template in place of the placeholder\n"
            "  -h, --help          show this help and exit\n"
            "      --version       show the version and exit\n");
}

/* A linear weight to write as the ternary type: a ternary or float one.
 * Q8_0 / Q4_0 linears of a mixed-precision file stay as they are. */
static int converts_linear(const bn_gguf_tensor *t, const char *name)
{
    return cv_is_linear_weight(name) && t->type != BN_TYPE_Q8_0 && t->type != BN_TYPE_Q4_0;
}

static const bn_gguf_tensor *tensor(const qz *q, uint64_t i)
{
    return q->src[i] < 0 ? bn_gguf_find_tensor(&q->g, "token_embd.weight") : &q->g.tensors[q->src[i]];
}

static void name_of(const qz *q, uint64_t i, char *buf, size_t n)
{
    if (q->src[i] < 0) {
        snprintf(buf, n, "output.weight");
        return;
    }
    const bn_gguf_tensor *t = &q->g.tensors[q->src[i]];
    snprintf(buf, n, "%.*s", (int)t->name.len, t->name.ptr);
}

/* A ternary linear weight of the input: its codes and scales. */
static int read_linear(qz *q, const bn_gguf_tensor *t, const char *name, cv_ternary *tt)
{
    if (bn_type_is_ternary(t->type))
        return cv_ternary_from_gguf(tt, t->type, t->data, t->ne[0], t->n_elements, name);
    if (t->type != BN_TYPE_F32 && t->type != BN_TYPE_F16 && t->type != BN_TYPE_BF16) {
        fprintf(stderr, "tensor %s: type %s cannot be made ternary\n", name, bn_type_name(t->type));
        return -1;
    }
    int ternary = 0, rc = cv_ternary_from_float(tt, t->type, t->data, t->n_elements, &ternary);
    if (rc) {
        fprintf(stderr, "tensor %s: out of memory\n", name);
        return -1;
    }
    if (!ternary) {
        if (q->exact) {
            fprintf(stderr, "tensor %s: its %s weights are not ternary (absmean would change them; "
                    "--exact refuses)\n", name, bn_type_name(t->type));
            cv_ternary_free(tt);
            return -1;
        }
        q->lossy = 1;
    }
    return 0;
}

/* Any other tensor, copied or converted in slices of about 16 MB whose input
 * pages are released as they are done (the embedding of a 2B4T model is
 * 656 MB). */
static int emit_other(qz *q, const bn_gguf_tensor *t, uint32_t dst, const char *name, FILE *f)
{
    if (!cv_float_type(t->type))
        return fwrite(t->data, 1, t->nbytes, f) == t->nbytes ? 0 : -1;
    const uint64_t rows = t->n_elements / t->ne[0], row_bytes = t->nbytes / (rows ? rows : 1);
    const uint64_t step = (16u << 20) / (row_bytes ? row_bytes : 1) + 1;
    for (uint64_t r = 0; r < rows; r += step) {
        uint64_t n = rows - r < step ? rows - r : step;
        if (cv_float_write(f, dst, t->type, t->data + r * row_bytes, t->ne[0], n, name))
            return -1;
        if (q->mapped)
            cv_pages_release(t->data + r * row_bytes, n * row_bytes);
    }
    return 0;
}

static int emit(void *user, uint64_t i, FILE *f)
{
    qz *q = user;
    const bn_gguf_tensor *t = tensor(q, i);
    char name[BN_GGUF_MAX_NAME_LEN + 1];
    name_of(q, i, name, sizeof name);
    int rc;
    if (converts_linear(t, name)) {
        cv_ternary tt;
        if (read_linear(q, t, name, &tt))
            return BN_E_FORMAT;
        if (q->type != BN_TYPE_I2_S && tt.block_d == NULL && tt.scale != 0.0f) {
            /* one f32 scale becomes F16 block scales */
            float h = bn_f16_to_f32(bn_f16_from_f32(tt.scale));
            double rel = fabs((double)h - tt.scale) / fabs((double)tt.scale);
            if (rel > q->max_rel) {
                q->max_rel = rel;
                snprintf(q->max_rel_name, sizeof q->max_rel_name, "%s", name);
            }
            if (rel > 0 && q->exact) {
                fprintf(stderr, "tensor %s: scale %.9g is %.9g in F16 (relative change %.3g); --exact "
                        "refuses\n", name, (double)tt.scale, (double)h, rel);
                cv_ternary_free(&tt);
                return BN_E_FORMAT;
            }
        }
        rc = cv_ternary_write(&tt, q->type, name, f);
        cv_ternary_free(&tt);
    } else {
        rc = emit_other(q, t, q->out_types[i], name, f);
    }
    if (q->mapped)
        cv_pages_release(t->data, t->nbytes);
    if (!rc)
        cv_progress(++q->done, q->n_out, name);
    return rc ? BN_E_FORMAT : BN_OK;
}

/* Metadata: copied, with the architecture renamed where the output type
 * needs it and the file type set; --fix-metadata adds what is missing. */
static int add_metadata(qz *q, bn_gguf_writer *w)
{
    const size_t al = strlen(q->arch);
    int rc = 0, have_act = 0, have_pre = 0, have_eot = 0, gpt2 = 0;
    bn_gguf_str s;
    if (!bn_gguf_get_str(&q->g, "tokenizer.ggml.model", &s) && bn_gguf_str_eq(s, "gpt2"))
        gpt2 = 1;
    for (uint64_t i = 0; i < q->g.n_kv && !rc; i++) {
        const bn_gguf_kv *kv = &q->g.kv[i];
        char key[BN_GGUF_MAX_NAME_LEN * 2];
        if (kv->key.len >= sizeof key - 64)
            continue;
        snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
        if (!strncmp(key, q->arch, al) && key[al] == '.') {
            char nk[sizeof key + 64];
            snprintf(nk, sizeof nk, "%s%s", q->new_arch, key + al);
            memcpy(key, nk, strlen(nk) + 1 < sizeof key ? strlen(nk) + 1 : sizeof key);
            key[sizeof key - 1] = 0;
            have_act |= !strcmp(key + strlen(q->new_arch), ".hidden_activation");
        }
        if (!strcmp(key, "general.alignment"))
            continue;       /* the writer sets it, with the input's alignment */
        if (!strcmp(key, "general.architecture")) {
            rc = bn_gguf_writer_add_str(w, key, q->new_arch, strlen(q->new_arch));
            continue;
        }
        if (!strcmp(key, "general.file_type")) {
            rc = bn_gguf_writer_add_uint(w, key, BN_GGUF_U32, cv_file_type(q->type));
            continue;
        }
        have_pre |= !strcmp(key, "tokenizer.ggml.pre");
        have_eot |= !strcmp(key, "tokenizer.ggml.eot_token_id");
        if (q->fix_metadata && !strcmp(key, "tokenizer.chat_template") &&
            kv->value.type == BN_GGUF_STRING &&
            memmem(kv->value.v.str.ptr, kv->value.v.str.len, "BITNETAssistant", 15)) {
            fprintf(stderr, "fix-metadata: the placeholder chat template replaced by the trained one\n");
            rc = bn_gguf_writer_add_str(w, key, cv_chat_template_2b4t, strlen(cv_chat_template_2b4t));
            continue;
        }
        rc = cv_gguf_copy_value(w, key, &kv->value);
    }
    if (!bn_gguf_find_kv(&q->g, "general.file_type") && !rc)
        rc = bn_gguf_writer_add_uint(w, "general.file_type", BN_GGUF_U32, cv_file_type(q->type));
    if (strcmp(q->arch, q->new_arch) && !have_act && !rc) {
        char key[96];
        snprintf(key, sizeof key, "%s.hidden_activation", q->new_arch);
        rc = bn_gguf_writer_add_str(w, key, "relu2", 5);
    }
    if (q->fix_metadata && gpt2 && !have_pre && !rc) {
        fprintf(stderr, "fix-metadata: tokenizer.ggml.pre = llama-bpe\n");
        rc = bn_gguf_writer_add_str(w, "tokenizer.ggml.pre", "llama-bpe", 9);
    }
    if (q->fix_metadata && !have_eot && !rc) {
        const bn_gguf_kv *tok = bn_gguf_find_kv(&q->g, "tokenizer.ggml.tokens");
        if (tok && tok->value.type == BN_GGUF_ARRAY && tok->value.v.arr.elem_type == BN_GGUF_STRING) {
            bn_gguf_str_iter it;
            bn_gguf_str_iter_init(&it, &tok->value);
            for (uint64_t id = 0; bn_gguf_str_iter_next(&it, &s); id++)
                if (bn_gguf_str_eq(s, "<|eot_id|>")) {
                    fprintf(stderr, "fix-metadata: tokenizer.ggml.eot_token_id = %llu\n",
                            (unsigned long long)id);
                    rc = bn_gguf_writer_add_uint(w, "tokenizer.ggml.eot_token_id", BN_GGUF_U32, id);
                    break;
                }
        }
    }
    return rc;
}

static int plan_tensors(qz *q, bn_gguf_writer *w)
{
    const bn_gguf *g = &q->g;
    int tied = !bn_gguf_find_tensor(g, "output.weight");
    int add_head = tied && q->out_type >= 0;
    if (add_head && !bn_gguf_find_tensor(g, "token_embd.weight")) {
        fprintf(stderr, "%s: no token_embd.weight to make an output head from\n", q->in_path);
        return -1;
    }
    q->n_out = g->n_tensors + (uint64_t)add_head;
    q->src = calloc(q->n_out, sizeof *q->src);
    q->out_types = calloc(q->n_out, sizeof *q->out_types);
    if (!q->src || !q->out_types) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    for (uint64_t i = 0; i < q->n_out; i++) {
        const bn_gguf_tensor *t = i < g->n_tensors ? &g->tensors[i] : bn_gguf_find_tensor(g, "token_embd.weight");
        char name[BN_GGUF_MAX_NAME_LEN + 1];
        q->src[i] = i < g->n_tensors ? (int64_t)i : -1;
        name_of(q, i, name, sizeof name);
        uint32_t type = t->type;
        if (converts_linear(t, name)) {
            if (cv_ternary_check_shape(q->type, t->ne[0], t->n_elements, name))
                return -1;
            type = q->type;
        } else if (!strcmp(name, "output.weight") && q->out_type >= 0) {
            type = (uint32_t)q->out_type;
            if (!cv_float_type(t->type)) {
                fprintf(stderr, "tensor %s: cannot convert %s to %s\n", name, bn_type_name(t->type),
                        bn_type_name(type));
                return -1;
            }
        }
        q->out_types[i] = type;
        if (bn_gguf_writer_add_tensor(w, name, t->n_dims, t->ne, type)) {
            fprintf(stderr, "tensor %s: %s\n", name, bn_last_error());
            return -1;
        }
    }
    return 0;
}

static int run(qz *q)
{
    bn_mapfile m;
    bn_gguf_str a;
    if (cv_gguf_open(&m, &q->g, q->in_path))
        return 1;
    q->mapped = m.mapped;
    int status = 1;
    bn_gguf_writer *w = NULL;
    if (bn_gguf_get_str(&q->g, "general.architecture", &a) || a.len >= sizeof q->arch) {
        fprintf(stderr, "%s: no general.architecture\n", q->in_path);
        goto out;
    }
    snprintf(q->arch, sizeof q->arch, "%.*s", (int)a.len, a.ptr);
    /* upstream llama.cpp knows BitNet b1.58 2B4T as arch "bitnet" with relu2 */
    snprintf(q->new_arch, sizeof q->new_arch, "%s",
             q->type != BN_TYPE_I2_S && (!strcmp(q->arch, "bitnet-b1.58") || !strcmp(q->arch, "bitnet-25"))
                 ? "bitnet" : q->arch);
    if (bn_gguf_writer_new(&w, q->g.version >= 3 ? 3 : q->g.version, q->g.alignment) ||
        add_metadata(q, w) || plan_tensors(q, w)) {
        if (*bn_last_error())
            fprintf(stderr, "%s\n", bn_last_error());
        goto out;
    }
    if (cv_gguf_write_file(w, q->out_path, emit, q, "bitnet-quantize"))
        goto out;
    if (q->max_rel > 0)
        fprintf(stderr, "scales rounded to F16: largest relative change %.3g (tensor %s)\n", q->max_rel,
                q->max_rel_name);
    else if (q->type != BN_TYPE_I2_S)
        fprintf(stderr, "scales: F16 holds every one exactly\n");
    if (q->lossy)
        fprintf(stderr, "note: some float weights were not ternary and were ternarised with absmean\n");
    fprintf(stderr, "wrote %s: %llu tensors, ternary weights %s\n", q->out_path,
            (unsigned long long)q->n_out, bn_type_name(q->type));
    status = 0;
out:
    bn_gguf_writer_free(&w);
    free(q->src);
    free(q->out_types);
    cv_gguf_close(&m, &q->g);
    return status;
}

int main(int argc, char **argv)
{
    qz q;
    memset(&q, 0, sizeof q);
    q.type = UINT32_MAX;
    q.out_type = -1;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint32_t t;
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(o, "--version")) {
            printf("bitnet-quantize (libbitnet) %s\n", bn_version_string());
            return 0;
        } else if (!strcmp(o, "--type") && v) {
            if (cv_parse_ternary_type(v, &q.type)) {
                fprintf(stderr, "bitnet-quantize: --type %s: expected i2_s, tq2_0 or tq1_0\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(o, "--output-type") && v) {
            if (!strcmp(v, "keep")) {
                q.out_type = -1;
            } else if (cv_parse_float_type(v, &t)) {
                fprintf(stderr, "bitnet-quantize: --output-type %s: expected keep, f16, q8_0, q4_0 or f32\n",
                        v);
                return 2;
            } else {
                q.out_type = (int)t;
            }
            i++;
        } else if (!strcmp(o, "--exact")) {
            q.exact = 1;
        } else if (!strcmp(o, "--fix-metadata")) {
            q.fix_metadata = 1;
        } else if (o[0] == '-' && o[1]) {
            fprintf(stderr, "bitnet-quantize: unknown option or missing value: %s\n", o);
            usage(stderr);
            return 2;
        } else if (!q.in_path) {
            q.in_path = o;
        } else if (!q.out_path) {
            q.out_path = o;
        } else {
            fprintf(stderr, "bitnet-quantize: unexpected argument %s\n", o);
            return 2;
        }
    }
    if (!q.in_path || !q.out_path || q.type == UINT32_MAX) {
        usage(stderr);
        return 2;
    }
    return run(&q);
}
