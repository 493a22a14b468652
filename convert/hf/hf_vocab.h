/*
 * The tokenizer of a checkpoint as GGUF metadata: from tokenizer.json
 * (byte-level BPE, "gpt2" in GGUF) or tokenizer.model (SentencePiece,
 * "llama"), completed by tokenizer_config.json and generation_config.json
 * (special token ids, add_bos/eos, chat template).
 */
#ifndef BN_CONVERT_HF_VOCAB_H
#define BN_CONVERT_HF_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "gguf/gguf.h"

typedef struct hf_vocab {
    const char *model;          /* "gpt2" or "llama" */
    const char *pre;            /* tokenizer.ggml.pre (gpt2 only) */
    uint64_t n_tokens;
    char **tokens;              /* n_tokens strings */
    int32_t *types;             /* token_type: 1 normal, 2 unknown, 3 control, 4 user, 5 unused, 6 byte */
    float *scores;              /* llama only */
    uint64_t n_merges;
    char **merges;              /* "a b", rank order (gpt2) */
    int64_t bos, eos, eot, unk, pad;  /* -1: none */
    int add_bos, add_eos;       /* -1: not said */
    int add_space_prefix;       /* llama: -1 not said */
    char *chat_template;
} hf_vocab;

void hf_vocab_init(hf_vocab *v);
void hf_vocab_free(hf_vocab *v);

/* Parses a tokenizer.json image (len bytes, not NUL-terminated); `path`
 * names it in messages. Returns 0 or -1 with a message in err. */
int hf_vocab_from_tokenizer_json(hf_vocab *v, const char *json, size_t len, const char *path, char *err,
                                 size_t en);

/* Reads a SentencePiece tokenizer.model image. */
int hf_vocab_from_spm(hf_vocab *v, const uint8_t *data, size_t len, const char *path, char *err, size_t en);

/* Reads DIR's tokenizer.json or tokenizer.model, then tokenizer_config.json
 * and generation_config.json; pads the vocabulary to n_vocab rows of the
 * embedding with unused tokens (a longer one is an error). cfg_bos/eos come
 * from config.json (-1: absent). */
int hf_vocab_load(hf_vocab *v, const char *dir, uint64_t n_vocab, int64_t cfg_bos, int64_t cfg_eos, char *err,
                  size_t en);

/* Adds the tokenizer.* keys. */
int hf_vocab_write(const hf_vocab *v, bn_gguf_writer *w);

#endif
