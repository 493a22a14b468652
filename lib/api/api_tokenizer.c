/* Public entry points for tokens and text: argument checks and status codes;
 * the work is in tokenizer/. */
#include <stddef.h>

#include "core/error.h"
#include "model/model.h"
#include "tokenizer/vocab.h"

/* One call tokenizes at most this much text: symbol offsets are 32-bit and
 * SentencePiece triples the bytes of spaces. */
#define MAX_TEXT_BYTES ((size_t)1 << 30)

static int no_vocab(const char *fn)
{
    return bn_fail(BN_E_UNSUPPORTED, "%s: the model file has no tokenizer "
                   "(no tokenizer.ggml.model)", fn);
}

int bn_tokenize(const bn_model *m, const char *text, size_t len, bn_token *out, size_t n_max,
                uint32_t flags, size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: n_out is NULL");
    *n_out = 0;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: model is NULL");
    if (flags & ~(uint32_t)(BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL))
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: unknown flags 0x%x", (unsigned)flags);
    if (!text && len)
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: text is NULL");
    if (!out && n_max)
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: out is NULL but n_max is %zu", n_max);
    if (len > MAX_TEXT_BYTES)
        return bn_fail(BN_E_INVALID_ARG, "bn_tokenize: %zu bytes of text; at most %zu per call",
                       len, MAX_TEXT_BYTES);
    if (!m->vocab)
        return no_vocab("bn_tokenize");
    return bn_vocab_tokenize(m->vocab, text ? text : "", len, out, n_max, flags, n_out);
}

int bn_token_to_piece(const bn_model *m, bn_token token, char *buf, size_t buf_size,
                      uint32_t flags, size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_token_to_piece: n_out is NULL");
    *n_out = 0;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "bn_token_to_piece: model is NULL");
    if (flags & ~(uint32_t)BN_DETOKENIZE_SPECIAL)
        return bn_fail(BN_E_INVALID_ARG, "bn_token_to_piece: unknown flags 0x%x", (unsigned)flags);
    if (!buf && buf_size)
        return bn_fail(BN_E_INVALID_ARG, "bn_token_to_piece: buf is NULL but buf_size is %zu",
                       buf_size);
    if (!m->vocab)
        return no_vocab("bn_token_to_piece");
    if (token < 0 || token >= bn_vocab_n_tokens(m->vocab))
        return bn_fail(BN_E_RANGE, "bn_token_to_piece: token %d is outside [0, %d)", (int)token,
                       (int)bn_vocab_n_tokens(m->vocab));
    size_t n;
    const char *p = bn_vocab_piece(m->vocab, token, (flags & BN_DETOKENIZE_SPECIAL) != 0, &n);
    for (size_t i = 0; i < n && i < buf_size; i++)
        buf[i] = p[i];
    *n_out = n;
    if (n > buf_size)
        return bn_fail(BN_E_RANGE, "bn_token_to_piece: the piece has %zu bytes, room for %zu", n,
                       buf_size);
    return BN_OK;
}

int bn_detokenize(const bn_model *m, const bn_token *tokens, size_t n_tokens, char *buf,
                  size_t buf_size, uint32_t flags, size_t *n_out)
{
    if (!n_out)
        return bn_fail(BN_E_INVALID_ARG, "bn_detokenize: n_out is NULL");
    *n_out = 0;
    if (!m)
        return bn_fail(BN_E_INVALID_ARG, "bn_detokenize: model is NULL");
    if (flags & ~(uint32_t)BN_DETOKENIZE_SPECIAL)
        return bn_fail(BN_E_INVALID_ARG, "bn_detokenize: unknown flags 0x%x", (unsigned)flags);
    if (!tokens && n_tokens)
        return bn_fail(BN_E_INVALID_ARG, "bn_detokenize: tokens is NULL");
    if (!buf && buf_size)
        return bn_fail(BN_E_INVALID_ARG, "bn_detokenize: buf is NULL but buf_size is %zu",
                       buf_size);
    if (!m->vocab)
        return no_vocab("bn_detokenize");
    int32_t n_vocab = bn_vocab_n_tokens(m->vocab);
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return bn_fail(BN_E_RANGE, "bn_detokenize: token %zu is %d, outside [0, %d)", i,
                           (int)tokens[i], (int)n_vocab);
    return bn_vocab_detokenize(m->vocab, tokens, n_tokens, buf, buf_size, flags, n_out);
}

static bn_token special(const bn_model *m, enum bn_vocab_special which)
{
    return m && m->vocab ? bn_vocab_special(m->vocab, which) : -1;
}

bn_token bn_model_token_bos(const bn_model *m) { return special(m, BN_VOCAB_BOS); }
bn_token bn_model_token_eos(const bn_model *m) { return special(m, BN_VOCAB_EOS); }
bn_token bn_model_token_eot(const bn_model *m) { return special(m, BN_VOCAB_EOT); }
bn_token bn_model_token_pad(const bn_model *m) { return special(m, BN_VOCAB_PAD); }

int bn_model_token_is_eog(const bn_model *m, bn_token token)
{
    return m && m->vocab && bn_vocab_is_eog(m->vocab, token);
}
