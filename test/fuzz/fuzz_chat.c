/*
 * Fuzz target for the chat formatter (bn_chat_format, bn_chat_tokenize) with
 * built-in and custom templates.
 *
 * Input: a selector byte (bits 0-1: the template, "llama3", "bitnet-2b4t"
 * or custom; bit 2: add the generation prompt; bit 3: the SentencePiece
 * vocabulary instead of the BPE one), then fields ended by NUL bytes: for a
 * custom template its begin text, its generation prompt and three roles
 * (name, prefix, suffix), then up to 16 messages (role, content).
 *
 * Invariants: formatting succeeds and gives the same length whatever the
 * buffer (BN_E_RANGE when it is too small, never a write past it), with the
 * contents in order (trimmed of surrounding white space, as the built-in
 * templates do); bn_chat_tokenize gives ids in range, as many control
 * tokens as with every content empty (a content never becomes a special
 * token: no role injection), and with the BPE vocabulary the tokens
 * detokenize to the formatted text. Never a crash or a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "tok_models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGES 16
#define MAX_FIELDS (5 + 3 * 3 + 2 * MAX_MESSAGES)

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz_chat: %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                 \
        }                                                                            \
    } while (0)

static bn_model *models[2];

/* The hand-made vocabularies with the Llama 3 chat markers as control tokens. */
static void load_models(void)
{
    static const char *const markers[] = { "<|start_header_id|>", "<|end_header_id|>" };
    bn_tok_vocab v;
    for (int k = 0; k < 2; k++) {
        if (k == 0)
            bn_tok_vocab_hand_bpe(&v, "llama-bpe");
        else
            bn_tok_vocab_hand_spm(&v);
        for (size_t i = 0; i < sizeof markers / sizeof *markers; i++)
            bn_tok_vocab_add_str(&v, markers[i], 3, 0);
        if (k == 1) {
            bn_tok_vocab_add_str(&v, "<|begin_of_text|>", 3, 0);
            bn_tok_vocab_add_str(&v, "<|eot_id|>", 3, 0);
        }
        models[k] = bn_tok_model_load(&v, NULL);
        bn_tok_vocab_free(&v);
        if (!models[k]) {
            fprintf(stderr, "fuzz_chat: model %d: %s\n", k, bn_last_error());
            abort();
        }
    }
}

/* Tokens whose text shows only with BN_DETOKENIZE_SPECIAL: control tokens. */
static size_t count_control(const bn_model *m, const bn_token *t, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        char c[1];
        size_t plain = 0, special = 0;
        bn_token_to_piece(m, t[i], c, 0, 0, &plain);
        bn_token_to_piece(m, t[i], c, 0, BN_DETOKENIZE_SPECIAL, &special);
        count += plain == 0 && special > 0;
    }
    return count;
}

/* The conversation's tokens (malloc'd) and their count. */
static bn_token *chat_tokens(const bn_chat_template *t, const bn_model *m,
                             const char *const *roles, const char *const *contents, size_t n,
                             int gen, size_t *n_tok)
{
    size_t need = 0;
    int rc = bn_chat_tokenize(t, m, roles, contents, n, gen, NULL, 0, &need);
    CHECK(rc == BN_OK || rc == BN_E_RANGE);
    CHECK(rc == BN_OK || need > 0);
    bn_token *tok = malloc((need ? need : 1) * sizeof *tok);
    CHECK(tok);
    size_t got = 0;
    CHECK(bn_chat_tokenize(t, m, roles, contents, n, gen, tok, need, &got) == BN_OK);
    CHECK(got == need);
    for (size_t i = 0; i < got; i++)
        CHECK(tok[i] >= 0 && tok[i] < bn_model_n_vocab(m));
    *n_tok = got;
    return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!models[0])
        load_models();
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    int gen = (sel >> 2) & 1, spm = (sel >> 3) & 1;
    const bn_model *m = models[spm];

    /* NUL-terminated fields of a copy of the input */
    char *copy = malloc(size + 1);
    CHECK(copy);
    memcpy(copy, data, size);
    copy[size] = 0;
    const char *field[MAX_FIELDS];
    size_t n_fields = 0;
    for (size_t pos = 1; pos < size && n_fields < MAX_FIELDS;) {
        field[n_fields++] = copy + pos;
        pos += strlen(copy + pos) + 1;
    }
    size_t f = 0;
#define NEXT() (f < n_fields ? field[f++] : "")

    bn_chat_template *t = NULL;
    if ((sel & 3) < 2) {
        CHECK(bn_chat_template_builtin(&t, (sel & 3) ? "bitnet-2b4t" : "llama3") == BN_OK);
    } else {
        CHECK(bn_chat_template_new(&t) == BN_OK);
        int rc = bn_chat_template_set_begin(t, NEXT());
        CHECK(rc == BN_OK || rc == BN_E_INVALID_ARG);
        rc = bn_chat_template_set_generation_prompt(t, NEXT());
        CHECK(rc == BN_OK || rc == BN_E_INVALID_ARG);
        for (int r = 0; r < 3; r++) {
            const char *name = NEXT(), *prefix = NEXT(), *suffix = NEXT();
            rc = bn_chat_template_set_role(t, name, prefix, suffix);
            CHECK(rc == BN_OK || rc == BN_E_INVALID_ARG);
        }
    }
    const char *roles[MAX_MESSAGES], *contents[MAX_MESSAGES], *empty[MAX_MESSAGES];
    size_t n = 0;
    while (f < n_fields && n < MAX_MESSAGES) {
        roles[n] = NEXT();
        contents[n] = NEXT();
        empty[n] = "";
        n++;
    }

    /* the length first, then a buffer of exactly that size (plus the NUL) */
    size_t len = 0;
    int rc = bn_chat_format(t, roles, contents, n, gen, NULL, 0, &len);
    if (rc == BN_E_INVALID_ARG) {       /* e.g. no messages, or a role it refuses */
        size_t n_tok = 0;
        CHECK(bn_chat_tokenize(t, m, roles, contents, n, gen, NULL, 0, &n_tok) ==
              BN_E_INVALID_ARG);
        bn_chat_template_free(&t);
        free(copy);
        return 0;
    }
    CHECK(rc == BN_OK || rc == BN_E_RANGE);
    CHECK(rc == BN_OK ? len == 0 : len > 0);
    char *text = malloc(len + 1);
    CHECK(text);
    size_t len2 = 0;
    CHECK(bn_chat_format(t, roles, contents, n, gen, text, len + 1, &len2) == BN_OK);
    CHECK(len2 == len && text[len] == 0);
    if (len > 1) {
        char *small = malloc(len / 2);
        CHECK(small);
        CHECK(bn_chat_format(t, roles, contents, n, gen, small, len / 2, &len2) == BN_E_RANGE);
        CHECK(len2 == len);
        free(small);
    }
    const char *at = text;              /* the contents, in order (trimmed: as Jinja's trim) */
    for (size_t i = 0; i < n; i++) {
        const char *c = contents[i];
        size_t k = strlen(c);
        while (k && strchr(" \t\n\v\f\r", c[k - 1]))
            k--;
        while (k && strchr(" \t\n\v\f\r", c[0])) {
            c++;
            k--;
        }
        const char *hit = NULL;
        for (const char *p = at; !hit && p + k <= text + len; p++)
            if (!memcmp(p, c, k))
                hit = p;
        CHECK(hit);
        at = hit + k;
    }

    size_t n_tok = 0, n_empty = 0;
    bn_token *tok = chat_tokens(t, m, roles, contents, n, gen, &n_tok);
    bn_token *tok_empty = chat_tokens(t, m, roles, empty, n, gen, &n_empty);
    CHECK(count_control(m, tok, n_tok) == count_control(m, tok_empty, n_empty));
    if (!spm) {
        char *back = malloc(len + 1);
        size_t n_back = 0;
        CHECK(back);
        CHECK(bn_detokenize(m, tok, n_tok, back, len + 1, BN_DETOKENIZE_SPECIAL, &n_back) ==
              BN_OK);
        CHECK(n_back == len && !memcmp(back, text, len));
        free(back);
    }
    free(tok);
    free(tok_empty);
    free(text);
    bn_chat_template_free(&t);
    CHECK(!t);
    free(copy);
    return 0;
}
