/*
 * A Hugging Face checkpoint directory's config.json and what it says about
 * the layout of the weights (doc/convert.md, "Sources"):
 *   BitNetForCausalLM  microsoft/bitnet-b1.58-2B-4T (packed 2-bit weights
 *                      times weight_scale) and its -bf16 variant (master
 *                      weights); relu2, sub-norms
 *   BitnetForCausalLM  1bitLLM/bitnet_b1_58-*: full-precision weights, silu,
 *                      sub-norms (inner_attn_ln, ffn_layernorm)
 *   LlamaForCausalLM   with quantization_config.quant_method "bitnet":
 *                      HF1BitLLM/Llama3-8B-1.58, tiiuae/Falcon3-*-1.58bit
 *                      (packed weights divided by weight_scale)
 */
#ifndef BN_CONVERT_HF_CONFIG_H
#define BN_CONVERT_HF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum hf_source { HF_BITNET_2B4T, HF_BITNET_1BITLLM, HF_LLAMA_TERNARY };

typedef struct hf_config {
    enum hf_source source;
    char arch_class[64];        /* architectures[0] */
    int64_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab, n_ctx, head_dim;
    double rope_theta, rms_eps;
    int relu2;                  /* hidden_act relu2, else silu */
    int tied;                   /* tie_word_embeddings */
    int scale_divides;          /* packed weights: w = code / weight_scale (else times) */
    int64_t bos_id, eos_id;     /* -1 when absent */
    char name[128];             /* for general.name */
} hf_config;

/* Reads DIR/NAME as JSON. Returns the value, or NULL: with a message in err
 * when the file exists but is no valid JSON (or is required and missing),
 * with err empty when an optional file is absent. */
json_t *hf_json_load(const char *dir, const char *name, int required, char *err, size_t en);
/* The same with jansson decoding flags added (JSON_DECODE_INT_AS_REAL for
 * files with integers beyond 64 bits, as tokenizer_config.json's
 * model_max_length = 1e30 of Llama 3). */
json_t *hf_json_load_flags(const char *dir, const char *name, int required, size_t flags, char *err, size_t en);

int hf_config_load(hf_config *c, const char *dir, char *err, size_t en);

#endif
