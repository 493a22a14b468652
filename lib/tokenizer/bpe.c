/*
 * Byte-level BPE (tokenizer.ggml.model "gpt2"): the text is cut into
 * pre-tokens (pretok.c), each pre-token starts as one symbol per byte (the
 * token of its GPT-2 character) and the adjacent pair with the lowest merge
 * rank is merged until no pair has a rule; equal ranks merge left first. This
 * is llama.cpp's llm_tokenizer_bpe_session, on token ids instead of strings.
 */
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

static void try_add(const bn_vocab *v, bn_tok_scratch *s, size_t *n_heap, int32_t left,
                    int32_t right)
{
    if (left < 0 || right < 0)
        return;
    const bn_sym *l = &s->sym[left], *r = &s->sym[right];
    const bn_merge *m = bn_vocab_find_merge(v, (uint32_t)l->id, (uint32_t)r->id);
    if (!m)
        return;
    bn_bigram b = { -(double)m->rank1, (uint32_t)left, (uint32_t)right, l->len + r->len,
                    (int32_t)m->result };
    bn_heap_push(s->heap, n_heap, b);
}

static int bpe_word(const bn_vocab *v, bn_tok_scratch *s, const uint8_t *w, size_t n,
                    bn_tok_sink *out)
{
    if (n == 1) {
        bn_sink_put(out, v->byte_token[w[0]]);
        return BN_OK;
    }
    int rc = bn_scratch_reserve(s, n);
    if (!rc && v->ignore_merges)
        rc = bn_scratch_reserve_text(s, 2 * n);
    if (rc)
        return rc;
    if (v->ignore_merges) {
        /* the word in GPT-2 characters, as the token texts spell it */
        size_t m = 0;
        for (size_t k = 0; k < n; k++) {
            s->text[m] = v->gpt2_char[w[k]][0];
            s->text[m + 1] = v->gpt2_char[w[k]][1];
            m += v->gpt2_len[w[k]];
        }
        int32_t id = bn_vocab_find_word(v, s->text, m);
        if (id >= 0) {
            bn_sink_put(out, id);
            return BN_OK;
        }
    }
    bn_sym *sym = s->sym;
    for (size_t k = 0; k < n; k++)
        sym[k] = (bn_sym){ (uint32_t)k, 1, (int32_t)k - 1, k + 1 < n ? (int32_t)k + 1 : -1,
                           v->byte_token[w[k]] };
    size_t n_heap = 0;
    for (size_t k = 1; k < n; k++)
        try_add(v, s, &n_heap, (int32_t)k - 1, (int32_t)k);
    while (n_heap) {
        bn_bigram b = bn_heap_pop(s->heap, &n_heap);
        bn_sym *l = &sym[b.left], *r = &sym[b.right];
        /* stale: one side was merged since the pair was queued */
        if (!l->len || !r->len || l->len + r->len != b.size)
            continue;
        l->id = b.result;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = (int32_t)b.left;
        try_add(v, s, &n_heap, l->prev, (int32_t)b.left);
        try_add(v, s, &n_heap, (int32_t)b.left, l->next);
    }
    for (int32_t k = 0; k >= 0; k = sym[k].next)
        bn_sink_put(out, sym[k].id);
    return BN_OK;
}

int bn_bpe_fragment(const bn_vocab *v, bn_tok_scratch *s, const uint8_t *text, size_t n,
                    bn_tok_sink *out)
{
    size_t i = 0;
    while (i < n) {
        size_t m = v->pretok == BN_PRETOK_LLAMA3 ? bn_pretok_llama3(text, i, n)
                                                 : bn_pretok_gpt2(text, i, n);
        if (m == 0) {               /* an ill-formed byte: a piece of its own */
            bn_sink_put(out, v->byte_token[text[i]]);
            i++;
            continue;
        }
        int rc = bpe_word(v, s, text + i, m, out);
        if (rc)
            return rc;
        i += m;
    }
    return BN_OK;
}
