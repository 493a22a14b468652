/*
 * The vocabulary of a model and its tokenizers: byte-level BPE (GGUF
 * tokenizer.ggml.model "gpt2") with the Llama 3 or GPT-2 pre-tokenizer, and
 * SentencePiece ("llama"). Built and validated once at model load, then
 * read-only: any number of threads may tokenize with one vocabulary at once.
 * doc/tokenizer.md describes the algorithms and every rule chosen here.
 */
#ifndef BN_TOKENIZER_VOCAB_H
#define BN_TOKENIZER_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"
#include "gguf/gguf.h"

typedef struct bn_vocab bn_vocab;

/*
 * Reads the tokenizer.ggml.* metadata of g for a model with n_vocab embedding
 * rows. Strings are not copied: g's buffer must outlive the vocabulary.
 * *out is NULL (and BN_OK returned) when the file has no tokenizer
 * (tokenizer.ggml.model absent or "none"). Errors: BN_E_MODEL (inconsistent
 * vocabulary, with a message naming the key or entry), BN_E_UNSUPPORTED
 * (unknown tokenizer model or pre-tokenizer), BN_E_NOMEM.
 */
int bn_vocab_load(bn_vocab **out, const bn_gguf *g, int32_t n_vocab);
void bn_vocab_free(bn_vocab *v);

/* The work behind bn_tokenize(); arguments already checked. Never fails on
 * any input bytes: BN_OK, BN_E_RANGE (n_max too small), BN_E_NOMEM. */
int bn_vocab_tokenize(const bn_vocab *v, const char *text, size_t len, bn_token *out,
                      size_t n_max, uint32_t flags, size_t *n_out);

/* Tokenizes text in which only the marked ranges (n_marks pairs [begin, end)
 * of byte offsets, sorted and disjoint) may spell control tokens: there
 * special tokens are parsed as with BN_TOKENIZE_PARSE_SPECIAL, elsewhere as
 * without it. No BOS or EOS is added. Errors as bn_vocab_tokenize(). */
int bn_vocab_tokenize_marked(const bn_vocab *v, const char *text, size_t len, const size_t *marks,
                             size_t n_marks, bn_token *out, size_t n_max, size_t *n_out);

/* The bytes token id stands for (id in range); *len is their count. With
 * special = 0, control and unknown tokens give no bytes. */
const char *bn_vocab_piece(const bn_vocab *v, bn_token id, int special, size_t *len);

/* The work behind bn_detokenize(); ids already checked to be in range. */
int bn_vocab_detokenize(const bn_vocab *v, const bn_token *tokens, size_t n_tokens, char *buf,
                        size_t buf_size, uint32_t flags, size_t *n_out);

int32_t bn_vocab_n_tokens(const bn_vocab *v);

enum bn_vocab_special { BN_VOCAB_BOS, BN_VOCAB_EOS, BN_VOCAB_EOT, BN_VOCAB_PAD, BN_VOCAB_UNK,
                        BN_VOCAB_EOM, BN_VOCAB_SPECIAL_COUNT };
/* A special token's id, or -1. */
bn_token bn_vocab_special(const bn_vocab *v, enum bn_vocab_special which);
int bn_vocab_is_eog(const bn_vocab *v, bn_token id);

#endif
