/*
 * Hostile vocabularies for the tokenizer tests (test_hostile.c) and the
 * benchmark of crafted files (bench_hostile.c), built in C as bn_tok_vocab:
 * keys made to collide in the hash tables libbitnet used before it keyed
 * them (a fixed multiply-xorshift hash; kept here to make the collisions),
 * and a list of small cases with special-token texts, control characters,
 * duplicates and malformed rules.
 */
#ifndef BN_TEST_TOK_HOSTILE_H
#define BN_TEST_TOK_HOSTILE_H

#include <stddef.h>
#include <stdint.h>

#include "tok_models.h"

/* The former token-text hash and merge-table slot (vocab_maps.c before the
 * key), for checking that the keys below do collide under it. */
uint64_t bn_hostile_former_hash(const void *s, size_t n);
uint32_t bn_hostile_former_merge_slot(uint32_t left, uint32_t right, uint32_t mask);

/* A SentencePiece vocabulary: <unk>, <s>, </s>, the 256 byte tokens, U+2581
 * and the letters a-z, then n normal tokens of 8 bytes whose former hashes
 * all had the same slot (and differ elsewhere). */
void bn_hostile_colliding_tokens(bn_tok_vocab *v, uint32_t n);

/* The same shape with n tokens of 8 random bytes (the control). */
void bn_hostile_random_tokens(bn_tok_vocab *v, uint32_t n);

/* A byte-level BPE vocabulary (GPT-2 pre-tokenizer) with n merge rules
 * whose (left, right) pairs all had the same former slot; with random = 1,
 * the same number of rules on pairs chosen at random (the control). */
void bn_hostile_colliding_merges(bn_tok_vocab *v, uint32_t n, int random);

/* A byte-level BPE vocabulary (GPT-2 pre-tokenizer) with every string of 2
 * to max_len (<= 16) letters a and b as a token, each made by one rule split
 * at random, the rules in random order: a long word of a and b merges a lot. */
void bn_hostile_dense_merges(bn_tok_vocab *v, unsigned max_len, uint64_t seed);

/* A SentencePiece vocabulary with every string of 2 to max_len characters
 * a, b and U+2581 as a token, with few distinct scores (many ties). */
void bn_hostile_dense_spm(bn_tok_vocab *v, unsigned max_len, uint64_t seed);

/* Small hostile vocabularies, i = 0, 1, ...: fills v, *name and the status
 * loading must give (*expect: BN_OK, or BN_E_MODEL for a file that must be
 * refused) and returns 1, or returns 0 past the last. */
int bn_hostile_case(unsigned i, bn_tok_vocab *v, const char **name, int *expect);

/* n bytes of text drawn from alphabet (seeded), NUL-terminated. */
char *bn_hostile_text(const char *alphabet, size_t n, uint64_t seed);

#endif
