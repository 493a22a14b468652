/*
 * One very long pre-token (a run of letters), or SentencePiece text without
 * a break: its tokens are those of the plain algorithm (BPE: the pair of
 * lowest rank merged first; SentencePiece: the pair forming the token of
 * highest score; the leftmost of equals; done directly here, in O(n^2)), and
 * bn_tokenize allocates at most 16 bytes per byte of it, plus a constant (counted by wrapping malloc, calloc, realloc,
 * posix_memalign, aligned_alloc and free during the call; glibc only, for
 * malloc_usable_size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bitnet/bitnet.h"
#include "gguf/gguf.h"
#include "tok_hostile.h"
#include "tok_models.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

#if defined(__GLIBC__)
#  include <malloc.h>
#  define HAVE_USABLE_SIZE 1

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void __wrap_free(void *p);

/* Bytes held by blocks allocated while counting (single-threaded test). */
static int counting;
static long long live, peak;

static void *counted(void *p)
{
    if (p && counting) {
        live += (long long)malloc_usable_size(p);
        if (live > peak)
            peak = live;
    }
    return p;
}

void *__wrap_malloc(size_t n) { return counted(__real_malloc(n)); }
void *__wrap_calloc(size_t n, size_t size) { return counted(__real_calloc(n, size)); }
void *__wrap_aligned_alloc(size_t a, size_t n) { return counted(__real_aligned_alloc(a, n)); }

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    int rc = __real_posix_memalign(p, a, n);
    if (!rc)
        counted(*p);
    return rc;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (p && counting)
        live -= (long long)malloc_usable_size(p);
    return counted(__real_realloc(p, n));
}

void __wrap_free(void *p)
{
    if (p && counting)
        live -= (long long)malloc_usable_size(p);
    __real_free(p);
}
#endif

typedef struct loaded {
    uint8_t *image;
    bn_gguf g;
    bn_vocab *v;
} loaded;

static void load(loaded *l, bn_tok_vocab *tv)
{
    size_t size = 0;
    if (bn_tok_model_image(tv, &l->image, &size) || bn_gguf_parse(&l->g, l->image, size) ||
        bn_vocab_load(&l->v, &l->g, (int32_t)tv->n))
        fail_msg("load: %s", bn_last_error());
    bn_tok_vocab_free(tv);
}

static void unload(loaded *l)
{
    bn_vocab_free(l->v);
    bn_gguf_release(&l->g);
    free(l->image);
}

/* BPE of one word, directly: returns the token count. */
static size_t plain_bpe(const bn_vocab *v, const char *w, size_t n, bn_token *ids)
{
    for (size_t k = 0; k < n; k++)
        ids[k] = v->byte_token[(uint8_t)w[k]];
    for (;;) {
        size_t best = SIZE_MAX;
        const bn_merge *bm = NULL;
        for (size_t k = 0; k + 1 < n; k++) {
            const bn_merge *m = bn_vocab_find_merge(v, (uint32_t)ids[k], (uint32_t)ids[k + 1]);
            if (m && (!bm || m->rank1 < bm->rank1)) {
                bm = m;
                best = k;
            }
        }
        if (!bm)
            return n;
        ids[best] = (bn_token)bm->result;
        memmove(ids + best + 1, ids + best + 2, (n - best - 2) * sizeof *ids);
        n--;
    }
}

/* SentencePiece of one fragment, directly (the space prefix included in w):
 * returns the token count. */
static size_t plain_spm(const bn_vocab *v, const char *w, size_t n, bn_token *ids)
{
    /* symbols: escaped text of each, as offsets into one buffer */
    char *esc = malloc(3 * n + 1);
    size_t *start = malloc((n + 1) * sizeof *start), *len = malloc((n + 1) * sizeof *len);
    int *bad = malloc((n + 1) * sizeof *bad);
    assert_true(esc && start && len && bad);
    size_t m = 0, k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = bn_utf8_decode((const uint8_t *)w + i, n - i, &cp);
        start[k] = m;
        bad[k] = l == 0;
        if (l == 0)
            l = 1;
        if (w[i] == ' ') {
            memcpy(esc + m, "\xE2\x96\x81", 3);
            m += 3;
        } else {
            memcpy(esc + m, w + i, l);
            m += l;
        }
        len[k] = m - start[k];
        k++;
        i += l;
    }
    for (;;) {                      /* symbols stay adjacent in esc */
        size_t best = SIZE_MAX;
        float best_score = 0;
        for (size_t j = 0; j + 1 < k; j++) {
            if (bad[j] || bad[j + 1])
                continue;
            int32_t id = bn_vocab_find_word(v, esc + start[j], len[j] + len[j + 1]);
            if (id >= 0 && (best == SIZE_MAX || v->tok[id].score > best_score)) {
                best = j;
                best_score = v->tok[id].score;
            }
        }
        if (best == SIZE_MAX)
            break;
        len[best] += len[best + 1];
        memmove(start + best + 1, start + best + 2, (k - best - 2) * sizeof *start);
        memmove(len + best + 1, len + best + 2, (k - best - 2) * sizeof *len);
        memmove(bad + best + 1, bad + best + 2, (k - best - 2) * sizeof *bad);
        k--;
    }
    size_t n_ids = 0;
    for (size_t j = 0; j < k; j++) {
        int32_t id = bad[j] ? -1 : bn_vocab_find_word(v, esc + start[j], len[j]);
        if (id >= 0) {
            ids[n_ids++] = id;
            continue;
        }
        for (size_t b = 0; b < len[j]; b++)
            ids[n_ids++] = v->byte_token[(uint8_t)esc[start[j] + b]];
    }
    free(esc);
    free(start);
    free(len);
    free(bad);
    return n_ids;
}

static void expect_plain_spm(const bn_vocab *v, const char *w, size_t n, const char *what)
{
    /* bn_tokenize adds the space prefix: the plain version gets it in the text */
    char *pw = malloc(n + 1);
    bn_token *want = malloc(3 * (n + 1) * sizeof *want), *got = malloc(3 * (n + 1) * sizeof *got);
    assert_true(pw && want && got);
    pw[0] = ' ';
    memcpy(pw + 1, w, n);
    size_t n_want = plain_spm(v, pw, n + 1, want), n_got = 0;
    if (bn_vocab_tokenize(v, w, n, got, 3 * (n + 1), 0, &n_got))
        fail_msg("%s: %s", what, bn_last_error());
    if (n_got != n_want || memcmp(got, want, n_got * sizeof *got))
        fail_msg("%s: %zu tokens, the plain algorithm gives %zu", what, n_got, n_want);
    free(pw);
    free(want);
    free(got);
}

static void expect_plain(const bn_vocab *v, const char *w, size_t n, const char *what)
{
    bn_token *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    size_t n_want = plain_bpe(v, w, n, want), n_got = 0;
    if (bn_vocab_tokenize(v, w, n, got, n, 0, &n_got))
        fail_msg("%s: %s", what, bn_last_error());
    if (n_got != n_want || memcmp(got, want, n_got * sizeof *got))
        fail_msg("%s: %zu tokens, the plain algorithm gives %zu", what, n_got, n_want);
    free(want);
    free(got);
}

static void test_same_tokens(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        bn_tok_vocab tv;
        loaded l;
        bn_hostile_dense_merges(&tv, 2 + (unsigned)seed * 2, seed);
        load(&l, &tv);
        char what[64];
        for (int i = 0; i < 12; i++) {
            size_t n = 2 + (size_t)i * i * 25;
            char *w = bn_hostile_text("ab", n, seed * 100 + (uint64_t)i);
            snprintf(what, sizeof what, "vocabulary %d, %zu random letters", (int)seed, n);
            expect_plain(l.v, w, n, what);
            memset(w, 'a', n);      /* equal ranks everywhere: leftmost first */
            snprintf(what, sizeof what, "vocabulary %d, %zu times a", (int)seed, n);
            expect_plain(l.v, w, n, what);
            for (size_t k = 0; k < n; k++)
                w[k] = "ab"[k % 2];
            snprintf(what, sizeof what, "vocabulary %d, %zu times ab", (int)seed, n);
            expect_plain(l.v, w, n, what);
            free(w);
        }
        unload(&l);
    }
}

static void test_same_tokens_spm(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        bn_tok_vocab tv;
        loaded l;
        bn_hostile_dense_spm(&tv, 1 + (unsigned)seed, seed);
        load(&l, &tv);
        char what[80];
        static const char *const alphabets[] = { "ab", "ab ", "ab \xE2\x96\x81", "a\xFF\xC3\xA9" "b " };
        for (int i = 0; i < 12; i++) {
            size_t n = 1 + (size_t)i * i * 12;
            const char *alpha = alphabets[i % 4];
            char *w = bn_hostile_text(alpha, n, seed * 100 + (uint64_t)i);
            snprintf(what, sizeof what, "vocabulary %d, %zu bytes of \"%s\"", (int)seed, n, alpha);
            expect_plain_spm(l.v, w, n, what);
            free(w);
        }
        unload(&l);
    }
}

/* Words of growing length in one call: the word buffers grow between them. */
static void test_growing_words(void **state)
{
    (void)state;
    bn_tok_vocab tv;
    loaded l;
    bn_hostile_dense_merges(&tv, 6, 5);
    load(&l, &tv);
    size_t total = 0, n_want = 0;
    char *text = malloc(1 << 16);
    bn_token *want = malloc((1 << 16) * sizeof *want), *got = malloc((1 << 16) * sizeof *got);
    assert_non_null(text);
    assert_non_null(want);
    assert_non_null(got);
    for (size_t n = 1; total + n + 1 < (1 << 16); n = n * 3 / 2 + 1) {
        char *w = bn_hostile_text("ab", n, n);
        n_want += plain_bpe(l.v, w, n, want + n_want);
        memcpy(text + total, w, n);
        total += n;
        text[total++] = '.';        /* a pre-token of its own */
        want[n_want++] = l.v->byte_token['.'];
        free(w);
    }
    size_t n_got = 0;
    assert_int_equal(bn_vocab_tokenize(l.v, text, total, got, 1 << 16, 0, &n_got), BN_OK);
    assert_int_equal(n_got, n_want);
    assert_memory_equal(got, want, n_got * sizeof *got);
    free(text);
    free(want);
    free(got);
    unload(&l);
}

static void test_memory(void **state)
{
    (void)state;
#if defined(HAVE_USABLE_SIZE)
    static const char *const pre[] = { "gpt2", "llama-bpe", "SentencePiece" };
    size_t n = (size_t)1 << 20;
    for (int k = 0; k < 3; k++) {
        bn_tok_vocab tv;
        loaded l;
        if (k < 2) {
            bn_hostile_dense_merges(&tv, 8, 1);
            tv.pre = pre[k];
        } else {
            bn_hostile_dense_spm(&tv, 6, 1);
        }
        load(&l, &tv);
        char *w = bn_hostile_text("ab", n, 9);
        bn_token *out = malloc(n * sizeof *out);
        assert_non_null(out);
        size_t n_tok = 0;
        live = peak = 0;
        counting = 1;
        int rc = bn_vocab_tokenize(l.v, w, n, out, n, 0, &n_tok);
        counting = 0;
        assert_int_equal(rc, BN_OK);
        print_message("%s: a word of %zu bytes: %zu tokens, %lld bytes allocated at the peak "
                      "(%.2f per byte)\n", pre[k], n, n_tok, peak, (double)peak / (double)n);
        assert_true(peak > 0);      /* the wrappers count */
        assert_true(peak <= (long long)(16 * n + 131072));
        assert_true(live == 0);
        free(out);
        free(w);
        unload(&l);
    }
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_tokens),
        cmocka_unit_test(test_growing_words),
        cmocka_unit_test(test_same_tokens_spm),
        cmocka_unit_test(test_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
