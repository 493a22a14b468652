/*
 * Tokenizer unit tests on hand-made vocabularies (tok_models.h lists their
 * ids): the BPE merge order, the pre-tokenizer rules the references cannot
 * check, SentencePiece scores and byte fallback, special tokens, ill-formed
 * UTF-8, what a broken vocabulary is told, the API's argument checks, and
 * that tokenizing is thread-safe on a shared model.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bitnet/bitnet.h"
#include "gguf/gguf_types.h"
#include "mkmodel.h"
#include "tok_models.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

#define SPM_BYTE(b) (3 + (b))

static bn_model *load(const bn_tok_vocab *v)
{
    int rc;
    bn_model *m = bn_tok_model_load(v, &rc);
    if (!m)
        fail_msg("load failed: %s: %s", bn_strerror(rc), bn_last_error());
    return m;
}

static bn_model *load_hand_bpe(const char *pre)
{
    bn_tok_vocab v;
    bn_tok_vocab_hand_bpe(&v, pre);
    bn_model *m = load(&v);
    bn_tok_vocab_free(&v);
    return m;
}

/* Tokenizes s (NUL-terminated) and compares with the ids that follow, ended by -1. */
static void expect_tokens(bn_model *m, uint32_t flags, const char *s, ...)
{
    bn_token want[64], got[64];
    size_t n_want = 0, n_got = 0;
    va_list ap;
    va_start(ap, s);
    for (int id; (id = va_arg(ap, int)) != -1;)
        want[n_want++] = id;
    va_end(ap);
    int rc = bn_tokenize(m, s, strlen(s), got, 64, flags, &n_got);
    if (rc != BN_OK)
        fail_msg("'%s': %s", s, bn_last_error());
    int same = n_got == n_want && !memcmp(got, want, n_want * sizeof *got);
    if (!same) {
        char msg[512];
        int o = snprintf(msg, sizeof msg, "'%s': got", s);
        for (size_t i = 0; i < n_got && o < 400; i++)
            o += snprintf(msg + o, sizeof msg - (size_t)o, " %d", got[i]);
        o += snprintf(msg + o, sizeof msg - (size_t)o, ", expected");
        for (size_t i = 0; i < n_want && o < 480; i++)
            o += snprintf(msg + o, sizeof msg - (size_t)o, " %d", want[i]);
        fail_msg("%s", msg);
    }
}

static void expect_text(bn_model *m, uint32_t flags, const bn_token *t, size_t n, const char *want)
{
    char buf[256];
    size_t len = 0;
    assert_int_equal(bn_detokenize(m, t, n, buf, sizeof buf, flags, &len), BN_OK);
    if (len != strlen(want) || memcmp(buf, want, len))
        fail_msg("detokenized to '%.*s', expected '%s'", (int)len, buf, want);
}

/* ---- Unicode ----------------------------------------------------------------------------- */

static void test_unicode_classes(void **state)
{
    (void)state;
    static const struct { uint32_t cp; unsigned cls; } cases[] = {
        { 'a', BN_UC_LETTER }, { 'Z', BN_UC_LETTER }, { '5', BN_UC_NUMBER }, { ' ', BN_UC_SPACE },
        { '\t', BN_UC_SPACE }, { '\n', BN_UC_SPACE }, { 0x0B, BN_UC_SPACE }, { 0x0C, BN_UC_SPACE },
        { '\r', BN_UC_SPACE }, { 0x1C, 0 }, { 0x1F, 0 }, { 0x85, BN_UC_SPACE },
        { 0xA0, BN_UC_SPACE }, { 0x1680, BN_UC_SPACE }, { 0x2000, BN_UC_SPACE },
        { 0x200A, BN_UC_SPACE }, { 0x200B, 0 }, { 0x2028, BN_UC_SPACE }, { 0x2029, BN_UC_SPACE },
        { 0x202F, BN_UC_SPACE }, { 0x205F, BN_UC_SPACE }, { 0x3000, BN_UC_SPACE }, { 0xFEFF, 0 },
        { 0xAA, BN_UC_LETTER }, { 0x2B0, BN_UC_LETTER }, { 0x1C5, BN_UC_LETTER },
        { 0x4E00, BN_UC_LETTER }, { 0x9FFF, BN_UC_LETTER }, { 0xAC00, BN_UC_LETTER },
        { 0xD7A3, BN_UC_LETTER }, { 0x20000, BN_UC_LETTER }, { 0x31350, BN_UC_LETTER },
        { 0x660, BN_UC_NUMBER }, { 0x2160, BN_UC_NUMBER }, { 0xBD, BN_UC_NUMBER },
        { 0xB2, BN_UC_NUMBER }, { 0x1D7D9, BN_UC_NUMBER }, { 0x301, 0 }, { 0x1F999, 0 },
        { 0xE000, 0 }, { 0x10FFFF, 0 }, { 0x378, 0 }, { '!', 0 }, { 0x110000, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (bn_uc_class(cases[i].cp) != cases[i].cls)
            fail_msg("U+%04X: class %u, expected %u", (unsigned)cases[i].cp,
                     bn_uc_class(cases[i].cp), cases[i].cls);
}

static void test_utf8_decode(void **state)
{
    (void)state;
    static const struct { const char *s; size_t n, len; uint32_t cp; } cases[] = {
        { "a", 1, 1, 'a' }, { "\xC2\x80", 2, 2, 0x80 }, { "\xDF\xBF", 2, 2, 0x7FF },
        { "\xE0\xA0\x80", 3, 3, 0x800 }, { "\xEF\xBF\xBF", 3, 3, 0xFFFF },
        { "\xF0\x90\x80\x80", 4, 4, 0x10000 }, { "\xF4\x8F\xBF\xBF", 4, 4, 0x10FFFF },
        { "\xC0\x80", 2, 0, 0 }, { "\xC1\xBF", 2, 0, 0 }, { "\xE0\x9F\xBF", 3, 0, 0 },
        { "\xED\xA0\x80", 3, 0, 0 }, { "\xED\x9F\xBF", 3, 3, 0xD7FF }, { "\xF0\x8F\xBF\xBF", 4, 0, 0 },
        { "\xF4\x90\x80\x80", 4, 0, 0 }, { "\xF5\x80\x80\x80", 4, 0, 0 }, { "\x80", 1, 0, 0 },
        { "\xE2\x82", 2, 0, 0 }, { "\xE2\x82" "a", 3, 0, 0 }, { "\xFF", 1, 0, 0 }, { "", 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint32_t cp = 0;
        size_t len = bn_utf8_decode((const uint8_t *)cases[i].s, cases[i].n, &cp);
        if (len != cases[i].len || (len && cp != cases[i].cp))
            fail_msg("case %zu: length %zu cp %x", i, len, (unsigned)cp);
    }
}

/* Pieces of the pre-tokenizers where Unicode's White_Space (llama.cpp,
 * Hugging Face) and JavaScript's \s disagree, and other hand-derived cases. */
static void expect_split(int llama3, const char *s, ...)
{
    size_t n = strlen(s), i = 0;
    va_list ap;
    va_start(ap, s);
    while (i < n) {
        size_t m = llama3 ? bn_pretok_llama3((const uint8_t *)s, i, n)
                          : bn_pretok_gpt2((const uint8_t *)s, i, n);
        int want = va_arg(ap, int);
        if (want < 0 || (size_t)want != m)
            fail_msg("'%s' (%s): piece at %zu has %zu bytes, expected %d", s,
                     llama3 ? "llama3" : "gpt2", i, m, want);
        i += m;
    }
    int end = va_arg(ap, int);
    va_end(ap);
    if (end != -1)
        fail_msg("'%s': fewer pieces than expected", s);
}

static void test_pretok_white_space(void **state)
{
    (void)state;
    /* U+0085 (2 bytes) is White_Space: a run of two before a letter keeps
     * the last for the letter ([^\r\n\p{L}\p{N}]?\p{L}+) */
    expect_split(1, "\xC2\x85\xC2\x85x", 2, 3, -1);
    expect_split(0, "\xC2\x85\xC2\x85x", 2, 2, 1, -1);
    expect_split(1, "a\xC2\x85", 1, 2, -1);
    /* U+FEFF (3 bytes) is not: a run of "other" characters */
    expect_split(1, "\xEF\xBB\xBF\xEF\xBB\xBFx", 6, 1, -1);
    expect_split(0, "\xEF\xBB\xBF\xEF\xBB\xBFx", 6, 1, -1);
    /* \s*[\r\n]+ ends at the last CR/LF of a whitespace run */
    expect_split(1, "  \n  x", 3, 1, 2, -1);
    expect_split(1, "\n\tfoo", 1, 4, -1);
    expect_split(0, "  \n  x", 4, 2, -1);
    /* \p{N}{1,3} */
    expect_split(1, "1234567", 3, 3, 1, -1);
    expect_split(0, "1234567", 7, -1);
    /* ill-formed bytes end the text for the matchers */
    expect_split(1, "ab", 2, -1);
    assert_int_equal(bn_pretok_llama3((const uint8_t *)"  \xff", 0, 3), 2);
    assert_int_equal(bn_pretok_llama3((const uint8_t *)"\xff", 0, 1), 0);
}

/* ---- byte-level BPE ------------------------------------------------------------------------ */

static void test_bpe_merge_order(void **state)
{
    (void)state;
    bn_model *m = load_hand_bpe("gpt2");
    expect_tokens(m, 0, "abcabc", 258, 258, -1);
    expect_tokens(m, 0, "bcab", 257, 256, -1);
    expect_tokens(m, 0, "aaa", 259, 'a', -1);
    expect_tokens(m, 0, "aaaa", 259, 259, -1);
    /* "a b" outranks " a": the word " ab" ends as " " + "ab", not token 261 */
    expect_tokens(m, 0, " ab", ' ', 256, -1);
    expect_tokens(m, 0, "hello", 'h', 'e', 'l', 'l', 'o', -1);
    expect_tokens(m, 0, "  ", 263, -1);
    expect_tokens(m, 0, "\n\n", 264, -1);
    expect_tokens(m, 0, "", -1);
    bn_model_free(&m);
}

static void test_bpe_llama3_whole_words(void **state)
{
    (void)state;
    bn_model *m = load_hand_bpe("llama-bpe");
    /* ignore_merges: a pre-token that is a token is not split */
    expect_tokens(m, 0, "hello", 262, -1);
    expect_tokens(m, 0, " ab", 261, -1);
    expect_tokens(m, 0, "abcabc", 258, 258, -1);
    expect_tokens(m, 0, "hello hello", 262, ' ', 'h', 'e', 'l', 'l', 'o', -1);
    bn_model_free(&m);
    /* no tokenizer.ggml.pre: Llama 3's (the published 2B4T file) */
    m = load_hand_bpe(NULL);
    expect_tokens(m, 0, "hello", 262, -1);
    expect_tokens(m, BN_TOKENIZE_ADD_SPECIAL, "hello", 265, 262, -1);
    bn_model_free(&m);
}

static void test_bpe_specials(void **state)
{
    (void)state;
    bn_model *m = load_hand_bpe("llama-bpe");
    assert_int_equal(bn_model_token_bos(m), 265);
    assert_int_equal(bn_model_token_eos(m), 266);
    assert_int_equal(bn_model_token_eot(m), 267);       /* found by its text */
    assert_int_equal(bn_model_token_pad(m), -1);
    assert_true(bn_model_token_is_eog(m, 266));
    assert_true(bn_model_token_is_eog(m, 267));
    assert_true(bn_model_token_is_eog(m, 268));         /* <|eom_id|> */
    assert_false(bn_model_token_is_eog(m, 265));
    assert_false(bn_model_token_is_eog(m, -1));
    assert_false(bn_model_token_is_eog(m, 100000));

    const uint32_t P = BN_TOKENIZE_PARSE_SPECIAL;
    expect_tokens(m, P, "a<|eot_id|>b", 'a', 267, 'b', -1);
    expect_tokens(m, P, "<|eot_id|>!", 269, -1);        /* the longest match */
    expect_tokens(m, P, "<|eot_id|>?", 267, '?', -1);
    expect_tokens(m, P, "<|eot_id|><|eot_id|>", 267, 267, -1);
    expect_tokens(m, P, "<|eot_id", '<', '|', 'e', 'o', 't', '_', 'i', 'd', -1);
    expect_tokens(m, 0, "a<|eot_id|>", 'a', '<', '|', 'e', 'o', 't', '_', 'i', 'd', '|', '>', -1);
    /* user-defined tokens are matched with or without the flag */
    expect_tokens(m, 0, "x<tool>y", 'x', 270, 'y', -1);
    expect_tokens(m, BN_TOKENIZE_ADD_SPECIAL, "a", 265, 'a', -1);
    expect_tokens(m, BN_TOKENIZE_ADD_SPECIAL, "", 265, -1);

    bn_token t[] = { 265, 'a', 267, 270, 271, 272, 'b' };
    expect_text(m, 0, t, 7, "a<tool>b");
    expect_text(m, BN_DETOKENIZE_SPECIAL, t, 7, "<|begin_of_text|>a<|eot_id|><tool>b");
    char buf[32];
    size_t n = 99;
    assert_int_equal(bn_token_to_piece(m, 272, buf, sizeof buf, BN_DETOKENIZE_SPECIAL, &n), BN_OK);
    assert_int_equal(n, 0);
    assert_int_equal(bn_token_to_piece(m, ' ', buf, sizeof buf, 0, &n), BN_OK);
    assert_int_equal(n, 1);
    assert_int_equal(buf[0], ' ');
    bn_model_free(&m);

    /* gpt2 adds no BOS unless the file says so; add_eos adds EOS */
    m = load_hand_bpe("gpt2");
    expect_tokens(m, BN_TOKENIZE_ADD_SPECIAL, "a", 'a', -1);
    bn_model_free(&m);
    bn_tok_vocab v;
    bn_tok_vocab_hand_bpe(&v, "gpt2");
    v.add_bos = 1;
    v.add_eos = 1;
    m = load(&v);
    expect_tokens(m, BN_TOKENIZE_ADD_SPECIAL, "a", 265, 'a', 266, -1);
    bn_model_free(&m);
    v.pre = "llama-bpe";
    v.add_bos = 0;
    v.add_eos = BN_TOK_NO_KEY;
    v.eot = 268;                /* an explicit EOT id wins over the text */
    v.pad = 266;
    m = load(&v);
    expect_tokens(m, BN_TOKENIZE_ADD_SPECIAL, "a", 'a', -1);
    assert_int_equal(bn_model_token_eot(m), 268);
    assert_int_equal(bn_model_token_pad(m), 266);
    bn_model_free(&m);
    /* -1 (any integer type) means "none" */
    v.id_type = BN_GGUF_I32;
    v.eot = -1;
    v.bos = -1;
    m = load(&v);
    assert_int_equal(bn_model_token_eot(m), -1);
    assert_int_equal(bn_model_token_bos(m), -1);
    bn_model_free(&m);
    bn_tok_vocab_free(&v);
}

/* ---- SentencePiece -------------------------------------------------------------------------- */

static void test_spm(void **state)
{
    (void)state;
    bn_tok_vocab v;
    bn_tok_vocab_hand_spm(&v);
    bn_model *m = load(&v);
    assert_int_equal(bn_model_token_bos(m), 1);         /* llama.cpp's defaults */
    assert_int_equal(bn_model_token_eos(m), 2);
    /* "ab" (-1) first, then "abc" (-4) beats "▁ab" (-5) */
    expect_tokens(m, 0, "abc", 259, 265, -1);
    expect_tokens(m, 0, "bc", 259, 267, -1);
    expect_tokens(m, 0, "a b", 263, 259, 261, -1);
    expect_tokens(m, 0, " ", 268, -1);
    expect_tokens(m, 0, "x", 259, SPM_BYTE('x'), -1);
    expect_tokens(m, 0, "\xC3\xA9", 259, 269, -1);
    expect_tokens(m, 0, "\xC3\xBC", 259, SPM_BYTE(0xC3), SPM_BYTE(0xBC), -1);
    expect_tokens(m, 0, "a\xFF" "b", 263, SPM_BYTE(0xFF), 261, -1);
    expect_tokens(m, 0, "\xE2\x82", 259, SPM_BYTE(0xE2), SPM_BYTE(0x82), -1);
    expect_tokens(m, 0, "", -1);
    expect_tokens(m, BN_TOKENIZE_ADD_SPECIAL, "", 1, -1);
    expect_tokens(m, BN_TOKENIZE_ADD_SPECIAL, "abc", 1, 259, 265, -1);
    /* a space prefix after each special token, as llama.cpp */
    expect_tokens(m, BN_TOKENIZE_PARSE_SPECIAL, "a</s>b", 263, 2, 259, 261, -1);
    expect_tokens(m, 0, "a<tool>b", 263, 270, 259, 261, -1);
    expect_tokens(m, 0, "a</s>", 263, SPM_BYTE('<'), SPM_BYTE('/'), SPM_BYTE('s'),
                  SPM_BYTE('>'), -1);

    bn_token t1[] = { 259, 265 };
    expect_text(m, 0, t1, 2, "abc");
    bn_token t2[] = { 1, 263, 2, 259, 261 };
    expect_text(m, 0, t2, 5, "ab");
    expect_text(m, BN_DETOKENIZE_SPECIAL, t2, 5, "<s>a</s>b");
    bn_token t3[] = { 268, 261 };
    expect_text(m, 0, t3, 2, " b");
    char buf[8];
    size_t n;
    assert_int_equal(bn_token_to_piece(m, 266, buf, sizeof buf, 0, &n), BN_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, " ab", 3);
    assert_int_equal(bn_token_to_piece(m, SPM_BYTE(0xFF), buf, sizeof buf, 0, &n), BN_OK);
    assert_int_equal(n, 1);
    assert_int_equal((unsigned char)buf[0], 0xFF);
    bn_model_free(&m);

    /* a normal token with U+2581 inside: merges may cross word starts */
    int32_t a_sp = bn_tok_vocab_add_str(&v, "a\xE2\x96\x81", 1, -0.2f);
    int32_t a_sp_b = bn_tok_vocab_add_str(&v, "a\xE2\x96\x81\x62", 1, -0.1f);
    m = load(&v);
    expect_tokens(m, 0, "a b", 259, a_sp_b, -1);
    expect_tokens(m, 0, "a c", 259, a_sp, 262, -1);
    bn_model_free(&m);
    free(v.tokens[--v.n]);
    free(v.tokens[--v.n]);

    v.add_space_prefix = 0;
    m = load(&v);
    expect_tokens(m, 0, "abc", 265, -1);
    expect_tokens(m, 0, "a b", 260, 259, 261, -1);
    bn_token t4[] = { 260, 259, 261 };
    expect_text(m, 0, t4, 3, "a b");
    bn_model_free(&m);
    bn_tok_vocab_free(&v);
}

/* ---- what a broken vocabulary is told ------------------------------------------------------ */

static void expect_load_error(const bn_tok_vocab *v, int status, const char *needle)
{
    int rc;
    bn_model *m = bn_tok_model_load(v, &rc);
    if (m || rc != status || !strstr(bn_last_error(), needle))
        fail_msg("expected %s with '%s', got %s: %s", bn_strerror(status), needle,
                 bn_strerror(rc), bn_last_error());
}

static void test_broken_vocabularies(void **state)
{
    (void)state;
    bn_tok_vocab v;

    bn_tok_vocab_hand_bpe(&v, "bogus-pre");
    expect_load_error(&v, BN_E_UNSUPPORTED, "pre-tokenizer 'bogus-pre'");
    v.pre = "gpt2";
    v.model = "bert";
    expect_load_error(&v, BN_E_UNSUPPORTED, "tokenizer model 'bert'");
    v.model = "gpt2";
    v.n_types_written = v.n - 1;
    expect_load_error(&v, BN_E_MODEL, "tokenizer.ggml.token_type");
    v.n_types_written = UINT64_MAX;
    v.write_merges = 0;
    expect_load_error(&v, BN_E_MODEL, "tokenizer.ggml.merges");
    v.write_merges = 1;
    v.bos = v.n;
    expect_load_error(&v, BN_E_MODEL, "tokenizer.ggml.bos_token_id");
    v.bos = 265;
    v.tokens_as_ints = 1;
    expect_load_error(&v, BN_E_MODEL, "tokenizer.ggml.tokens");
    v.tokens_as_ints = 0;
    bn_tok_vocab_add_merge(&v, "a zz");
    expect_load_error(&v, BN_E_MODEL, "tokenizer.ggml.merges[8]: the right part");
    free(v.merges[8]);
    v.merges[8] = strdup("b a");        /* "ba" is no token */
    expect_load_error(&v, BN_E_MODEL, "merges[8]: the merged text");
    free(v.merges[8]);
    v.merges[8] = strdup("ab");
    expect_load_error(&v, BN_E_MODEL, "merges[8] is not \"left right\"");
    free(v.merges[8]);
    v.merges[8] = strdup("a b");        /* a repeated rule keeps its first rank */
    bn_model *m = load(&v);
    expect_tokens(m, 0, "abc", 258, -1);
    bn_model_free(&m);
    /* a byte-level vocabulary without all 256 byte tokens */
    free(v.tokens['Q']);
    v.tokens['Q'] = strdup("QQ");
    v.lens['Q'] = 2;
    expect_load_error(&v, BN_E_MODEL, "byte 0x51");
    bn_tok_vocab_free(&v);

    bn_tok_vocab_hand_spm(&v);
    v.scores[300 % v.n] = 0.0f / 0.0f;
    expect_load_error(&v, BN_E_MODEL, "is NaN");
    v.scores[300 % v.n] = 0;
    v.n_scores_written = 3;
    expect_load_error(&v, BN_E_MODEL, "tokenizer.ggml.scores");
    v.n_scores_written = UINT64_MAX;
    v.types[SPM_BYTE(7)] = 1;
    free(v.tokens[SPM_BYTE(7)]);
    v.tokens[SPM_BYTE(7)] = strdup("<0x07");
    v.lens[SPM_BYTE(7)] = 5;
    v.unk = -1;
    v.id_type = BN_GGUF_I32;
    expect_load_error(&v, BN_E_MODEL, "byte 0x07");
    v.unk = 0;                  /* the byte then becomes the unknown token */
    m = load(&v);
    expect_tokens(m, 0, "\a", 259, 0, -1);
    bn_model_free(&m);
    bn_tok_vocab_free(&v);
}

/* Odd but harmless: empty, unused and unknown-kind tokens load and are never
 * produced; token types outside 1..6 count as undefined. */
static void test_odd_tokens(void **state)
{
    (void)state;
    bn_tok_vocab v;
    bn_tok_vocab_hand_bpe(&v, "llama-bpe");
    v.types[262] = 77;          /* "hello" of an unknown kind */
    bn_tok_vocab_add(&v, "", 0, 3, 0);      /* an empty control token */
    bn_model *m = load(&v);
    expect_tokens(m, BN_TOKENIZE_PARSE_SPECIAL, "hello", 'h', 'e', 'l', 'l', 'o', -1);
    char buf[8];
    size_t n = 9;
    assert_int_equal(bn_token_to_piece(m, 262, buf, sizeof buf, BN_DETOKENIZE_SPECIAL, &n), BN_OK);
    assert_int_equal(n, 0);
    bn_model_free(&m);
    bn_tok_vocab_free(&v);

    /* no tokenizer at all: the model loads, the tokenizer functions say so */
    bn_tok_vocab_hand_bpe(&v, NULL);
    v.model = NULL;
    m = load(&v);
    bn_token t[4];
    assert_int_equal(bn_tokenize(m, "a", 1, t, 4, 0, &n), BN_E_UNSUPPORTED);
    assert_int_equal(bn_detokenize(m, t, 0, buf, sizeof buf, 0, &n), BN_E_UNSUPPORTED);
    assert_int_equal(bn_token_to_piece(m, 0, buf, sizeof buf, 0, &n), BN_E_UNSUPPORTED);
    assert_int_equal(bn_model_token_bos(m), -1);
    assert_int_equal(bn_model_token_eot(m), -1);
    assert_false(bn_model_token_is_eog(m, 0));
    bn_model_free(&m);
    v.model = "none";
    m = load(&v);
    assert_int_equal(bn_tokenize(m, "a", 1, t, 4, 0, &n), BN_E_UNSUPPORTED);
    bn_model_free(&m);
    bn_tok_vocab_free(&v);
}

/* ---- API ---------------------------------------------------------------------------------------- */

static void test_api_arguments(void **state)
{
    (void)state;
    bn_model *m = load_hand_bpe("llama-bpe");
    bn_token t[8];
    char buf[8];
    size_t n = 77;
    assert_int_equal(bn_tokenize(m, "a", 1, t, 8, 0, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_tokenize(NULL, "a", 1, t, 8, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(bn_tokenize(m, "a", 1, t, 8, 4, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_tokenize(m, NULL, 1, t, 8, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_tokenize(m, "a", 1, NULL, 8, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_tokenize(m, NULL, 0, NULL, 0, 0, &n), BN_OK);
    assert_int_equal(n, 0);
    assert_int_equal(bn_tokenize(m, "abcabc", 6, NULL, 0, 0, &n), BN_E_RANGE);
    assert_int_equal(n, 2);
    assert_int_equal(bn_tokenize(m, "abcabc", 6, t, 1, 0, &n), BN_E_RANGE);
    assert_int_equal(n, 2);
    assert_int_equal(bn_tokenize(m, "abcabc", 6, t, 2, 0, &n), BN_OK);

    assert_int_equal(bn_token_to_piece(m, 0, buf, 8, 0, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_token_to_piece(NULL, 0, buf, 8, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_token_to_piece(m, 0, buf, 8, 2, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_token_to_piece(m, 0, NULL, 8, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_token_to_piece(m, -1, buf, 8, 0, &n), BN_E_RANGE);
    assert_int_equal(bn_token_to_piece(m, bn_model_n_vocab(m), buf, 8, 0, &n), BN_E_RANGE);
    assert_int_equal(bn_token_to_piece(m, 262, NULL, 0, 0, &n), BN_E_RANGE);
    assert_int_equal(n, 5);
    assert_int_equal(bn_token_to_piece(m, 262, buf, 3, 0, &n), BN_E_RANGE);
    assert_memory_equal(buf, "hel", 3);
    assert_int_equal(bn_token_to_piece(m, 262, buf, 5, 0, &n), BN_OK);

    t[0] = 262;
    t[1] = 262;
    assert_int_equal(bn_detokenize(m, t, 2, buf, 8, 0, NULL), BN_E_INVALID_ARG);
    assert_int_equal(bn_detokenize(NULL, t, 2, buf, 8, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_detokenize(m, NULL, 2, buf, 8, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_detokenize(m, t, 2, NULL, 8, 0, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_detokenize(m, t, 2, buf, 8, 8, &n), BN_E_INVALID_ARG);
    assert_int_equal(bn_detokenize(m, NULL, 0, NULL, 0, 0, &n), BN_OK);
    assert_int_equal(n, 0);
    assert_int_equal(bn_detokenize(m, t, 2, buf, 8, 0, &n), BN_E_RANGE);
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "hellohel", 8);
    t[1] = 1 << 20;
    assert_int_equal(bn_detokenize(m, t, 2, buf, 8, 0, &n), BN_E_RANGE);
    assert_int_equal(bn_model_token_bos(NULL), -1);
    assert_int_equal(bn_model_token_eos(NULL), -1);
    assert_int_equal(bn_model_token_eot(NULL), -1);
    assert_int_equal(bn_model_token_pad(NULL), -1);
    assert_false(bn_model_token_is_eog(NULL, 0));
    bn_model_free(&m);
}

/* ---- any bytes: in range, and back unchanged ------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Random text from pieces that matter: ASCII, spaces, UTF-8, bad bytes, specials. */
static size_t random_text(uint64_t *rng, char *out, size_t cap)
{
    static const char *const atoms[] = {
        "a", "b", "c", "ab", "abc", "hello", " ", "  ", "\n", "\r\n", "\t", "1", "123", "'s", "'",
        "!", ".", "\xC3\xA9", "\xC3\xBC", "\xE6\x97\xA5", "\xF0\x9F\xA6\x99", "\xE2\x96\x81",
        "\xFF", "\x80", "\xE2\x82", "\xC0\xAF", "\xED\xA0\x80", "<|eot_id|>", "<|eot_id|>!", "<tool>",
        "<s>", "</s>", "<|", "\xC2\x85", "\xC2\xA0", "\xE3\x80\x80", "\x00",
    };
    size_t n = 0, k = rng_next(rng) % 24;
    for (size_t i = 0; i < k; i++) {
        uint64_t r = rng_next(rng);
        if (r % 5 == 0) {
            if (n + 1 < cap)
                out[n++] = (char)(r >> 8);
            continue;
        }
        const char *a = atoms[(r >> 8) % (sizeof atoms / sizeof *atoms)];
        size_t l = a[0] ? strlen(a) : 1;
        if (n + l < cap) {
            memcpy(out + n, a, l);
            n += l;
        }
    }
    return n;
}

static int has_bytes(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(s + i, needle, k))
            return 1;
    return 0;
}

static void roundtrips(bn_model *m, int spm)
{
    uint64_t rng = 42;
    for (int iter = 0; iter < 3000; iter++) {
        char text[256], back[512];
        size_t len = random_text(&rng, text, sizeof text);
        for (uint32_t flags = 0; flags < 4; flags++) {
            bn_token t[512];
            size_t n = 0, n_back = 0;
            assert_int_equal(bn_tokenize(m, text, len, t, 512, flags, &n), BN_OK);
            for (size_t i = 0; i < n; i++) {
                assert_true(t[i] >= 0 && t[i] < bn_model_n_vocab(m));
                if (!spm)
                    assert_true(t[i] != 271 && t[i] != 272);
            }
            if (flags & BN_TOKENIZE_ADD_SPECIAL)
                continue;
            if (spm && has_bytes(text, len, "\xE2\x96\x81"))
                continue;
            uint32_t dflags = (flags & BN_TOKENIZE_PARSE_SPECIAL) ? BN_DETOKENIZE_SPECIAL : 0;
            assert_int_equal(bn_detokenize(m, t, n, back, sizeof back, dflags, &n_back), BN_OK);
            if (n_back != len || memcmp(back, text, len))
                fail_msg("iteration %d flags %u: the text does not come back", iter, flags);
        }
    }
}

static void test_roundtrip_any_bytes(void **state)
{
    (void)state;
    bn_model *m = load_hand_bpe("llama-bpe");
    roundtrips(m, 0);
    bn_model_free(&m);
    m = load_hand_bpe("gpt2");
    roundtrips(m, 0);
    bn_model_free(&m);
    bn_tok_vocab v;
    bn_tok_vocab_hand_spm(&v);
    m = load(&v);
    roundtrips(m, 1);
    bn_model_free(&m);
    bn_tok_vocab_free(&v);
}

/* ---- threads ------------------------------------------------------------------------------------ */

typedef struct job {
    bn_model *m;
    uint64_t seed;
    size_t total;
    int failed;
} job;

static void *tokenize_many(void *arg)
{
    job *j = arg;
    uint64_t rng = j->seed;
    for (int i = 0; i < 2000; i++) {
        char text[256];
        bn_token t[512];
        size_t n;
        size_t len = random_text(&rng, text, sizeof text);
        if (bn_tokenize(j->m, text, len, t, 512, BN_TOKENIZE_PARSE_SPECIAL, &n) != BN_OK)
            j->failed = 1;
        for (size_t k = 0; k < n; k++)
            j->total = j->total * 31 + (size_t)t[k];
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    bn_model *m = load_hand_bpe("llama-bpe");
    job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (job){ m, 7, 0, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, tokenize_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    job alone = { m, 7, 0, 0 };
    tokenize_many(&alone);
    for (int i = 0; i < 4; i++) {
        assert_false(jobs[i].failed);
        assert_true(jobs[i].total == alone.total);
    }
    bn_model_free(&m);
}

/* ---- the published 2B4T key set ------------------------------------------------------------ */

static void test_published_keys(void **state)
{
    (void)state;
    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.type = BN_MKMODEL_I2_S;
    o.published_keys = 1;
    o.hp.n_vocab = 128256;
    o.hp.n_layer = 1;
    o.hp.n_embd = 128;
    o.hp.n_head = 1;
    o.hp.n_head_kv = 1;
    o.hp.n_ff = 128;
    o.log = NULL;
    char path[256];
    snprintf(path, sizeof path, "%s/tok-published-%d.gguf", BN_TEST_BUILDDIR, (int)getpid());
    assert_int_equal(bn_mkmodel_write(&o, path), BN_OK);
    bn_model *m = NULL;
    int rc = bn_model_load(&m, path, NULL);
    unlink(path);
    if (rc)
        fail_msg("%s", bn_last_error());
    assert_int_equal(bn_model_token_bos(m), 128000);
    assert_int_equal(bn_model_token_eos(m), 128001);
    assert_int_equal(bn_model_token_pad(m), 128001);
    assert_int_equal(bn_model_token_eot(m), 128009);    /* no key: found by its text */
    assert_true(bn_model_token_is_eog(m, 128009));
    assert_true(bn_model_token_is_eog(m, 128001));
    assert_true(bn_model_token_is_eog(m, 128008));
    bn_token t[64];
    size_t n;
    const char *chat = "<|begin_of_text|>System: hi<|eot_id|>";
    assert_int_equal(bn_tokenize(m, chat, strlen(chat), t, 64, BN_TOKENIZE_PARSE_SPECIAL, &n),
                     BN_OK);
    assert_int_equal(t[0], 128000);
    assert_int_equal(t[n - 1], 128009);
    assert_int_equal(bn_tokenize(m, "x", 1, t, 64, BN_TOKENIZE_ADD_SPECIAL, &n), BN_OK);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], 128000);
    bn_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unicode_classes),
        cmocka_unit_test(test_utf8_decode),
        cmocka_unit_test(test_pretok_white_space),
        cmocka_unit_test(test_bpe_merge_order),
        cmocka_unit_test(test_bpe_llama3_whole_words),
        cmocka_unit_test(test_bpe_specials),
        cmocka_unit_test(test_spm),
        cmocka_unit_test(test_broken_vocabularies),
        cmocka_unit_test(test_odd_tokens),
        cmocka_unit_test(test_api_arguments),
        cmocka_unit_test(test_roundtrip_any_bytes),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_published_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
