#include "model/arch.h"

#include <string.h>

static const bn_arch_desc bn_archs[] = {
    /* microsoft BitNet b1.58 2B4T (bitnet.cpp's name; bitnet-25 in older files) */
    { "bitnet-b1.58", BN_ACT_RELU2, BN_ROPE_NEOX, 1, 10000.0f },
    { "bitnet-25",    BN_ACT_RELU2, BN_ROPE_NEOX, 1, 10000.0f },
    /* 1bitLLM bitnet_b1_58-large/3B; upstream llama.cpp's name for 2B4T too,
     * with hidden_activation = "relu2" */
    { "bitnet",       BN_ACT_SILU,  BN_ROPE_NEOX, 1, 10000.0f },
    /* Llama3-8B-1.58, Falcon3-*-1.58bit: llama blocks with ternary weights */
    { "llama",        BN_ACT_SILU,  BN_ROPE_NORM, 0, 10000.0f },
};

const bn_arch_desc *bn_arch_find(const char *name, unsigned long len)
{
    for (size_t i = 0; i < sizeof bn_archs / sizeof bn_archs[0]; i++)
        if (strlen(bn_archs[i].name) == len && !memcmp(bn_archs[i].name, name, len))
            return &bn_archs[i];
    return NULL;
}

const char *bn_arch_list(void)
{
    return "bitnet-b1.58, bitnet-25, bitnet, llama";
}

const char *bn_ffn_act_name(bn_ffn_act act)
{
    return act == BN_ACT_RELU2 ? "relu2" : "silu";
}
