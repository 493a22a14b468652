/*
 * SentencePiece BPE (tokenizer.ggml.model "llama"), as llama.cpp's
 * llm_tokenizer_spm_session: spaces become U+2581, the text starts as one
 * symbol per character, and the adjacent pair whose concatenation is the
 * normal token of highest score is merged (equal scores: leftmost first)
 * until no pair forms a token. A symbol left that is not a token falls back
 * to the tokens of its bytes (<0x00>..<0xFF>). An ill-formed UTF-8 byte is a
 * symbol of its own that never merges and always becomes its byte token.
 */
#include <string.h>

#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

#define INVALID_BYTE (-2)           /* bn_sym.id of an ill-formed byte */

static void try_add(const bn_vocab *v, bn_tok_scratch *s, size_t *n_heap, int32_t left,
                    int32_t right)
{
    if (left < 0 || right < 0)
        return;
    const bn_sym *l = &s->sym[left], *r = &s->sym[right];
    if (l->id == INVALID_BYTE || r->id == INVALID_BYTE)
        return;
    /* the two symbols are adjacent in the escaped text */
    uint32_t size = l->len + r->len;
    int32_t id = bn_vocab_find_word(v, s->text + l->start, size);
    if (id < 0)
        return;
    bn_bigram b = { v->tok[id].score, (uint32_t)left, (uint32_t)right, size, id };
    bn_heap_push(s->heap, n_heap, b);
}

/* Splits text into symbols, escaping spaces; returns the symbol count. */
static size_t split(bn_tok_scratch *s, const uint8_t *text, size_t n, int space_prefix)
{
    static const uint8_t space[3] = { 0xE2, 0x96, 0x81 };     /* U+2581 */
    uint8_t *t = s->text;
    size_t m = 0, k = 0;
    if (space_prefix) {
        memcpy(t, space, 3);
        s->sym[k++] = (bn_sym){ 0, 3, -1, -1, -1 };
        m = 3;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = bn_utf8_decode(text + i, n - i, &cp);
        bn_sym sym = { (uint32_t)m, (uint32_t)l, (int32_t)k - 1, -1, -1 };
        if (l == 0) {
            t[m] = text[i];
            sym.len = 1;
            sym.id = INVALID_BYTE;
            l = 1;
        } else if (cp == ' ') {
            memcpy(t + m, space, 3);
            sym.len = 3;
        } else {
            memcpy(t + m, text + i, l);
        }
        m += sym.len;
        i += l;
        if (k > 0)
            s->sym[k - 1].next = (int32_t)k;
        s->sym[k++] = sym;
    }
    return k;
}

static int is_space_sym(const bn_tok_scratch *s, const bn_sym *y)
{
    return y->len == 3 && y->id != INVALID_BYTE && !memcmp(s->text + y->start, "\xE2\x96\x81", 3);
}

/* Merges symbols [a, b) (chained) and emits their tokens. */
static void merge_range(const bn_vocab *v, bn_tok_scratch *s, int32_t a, int32_t b,
                        bn_tok_sink *out)
{
    bn_sym *sym = s->sym;
    sym[a].prev = -1;
    sym[b - 1].next = -1;
    size_t n_heap = 0;
    for (int32_t k = a + 1; k < b; k++)
        try_add(v, s, &n_heap, k - 1, k);
    while (n_heap) {
        bn_bigram g = bn_heap_pop(s->heap, &n_heap);
        bn_sym *l = &sym[g.left], *r = &sym[g.right];
        if (!l->len || !r->len || l->len + r->len != g.size)
            continue;
        l->id = g.result;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = (int32_t)g.left;
        try_add(v, s, &n_heap, l->prev, (int32_t)g.left);
        try_add(v, s, &n_heap, (int32_t)g.left, l->next);
    }
    for (int32_t k = a; k >= 0; k = sym[k].next) {
        const bn_sym *y = &sym[k];
        const uint8_t *p = s->text + y->start;
        int32_t id = y->id;
        if (id == -1)               /* a single character: a token, or its bytes */
            id = bn_vocab_find_word(v, p, y->len);
        if (id >= 0) {
            bn_sink_put(out, id);
            continue;
        }
        for (uint32_t j = 0; j < y->len; j++)
            bn_sink_put(out, v->byte_token[p[j]]);
    }
}

int bn_spm_fragment(const bn_vocab *v, bn_tok_scratch *s, const uint8_t *text, size_t n,
                    int space_prefix, bn_tok_sink *out)
{
    if (n == 0)
        return BN_OK;
    int rc = bn_scratch_reserve(s, n + 1);
    if (!rc)
        rc = bn_scratch_reserve_text(s, 3 * n + 3);
    if (rc)
        return rc;
    int32_t n_sym = (int32_t)split(s, text, n, space_prefix);
    /* When no normal token has U+2581 after another character (checked at
     * load), no merge joins a character to a following U+2581: the words are
     * merged one by one, with the same result and a small heap. */
    int32_t a = 0;
    for (int32_t k = 1; v->spm_word_split && k < n_sym; k++) {
        if (is_space_sym(s, &s->sym[k]) && !is_space_sym(s, &s->sym[k - 1])) {
            merge_range(v, s, a, k, out);
            a = k;
        }
    }
    merge_range(v, s, a, n_sym, out);
    return BN_OK;
}
