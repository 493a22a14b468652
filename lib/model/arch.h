/* Architecture descriptions: what differs between the model families we run.
 * Adding a family means adding a row to arch_table.c (and its graph, if the
 * block structure is new). */
#ifndef BN_MODEL_ARCH_H
#define BN_MODEL_ARCH_H

typedef enum bn_ffn_act {
    BN_ACT_RELU2,   /* relu(gate)^2 * up (BitNet b1.58 2B4T) */
    BN_ACT_SILU,    /* silu(gate) * up (1bitLLM bitnet_b1_58, llama) */
} bn_ffn_act;

typedef enum bn_rope_style {
    BN_ROPE_NEOX,   /* rotates pairs (i, i + head_dim/2) */
    BN_ROPE_NORM,   /* rotates adjacent pairs (2i, 2i + 1) */
} bn_rope_style;

typedef struct bn_arch_desc {
    const char *name;           /* general.architecture */
    bn_ffn_act default_act;     /* when <arch>.hidden_activation is absent */
    bn_rope_style rope;
    int sub_norms;              /* attn_sub_norm / ffn_sub_norm tensors */
    float default_rope_theta;   /* when <arch>.rope.freq_base is absent */
} bn_arch_desc;

/* NULL for an architecture we do not run. */
const bn_arch_desc *bn_arch_find(const char *name, unsigned long len);

/* "bitnet-b1.58, bitnet-25, bitnet, llama": for error messages. */
const char *bn_arch_list(void);

const char *bn_ffn_act_name(bn_ffn_act act);

#endif
