/* A loaded model: hyper-parameters and every tensor bound by name and checked
 * against them. Immutable after bn_model_bind(); shared by all contexts. */
#ifndef BN_MODEL_MODEL_H
#define BN_MODEL_MODEL_H

#include <stdint.h>

#include "bitnet/bitnet.h"
#include "core/mapfile.h"
#include "gguf/gguf.h"
#include "graph/kernel_pick.h"
#include "kernels/kernels.h"
#include "kernels/tpack.h"
#include "model/arch.h"

typedef struct bn_hparams {
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff, n_ctx_train;
    int32_t head_dim;           /* n_embd / n_head */
    int32_t n_rot;              /* rotated dims per head (= head_dim) */
    float rope_theta;
    float rms_eps;
    bn_ffn_act act;
    bn_rope_style rope;
} bn_hparams;

/* A weight: its payload in the file plus what the kernels need to know. */
typedef struct bn_tensor {
    const char *name;           /* points into the model's name storage */
    uint32_t type;              /* bn_tensor_type */
    uint64_t ne[2];             /* ne[0] = row length K, ne[1] = rows */
    const void *data;
    uint64_t nbytes;
    float scale;                /* I2_S: the per-tensor scale; else 1 */
    float out_scale;            /* from an optional `<name minus .weight>.scale`; else 1 */
    const bn_tpack *pack;       /* ternary weights in the kernels' layout; else NULL */
} bn_tensor;

typedef struct bn_layer {
    bn_tensor attn_norm, wq, wk, wv, attn_sub_norm, wo;
    bn_tensor ffn_norm, w_gate, w_up, ffn_sub_norm, w_down;
} bn_layer;

struct bn_model {
    bn_mapfile file;            /* empty when loaded from caller memory */
    bn_gguf gguf;
    const bn_arch_desc *arch;
    char *arch_name;            /* NUL-terminated copies of file strings */
    char *name;
    bn_hparams hp;
    bn_tensor tok_embd, output_norm, output; /* output.data == tok_embd.data when tied */
    int tied_output;
    bn_layer *layers;
    char *tensor_names;         /* storage for the layer tensor names */
    uint32_t weight_type;       /* type of the linear weights */
    bn_kernels kernels;         /* chosen at load for this CPU */
    bn_tpack *packs;            /* n_packs repacked ternary tensors */
    void *pack_codes;           /* one block holding every pack's codes */
    void *output_converted;     /* the output projection converted to Q8_0 or Q4_0, or NULL */
    int embed_by_pread;         /* token rows read with pread (model_embed.c) */
    int n_packs;
    char kernel_desc[160];      /* for bn_model_kernel_name() */
    int pick_mode;              /* bn_pick_mode for the contexts' decode passes */
    uint8_t pick_has_alt[BN_PICK_COUNT];    /* products with an alternative kernel the model uses */
    uint64_t n_params;
    uint64_t weight_bytes;
    struct bn_vocab *vocab;     /* tokenizer (tokenizer/vocab.h); NULL when the file has none */
};

/* Binds an already parsed GGUF into m (m->gguf filled): architecture,
 * hyper-parameters, tensors, weight checks. */
int bn_model_bind(bn_model *m, const bn_model_params *p);

/* Token `token`'s embedding as n_embd floats (model_embed.c). scratch holds
 * bn_model_embed_row_bytes(m) bytes, or is NULL (then the row is read
 * through the mapping). Safe from several threads with their own scratch. */
void bn_model_embed_row(const bn_model *m, uint64_t token, float *out, void *scratch);
size_t bn_model_embed_row_bytes(const bn_model *m);

/* Frees what bn_model_bind allocated and the file mapping, then m itself. */
void bn_model_destroy(bn_model *m);

#endif
