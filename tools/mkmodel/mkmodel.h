/*
 * bitnet-mkmodel as a library: deterministic synthetic ternary (BitNet b1.58)
 * models written as GGUF files, byte-identical to shared/tools/mkmodel.py
 * for the same options. Tests call it in-process:
 *
 *     bn_mkmodel_opts o;
 *     bn_mkmodel_default_opts(&o);          // small shape, F32, seed 1
 *     o.type = BN_MKMODEL_TQ2_0;
 *     int rc = bn_mkmodel_write(&o, "small-tq2_0.gguf");
 *     if (rc) fprintf(stderr, "%s\n", bn_last_error());
 *
 * Weights are a pure function of (seed, tensor name, index): see
 * mkmodel_rng.h. The same seed gives the same ternary codes and scales in
 * every output type.
 */
#ifndef BN_MKMODEL_H
#define BN_MKMODEL_H

#include <stdint.h>
#include <stdio.h>

#define BN_MKMODEL_GENERATOR "mkmodel-1"   /* mkmodel.version of the files */

enum bn_mkmodel_shape { BN_MKMODEL_SHAPE_SMALL, BN_MKMODEL_SHAPE_2B4T, BN_MKMODEL_SHAPE_COUNT };

/* Type of the ternary linear weights (attn_q/k/v/output, ffn_gate/up/down). */
enum bn_mkmodel_type {
    BN_MKMODEL_I2_S, BN_MKMODEL_TQ2_0, BN_MKMODEL_TQ1_0, BN_MKMODEL_F16, BN_MKMODEL_F32,
    BN_MKMODEL_TYPE_COUNT
};

/* bitnet: sub-norms, tied output. llama: no sub-norms, SiLU, untied output.weight. */
enum bn_mkmodel_family { BN_MKMODEL_FAMILY_BITNET, BN_MKMODEL_FAMILY_LLAMA, BN_MKMODEL_FAMILY_COUNT };

/* Gated FFN activation; DEFAULT is relu2 for family bitnet, silu for llama. */
enum bn_mkmodel_act { BN_MKMODEL_ACT_DEFAULT, BN_MKMODEL_ACT_RELU2, BN_MKMODEL_ACT_SILU,
                      BN_MKMODEL_ACT_COUNT };

/* general.architecture for family bitnet; DEFAULT follows the type (bitnet-b1.58
 * for I2_S, bitnet otherwise) and --act silu forces bitnet. */
enum bn_mkmodel_arch { BN_MKMODEL_ARCH_DEFAULT, BN_MKMODEL_ARCH_BITNET_B158,
                       BN_MKMODEL_ARCH_BITNET_25, BN_MKMODEL_ARCH_BITNET, BN_MKMODEL_ARCH_COUNT };

/* token_embd (and llama's output.weight) type; DEFAULT: F32 for --type f32, else F16. */
enum bn_mkmodel_embd { BN_MKMODEL_EMBD_DEFAULT, BN_MKMODEL_EMBD_F16, BN_MKMODEL_EMBD_F32,
                       BN_MKMODEL_EMBD_COUNT };

/* Scales of TQ2_0 / TQ1_0 linears: one per tensor (every block's d the
 * same), one per row (per-channel: d differs between rows), or one per
 * block (d differs within rows). Each is the tensor's scale times a factor
 * in [0.5, 1.5) from (seed, tensor name, row or block), F16-rounded. */
enum bn_mkmodel_scales { BN_MKMODEL_SCALES_TENSOR, BN_MKMODEL_SCALES_ROW, BN_MKMODEL_SCALES_BLOCK,
                         BN_MKMODEL_SCALES_COUNT };

typedef struct bn_mkmodel_hparams {
    int64_t n_embd, n_layer, n_ff, n_head, n_head_kv, n_vocab, n_ctx;
    double rope_theta, rms_eps;     /* stored as f32 */
} bn_mkmodel_hparams;

typedef struct bn_mkmodel_opts {
    /* Names the model (general.name, mkmodel.shape); set it with
     * bn_mkmodel_set_shape() so that hp follows. Default SMALL. */
    enum bn_mkmodel_shape shape;
    /* The sizes used; bn_mkmodel_set_shape() fills them, then override any. */
    bn_mkmodel_hparams hp;
    enum bn_mkmodel_type type;      /* default F32 */
    enum bn_mkmodel_family family;  /* default BITNET */
    enum bn_mkmodel_act act;        /* default DEFAULT */
    enum bn_mkmodel_arch arch;      /* default DEFAULT; must stay DEFAULT for llama */
    int published_keys;             /* the published 2B4T key set; default 0 */
    enum bn_mkmodel_embd embd_type; /* default DEFAULT */
    double embd_std;                /* std of the uniform embeddings; default 0.04 */
    int64_t seed;                   /* default 1; mkmodel.seed needs 0..2^32-1 */
    const char *vocab;              /* "synthetic" (default); NULL means the same */
    int verbose;                    /* log each linear tensor and its scale; default 0 */
    /* Precision plan: "KIND=TYPE[,KIND=TYPE...]" gives linears of a kind
     * (attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down)
     * another type (i2_s, tq2_0, tq1_0, f16, f32, q8_0, q4_0), encoding the
     * same ternary weights; NULL (default) for none. Q8_0 and Q4_0 quantise
     * them as llama.cpp does (Q4_0 cannot hold -max: it becomes -7/8 max). */
    const char *plan;
    enum bn_mkmodel_scales scales;  /* TQ linears; default TENSOR (the only choice of mkmodel.py) */
    FILE *log;                      /* warnings and the verbose log; default stderr, NULL: none */
} bn_mkmodel_opts;

void bn_mkmodel_default_opts(bn_mkmodel_opts *o);

/* Sets o->shape and o->hp to the shape's values. */
void bn_mkmodel_set_shape(bn_mkmodel_opts *o, enum bn_mkmodel_shape shape);

/* Option spellings as on the command line ("small", "i2_s", "bitnet-b1.58",
 * ...); NULL for an out-of-range value or a DEFAULT. */
const char *bn_mkmodel_shape_name(int shape);
const char *bn_mkmodel_type_name(int type);
const char *bn_mkmodel_family_name(int family);
const char *bn_mkmodel_act_name(int act);
const char *bn_mkmodel_arch_name(int arch);
const char *bn_mkmodel_embd_name(int embd);
const char *bn_mkmodel_scales_name(int scales);

/*
 * Writes the model to `path`. Returns 0, or a negative BN_E_* status with a
 * message for bn_last_error(): BN_E_INVALID_ARG for an inconsistent option
 * combination (the message names the option), BN_E_UNSUPPORTED for a vocab
 * source this build cannot read, BN_E_IO, BN_E_NOMEM. A partial file is
 * removed on failure.
 */
int bn_mkmodel_write(const bn_mkmodel_opts *o, const char *path);

/* Checks the options as bn_mkmodel_write() does and prints the metadata and
 * tensor list to out instead of writing a file (the CLI's --dry-run). */
int bn_mkmodel_describe(const bn_mkmodel_opts *o, FILE *out);

/* Number of tensors the options give (for the CLI's summary line). */
uint64_t bn_mkmodel_tensor_count(const bn_mkmodel_opts *o);

#endif
