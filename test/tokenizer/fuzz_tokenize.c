/*
 * Fuzz target for bn_tokenize / bn_detokenize.
 *
 * Input: one selector byte, then the text (any bytes). The selector picks
 * the vocabulary (hand-made BPE with the Llama 3 or the GPT-2 pre-tokenizer,
 * hand-made SentencePiece, mkmodel's synthetic 1024-token BPE), the flags,
 * and whether the output buffer is too small.
 *
 * Invariants: BN_OK (or BN_E_RANGE with the same count when the buffer is too
 * small), every id in the vocabulary, and without ADD_SPECIAL the tokens
 * detokenize to the input bytes (SentencePiece: unless the text holds U+2581,
 * which it reads as a space). Never a crash, a read outside the input or a
 * leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitnet/bitnet.h"
#include "mkmodel.h"
#include "tok_models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_MODELS 4

static bn_model *models[N_MODELS];

static void load_models(void)
{
    bn_tok_vocab v;
    bn_tok_vocab_hand_bpe(&v, "llama-bpe");
    models[0] = bn_tok_model_load(&v, NULL);
    bn_tok_vocab_free(&v);
    bn_tok_vocab_hand_bpe(&v, "gpt2");
    models[1] = bn_tok_model_load(&v, NULL);
    bn_tok_vocab_free(&v);
    bn_tok_vocab_hand_spm(&v);
    models[2] = bn_tok_model_load(&v, NULL);
    bn_tok_vocab_free(&v);

    bn_mkmodel_opts o;
    bn_mkmodel_default_opts(&o);
    o.hp.n_layer = 1;
    o.hp.n_embd = 64;
    o.hp.n_head = 1;
    o.hp.n_head_kv = 1;
    o.hp.n_ff = 64;
    o.log = NULL;
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/bn_fuzz_tok_%d.gguf", dir && *dir ? dir : "/tmp", (int)getpid());
    if (bn_mkmodel_write(&o, path) == BN_OK)
        bn_model_load(&models[3], path, NULL);
    unlink(path);
    for (int i = 0; i < N_MODELS; i++)
        if (!models[i]) {
            fprintf(stderr, "fuzz_tokenize: model %d: %s\n", i, bn_last_error());
            abort();
        }
}

static int has_u2581(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++)
        if (s[i] == 0xE2 && s[i + 1] == 0x96 && s[i + 2] == 0x81)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!models[0])
        load_models();
    if (size == 0)
        return 0;
    unsigned sel = data[0];
    bn_model *m = models[sel % N_MODELS];
    uint32_t flags = (sel >> 2) & 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    size_t cap = len + 2, n = 0;
    bn_token *t = malloc(cap * sizeof *t);
    if (!t)
        return 0;
    if (bn_tokenize(m, text, len, t, cap, flags, &n) != BN_OK || n > cap)
        abort();
    for (size_t i = 0; i < n; i++)
        if (t[i] < 0 || t[i] >= bn_model_n_vocab(m))
            abort();
    if ((sel & 0x10) && n > 0) {        /* too small a buffer: same count, BN_E_RANGE */
        size_t n2 = 0;
        if (bn_tokenize(m, text, len, t, n - 1, flags, &n2) != BN_E_RANGE || n2 != n)
            abort();
        bn_tokenize(m, text, len, t, cap, flags, &n);
    }
    int spm = sel % N_MODELS == 2;
    if (!(flags & BN_TOKENIZE_ADD_SPECIAL) && !(spm && has_u2581(data + 1, len))) {
        uint32_t dflags = (flags & BN_TOKENIZE_PARSE_SPECIAL) ? BN_DETOKENIZE_SPECIAL : 0;
        char *back = malloc(len + 1);
        size_t n_back = 0;
        if (!back || bn_detokenize(m, t, n, back, len + 1, dflags, &n_back) != BN_OK ||
            n_back != len || memcmp(back, text, len))
            abort();
        free(back);
    }
    free(t);
    return 0;
}
