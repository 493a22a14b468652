/*
 * Byte-level BPE (tokenizer.ggml.model "gpt2"): the text is cut into
 * pre-tokens (pretok.c), each pre-token starts as one symbol per byte (the
 * token of its GPT-2 character) and the adjacent pair with the lowest merge
 * rank is merged until no pair has a rule; equal ranks merge left first. This
 * is llama.cpp's llm_tokenizer_bpe_session, on token ids instead of strings.
 *
 * A pre-token may be megabytes (a run of letters), so its work is
 * O(n log n) in 16 bytes per byte: per byte of the word, link[] holds the
 * boundary tags of the symbols (link[first] = last and link[last] = first,
 * so both neighbours are found in O(1)) and tok[] the token of the symbol
 * starting there (-1 inside a symbol); the queue, a heap of
 * rank << 32 | left, holds the adjacent pairs that have a rule. A merge
 * leaves the queued pairs of its sides stale: they are checked when they
 * come up, and when the queue is full it is rebuilt from its live entries
 * (the pairs left are fewer than the bytes, and each rebuild is followed by
 * at least half as many merges as came before it: O(log n) rebuilds). The
 * merge lookups go through a small memo (find_merge).
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/queue.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

/* The memo of merge lookups: about one entry per 4 bytes of the fragment,
 * 64 to 4096 of them (1 to 64 KiB). */
#define MEMO_BITS_MIN 6
#define MEMO_BITS_MAX 12

static int memo_reserve(bn_tok_scratch *s, size_t n)
{
    unsigned bits = MEMO_BITS_MIN;
    while (bits < MEMO_BITS_MAX && ((size_t)4 << bits) < n)
        bits++;
    if (s->memo && s->memo_bits >= bits)
        return BN_OK;
    free(s->memo);
    s->memo = malloc(sizeof *s->memo << bits);
    s->memo_bits = s->memo ? bits : 0;
    if (!s->memo)
        return bn_fail(BN_E_NOMEM, "bn_tokenize: out of memory");
    memset(s->memo, 0xFF, sizeof *s->memo << bits);       /* all empty */
    return BN_OK;
}

typedef struct word {
    const bn_vocab *v;
    uint32_t *link;
    int32_t *tok;
    uint64_t *q;
    size_t n, n_q;
    bn_merge *memo;
    unsigned memo_shift;
} word;

/* The rule of (l, r), or NULL. Text looks the same pairs up again and
 * again, and each lookup in the merge table costs a SipHash and, for
 * Llama 3's megabytes, a cache miss: a direct-mapped memo keeps the last
 * answer of each index, rank1 = 0 for no rule. Its index needs no key:
 * colliding pairs only evict each other, and the table behind it is keyed.
 * The entry is valid until the next lookup. */
static const bn_merge *find_merge(const word *w, uint32_t l, uint32_t r)
{
    bn_merge *e = &w->memo[(l * 0x9E3779B1u ^ r * 0x85EBCA77u) >> w->memo_shift];
    if (e->left != l || e->right != r) {
        const bn_merge *m = bn_vocab_find_merge(w->v, l, r);
        *e = m ? *m : (bn_merge){ l, r, 0, 0 };
    }
    return e->rank1 ? e : NULL;
}

/* The rule of the pair starting at the symbol at left, or NULL. */
static const bn_merge *merge_at(const word *w, uint32_t left)
{
    uint32_t right = w->link[left] + 1;
    if (right >= w->n)
        return NULL;
    return find_merge(w, (uint32_t)w->tok[left], (uint32_t)w->tok[right]);
}

/* Its queue entry, or 0. */
static uint64_t pair_at(const word *w, uint32_t left)
{
    const bn_merge *m = merge_at(w, left);
    return m ? (uint64_t)m->rank1 << 32 | left : 0;
}

/* Whether entry e is the pair now at its left position. */
static int live(const void *ctx, uint64_t e)
{
    const word *w = ctx;
    uint32_t left = (uint32_t)e;
    return w->tok[left] >= 0 && pair_at(w, left) == e;
}

static int bpe_word(const bn_vocab *v, bn_tok_scratch *s, const uint8_t *text, size_t n,
                    bn_tok_sink *out)
{
    if (n == 1) {
        bn_sink_put(out, v->byte_token[text[0]]);
        return BN_OK;
    }
    int rc = bn_word_reserve(s, n);
    if (rc)
        return rc;
    if (v->ignore_merges) {
        /* the word in GPT-2 characters, as the token texts spell it (in the
         * queue's memory: 2 bytes per byte of its 8) */
        uint8_t *t = (uint8_t *)s->queue;
        size_t m = 0;
        for (size_t k = 0; k < n; k++) {
            t[m] = v->gpt2_char[text[k]][0];
            t[m + 1] = v->gpt2_char[text[k]][1];
            m += v->gpt2_len[text[k]];
        }
        int32_t id = bn_vocab_find_word(v, t, m);
        if (id >= 0) {
            bn_sink_put(out, id);
            return BN_OK;
        }
    }
    word w = { v, s->link, s->tok, s->queue, n, 0, s->memo, 32 - s->memo_bits };
    for (uint32_t k = 0; k < n; k++) {
        w.link[k] = k;
        w.tok[k] = v->byte_token[text[k]];
    }
    for (uint32_t k = 0; k + 1 < n; k++) {
        uint64_t e = pair_at(&w, k);
        if (e)
            w.q[w.n_q++] = e;
    }
    bn_queue_heapify(w.q, w.n_q);
    while (w.n_q) {
        uint64_t e = w.q[0];
        uint32_t left = (uint32_t)e;
        const bn_merge *m = w.tok[left] >= 0 ? merge_at(&w, left) : NULL;
        if (!m || m->rank1 != (uint32_t)(e >> 32)) {              /* stale */
            bn_queue_replace_top(w.q, &w.n_q, 0);
            continue;
        }
        uint32_t right = w.link[left] + 1, last = w.link[right];
        w.tok[left] = (int32_t)m->result;
        w.tok[right] = -1;
        w.link[left] = last;
        w.link[last] = left;
        /* the pair to the right replaces the top; the one to the left is pushed */
        bn_queue_replace_top(w.q, &w.n_q, pair_at(&w, left));
        if (left > 0) {
            uint64_t prev = pair_at(&w, w.link[left - 1]);
            if (prev)
                bn_queue_push(w.q, &w.n_q, w.n, prev, live, &w);
        }
    }
    for (size_t k = 0; k < n; k = (size_t)w.link[k] + 1)
        bn_sink_put(out, w.tok[k]);
    return BN_OK;
}

int bn_bpe_fragment(const bn_vocab *v, bn_tok_scratch *s, const uint8_t *text, size_t n,
                    bn_tok_sink *out)
{
    int rc = memo_reserve(s, n);
    if (rc)
        return rc;
    size_t i = 0;
    while (i < n) {
        size_t m = v->pretok == BN_PRETOK_LLAMA3 ? bn_pretok_llama3(text, i, n)
                                                 : bn_pretok_gpt2(text, i, n);
        if (m == 0) {               /* an ill-formed byte: a piece of its own */
            bn_sink_put(out, v->byte_token[text[i]]);
            i++;
            continue;
        }
        if ((rc = bpe_word(v, s, text + i, m, out)))
            return rc;
        i += m;
    }
    return BN_OK;
}
