/*
 * The synthetic byte-level BPE vocabulary ("gpt2" tokenizer model): 256 byte
 * tokens in GPT-2's byte->unicode spelling, then merges of two existing tokens
 * drawn from splitmix64, then the special tokens.
 */
#ifndef BN_MKMODEL_VOCAB_H
#define BN_MKMODEL_VOCAB_H

#include <stddef.h>
#include <stdint.h>

/* Smallest n_vocab: the 256 byte tokens, at least one merge, 8 specials. */
#define BN_MKMODEL_MIN_VOCAB (256 + 1 + 8)
/* Llama 3's size: from here on the specials sit at Llama 3's ids. */
#define BN_MKMODEL_LLAMA3_VOCAB 128256

typedef struct bn_mkmodel_vocab {
    uint64_t n_tokens;
    const char **tokens;        /* UTF-8, NUL-terminated */
    size_t *token_lens;         /* bytes */
    int32_t *token_types;       /* 1 normal, 3 control */
    uint64_t n_merges;
    const char **merges;        /* "left right" */
    uint32_t bos, eos, eot;
    char note[96];              /* for mkmodel.vocab */
    char *arena;                /* owns every string */
} bn_mkmodel_vocab;

/* Builds the synthetic vocabulary of n_vocab (>= BN_MKMODEL_MIN_VOCAB)
 * tokens. Returns 0 or a negative BN_E_* status with a message. */
int bn_mkmodel_vocab_synthetic(bn_mkmodel_vocab *v, uint64_t n_vocab, int64_t seed);

void bn_mkmodel_vocab_free(bn_mkmodel_vocab *v);

#endif
