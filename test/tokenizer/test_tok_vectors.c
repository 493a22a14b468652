/*
 * The tokenizers against the JavaScript references, on vectors.tsv (made by
 * make-vectors.mjs; its header says what each column is).
 *
 *   test_tok_vectors pretok VECTORS        the pre-tokenizer regexes (no vocabulary)
 *   test_tok_vectors llama3 GGUF VECTORS   a model with the full Llama 3 vocabulary
 *                                          (bitnet-mkmodel --vocab llama3-npm:...)
 *   test_tok_vectors llama NPM VECTORS     the LLaMA SentencePiece vocabulary rebuilt
 *                                          from llama-tokenizer-js (tarball or dir)
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
#include "tok_models.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"
#include "test_util.h"

typedef struct entry {
    char *text;
    size_t len;
    int32_t *col[4];            /* llama3 ids, llama ids, llama3 split, gpt2 split */
    size_t n[4];
    int line;
} entry;

static entry *entries;
static size_t n_entries;
static const char *mode, *model_path;
static bn_model *model;

/* ---- reading vectors.tsv ------------------------------------------------------- */

static size_t unescape(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            s[o++] = s[i];
            continue;
        }
        char e = s[++i];
        if (e == 't') s[o++] = '\t';
        else if (e == 'n') s[o++] = '\n';
        else if (e == 'r') s[o++] = '\r';
        else if (e == 'x' && i + 2 < n) {
            char hex[3] = { s[i + 1], s[i + 2], 0 };
            s[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else s[o++] = e;
    }
    return o;
}

static void parse_ints(const char *s, size_t n, int32_t **out, size_t *count)
{
    *out = malloc((n / 2 + 1) * sizeof **out);
    assert_non_null(*out);
    *count = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && s[i] == ' ')
            i++;
        if (i == n)
            break;
        char *end;
        (*out)[(*count)++] = (int32_t)strtol(s + i, &end, 10);
        i = (size_t)(end - s);
    }
}

static void read_vectors(const char *path)
{
    size_t size;
    char *data = (char *)bn_test_read_file(path, &size);
    if (!data)
        fail_msg("cannot read %s", path);
    size_t cap = 2048;
    entries = calloc(cap, sizeof *entries);
    assert_non_null(entries);
    int line = 0;
    for (char *p = data, *end = data + size; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        line++;
        char *field[5];
        size_t flen[5];
        int nf = 0;
        for (char *f = p; nf < 5;) {
            char *tab = memchr(f, '\t', (size_t)(nl - f));
            field[nf] = f;
            flen[nf] = (size_t)((tab ? tab : nl) - f);
            nf++;
            if (!tab)
                break;
            f = tab + 1;
        }
        if (nf != 5)
            fail_msg("%s:%d: expected 5 columns", path, line);
        if (n_entries == cap) {
            cap *= 2;
            entries = realloc(entries, cap * sizeof *entries);
            assert_non_null(entries);
        }
        entry *e = &entries[n_entries++];
        e->line = line;
        e->text = malloc(flen[0] + 1);
        assert_non_null(e->text);
        memcpy(e->text, field[0], flen[0]);
        e->len = unescape(e->text, flen[0]);
        for (int c = 0; c < 4; c++)
            parse_ints(field[c + 1], flen[c + 1], &e->col[c], &e->n[c]);
        p = nl + 1;
    }
    free(data);
}

/* ---- helpers --------------------------------------------------------------------------- */

static void print_text(const char *s, size_t n)
{
    fputc('"', stderr);
    for (size_t i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs(n > 200 ? "...\"" : "\"", stderr);
}

static void print_ids(const char *what, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n && i < 64; i++)
        fprintf(stderr, " %d", ids[i]);
    fputs(n > 64 ? " ...\n" : "\n", stderr);
}

/* Tokenizes and compares; returns 1 when equal (prints the difference once). */
static int check_ids(const entry *e, uint32_t flags, const int32_t *want, size_t n_want,
                     const char *what)
{
    size_t cap = e->len + 8, n = 0;
    bn_token *got = malloc(cap * sizeof *got);
    assert_non_null(got);
    int rc = bn_tokenize(model, e->text, e->len, got, cap, flags, &n);
    int ok = rc == BN_OK && n == n_want && !memcmp(got, want, n * sizeof *got);
    if (!ok) {
        fprintf(stderr, "vectors.tsv:%d (%s): ", e->line, what);
        print_text(e->text, e->len);
        fprintf(stderr, " rc %d\n", rc);
        print_ids("expected", want, n_want);
        print_ids("got     ", got, n);
    }
    free(got);
    return ok;
}

static int check_roundtrip(const entry *e, const int32_t *ids, size_t n, uint32_t flags)
{
    size_t cap = e->len + 64, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    int rc = bn_detokenize(model, ids, n, buf, cap, flags, &len);
    int ok = rc == BN_OK && len == e->len && !memcmp(buf, e->text, len);
    if (!ok) {
        fprintf(stderr, "vectors.tsv:%d: detokenized to ", e->line);
        print_text(buf, len < cap ? len : cap);
        fputc('\n', stderr);
    }
    free(buf);
    return ok;
}

/* ---- pre-tokenizers ----------------------------------------------------------------- */

static void test_pretok(void **state)
{
    (void)state;
    size_t bad = 0, pieces = 0;
    for (size_t k = 0; k < n_entries; k++) {
        const entry *e = &entries[k];
        for (int which = 0; which < 2; which++) {
            const int32_t *want = e->col[2 + which];
            size_t n_want = e->n[2 + which], n = 0, i = 0;
            int ok = 1;
            while (i < e->len) {
                size_t m = which == 0 ? bn_pretok_llama3((const uint8_t *)e->text, i, e->len)
                                      : bn_pretok_gpt2((const uint8_t *)e->text, i, e->len);
                if (m == 0 || n >= n_want || (size_t)want[n] != m) {
                    ok = 0;
                    break;
                }
                n++;
                i += m;
            }
            ok = ok && n == n_want;
            pieces += n_want;
            if (!ok && bad++ < 10) {
                fprintf(stderr, "vectors.tsv:%d: %s split differs at piece %zu: ", e->line,
                        which ? "gpt2" : "llama3", n);
                print_text(e->text, e->len);
                fputc('\n', stderr);
            }
        }
    }
    printf("pre-tokenizers: %zu strings, %zu pieces, %zu different\n", n_entries, pieces, bad);
    assert_int_equal(bad, 0);
}

/* ---- Llama 3 --------------------------------------------------------------------------- */

static int has(const entry *e, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= e->len; i++)
        if (!memcmp(e->text + i, needle, n))
            return 1;
    return 0;
}

static void test_llama3_vectors(void **state)
{
    (void)state;
    size_t bad = 0, tokens = 0;
    for (size_t k = 0; k < n_entries; k++) {
        const entry *e = &entries[k];
        tokens += e->n[0];
        int ok = check_ids(e, BN_TOKENIZE_PARSE_SPECIAL, e->col[0], e->n[0], "PARSE_SPECIAL");
        /* without the special tokens in it, the text tokenizes the same plain */
        if (ok && !has(e, "<|"))
            ok = check_ids(e, 0, e->col[0], e->n[0], "plain");
        if (ok) {
            int32_t *with_bos = malloc((e->n[0] + 1) * sizeof *with_bos);
            assert_non_null(with_bos);
            with_bos[0] = 128000;
            memcpy(with_bos + 1, e->col[0], e->n[0] * sizeof *with_bos);
            ok = check_ids(e, BN_TOKENIZE_PARSE_SPECIAL | BN_TOKENIZE_ADD_SPECIAL, with_bos,
                           e->n[0] + 1, "ADD_SPECIAL");
            free(with_bos);
        }
        if (ok)
            ok = check_roundtrip(e, e->col[0], e->n[0], BN_DETOKENIZE_SPECIAL);
        if (ok && e->n[0] > 0) {        /* too little room: the count still comes back */
            size_t n = 0;
            bn_token one;
            ok = bn_tokenize(model, e->text, e->len, &one, 0, BN_TOKENIZE_PARSE_SPECIAL, &n) ==
                     BN_E_RANGE && n == e->n[0];
        }
        if (!ok)
            bad++;
    }
    printf("llama3 (llama3-tokenizer-js 1.2.0): %zu strings, %zu tokens, %zu different\n",
           n_entries, tokens, bad);
    assert_int_equal(bad, 0);
}

/* The token whose piece is the single byte b. */
static bn_token byte_token(unsigned b)
{
    for (bn_token t = 0; t < bn_model_n_vocab(model); t++) {
        char c;
        size_t n;
        if (bn_token_to_piece(model, t, &c, 1, 0, &n) == BN_OK && n == 1 && (unsigned char)c == b)
            return t;
    }
    fail_msg("no token for byte 0x%02x", b);
    return -1;
}

/* Ill-formed UTF-8: every bad byte is a piece of its own (its byte token), the
 * text around it tokenizes as if cut there, and the bytes come back. */
static void test_llama3_invalid_utf8(void **state)
{
    (void)state;
    static const struct { const char *s; size_t n; } cases[] = {
        { "\xff", 1 }, { "a\xff" "b", 3 }, { "caf\xe9 au lait", 13 }, { "\xe2\x82", 2 },
        { "\xe2\x82 x", 4 }, { "\xc0\xaf", 2 }, { "\xed\xa0\x80", 3 }, { "\xf4\x90\x80\x80", 4 },
        { "  \xff  ", 5 }, { "hello\x80world", 11 }, { "\xf0\x9f\xa6", 3 },
        { "12\xfe" "34", 5 }, { "<|eot_id|>\xff<|eot_id|>", 21 }, { "\x00\xff\x00", 3 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const uint8_t *s = (const uint8_t *)cases[c].s;
        size_t n = cases[c].n;
        bn_token want[64], got[64];
        size_t n_want = 0, n_got = 0, start = 0;
        for (size_t i = 0; i <= n; i++) {
            uint32_t cp;
            size_t l = i < n ? bn_utf8_decode(s + i, n - i, &cp) : 0;
            if (i < n && l) {
                i += l - 1;
                continue;
            }
            size_t k = 0;
            assert_int_equal(bn_tokenize(model, (const char *)s + start, i - start, want + n_want,
                                         64 - n_want, BN_TOKENIZE_PARSE_SPECIAL, &k), BN_OK);
            n_want += k;
            if (i < n)
                want[n_want++] = byte_token(s[i]);
            start = i + 1;
        }
        assert_int_equal(bn_tokenize(model, cases[c].s, n, got, 64, BN_TOKENIZE_PARSE_SPECIAL,
                                     &n_got), BN_OK);
        assert_int_equal(n_got, n_want);
        assert_memory_equal(got, want, n_got * sizeof *got);
        char buf[64];
        size_t len;
        assert_int_equal(bn_detokenize(model, got, n_got, buf, sizeof buf, BN_DETOKENIZE_SPECIAL,
                                       &len), BN_OK);
        assert_int_equal(len, n);
        assert_memory_equal(buf, s, n);
    }
}

static void test_llama3_specials(void **state)
{
    (void)state;
    assert_int_equal(bn_model_token_bos(model), 128000);
    assert_int_equal(bn_model_token_eos(model), 128001);
    assert_int_equal(bn_model_token_eot(model), 128009);
    assert_true(bn_model_token_is_eog(model, 128001));
    assert_true(bn_model_token_is_eog(model, 128009));
    assert_true(bn_model_token_is_eog(model, 128008));     /* <|eom_id|> */
    assert_false(bn_model_token_is_eog(model, 128000));
    assert_false(bn_model_token_is_eog(model, 13));
    char buf[32];
    size_t n;
    assert_int_equal(bn_token_to_piece(model, 128009, buf, sizeof buf, 0, &n), BN_OK);
    assert_int_equal(n, 0);
    assert_int_equal(bn_token_to_piece(model, 128009, buf, sizeof buf, BN_DETOKENIZE_SPECIAL, &n),
                     BN_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "<|eot_id|>", 10);
    /* the text of a special token is plain text without PARSE_SPECIAL */
    bn_token t[16];
    assert_int_equal(bn_tokenize(model, "<|eot_id|>", 10, t, 16, 0, &n), BN_OK);
    assert_true(n > 1);
    for (size_t i = 0; i < n; i++)
        assert_true(t[i] < 128000);
}

/* ---- LLaMA SentencePiece ------------------------------------------------------------ */

static void test_llama_vectors(void **state)
{
    (void)state;
    size_t bad = 0, tokens = 0;
    for (size_t k = 0; k < n_entries; k++) {
        const entry *e = &entries[k];
        tokens += e->n[1];
        int ok = check_ids(e, 0, e->col[1], e->n[1], "plain");
        /* llama-tokenizer-js returns [] for "" even with BOS; llama.cpp gives [BOS] */
        if (ok && e->len > 0) {
            int32_t *with_bos = malloc((e->n[1] + 1) * sizeof *with_bos);
            assert_non_null(with_bos);
            with_bos[0] = 1;
            memcpy(with_bos + 1, e->col[1], e->n[1] * sizeof *with_bos);
            ok = check_ids(e, BN_TOKENIZE_ADD_SPECIAL, with_bos, e->n[1] + 1, "ADD_SPECIAL");
            free(with_bos);
        }
        /* U+2581 in the text comes back as a space: SentencePiece's own rule */
        if (ok && !has(e, "\xE2\x96\x81"))
            ok = check_roundtrip(e, e->col[1], e->n[1], 0);
        if (!ok)
            bad++;
    }
    printf("llama (llama-tokenizer-js 1.2.2): %zu strings, %zu tokens, %zu different\n", n_entries,
           tokens, bad);
    assert_int_equal(bad, 0);
}

static void test_llama_specials(void **state)
{
    (void)state;
    assert_int_equal(bn_model_token_bos(model), 1);
    assert_int_equal(bn_model_token_eos(model), 2);
    bn_token t[16];
    size_t n;
    assert_int_equal(bn_tokenize(model, "<s>x</s>", 8, t, 16, BN_TOKENIZE_PARSE_SPECIAL, &n), BN_OK);
    assert_int_equal(n, 3);     /* <s>, "▁x" (the space prefix after a special token), </s> */
    assert_int_equal(t[0], 1);
    assert_int_equal(t[2], 2);
    char buf[16];
    assert_int_equal(bn_detokenize(model, t, n, buf, sizeof buf, BN_DETOKENIZE_SPECIAL, &n), BN_OK);
    assert_int_equal(n, 8);
    assert_memory_equal(buf, "<s>x</s>", 8);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s pretok VECTORS | llama3 GGUF VECTORS | llama NPM VECTORS\n",
                argv[0]);
        return 2;
    }
    mode = argv[1];
    if (strcmp(mode, "pretok")) {
        if (argc < 4)
            return 2;
        model_path = argv[2];
    }
    read_vectors(argv[argc - 1]);
    if (!strcmp(mode, "pretok")) {
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_pretok) };
        return cmocka_run_group_tests_name("pretok", tests, NULL, NULL);
    }
    if (!strcmp(mode, "llama3")) {
        if (bn_model_load(&model, model_path, NULL)) {
            fprintf(stderr, "%s\n", bn_last_error());
            return 1;
        }
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_llama3_vectors),
            cmocka_unit_test(test_llama3_invalid_utf8),
            cmocka_unit_test(test_llama3_specials),
        };
        int rc = cmocka_run_group_tests_name("llama3", tests, NULL, NULL);
        bn_model_free(&model);
        return rc;
    }
    if (!strcmp(mode, "llama")) {
        bn_tok_vocab v;
        int rc = bn_tok_vocab_from_llama_js(&v, model_path);
        if (!rc)
            model = bn_tok_model_load(&v, &rc);
        bn_tok_vocab_free(&v);
        if (rc) {
            fprintf(stderr, "%s\n", bn_last_error());
            return 1;
        }
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_llama_vectors),
            cmocka_unit_test(test_llama_specials),
        };
        rc = cmocka_run_group_tests_name("llama", tests, NULL, NULL);
        bn_model_free(&model);
        return rc;
    }
    return 2;
}
