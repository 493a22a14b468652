/*
 * bn_tokenize's work: BOS, then the text cut at the special tokens it spells
 * (user-defined tokens always, control and unknown tokens with
 * BN_TOKENIZE_PARSE_SPECIAL; leftmost, then longest match), each fragment
 * between them handed to the BPE or SentencePiece tokenizer, then EOS.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tokenizer/vocab_internal.h"

/* ---- scratch buffers ------------------------------------------------------------ */

int bn_word_reserve(bn_tok_scratch *s, size_t n)
{
    if (n <= s->word_cap)
        return BN_OK;
    free(s->queue);                 /* the block starts there */
    s->queue = NULL;
    s->link = NULL;
    s->tok = NULL;
    s->word_cap = 0;
    size_t cap = n < 64 ? 64 : n;
    if (cap >= (size_t)1 << 31 || cap > SIZE_MAX / 16)
        return bn_fail(BN_E_NOMEM, "bn_tokenize: a piece of %zu bytes without a break is too "
                       "long", n);
    uint64_t *block = malloc(cap * 16);
    if (!block)
        return bn_fail(BN_E_NOMEM, "bn_tokenize: out of memory");
    s->queue = block;
    s->link = (uint32_t *)(block + cap);
    s->tok = (int32_t *)(s->link + cap);
    s->word_cap = cap;
    return BN_OK;
}

void bn_scratch_free(bn_tok_scratch *s)
{
    free(s->queue);
    free(s->memo);
    memset(s, 0, sizeof *s);
}

/* ---- special tokens in the text --------------------------------------------- */

/* First index in [lo, hi) whose text has byte k > c (gt) or >= c (!gt); the
 * texts there all have more than k bytes and share their first k. */
static uint32_t bound(const bn_vocab *v, const uint32_t *ids, uint32_t lo, uint32_t hi, size_t k,
                      uint8_t c, int gt)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint8_t b = (uint8_t)v->tok[ids[mid]].text[k];
        if (gt ? b <= c : b < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The longest special token of set that s[0..n) starts with: its length, or
 * 0. Narrows the sorted texts one byte at a time. */
static size_t match_special(const bn_vocab *v, const bn_special_set *set, const uint8_t *s,
                            size_t n, int32_t *id)
{
    uint32_t lo = 0, hi = set->n;
    size_t best = 0;
    for (size_t k = 0; lo < hi; k++) {
        /* texts of exactly k bytes equal s[0..k) and sort first */
        if (v->tok[set->ids[lo]].text_len == k) {
            best = k;
            *id = (int32_t)set->ids[lo];
            while (lo < hi && v->tok[set->ids[lo]].text_len == k)
                lo++;
        }
        if (k == n || lo == hi)
            break;
        lo = bound(v, set->ids, lo, hi, k, s[k], 0);
        hi = bound(v, set->ids, lo, hi, k, s[k], 1);
    }
    return best;
}

/* ---- tokenizing ----------------------------------------------------------------- */

typedef struct run {
    const bn_vocab *v;
    bn_tok_scratch scratch;
    bn_tok_sink sink;
    int after_special;          /* SentencePiece adds its space prefix here */
} run;

static int fragment(run *r, const uint8_t *text, size_t n)
{
    if (n == 0)
        return BN_OK;
    const bn_vocab *v = r->v;
    if (v->kind == BN_VOCAB_BPE)
        return bn_bpe_fragment(v, &r->scratch, text, n, &r->sink);
    int prefix = v->add_space_prefix && r->after_special;
    r->after_special = 0;
    return bn_spm_fragment(v, &r->scratch, text, n, prefix, &r->sink);
}

/* Special tokens are looked for in the whole text with `set`, or, when
 * marks is not NULL, with spec_all inside the marked ranges (n_marks pairs
 * [begin, end), sorted, disjoint) and spec_user outside them; a match never
 * crosses the edge of the range or gap it starts in. Fragments between
 * special tokens span ranges and gaps alike, so that unmarked text around
 * marked text is tokenized as one. */
static int tokenize_with(const bn_vocab *v, const uint8_t *s, size_t len, const bn_special_set *set,
                         const size_t *marks, size_t n_marks, uint32_t flags, bn_token *out,
                         size_t n_max, size_t *n_out)
{
    run r = { .v = v, .sink = { out, n_max, 0 }, .after_special = 1 };
    int rc = BN_OK;
    if ((flags & BN_TOKENIZE_ADD_SPECIAL) && v->add_bos && v->special[BN_VOCAB_BOS] >= 0)
        bn_sink_put(&r.sink, v->special[BN_VOCAB_BOS]);

    size_t start = 0, mark = 0;
    for (size_t i = 0; i < len && !rc;) {
        size_t edge = len;
        if (marks) {
            while (mark < n_marks && marks[2 * mark + 1] <= i)
                mark++;
            const int inside = mark < n_marks && marks[2 * mark] <= i;
            set = inside ? &v->spec_all : &v->spec_user;
            edge = inside ? marks[2 * mark + 1] : mark < n_marks ? marks[2 * mark] : len;
        }
        int32_t id;
        size_t m;
        if (!set->n || !(set->first[s[i] >> 3] & (1u << (s[i] & 7))) ||
            !(m = match_special(v, set, s + i, edge - i, &id))) {
            i++;
            continue;
        }
        rc = fragment(&r, s + start, i - start);
        bn_sink_put(&r.sink, id);
        r.after_special = 1;
        i += m;
        start = i;
    }
    if (!rc)
        rc = fragment(&r, s + start, len - start);
    if (!rc && (flags & BN_TOKENIZE_ADD_SPECIAL) && v->add_eos && v->special[BN_VOCAB_EOS] >= 0)
        bn_sink_put(&r.sink, v->special[BN_VOCAB_EOS]);
    bn_scratch_free(&r.scratch);
    if (rc)
        return rc;
    *n_out = r.sink.n;
    if (r.sink.n > n_max)
        return bn_fail(BN_E_RANGE, "bn_tokenize: the text needs %zu tokens, room for %zu",
                       r.sink.n, n_max);
    return BN_OK;
}

int bn_vocab_tokenize(const bn_vocab *v, const char *text, size_t len, bn_token *out,
                      size_t n_max, uint32_t flags, size_t *n_out)
{
    const bn_special_set *set = (flags & BN_TOKENIZE_PARSE_SPECIAL) ? &v->spec_all : &v->spec_user;
    return tokenize_with(v, (const uint8_t *)text, len, set, NULL, 0, flags, out, n_max, n_out);
}

int bn_vocab_tokenize_marked(const bn_vocab *v, const char *text, size_t len, const size_t *marks,
                             size_t n_marks, bn_token *out, size_t n_max, size_t *n_out)
{
    return tokenize_with(v, (const uint8_t *)text, len, &v->spec_user, marks, n_marks, 0, out,
                         n_max, n_out);
}
