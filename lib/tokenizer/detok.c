/* From tokens back to bytes: each token's piece was decoded once at load
 * (vocab_load.c); here they are only looked up and concatenated. */
#include <string.h>

#include "core/error.h"
#include "tokenizer/vocab_internal.h"

static int is_special_type(unsigned type)
{
    return type == BN_TOKTYPE_CONTROL || type == BN_TOKTYPE_UNKNOWN;
}

const char *bn_vocab_piece(const bn_vocab *v, bn_token id, int special, size_t *len)
{
    const bn_vtok *t = &v->tok[id];
    if (!special && is_special_type(t->type)) {
        *len = 0;
        return "";
    }
    *len = t->piece_len;
    return t->piece;
}

int bn_vocab_detokenize(const bn_vocab *v, const bn_token *tokens, size_t n_tokens, char *buf,
                        size_t buf_size, uint32_t flags, size_t *n_out)
{
    /* SentencePiece put a space before the text at the start and after each
     * special token matched in it: take one such space away again. */
    int strip_space = v->kind == BN_VOCAB_SPM && v->add_space_prefix;
    int pending = strip_space;
    size_t total = 0;
    for (size_t i = 0; i < n_tokens; i++) {
        const bn_vtok *t = &v->tok[tokens[i]];
        size_t n;
        const char *p = bn_vocab_piece(v, tokens[i], (flags & BN_DETOKENIZE_SPECIAL) != 0, &n);
        if (is_special_type(t->type) || t->type == BN_TOKTYPE_USER_DEFINED) {
            pending = strip_space;
        } else if (n > 0) {
            if (pending && p[0] == ' ') {
                p++;
                n--;
            }
            pending = 0;
        }
        if (total < buf_size)
            memcpy(buf + total, p, n < buf_size - total ? n : buf_size - total);
        total += n;
    }
    *n_out = total;
    if (total > buf_size)
        return bn_fail(BN_E_RANGE, "bn_detokenize: the text has %zu bytes, room for %zu", total,
                       buf_size);
    return BN_OK;
}
