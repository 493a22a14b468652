/* Hash tables of the vocabulary: tokens by text or piece, BPE merges by pair.
 * Both are open-addressing with linear probing at a load of at most 1/2
 * (tokens) or 2/3 (merges), sized from counts that the GGUF reader has
 * already bounded by the file's size. The model file is untrusted: with a fixed hash, a file whose keys
 * collide would make loading and every lookup of tokenizing quadratic
 * (hash flooding). So the hash is SipHash-1-3 under a key drawn at random
 * for each vocabulary: a file cannot be made for a key it does not know, and
 * the key changes nothing but where entries sit (results are the same).
 * Loading the Llama 3 vocabulary makes about a million random lookups: the
 * merges are resolved in batches whose table slots and key bytes are
 * prefetched first, so that the memory latencies overlap. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#  include <sys/mman.h>
#  if defined(__has_include)
#    if __has_include(<sys/random.h>)
#      include <sys/random.h>
#      define HAVE_GETRANDOM 1
#    endif
#  endif
#endif

#include "core/error.h"
#include "tokenizer/vocab_internal.h"

#if defined(__GNUC__)
#  define PREFETCH(p) __builtin_prefetch(p)
#else
#  define PREFETCH(p) ((void)(p))
#endif

#define LEN_CAP 0xFFFFu
#define BATCH 64                    /* lookups whose memory accesses overlap */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A new random key: from the system's generator, else (no getrandom, or it
 * fails) from the clock and addresses, which a file cannot predict either. */
void bn_hash_key_random(bn_hash_key *k)
{
#if defined(HAVE_GETRANDOM)
    if (getrandom(k->k, sizeof k->k, GRND_NONBLOCK) == (ssize_t)sizeof k->k)
        return;
#endif
    struct timespec t = { 0, 0 };
    timespec_get(&t, TIME_UTC);
    uint64_t a = (uint64_t)(uintptr_t)k, b = (uint64_t)(uintptr_t)&t;
    k->k[0] = mix64(((uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec) ^ a);
    k->k[1] = mix64(k->k[0] ^ b ^ (uint64_t)clock());
}

/* Smallest power of two holding n keys at a load of at most 1/2, or 2/3
 * with dense = 1 (>= 16). */
static int table_size(uint64_t n, int dense, uint32_t *size)
{
    uint64_t cap = 16;
    while (cap < (dense ? n + n / 2 : 2 * n))
        cap *= 2;
    if (cap > ((uint64_t)1 << 31))
        return bn_fail(BN_E_MODEL, "vocabulary too large (%" PRIu64 " entries)", n);
    *size = (uint32_t)cap;
    return BN_OK;
}

/* A zeroed table. Large ones ask for huge pages where the system has them on
 * request (Linux THP "madvise"): the lookups at load are random over
 * megabytes, and TLB misses were a good part of their cost. */
static void *table_alloc(size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const size_t huge = (size_t)2 << 20;
    if (bytes >= huge) {
        void *p = NULL;
        if (posix_memalign(&p, huge, (bytes + huge - 1) / huge * huge))
            return NULL;
        madvise(p, bytes, MADV_HUGEPAGE);   /* a hint: failure changes nothing */
        memset(p, 0, bytes);
        return p;
    }
#endif
    return calloc(1, bytes);
}

static int slot_is(const bn_vtok *tok, const bn_str_slot *e, const void *s, size_t n,
                   uint16_t len, uint16_t tag)
{
    if (e->tag != tag || e->len != len)
        return 0;
    if (len == LEN_CAP && tok[e->id1 - 1].text_len != n)   /* long keys: the real length */
        return 0;
    return !memcmp(e->key, s, n);
}

int bn_str_map_build(bn_str_map *m, const bn_vtok *tok, uint32_t n_tokens)
{
    bn_hash_key_random(&m->key);
    uint32_t cap = 0;
    int rc = table_size(n_tokens, 0, &cap);
    if (rc)
        return rc;
    m->slot = table_alloc((size_t)cap * sizeof *m->slot);
    if (!m->slot)
        return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    m->mask = cap - 1;
    uint64_t hash[BATCH];
    for (uint32_t first = 0; first < n_tokens; first += BATCH) {
        uint32_t end = n_tokens - first < BATCH ? n_tokens : first + BATCH;
        for (uint32_t id = first; id < end; id++) {
            hash[id - first] = bn_str_map_hash(m, tok[id].text, tok[id].text_len);
            PREFETCH(&m->slot[(uint32_t)hash[id - first] & m->mask]);
        }
        for (uint32_t id = first; id < end; id++) {
            size_t n = tok[id].text_len;
            const char *s = tok[id].text;
            uint64_t h = hash[id - first];
            uint16_t tag = (uint16_t)(h >> 48), len = n < LEN_CAP ? (uint16_t)n : LEN_CAP;
            for (uint32_t i = (uint32_t)h & m->mask;; i = (i + 1) & m->mask) {
                bn_str_slot *e = &m->slot[i];
                /* a new key, or a duplicate text: the later id wins (llama.cpp) */
                if (!e->id1 || slot_is(tok, e, s, n, len, tag)) {
                    *e = (bn_str_slot){ s, id + 1, len, tag };
                    break;
                }
            }
        }
    }
    return BN_OK;
}

void bn_str_map_free(bn_str_map *m)
{
    free(m->slot);
    m->slot = NULL;
}

int32_t bn_str_map_find_h(const bn_str_map *m, const bn_vtok *tok, const void *s, size_t n,
                          uint64_t h)
{
    uint16_t tag = (uint16_t)(h >> 48), len = n < LEN_CAP ? (uint16_t)n : LEN_CAP;
    for (uint32_t i = (uint32_t)h & m->mask;; i = (i + 1) & m->mask) {
        const bn_str_slot *e = &m->slot[i];
        if (!e->id1)
            return -1;
        if (slot_is(tok, e, s, n, len, tag))
            return (int32_t)(e->id1 - 1);
    }
}

int32_t bn_str_map_find(const bn_str_map *m, const bn_vtok *tok, const void *s, size_t n)
{
    return bn_str_map_find_h(m, tok, s, n, bn_str_map_hash(m, s, n));
}

/* ---- merges ------------------------------------------------------------------------ */

/* One rule "left right" of a batch: its three strings (left, right, and
 * left+right at `cat` in the batch's buffer) and their hashes. */
typedef struct rule {
    const char *left, *right;
    size_t nl, nr, cat;
    uint64_t h[3];
    uint32_t ids[3];
} rule;

static int split_rule(bn_gguf_str s, uint64_t index, rule *r)
{
    /* The separator is the first space after the first byte, as in llama.cpp:
     * byte-level BPE tokens spell a space as U+0120, so the text of a token
     * never holds one. */
    const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', (size_t)s.len - 1) : NULL;
    if (!sp || sp + 1 == s.ptr + s.len)
        return bn_fail(BN_E_MODEL, "tokenizer.ggml.merges[%" PRIu64 "] is not \"left right\"",
                       index);
    r->left = s.ptr;
    r->nl = (size_t)(sp - s.ptr);
    r->right = sp + 1;
    r->nr = (size_t)s.len - r->nl - 1;
    return BN_OK;
}

static void insert_merge(bn_vocab *v, const uint32_t ids[3], uint32_t rank)
{
    uint64_t h = bn_vocab_merge_hash(v, ids[0], ids[1]);
    for (uint32_t i = (uint32_t)h & v->merge_mask;; i = (i + 1) & v->merge_mask) {
        bn_merge *e = &v->merges[i];
        if (!e->rank1) {
            *e = (bn_merge){ ids[0], ids[1], rank + 1, ids[2] };
            v->n_merges++;
            return;
        }
        if (e->left == ids[0] && e->right == ids[1])
            return;                 /* a repeated rule keeps its first rank */
    }
}

/* Resolves and inserts rules [first, first + n) of the batch. */
static int do_batch(bn_vocab *v, rule *r, size_t n, uint64_t first, const char *buf)
{
    const bn_str_map *map = &v->text_map;
    for (size_t k = 0; k < n; k++)
        for (int j = 0; j < 3; j++) {
            const bn_str_slot *e = &map->slot[(uint32_t)r[k].h[j] & map->mask];
            if (e->id1)
                PREFETCH(e->key);
        }
    for (size_t k = 0; k < n; k++) {
        const char *s[3] = { r[k].left, r[k].right, buf + r[k].cat };
        size_t len[3] = { r[k].nl, r[k].nr, r[k].nl + r[k].nr };
        for (int j = 0; j < 3; j++) {
            int32_t id = bn_str_map_find_h(map, v->tok, s[j], len[j], r[k].h[j]);
            if (id < 0)
                return bn_fail(BN_E_MODEL, "tokenizer.ggml.merges[%" PRIu64 "]: the %s is not a "
                               "token", first + k, j == 0 ? "left part" : j == 1 ? "right part"
                                                                                 : "merged text");
            r[k].ids[j] = (uint32_t)id;
        }
        uint64_t h = bn_vocab_merge_hash(v, r[k].ids[0], r[k].ids[1]);
        PREFETCH(&v->merges[(uint32_t)h & v->merge_mask]);
    }
    for (size_t k = 0; k < n; k++)
        insert_merge(v, r[k].ids, (uint32_t)(first + k));
    return BN_OK;
}

int bn_vocab_build_merges(bn_vocab *v, const bn_gguf_value *arr)
{
    uint64_t n = arr->v.arr.count;
    if (n >= UINT32_MAX)
        return bn_fail(BN_E_MODEL, "tokenizer.ggml.merges: too many merges");
    uint32_t cap = 0;
    int rc = table_size(n, 1, &cap);
    if (rc)
        return rc;
    v->merges = table_alloc((size_t)cap * sizeof *v->merges);
    if (!v->merges)
        return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    v->merge_mask = cap - 1;

    rule batch[BATCH];
    char *buf = NULL;
    size_t buf_cap = 0;
    bn_gguf_str_iter it;
    bn_gguf_str_iter_init(&it, arr);
    for (uint64_t first = 0; first < n && !rc; first += BATCH) {
        size_t count = n - first < BATCH ? (size_t)(n - first) : BATCH, used = 0;
        for (size_t k = 0; k < count && !rc; k++) {
            bn_gguf_str s;
            rule *r = &batch[k];
            if (!bn_gguf_str_iter_next(&it, &s)) {
                rc = bn_fail(BN_E_MODEL, "tokenizer.ggml.merges: truncated array");
                break;
            }
            if ((rc = split_rule(s, first + k, r)))
                break;
            if (used + r->nl + r->nr > buf_cap) {
                size_t want = 2 * (used + r->nl + r->nr) + 4096;
                char *p = realloc(buf, want);
                if (!p) {
                    rc = bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
                    break;
                }
                buf = p;
                buf_cap = want;
            }
            r->cat = used;
            memcpy(buf + used, r->left, r->nl);
            memcpy(buf + used + r->nl, r->right, r->nr);
            used += r->nl + r->nr;
            r->h[0] = bn_str_map_hash(&v->text_map, r->left, r->nl);
            r->h[1] = bn_str_map_hash(&v->text_map, r->right, r->nr);
            r->h[2] = bn_str_map_hash(&v->text_map, buf + r->cat, r->nl + r->nr);
            for (int j = 0; j < 3; j++)
                PREFETCH(&v->text_map.slot[(uint32_t)r->h[j] & v->text_map.mask]);
        }
        if (!rc)
            rc = do_batch(v, batch, count, first, buf);
    }
    free(buf);
    return rc;
}

/* ---- the work of lookups (for tests) ------------------------------------------------ */

typedef struct table_view {
    uint32_t mask;
    int (*used)(const bn_vocab *v, uint32_t i);
    uint32_t (*home)(const bn_vocab *v, uint32_t i);      /* first slot of the entry at i */
} table_view;

static int token_used(const bn_vocab *v, uint32_t i) { return v->text_map.slot[i].id1 != 0; }
static int merge_used(const bn_vocab *v, uint32_t i) { return v->merges[i].rank1 != 0; }

static uint32_t token_home(const bn_vocab *v, uint32_t i)
{
    const bn_vtok *t = &v->tok[v->text_map.slot[i].id1 - 1];
    return (uint32_t)bn_str_map_hash(&v->text_map, t->text, t->text_len) & v->text_map.mask;
}

static uint32_t merge_home(const bn_vocab *v, uint32_t i)
{
    return (uint32_t)bn_vocab_merge_hash(v, v->merges[i].left, v->merges[i].right) &
           v->merge_mask;
}

/* Linear in the table's size whatever its contents: hits from each entry's
 * distance to its first slot, misses from the runs of used slots. */
static void table_work(const bn_vocab *v, const table_view *t, bn_table_work *w)
{
    memset(w, 0, sizeof *w);
    w->n_slots = (uint64_t)t->mask + 1;
    uint32_t empty = 0;
    while (empty <= t->mask && t->used(v, empty))
        empty++;
    if (empty > t->mask)
        return;                     /* never: the load is at most 2/3 */
    uint64_t run = 0;               /* used slots from i up to the next empty one */
    for (uint32_t k = 0; k <= t->mask; k++) {
        uint32_t i = (empty - k) & t->mask;
        if (t->used(v, i)) {
            run++;
            w->n_keys++;
            w->hit_probes += ((i - t->home(v, i)) & t->mask) + 1;
        } else {
            run = 0;
        }
        w->miss_probes += run + 1;
    }
}

void bn_vocab_table_work(const bn_vocab *v, bn_table_work *tokens, bn_table_work *merges)
{
    table_view tv = { v->text_map.mask, token_used, token_home };
    table_work(v, &tv, tokens);
    memset(merges, 0, sizeof *merges);
    if (v->merges) {
        table_view mv = { v->merge_mask, merge_used, merge_home };
        table_work(v, &mv, merges);
    }
}
