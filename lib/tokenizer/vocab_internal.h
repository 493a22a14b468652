/* The vocabulary's tables, shared by the files of lib/tokenizer/. */
#ifndef BN_TOKENIZER_VOCAB_INTERNAL_H
#define BN_TOKENIZER_VOCAB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/siphash.h"
#include "tokenizer/vocab.h"

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum {
    BN_TOKTYPE_UNDEFINED = 0, BN_TOKTYPE_NORMAL = 1, BN_TOKTYPE_UNKNOWN = 2,
    BN_TOKTYPE_CONTROL = 3, BN_TOKTYPE_USER_DEFINED = 4, BN_TOKTYPE_UNUSED = 5,
    BN_TOKTYPE_BYTE = 6
};

enum bn_vocab_kind { BN_VOCAB_BPE, BN_VOCAB_SPM };
enum bn_pretok_kind { BN_PRETOK_LLAMA3, BN_PRETOK_GPT2 };

typedef struct bn_vtok {
    const char *text;           /* as in the file (into the GGUF buffer) */
    const char *piece;          /* the bytes it stands for (file or arena) */
    uint32_t text_len, piece_len;
    float score;                /* SentencePiece only */
    uint8_t type;               /* BN_TOKTYPE_*, any other value kept as is */
} bn_vtok;

/* Open-addressing hash table of token ids keyed by their text. A slot has
 * the key itself, so that a lookup touches
 * the slot and the key's bytes only; 16 bits of hash and the length (capped)
 * keep most mismatches from reading the key. */
typedef struct bn_str_slot {
    const char *key;
    uint32_t id1;               /* id + 1; 0 = empty */
    uint16_t len;               /* key length, or 0xFFFF for that and longer */
    uint16_t tag;               /* top bits of the hash */
} bn_str_slot;

typedef struct bn_str_map {
    bn_str_slot *slot;
    uint32_t mask;
    bn_hash_key key;            /* random for each table (vocab_maps.c) */
} bn_str_map;

/* One BPE merge rule, in a hash table keyed by (left, right). */
typedef struct bn_merge {
    uint32_t left, right;
    uint32_t rank1;             /* rank + 1; 0 = empty slot */
    uint32_t result;
} bn_merge;

/* Special tokens matched in the text, sorted by text (then id). */
typedef struct bn_special_set {
    uint32_t *ids;
    uint32_t n;
    uint8_t first[32];          /* bitmap of their first bytes */
} bn_special_set;

struct bn_vocab {
    int kind;                   /* enum bn_vocab_kind */
    int pretok;                 /* enum bn_pretok_kind, BPE only */
    int ignore_merges;          /* BPE: a word that is a token is not split */
    int add_bos, add_eos;
    int add_space_prefix;       /* SentencePiece */
    int spm_word_split;         /* SentencePiece: U+2581 only leads normal tokens */
    uint32_t n_tokens;
    uint32_t max_word_len;      /* the longest text of a normal token */
    bn_vtok *tok;
    char *arena;                /* pieces that differ from the text */
    bn_str_map text_map;        /* every token by text (last duplicate wins) */
    uint8_t gpt2_char[256][2];  /* BPE: the UTF-8 of each byte's stand-in */
    uint8_t gpt2_len[256];
    bn_merge *merges;           /* BPE */
    uint32_t merge_mask, n_merges;
    int32_t byte_token[256];    /* the token of each raw byte */
    int32_t special[BN_VOCAB_SPECIAL_COUNT];
    int32_t eog[16];
    int n_eog;
    bn_special_set spec_user;   /* user-defined tokens: always matched */
    bn_special_set spec_all;    /* plus control and unknown: PARSE_SPECIAL */
};

/* ---- hashing (vocab_maps.c) ---------------------------------------------- */
void bn_hash_key_random(bn_hash_key *k);
static inline uint64_t bn_str_map_hash(const bn_str_map *m, const void *s, size_t n)
{
    return bn_siphash13(&m->key, s, n);
}
/* Builds m over the texts of all tokens, under a new random key. */
int bn_str_map_build(bn_str_map *m, const bn_vtok *tok, uint32_t n_tokens);
void bn_str_map_free(bn_str_map *m);
/* The id whose key is s[0..n), or -1; _h with h = bn_str_map_hash(m, s, n). */
int32_t bn_str_map_find(const bn_str_map *m, const bn_vtok *tok, const void *s, size_t n);
int32_t bn_str_map_find_h(const bn_str_map *m, const bn_vtok *tok, const void *s, size_t n,
                          uint64_t h);

/* The token whose text is s[0..n) when it is one the tokenizer may produce
 * from text (normal; BPE: also byte), else -1. */
static inline int32_t bn_vocab_find_word(const bn_vocab *v, const void *s, size_t n)
{
    int32_t id = bn_str_map_find(&v->text_map, v->tok, s, n);
    if (id >= 0 && v->tok[id].type != BN_TOKTYPE_NORMAL &&
        !(v->kind == BN_VOCAB_BPE && v->tok[id].type == BN_TOKTYPE_BYTE))
        return -1;
    return id;
}

/* Parses and checks tokenizer.ggml.merges into v->merges. */
int bn_vocab_build_merges(bn_vocab *v, const bn_gguf_value *arr);
/* The merges are hashed under the text map's key. */
static inline uint64_t bn_vocab_merge_hash(const bn_vocab *v, uint32_t left, uint32_t right)
{
    return bn_siphash13_u64(&v->text_map.key, (uint64_t)left << 32 | right);
}
/* The merge of (left, right), or NULL. */
static inline const bn_merge *bn_vocab_find_merge(const bn_vocab *v, uint32_t left, uint32_t right)
{
    uint64_t h = bn_vocab_merge_hash(v, left, right);
    for (uint32_t i = (uint32_t)h & v->merge_mask;; i = (i + 1) & v->merge_mask) {
        const bn_merge *e = &v->merges[i];
        if (!e->rank1)
            return NULL;
        if (e->left == left && e->right == right)
            return e;
    }
}

/* The work of lookups in a table: slots read to find each key (summed), and
 * slots read by a lookup that misses (summed over its n_slots first slots).
 * Under a random hash at a load of at most 2/3, linear probing reads about 2
 * slots per hit and 5 per miss; keys made to collide, up to n_keys each. */
typedef struct bn_table_work {
    uint64_t n_keys, n_slots, hit_probes, miss_probes;
} bn_table_work;
/* For tests: the work of the token table and of the merge table (zero
 * without merges); linear in the tables' size. */
void bn_vocab_table_work(const bn_vocab *v, bn_table_work *tokens, bn_table_work *merges);

/* ---- tokenizing ------------------------------------------------------------ */

/* Where tokens go: counted always, stored while there is room. */
typedef struct bn_tok_sink {
    bn_token *out;
    size_t n_max, n;
} bn_tok_sink;

static inline void bn_sink_put(bn_tok_sink *s, int32_t id)
{
    if (s->n < s->n_max)
        s->out[s->n] = id;
    s->n++;
}

/* Buffers one bn_tokenize() call reuses from fragment to fragment. */
typedef struct bn_tok_scratch {
    uint64_t *queue;            /* one block of 16 bytes per byte of the longest */
    uint32_t *link;             /* word or fragment so far (bn_word_reserve) */
    int32_t *tok;
    size_t word_cap;
    bn_merge *memo;             /* BPE: recent merge lookups (bpe.c) */
    unsigned memo_bits;         /* 1 << memo_bits entries */
} bn_tok_scratch;

/* Room for a word of n bytes: queue (8 bytes), link and tok (4 each) per
 * byte. The old block is freed first and the new one is exact: the peak
 * stays at 16 bytes per byte. BN_E_NOMEM beyond 2^31 bytes. */
int bn_word_reserve(bn_tok_scratch *s, size_t n);
void bn_scratch_free(bn_tok_scratch *s);

/* Length in bytes of the pre-token starting at s[i] (a well-formed character);
 * the text ends at n or at the first ill-formed byte. */
size_t bn_pretok_llama3(const uint8_t *s, size_t i, size_t n);
size_t bn_pretok_gpt2(const uint8_t *s, size_t i, size_t n);

int bn_bpe_fragment(const bn_vocab *v, bn_tok_scratch *s, const uint8_t *text, size_t n,
                    bn_tok_sink *out);
int bn_spm_fragment(const bn_vocab *v, bn_tok_scratch *s, const uint8_t *text, size_t n,
                    int space_prefix, bn_tok_sink *out);

/* GPT-2's bytes_to_unicode(): the code point standing for byte b. */
uint32_t bn_gpt2_byte_cp(unsigned b);
/* Its inverse: the byte of code point cp, or -1 when cp stands for none. */
int bn_gpt2_cp_byte(uint32_t cp);

#endif
