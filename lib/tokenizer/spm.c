/*
 * SentencePiece BPE (tokenizer.ggml.model "llama"), as llama.cpp's
 * llm_tokenizer_spm_session: spaces become U+2581, the text starts as one
 * symbol per character, and the adjacent pair whose concatenation is the
 * normal token of highest score is merged (equal scores: leftmost first)
 * until no pair forms a token. A symbol left that is not a token falls back
 * to the tokens of its bytes (<0x00>..<0xFF>). An ill-formed UTF-8 byte is a
 * symbol of its own that never merges and always becomes its byte token.
 *
 * A fragment may be megabytes without a space (CJK text), so it is done as
 * in bpe.c, in the 16 bytes per byte of bn_word_reserve: symbols are byte
 * ranges of the text itself (copied behind a space for the space prefix), a
 * space standing for U+2581; link[] holds their boundary tags (link[first] =
 * last, link[last] = first; NOT_START marks a byte that no longer starts a
 * symbol); the queue holds (score order << 32 | left) of the pairs that form
 * a token; a candidate's text is escaped into the rest of the block only
 * when it is looked up, and not at all when it is longer than every normal
 * token.
 */
#include <string.h>

#include "tokenizer/queue.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

#define NOT_START 0x80000000u

static const uint8_t u2581[3] = { 0xE2, 0x96, 0x81 };

typedef struct frag {
    const bn_vocab *v;
    const uint8_t *t;           /* the text, [0, n) */
    uint32_t n, end;            /* end: of the range being merged */
    uint32_t *link;
    uint64_t *q;
    size_t n_q, cap;
    uint8_t *esc;               /* room for 3 * n bytes */
} frag;

static int is_start(const frag *f, uint32_t p)
{
    return !(f->link[p] & NOT_START) && f->link[p] >= p;
}

/* An ill-formed byte: a one-byte symbol that is not ASCII. */
static int is_invalid(const frag *f, uint32_t first)
{
    return f->link[first] == first && f->t[first] >= 0x80;
}

/* Escapes t[a..b] into f->esc; returns its length. */
static size_t escape(const frag *f, uint32_t a, uint32_t b)
{
    size_t m = 0;
    for (uint32_t i = a; i <= b; i++) {
        if (f->t[i] == ' ') {
            memcpy(f->esc + m, u2581, 3);
            m += 3;
        } else {
            f->esc[m++] = f->t[i];
        }
    }
    return m;
}

/* The normal token whose text is t[a..b] escaped, or -1. */
static int32_t find_span(const frag *f, uint32_t a, uint32_t b)
{
    if (b - a + 1 > f->v->max_word_len)     /* escaping never shortens it */
        return -1;
    return bn_vocab_find_word(f->v, f->esc, escape(f, a, b));
}

/* Scores in the order of a min-heap: the highest first. */
static uint32_t score_order(float score)
{
    uint32_t u;
    if (score == 0)
        score = 0;                  /* -0 ties with +0 */
    memcpy(&u, &score, sizeof u);
    u = (u & 0x80000000u) ? ~u : u | 0x80000000u;      /* ascending with the float */
    return ~u;                      /* never 0: NaN scores are refused at load */
}

/* The queue entry of the pair starting at the symbol at left, or 0. */
static uint64_t pair_at(const frag *f, uint32_t left)
{
    uint32_t right = f->link[left] + 1;
    if (right >= f->end || is_invalid(f, left) || is_invalid(f, right))
        return 0;
    int32_t id = find_span(f, left, f->link[right]);
    return id < 0 ? 0 : (uint64_t)score_order(f->v->tok[id].score) << 32 | left;
}

static int live(const void *ctx, uint64_t e)
{
    const frag *f = ctx;
    return is_start(f, (uint32_t)e) && pair_at(f, (uint32_t)e) == e;
}

static int is_space_at(const frag *f, uint32_t first)
{
    uint32_t len = f->link[first] - first + 1;
    return (len == 1 && f->t[first] == ' ') || (len == 3 && !memcmp(f->t + first, u2581, 3));
}

/* Merges the symbols of [a, end) and emits their tokens. */
static void merge_range(frag *f, uint32_t a, uint32_t end, bn_tok_sink *out)
{
    const bn_vocab *v = f->v;
    f->end = end;
    f->n_q = 0;
    for (uint32_t p = a; p < end; p = f->link[p] + 1) {
        uint64_t e = pair_at(f, p);
        if (e)
            f->q[f->n_q++] = e;
    }
    bn_queue_heapify(f->q, f->n_q);
    while (f->n_q) {
        uint64_t e = f->q[0];
        uint32_t left = (uint32_t)e;
        if (!is_start(f, left) || pair_at(f, left) != e) {      /* stale */
            bn_queue_replace_top(f->q, &f->n_q, 0);
            continue;
        }
        uint32_t right = f->link[left] + 1, last = f->link[right];
        if (right != last)
            f->link[right] |= NOT_START;
        f->link[left] = last;
        f->link[last] = left;
        bn_queue_replace_top(f->q, &f->n_q, pair_at(f, left));
        if (left > a) {
            uint64_t prev = pair_at(f, f->link[left - 1]);
            if (prev)
                bn_queue_push(f->q, &f->n_q, f->cap, prev, live, f);
        }
    }
    for (uint32_t p = a; p < end; p = f->link[p] + 1) {
        uint32_t last = f->link[p];
        int32_t id = is_invalid(f, p) ? -1 : find_span(f, p, last);
        if (id >= 0) {
            bn_sink_put(out, id);
        } else if (is_invalid(f, p)) {
            bn_sink_put(out, v->byte_token[f->t[p]]);
        } else {                    /* not a token: its bytes */
            size_t m = escape(f, p, last);
            for (size_t j = 0; j < m; j++)
                bn_sink_put(out, v->byte_token[f->esc[j]]);
        }
    }
}

int bn_spm_fragment(const bn_vocab *v, bn_tok_scratch *s, const uint8_t *text, size_t n,
                    int space_prefix, bn_tok_sink *out)
{
    if (n == 0)
        return BN_OK;
    size_t n_t = n + (space_prefix ? 1 : 0);
    int rc = bn_word_reserve(s, n_t);
    if (rc)
        return rc;
    /* the tok part of the block (4 bytes per byte): the text with its space
     * prefix, then room to escape any span of it */
    uint8_t *t = (uint8_t *)s->tok;
    if (space_prefix) {
        t[0] = ' ';
        memcpy(t + 1, text, n);
    } else {
        memcpy(t, text, n);
    }
    frag f = { v, t, (uint32_t)n_t, 0, s->link, s->queue, 0, n_t, t + n_t };
    for (uint32_t i = 0; i < n_t;) {
        uint32_t cp;
        uint32_t l = (uint32_t)bn_utf8_decode(t + i, n_t - i, &cp);
        if (l == 0)
            l = 1;                  /* an ill-formed byte: alone */
        f.link[i] = i + l - 1;
        f.link[i + l - 1] = i;
        for (uint32_t k = i + 1; k + 1 < i + l; k++)
            f.link[k] = NOT_START;
        i += l;
    }
    /* When no normal token has U+2581 after another character (checked at
     * load), no merge joins a character to a following U+2581: the words are
     * merged one by one, with the same result and a small queue. */
    uint32_t a = 0;
    for (uint32_t p = 0, prev = 0; v->spm_word_split && p < n_t; prev = p, p = f.link[p] + 1) {
        if (p > 0 && is_space_at(&f, p) && !is_space_at(&f, prev)) {
            merge_range(&f, a, p, out);
            a = p;
        }
    }
    merge_range(&f, a, (uint32_t)n_t, out);
    return BN_OK;
}
