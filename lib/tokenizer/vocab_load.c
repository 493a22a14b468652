/*
 * Reading and checking tokenizer.ggml.* at model load. Every count, id and
 * string comes from the file and is checked before use; the rules for
 * defaults and for what is an error are listed in doc/tokenizer.md.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/sort.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab_internal.h"

static int is_int_type(uint32_t t)
{
    return t == BN_GGUF_U8 || t == BN_GGUF_I8 || t == BN_GGUF_U16 || t == BN_GGUF_I16 ||
           t == BN_GGUF_U32 || t == BN_GGUF_I32 || t == BN_GGUF_U64 || t == BN_GGUF_I64;
}

/* An array of n_tokens elements of an accepted type, or NULL (absent). */
static int find_array(const bn_gguf *g, const char *key, uint64_t n, int want_string,
                      const bn_gguf_value **out)
{
    *out = NULL;
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, key);
    if (!kv)
        return BN_OK;
    const bn_gguf_value *val = &kv->value;
    if (val->type != BN_GGUF_ARRAY)
        return bn_fail(BN_E_MODEL, "metadata '%s' has type %s, expected an array", key,
                       bn_gguf_vtype_name(val->type));
    uint32_t et = val->v.arr.elem_type;
    int ok = want_string ? et == BN_GGUF_STRING
                         : is_int_type(et) || et == BN_GGUF_F32 || et == BN_GGUF_F64;
    if (!ok)
        return bn_fail(BN_E_MODEL, "metadata '%s' is an array of %s", key, bn_gguf_vtype_name(et));
    if (n != UINT64_MAX && val->v.arr.count != n)
        return bn_fail(BN_E_MODEL, "metadata '%s' has %" PRIu64 " entries, expected %" PRIu64
                       " (one per token)", key, val->v.arr.count, n);
    *out = val;
    return BN_OK;
}

static int read_tokens(bn_vocab *v, const bn_gguf *g, int32_t n_vocab)
{
    const bn_gguf_value *arr;
    int rc = find_array(g, "tokenizer.ggml.tokens", UINT64_MAX, 1, &arr);
    if (rc)
        return rc;
    if (!arr)
        return bn_fail(BN_E_MODEL, "missing metadata 'tokenizer.ggml.tokens'");
    if (n_vocab <= 0 || arr->v.arr.count != (uint64_t)n_vocab)
        return bn_fail(BN_E_MODEL, "tokenizer.ggml.tokens has %" PRIu64 " tokens but the "
                       "embedding has %d rows", arr->v.arr.count, (int)n_vocab);
    v->n_tokens = (uint32_t)n_vocab;
    v->tok = calloc(v->n_tokens, sizeof *v->tok);
    if (!v->tok)
        return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    bn_gguf_str_iter it;
    bn_gguf_str_iter_init(&it, arr);
    for (uint32_t i = 0; i < v->n_tokens; i++) {
        bn_gguf_str s;
        if (!bn_gguf_str_iter_next(&it, &s))
            return bn_fail(BN_E_MODEL, "tokenizer.ggml.tokens: truncated array");
        v->tok[i].text = s.ptr;
        v->tok[i].text_len = (uint32_t)s.len;   /* <= BN_GGUF_MAX_STRING_LEN */
        v->tok[i].type = BN_TOKTYPE_NORMAL;
    }

    if ((rc = find_array(g, "tokenizer.ggml.token_type", v->n_tokens, 0, &arr)))
        return rc;
    for (uint32_t i = 0; arr && i < v->n_tokens; i++) {
        int64_t t = bn_gguf_arr_i64(arr, i);
        /* unknown kinds are kept as UNDEFINED: never matched, rendered as "" */
        v->tok[i].type = t >= BN_TOKTYPE_NORMAL && t <= BN_TOKTYPE_BYTE ? (uint8_t)t
                                                                         : BN_TOKTYPE_UNDEFINED;
    }

    if (v->kind == BN_VOCAB_SPM) {
        if ((rc = find_array(g, "tokenizer.ggml.scores", v->n_tokens, 0, &arr)))
            return rc;
        for (uint32_t i = 0; arr && i < v->n_tokens; i++) {
            double d = bn_gguf_arr_f64(arr, i);
            if (isnan(d))
                return bn_fail(BN_E_MODEL, "tokenizer.ggml.scores[%u] is NaN", i);
            v->tok[i].score = (float)d;
        }
    }
    return BN_OK;
}

/* The byte of a SentencePiece byte token "<0xXX>", or -1. */
static int spm_byte_value(const bn_vtok *t)
{
    const char *s = t->text;
    if (t->text_len != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Writes the bytes a normal token of a byte-level BPE vocabulary stands for:
 * each character is the GPT-2 stand-in of one byte; a character that stands
 * for none (or an ill-formed byte) is kept as it is. */
static size_t gpt2_decode(const bn_vtok *t, char *out)
{
    const uint8_t *s = (const uint8_t *)t->text;
    size_t n = t->text_len, o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] >= '!' && s[i] <= '~') {      /* printable ASCII stands for itself */
            out[o++] = (char)s[i++];
            continue;
        }
        uint32_t cp;
        size_t l = bn_utf8_decode(s + i, n - i, &cp);
        int b = l ? bn_gpt2_cp_byte(cp) : -1;
        if (l == 0)
            l = 1;
        if (b >= 0) {
            out[o++] = (char)b;
        } else {
            memcpy(out + o, s + i, l);
            o += l;
        }
        i += l;
    }
    return o;
}

/* SentencePiece: U+2581 stands for a space. */
static size_t spm_unescape(const bn_vtok *t, char *out)
{
    const char *s = t->text;
    size_t n = t->text_len, o = 0;
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && !memcmp(s + i, "\xE2\x96\x81", 3)) {
            out[o++] = ' ';
            i += 3;
        } else {
            out[o++] = s[i++];
        }
    }
    return o;
}

/* The bytes each token stands for. Normal (and BPE byte) tokens are decoded
 * into the arena, which never needs more than their texts' bytes. */
static int build_pieces(bn_vocab *v)
{
    uint64_t need = 1;
    for (uint32_t i = 0; i < v->n_tokens; i++)
        need += v->tok[i].text_len;
    if (need > SIZE_MAX || !(v->arena = malloc((size_t)need)))
        return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    size_t used = 0;
    for (uint32_t i = 0; i < v->n_tokens; i++) {
        bn_vtok *t = &v->tok[i];
        char *out = v->arena + used;
        size_t n = 0;
        switch (t->type) {
        case BN_TOKTYPE_CONTROL:
        case BN_TOKTYPE_UNKNOWN:
        case BN_TOKTYPE_USER_DEFINED:
            t->piece = t->text;
            t->piece_len = t->text_len;
            continue;
        case BN_TOKTYPE_NORMAL:
            n = v->kind == BN_VOCAB_BPE ? gpt2_decode(t, out) : spm_unescape(t, out);
            break;
        case BN_TOKTYPE_BYTE:
            if (v->kind == BN_VOCAB_BPE) {
                n = gpt2_decode(t, out);
            } else {
                int b = spm_byte_value(t);
                if (b < 0) {        /* not "<0xXX>": shown as it is */
                    t->piece = t->text;
                    t->piece_len = t->text_len;
                    continue;
                }
                out[0] = (char)b;
                n = 1;
            }
            break;
        default:                    /* unused and undefined tokens stand for nothing */
            t->piece = "";
            t->piece_len = 0;
            continue;
        }
        t->piece = out;
        t->piece_len = (uint32_t)n;
        used += n;
    }
    return BN_OK;
}

/* Whether token id is a normal or byte token standing for exactly the byte b. */
static int is_byte(const bn_vocab *v, int32_t id, unsigned b)
{
    if (id < 0)
        return 0;
    const bn_vtok *t = &v->tok[id];
    return (t->type == BN_TOKTYPE_NORMAL || t->type == BN_TOKTYPE_BYTE) && t->piece_len == 1 &&
           (uint8_t)t->piece[0] == b;
}

/* The token of each byte: the GPT-2 character (BPE), or <0xXX>, else the
 * byte itself as a one-byte token, else the unknown token (SentencePiece).
 * A token found by its text must also stand for the byte: a file may give
 * that text to a control token or (SentencePiece) to a normal one as well,
 * and the byte must come back from detokenizing. SentencePiece byte tokens
 * are taken by their type, the last of a byte winning as in lookups. */
static int find_byte_tokens(bn_vocab *v)
{
    for (unsigned b = 0; b < 256; b++)
        v->byte_token[b] = -1;
    if (v->kind == BN_VOCAB_SPM)
        for (uint32_t i = 0; i < v->n_tokens; i++) {
            int b = v->tok[i].type == BN_TOKTYPE_BYTE ? spm_byte_value(&v->tok[i]) : -1;
            if (b >= 0)
                v->byte_token[b] = (int32_t)i;
        }
    for (unsigned b = 0; b < 256; b++) {
        int32_t id = v->byte_token[b];
        if (v->kind == BN_VOCAB_BPE) {
            uint8_t text[4];
            size_t n = bn_utf8_encode(bn_gpt2_byte_cp(b), text);
            memcpy(v->gpt2_char[b], text, n);
            v->gpt2_len[b] = (uint8_t)n;
            id = bn_str_map_find(&v->text_map, v->tok, text, n);
            if (id >= 0 && !is_byte(v, id, b))
                return bn_fail(BN_E_MODEL, "the token for the byte 0x%02X (id %d, type %u) is "
                               "not a normal or byte token standing for it", b, (int)id,
                               v->tok[id].type);
        } else if (id < 0) {
            char text[1] = { (char)b };
            if (b < 0x80)
                id = bn_vocab_find_word(v, text, 1);
            if (!is_byte(v, id, b))
                id = v->special[BN_VOCAB_UNK];
        }
        if (id < 0)
            return bn_fail(BN_E_MODEL, "the vocabulary has no token for the byte 0x%02X (%s)", b,
                           v->kind == BN_VOCAB_BPE ? "byte-level BPE needs all 256"
                                                   : "no byte fallback and no unknown token");
        v->byte_token[b] = id;
    }
    return BN_OK;
}

/* A special token id from key: absent keeps *id; -1 (or 2^32 - 1) means none. */
static int read_id(bn_vocab *v, const bn_gguf *g, const char *key, int32_t *id)
{
    const bn_gguf_kv *kv = bn_gguf_find_kv(g, key);
    if (!kv)
        return BN_OK;
    uint32_t t = kv->value.type;
    if (!is_int_type(t))
        return bn_fail(BN_E_MODEL, "metadata '%s' has type %s, expected an integer", key,
                       bn_gguf_vtype_name(t));
    int is_signed = t == BN_GGUF_I8 || t == BN_GGUF_I16 || t == BN_GGUF_I32 || t == BN_GGUF_I64;
    if (is_signed ? kv->value.v.i64 == -1
                  : t == BN_GGUF_U32 && kv->value.v.u64 == UINT32_MAX) {
        *id = -1;
        return BN_OK;
    }
    if (is_signed ? kv->value.v.i64 < 0 || kv->value.v.i64 >= (int64_t)v->n_tokens
                  : kv->value.v.u64 >= v->n_tokens) {
        char text[32];
        bn_gguf_value_to_text(&kv->value, text, sizeof text);
        return bn_fail(BN_E_MODEL, "metadata '%s' = %s is not a token id (vocabulary of %u "
                       "tokens)", key, text, v->n_tokens);
    }
    *id = (int32_t)(is_signed ? kv->value.v.i64 : (int64_t)kv->value.v.u64);
    return BN_OK;
}

static int32_t find_text(const bn_vocab *v, const char *text)
{
    return bn_str_map_find(&v->text_map, v->tok, text, strlen(text));
}

static void add_eog(bn_vocab *v, int32_t id)
{
    if (id < 0)
        return;
    for (int i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id)
            return;
    if (v->n_eog < (int)(sizeof v->eog / sizeof v->eog[0]))
        v->eog[v->n_eog++] = id;
}

static int read_specials(bn_vocab *v, const bn_gguf *g)
{
    int32_t *sp = v->special;
    for (int i = 0; i < BN_VOCAB_SPECIAL_COUNT; i++)
        sp[i] = -1;
    if (v->kind == BN_VOCAB_SPM) {  /* llama.cpp's defaults for LLaMA files */
        sp[BN_VOCAB_UNK] = 0;
        sp[BN_VOCAB_BOS] = v->n_tokens > 1 ? 1 : -1;
        sp[BN_VOCAB_EOS] = v->n_tokens > 2 ? 2 : -1;
    }
    static const struct { const char *key; int which; } keys[] = {
        { "tokenizer.ggml.bos_token_id", BN_VOCAB_BOS },
        { "tokenizer.ggml.eos_token_id", BN_VOCAB_EOS },
        { "tokenizer.ggml.eot_token_id", BN_VOCAB_EOT },
        { "tokenizer.ggml.eom_token_id", BN_VOCAB_EOM },
        { "tokenizer.ggml.padding_token_id", BN_VOCAB_PAD },
        { "tokenizer.ggml.unknown_token_id", BN_VOCAB_UNK },
    };
    int rc;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if ((rc = read_id(v, g, keys[i].key, &sp[keys[i].which])))
            return rc;
    /* Files without an EOT id (the published 2B4T) still end turns with
     * <|eot_id|>: found by its text, as llama.cpp does. */
    static const char *const eot_texts[] = { "<|eot_id|>", "<|im_end|>", "<|end|>",
                                             "<end_of_turn>", "<|endoftext|>", "<EOT>" };
    if (!bn_gguf_find_kv(g, "tokenizer.ggml.eot_token_id"))
        for (size_t i = 0; sp[BN_VOCAB_EOT] < 0 && i < sizeof eot_texts / sizeof *eot_texts; i++)
            sp[BN_VOCAB_EOT] = find_text(v, eot_texts[i]);
    if (!bn_gguf_find_kv(g, "tokenizer.ggml.eom_token_id"))
        sp[BN_VOCAB_EOM] = find_text(v, "<|eom_id|>");

    static const char *const eog_texts[] = { "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>",
                                             "<|im_end|>", "<|endoftext|>", "<end_of_turn>" };
    add_eog(v, sp[BN_VOCAB_EOS]);
    add_eog(v, sp[BN_VOCAB_EOT]);
    add_eog(v, sp[BN_VOCAB_EOM]);
    for (size_t i = 0; i < sizeof eog_texts / sizeof *eog_texts; i++)
        add_eog(v, find_text(v, eog_texts[i]));
    return BN_OK;
}

static int read_flag(const bn_gguf *g, const char *key, int *flag)
{
    int rc = bn_gguf_get_bool(g, key, flag);
    return rc == BN_E_NOT_FOUND ? BN_OK : rc;
}

/* tokenizer.ggml.pre of a BPE vocabulary; absent = llama-bpe (see FORMATS.md:
 * the published 2B4T file has none). */
static int read_pretok(bn_vocab *v, const bn_gguf *g)
{
    static const char *const llama3[] = { "llama-bpe", "llama3", "llama-v3", "falcon3",
                                          "falcon-h1", "falcon_e" };
    static const char *const gpt2[] = { "gpt2", "gpt-2", "phi-2" };
    bn_gguf_str s;
    int rc = bn_gguf_get_str(g, "tokenizer.ggml.pre", &s);
    v->pretok = BN_PRETOK_LLAMA3;
    if (rc == BN_E_NOT_FOUND)
        return BN_OK;
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof llama3 / sizeof *llama3; i++)
        if (bn_gguf_str_eq(s, llama3[i]))
            return BN_OK;
    for (size_t i = 0; i < sizeof gpt2 / sizeof *gpt2; i++)
        if (bn_gguf_str_eq(s, gpt2[i])) {
            v->pretok = BN_PRETOK_GPT2;
            return BN_OK;
        }
    return bn_fail(BN_E_UNSUPPORTED, "pre-tokenizer '%.*s' (tokenizer.ggml.pre) is not "
                   "supported (supported: llama-bpe, llama3, llama-v3, falcon3, falcon-h1, falcon_e, "
                   "gpt2, gpt-2, phi-2)", s.len > 64 ? 64 : (int)s.len, s.ptr);
}

/* 1 when no normal token has U+2581 right after another character: then
 * no merge crosses the start of a word (spm.c). */
static int spm_words_independent(const bn_vocab *v)
{
    for (uint32_t i = 0; i < v->n_tokens; i++) {
        const bn_vtok *t = &v->tok[i];
        if (t->type != BN_TOKTYPE_NORMAL)
            continue;
        const char *s = t->text, *end = s + t->text_len;
        size_t lead = 0;            /* bytes of the leading run of U+2581 */
        while (lead + 3 <= t->text_len && !memcmp(s + lead, "\xE2\x96\x81", 3))
            lead += 3;
        for (const char *p = s + lead; p + 3 <= end; p++)
            if (!memcmp(p, "\xE2\x96\x81", 3) && p > s)
                return 0;
    }
    return 1;
}

/* ---- special tokens matched in text ------------------------------------------- */

static int cmp_text(uint32_t a, uint32_t b, const void *ctx)
{
    const bn_vtok *tok = ctx;
    const bn_vtok *x = &tok[a], *y = &tok[b];
    size_t n = x->text_len < y->text_len ? x->text_len : y->text_len;
    int c = memcmp(x->text, y->text, n);
    if (c)
        return c;
    if (x->text_len != y->text_len)
        return x->text_len < y->text_len ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Matched in the text: user-defined tokens always, control and unknown ones
 * with PARSE_SPECIAL; never an empty text. */
static int matchable(const bn_vtok *t, int with_control)
{
    return t->text_len && (t->type == BN_TOKTYPE_USER_DEFINED ||
                           (with_control && (t->type == BN_TOKTYPE_CONTROL ||
                                             t->type == BN_TOKTYPE_UNKNOWN)));
}

static int build_special_set(bn_vocab *v, bn_special_set *set, int with_control)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->n_tokens; i++)
        n += (uint32_t)matchable(&v->tok[i], with_control);
    set->ids = malloc((n ? n : 1) * sizeof *set->ids);
    if (!set->ids)
        return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    set->n = 0;
    for (uint32_t i = 0; i < v->n_tokens; i++) {
        if (!matchable(&v->tok[i], with_control))
            continue;
        uint8_t c = (uint8_t)v->tok[i].text[0];
        set->first[c >> 3] |= (uint8_t)(1u << (c & 7));
        set->ids[set->n++] = i;
    }
    bn_sort_indexes(set->ids, set->n, cmp_text, v->tok);
    return BN_OK;
}

/* ---- loading ----------------------------------------------------------------------- */

static int load(bn_vocab *v, const bn_gguf *g, int32_t n_vocab)
{
    int rc;
    if ((rc = read_tokens(v, g, n_vocab)))
        return rc;
    if (v->kind == BN_VOCAB_BPE && (rc = read_pretok(v, g)))
        return rc;
    for (uint32_t i = 0; i < v->n_tokens; i++)
        if (v->tok[i].type == BN_TOKTYPE_NORMAL && v->tok[i].text_len > v->max_word_len)
            v->max_word_len = v->tok[i].text_len;
    if ((rc = bn_str_map_build(&v->text_map, v->tok, v->n_tokens)) ||
        (rc = read_specials(v, g)) || (rc = build_pieces(v)) || (rc = find_byte_tokens(v)))
        return rc;

    if (v->kind == BN_VOCAB_BPE) {
        const bn_gguf_value *merges;
        if ((rc = find_array(g, "tokenizer.ggml.merges", UINT64_MAX, 1, &merges)))
            return rc;
        if (!merges)
            return bn_fail(BN_E_MODEL, "missing metadata 'tokenizer.ggml.merges' (byte-level "
                           "BPE needs its merge rules)");
        if ((rc = bn_vocab_build_merges(v, merges)))
            return rc;
        /* llama.cpp's rules: Llama 3 files add BOS and look whole words up */
        v->ignore_merges = v->pretok == BN_PRETOK_LLAMA3;
        v->add_bos = v->pretok == BN_PRETOK_LLAMA3;
    } else {
        v->add_bos = 1;
        v->add_space_prefix = 1;
        if ((rc = read_flag(g, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix)))
            return rc;
        v->spm_word_split = spm_words_independent(v);
    }
    if ((rc = read_flag(g, "tokenizer.ggml.add_bos_token", &v->add_bos)) ||
        (rc = read_flag(g, "tokenizer.ggml.add_eos_token", &v->add_eos)))
        return rc;
    if ((rc = build_special_set(v, &v->spec_user, 0)) ||
        (rc = build_special_set(v, &v->spec_all, 1)))
        return rc;
    return BN_OK;
}

int bn_vocab_load(bn_vocab **out, const bn_gguf *g, int32_t n_vocab)
{
    *out = NULL;
    bn_gguf_str model;
    int rc = bn_gguf_get_str(g, "tokenizer.ggml.model", &model);
    if (rc == BN_E_NOT_FOUND)
        return BN_OK;
    if (rc)
        return rc;
    int kind;
    if (bn_gguf_str_eq(model, "gpt2"))
        kind = BN_VOCAB_BPE;
    else if (bn_gguf_str_eq(model, "llama"))
        kind = BN_VOCAB_SPM;
    else if (bn_gguf_str_eq(model, "none") || bn_gguf_str_eq(model, "no_vocab"))
        return BN_OK;
    else
        return bn_fail(BN_E_UNSUPPORTED, "tokenizer model '%.*s' (tokenizer.ggml.model) is not "
                       "supported (supported: gpt2, llama)",
                       model.len > 64 ? 64 : (int)model.len, model.ptr);
    bn_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    v->kind = kind;
    if ((rc = load(v, g, n_vocab))) {
        bn_vocab_free(v);
        return rc;
    }
    *out = v;
    return BN_OK;
}

void bn_vocab_free(bn_vocab *v)
{
    if (!v)
        return;
    free(v->tok);
    free(v->arena);
    bn_str_map_free(&v->text_map);
    free(v->merges);
    free(v->spec_user.ids);
    free(v->spec_all.ids);
    free(v);
}

int32_t bn_vocab_n_tokens(const bn_vocab *v)
{
    return (int32_t)v->n_tokens;
}

bn_token bn_vocab_special(const bn_vocab *v, enum bn_vocab_special which)
{
    return (unsigned)which < BN_VOCAB_SPECIAL_COUNT ? v->special[which] : -1;
}

int bn_vocab_is_eog(const bn_vocab *v, bn_token id)
{
    for (int i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id)
            return 1;
    return 0;
}
