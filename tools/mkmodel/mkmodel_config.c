#include "mkmodel_config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "gguf/gguf_types.h"
#include "mkmodel_vocab.h"

/* Per --type: GGML id, general.file_type, default arch, row-length multiple. */
static const struct {
    uint32_t ggml_type, file_type;
    const char *default_arch;
    int64_t row_multiple;
} type_table[BN_MKMODEL_TYPE_COUNT] = {
    [BN_MKMODEL_I2_S]  = { BN_TYPE_I2_S, BN_FILE_TYPE_MOSTLY_I2_S, "bitnet-b1.58", 128 },
    [BN_MKMODEL_TQ2_0] = { BN_TYPE_TQ2_0, 37, "bitnet", 256 },
    [BN_MKMODEL_TQ1_0] = { BN_TYPE_TQ1_0, 36, "bitnet", 256 },
    [BN_MKMODEL_F16]   = { BN_TYPE_F16, 1, "bitnet", 1 },
    [BN_MKMODEL_F32]   = { BN_TYPE_F32, 0, "bitnet", 1 },
};

static int resolve_arch(const bn_mkmodel_opts *o, bn_mkmodel_config *c)
{
    if (o->family == BN_MKMODEL_FAMILY_LLAMA) {
        c->act = o->act == BN_MKMODEL_ACT_DEFAULT ? BN_MKMODEL_ACT_SILU : o->act;
        if (c->act != BN_MKMODEL_ACT_SILU)
            return bn_fail(BN_E_INVALID_ARG, "--family llama has a SiLU FFN (upstream's llama "
                           "arch reads no activation key); --act relu2 needs --family bitnet");
        if (o->arch != BN_MKMODEL_ARCH_DEFAULT)
            return bn_fail(BN_E_INVALID_ARG, "--arch is for --family bitnet only; --family "
                           "llama always writes arch 'llama'");
        c->arch = "llama";
        return BN_OK;
    }
    c->act = o->act == BN_MKMODEL_ACT_DEFAULT ? BN_MKMODEL_ACT_RELU2 : o->act;
    if (c->act == BN_MKMODEL_ACT_SILU) {
        /* bitnet.cpp's graph for the other two arch names is relu^2 */
        if (o->arch != BN_MKMODEL_ARCH_DEFAULT && o->arch != BN_MKMODEL_ARCH_BITNET)
            return bn_fail(BN_E_INVALID_ARG, "--act silu needs arch 'bitnet': bitnet.cpp runs "
                           "arch '%s' with relu^2", bn_mkmodel_arch_name(o->arch));
        c->arch = "bitnet";
    } else {
        c->arch = o->arch == BN_MKMODEL_ARCH_DEFAULT ? type_table[o->type].default_arch
                                                     : bn_mkmodel_arch_name(o->arch);
    }
    return BN_OK;
}

/* Metadata stores sizes as uint32 and reals as f32: refuse what would not fit
 * rather than write a wrapped value. */
static int check_sizes(const bn_mkmodel_hparams *hp)
{
    const int64_t v[] = { hp->n_embd, hp->n_ff, hp->n_head, hp->n_head_kv, hp->n_layer,
                          hp->n_vocab, hp->n_ctx };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] <= 0)
            return bn_fail(BN_E_INVALID_ARG, "sizes must be positive");
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i] > UINT32_MAX)
            return bn_fail(BN_E_INVALID_ARG, "size %" PRId64 " does not fit in 32 bits", v[i]);
    if (hp->n_embd % hp->n_head)
        return bn_fail(BN_E_INVALID_ARG, "n_embd %" PRId64 " is not a multiple of n_head %" PRId64,
                       hp->n_embd, hp->n_head);
    if (hp->n_head % hp->n_head_kv)
        return bn_fail(BN_E_INVALID_ARG, "n_head %" PRId64 " is not a multiple of n_head_kv %"
                       PRId64, hp->n_head, hp->n_head_kv);
    return BN_OK;
}

static int check_rows(const bn_mkmodel_opts *o, const bn_mkmodel_hparams *hp)
{
    int64_t mult = type_table[o->type].row_multiple;
    const char *what[] = { "n_embd", "n_ff" };
    const int64_t k[] = { hp->n_embd, hp->n_ff };
    for (int i = 0; i < 2; i++) {
        if (k[i] % mult == 0)
            continue;
        return bn_fail(BN_E_INVALID_ARG, "--type %s needs every row length to be a multiple of "
                       "%" PRId64 "; %s = %" PRId64 " is not%s", bn_mkmodel_type_name(o->type),
                       mult, what[i], k[i], mult == 256 ? " (a TQ1_0/TQ2_0 block of 256 weights "
                       "never straddles rows): use --type i2_s (multiple of 128), f16 or f32, or "
                       "another size" : "");
    }
    return BN_OK;
}

const char *const bn_mkmodel_linear_kinds[BN_MKMODEL_N_LINEAR_KINDS] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
};

/* The plan's types, with the block each needs a row length to be a multiple of. */
static const struct {
    const char *name;
    uint32_t type;
    int64_t block;
} plan_types[] = {
    { "i2_s", BN_TYPE_I2_S, 128 }, { "tq2_0", BN_TYPE_TQ2_0, 256 }, { "tq1_0", BN_TYPE_TQ1_0, 256 },
    { "f16", BN_TYPE_F16, 1 },     { "f32", BN_TYPE_F32, 1 },       { "q8_0", BN_TYPE_Q8_0, 32 },
    { "q4_0", BN_TYPE_Q4_0, 32 },
};

/* Parses o->plan into c->plan_type; row lengths: ffn_down's is n_ff. */
static int parse_plan(const bn_mkmodel_opts *o, bn_mkmodel_config *c)
{
    for (int i = 0; i < BN_MKMODEL_N_LINEAR_KINDS; i++)
        c->plan_type[i] = BN_MKMODEL_NO_PLAN;
    for (const char *p = o->plan; p && *p;) {
        const char *end = strchr(p, ','), *eq = strchr(p, '=');
        const size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!eq || eq >= p + len)
            return bn_fail(BN_E_INVALID_ARG, "--plan: '%.*s' is not KIND=TYPE", (int)len, p);
        int kind = -1, ti = -1;
        for (int i = 0; i < BN_MKMODEL_N_LINEAR_KINDS; i++)
            if (strlen(bn_mkmodel_linear_kinds[i]) == (size_t)(eq - p) && !strncmp(p, bn_mkmodel_linear_kinds[i], (size_t)(eq - p)))
                kind = i;
        for (int i = 0; i < (int)(sizeof plan_types / sizeof plan_types[0]); i++)
            if (strlen(plan_types[i].name) == (size_t)(p + len - eq - 1)
                && !strncmp(eq + 1, plan_types[i].name, (size_t)(p + len - eq - 1)))
                ti = i;
        if (kind < 0)
            return bn_fail(BN_E_INVALID_ARG, "--plan: unknown kind '%.*s' (attn_q, attn_k, attn_v, attn_output, "
                           "ffn_gate, ffn_up, ffn_down)", (int)(eq - p), p);
        if (ti < 0)
            return bn_fail(BN_E_INVALID_ARG, "--plan: unknown type '%.*s' (i2_s, tq2_0, tq1_0, f16, f32, q8_0, "
                           "q4_0)", (int)(p + len - eq - 1), eq + 1);
        const int64_t k = kind == 6 ? o->hp.n_ff : o->hp.n_embd;
        if (k % plan_types[ti].block)
            return bn_fail(BN_E_INVALID_ARG, "--plan: %s rows of %" PRId64 " are not a multiple of %s's block "
                           "of %" PRId64, bn_mkmodel_linear_kinds[kind], k, plan_types[ti].name,
                           plan_types[ti].block);
        c->plan_type[kind] = plan_types[ti].type;
        p = end ? end + 1 : p + len;
    }
    return BN_OK;
}

static int fits_f32(double x)
{
    return !(isinf((float)x) && !isinf(x));
}

static int check_reals(const bn_mkmodel_opts *o)
{
    if (!fits_f32(o->hp.rope_theta))
        return bn_fail(BN_E_INVALID_ARG, "--rope-theta %g does not fit a 32-bit float",
                       o->hp.rope_theta);
    if (!fits_f32(o->hp.rms_eps))
        return bn_fail(BN_E_INVALID_ARG, "--rms-eps %g does not fit a 32-bit float",
                       o->hp.rms_eps);
    if (o->published_keys)          /* no mkmodel.* keys to hold them */
        return BN_OK;
    if (!fits_f32(o->embd_std))
        return bn_fail(BN_E_INVALID_ARG, "--embd-std %g does not fit a 32-bit float",
                       o->embd_std);
    if (o->seed < 0 || o->seed > UINT32_MAX)
        return bn_fail(BN_E_INVALID_ARG, "--seed %" PRId64 " does not fit mkmodel.seed "
                       "(0 .. 4294967295)", o->seed);
    return BN_OK;
}

static int check_published(const bn_mkmodel_config *c)
{
    if (c->family != BN_MKMODEL_FAMILY_BITNET || c->act != BN_MKMODEL_ACT_RELU2 ||
        strcmp(c->arch, "bitnet-b1.58"))
        return bn_fail(BN_E_INVALID_ARG, "--published-keys writes the key set of the published "
                       "2B4T file, arch 'bitnet-b1.58' (relu^2, --family bitnet); got family '%s', "
                       "act '%s', arch '%s' (use --type i2_s, or --arch bitnet-b1.58 with another "
                       "type)", bn_mkmodel_family_name(c->family), bn_mkmodel_act_name(c->act),
                       c->arch);
    if (c->hp.n_vocab != BN_MKMODEL_LLAMA3_VOCAB)
        return bn_fail(BN_E_INVALID_ARG, "--published-keys needs the 2B4T vocabulary size "
                       "n_vocab = %d (--shape 2b4t, or --n-vocab %d); n_vocab is %" PRId64,
                       BN_MKMODEL_LLAMA3_VOCAB, BN_MKMODEL_LLAMA3_VOCAB, c->hp.n_vocab);
    return BN_OK;
}

static int check_enums(const bn_mkmodel_opts *o)
{
    if ((unsigned)o->shape >= BN_MKMODEL_SHAPE_COUNT || (unsigned)o->type >= BN_MKMODEL_TYPE_COUNT ||
        (unsigned)o->family >= BN_MKMODEL_FAMILY_COUNT || (unsigned)o->act >= BN_MKMODEL_ACT_COUNT ||
        (unsigned)o->arch >= BN_MKMODEL_ARCH_COUNT || (unsigned)o->embd_type >= BN_MKMODEL_EMBD_COUNT ||
        (unsigned)o->scales >= BN_MKMODEL_SCALES_COUNT)
        return bn_fail(BN_E_INVALID_ARG, "mkmodel: option value out of range");
    if (o->scales != BN_MKMODEL_SCALES_TENSOR && o->type != BN_MKMODEL_TQ2_0 && o->type != BN_MKMODEL_TQ1_0)
        return bn_fail(BN_E_INVALID_ARG, "--scales %s needs --type tq2_0 or tq1_0 (only their block scales "
                       "can hold row or block scales)", bn_mkmodel_scales_name(o->scales));
    return BN_OK;
}

int bn_mkmodel_resolve(const bn_mkmodel_opts *o, bn_mkmodel_config *c)
{
    memset(c, 0, sizeof *c);
    if (!o)
        return bn_fail(BN_E_INVALID_ARG, "mkmodel: NULL options");
    int rc = check_enums(o);
    if (!rc) rc = resolve_arch(o, c);
    if (!rc) rc = check_sizes(&o->hp);
    if (!rc) rc = check_rows(o, &o->hp);
    c->family = o->family;
    c->hp = o->hp;
    if (!rc && o->published_keys)
        rc = check_published(c);
    if (!rc) rc = check_reals(o);
    if (rc)
        return rc;

    const char *vocab = o->vocab ? o->vocab : "synthetic";
    if (strcmp(vocab, "synthetic") && strncmp(vocab, "llama3-npm:", 11))
        return bn_fail(BN_E_INVALID_ARG, "unknown --vocab %s (synthetic or llama3-npm:PATH)", vocab);

    if (o->type == BN_MKMODEL_I2_S && !strcmp(c->arch, "bitnet") && c->act == BN_MKMODEL_ACT_RELU2
        && o->log)
        fprintf(o->log, "bitnet-mkmodel: warning: an I2_S file is for bitnet.cpp, whose arch "
                "'bitnet' is the SiLU graph (bitnet.hidden_activation is ignored there); a relu^2 "
                "I2_S model should keep the default arch bitnet-b1.58\n");

    if ((rc = parse_plan(o, c)))
        return rc;
    c->weight_type = type_table[o->type].ggml_type;
    c->file_type = type_table[o->type].file_type;
    if (o->embd_type == BN_MKMODEL_EMBD_DEFAULT)
        c->embd_type = o->type == BN_MKMODEL_F32 ? BN_TYPE_F32 : BN_TYPE_F16;
    else
        c->embd_type = o->embd_type == BN_MKMODEL_EMBD_F32 ? BN_TYPE_F32 : BN_TYPE_F16;
    c->default_model = c->family == BN_MKMODEL_FAMILY_BITNET && c->act == BN_MKMODEL_ACT_RELU2;
    return BN_OK;
}
