/*
 * Vocabularies for the tokenizer tests: built in C, written as tokenizer.ggml.*
 * metadata of a tiny model (test/util), loaded with the public API.
 *
 *     bn_tok_vocab v;
 *     bn_tok_vocab_hand_bpe(&v, "llama-bpe");
 *     bn_model *m = bn_tok_model_load(&v, NULL);   // NULL: see bn_last_error()
 *     ...
 *     bn_model_free(&m);
 *     bn_tok_vocab_free(&v);
 */
#ifndef BN_TEST_TOK_MODELS_H
#define BN_TEST_TOK_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"
#include "gguf/gguf.h"

#define BN_TOK_NO_KEY INT64_MIN         /* an id or flag key left out */

typedef struct bn_tok_vocab {
    const char *model;          /* tokenizer.ggml.model; NULL: key left out */
    const char *pre;            /* tokenizer.ggml.pre; NULL: left out */
    uint32_t n, cap;
    char **tokens;
    size_t *lens;
    int32_t *types;
    float *scores;
    char **merges;
    uint32_t n_merges, merges_cap;
    int write_types, write_scores, write_merges;
    uint64_t n_types_written, n_scores_written; /* UINT64_MAX: n */
    int tokens_as_ints;         /* write tokenizer.ggml.tokens as an i32 array */
    int64_t bos, eos, eot, pad, unk;    /* BN_TOK_NO_KEY or an id (-1 allowed) */
    uint32_t id_type;           /* GGUF type of the id keys: BN_GGUF_U32 or I32 */
    int64_t add_bos, add_eos, add_space_prefix;     /* BN_TOK_NO_KEY, 0 or 1 */
} bn_tok_vocab;

void bn_tok_vocab_init(bn_tok_vocab *v, const char *model);
void bn_tok_vocab_free(bn_tok_vocab *v);
/* Appends a token; returns its id. */
int32_t bn_tok_vocab_add(bn_tok_vocab *v, const char *text, size_t len, int32_t type, float score);
int32_t bn_tok_vocab_add_str(bn_tok_vocab *v, const char *text, int32_t type, float score);
void bn_tok_vocab_add_merge(bn_tok_vocab *v, const char *rule);
/* A SentencePiece vocabulary's start: <unk>, <s>, </s>, then <0x00>..<0xFF>
 * (ids 3 + byte), with scores written. */
void bn_tok_vocab_spm_start(bn_tok_vocab *v);
/* The 256 GPT-2 byte characters, id = byte. */
void bn_tok_vocab_add_gpt2_bytes(bn_tok_vocab *v);
/* A byte-level BPE token given as raw bytes (spelled in GPT-2 characters). */
int32_t bn_tok_vocab_add_bpe(bn_tok_vocab *v, const char *bytes, int32_t type);

/* Writes the vocabulary's metadata (a bn_test_meta_fn). */
int bn_tok_vocab_meta(bn_gguf_writer *w, void *vocab);

/* A tiny model with this vocabulary (n_vocab = v->n) as a GGUF image. */
int bn_tok_model_image(const bn_tok_vocab *v, uint8_t **data, size_t *size);
/* Loads that image; NULL on failure (message in bn_last_error(), status in
 * *rc when rc is not NULL). The image is kept alive with the model. */
bn_model *bn_tok_model_load(const bn_tok_vocab *v, int *rc);
void bn_tok_model_free(bn_model **m);

/*
 * The hand-made vocabularies of the unit tests.
 * BPE (ids): 0..255 the bytes; 256 ab, 257 bc, 258 abc, 259 aa, 260 " a",
 *   261 " ab", 262 hello, 263 "  ", 264 "\n\n", 265 <|begin_of_text|> (control),
 *   266 <|end_of_text|>, 267 <|eot_id|>, 268 <|eom_id|>, 269 "<|eot_id|>!"
 *   (control), 270 <tool> (user-defined), 271 "" (empty), 272 <unused> (unused).
 *   Merges in rank order: a b, b c, ab c, a a, " a", " a" b, "  ", "\n\n".
 *   BOS 265, EOS 266; no EOT key (found by text: 267).
 * SentencePiece: 0 <unk>, 1 <s>, 2 </s>, 3..258 <0x00>..<0xFF>, 259 ▁,
 *   260 a, 261 b, 262 c, 263 ▁a (-3), 264 ab (-1), 265 abc (-4), 266 ▁ab (-5),
 *   267 bc (-2), 268 ▁▁ (-6), 269 é, 270 <tool> (user-defined).
 */
void bn_tok_vocab_hand_bpe(bn_tok_vocab *v, const char *pre);
void bn_tok_vocab_hand_spm(bn_tok_vocab *v);

/* The LLaMA SentencePiece vocabulary from llama-tokenizer-js (npm tarball or
 * unpacked directory): 32000 tokens, scores rebuilt from the merge ranks. */
int bn_tok_vocab_from_llama_js(bn_tok_vocab *v, const char *npm_path);

#endif
