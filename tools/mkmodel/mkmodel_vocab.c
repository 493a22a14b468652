#include "mkmodel_vocab.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/platform.h"
#include "mkmodel_rng.h"
#include "mkmodel_tar.h"

#define MAX_TOKEN_CHARS 24          /* merged tokens longer than this are skipped */
#define VOCAB_STATE_SALT 0xB0CABull
#define LLAMA3_N_NORMAL 128000u
#define LLAMA3_ID_BITS 17            /* llama3-tokenizer-js packs merge ids in 17 bits */


/* Strings are appended to one growing buffer and addressed by offset until
 * the vocabulary is complete, since the buffer moves as it grows. */
typedef struct arena {
    char *p;
    size_t len, cap;
} arena;

static int arena_put(arena *a, const char *s, size_t n, size_t *off)
{
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 1u << 16;
        while (cap < a->len + n + 1)
            cap *= 2;
        char *p = realloc(a->p, cap);
        if (!p)
            return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
        a->p = p;
        a->cap = cap;
    }
    memcpy(a->p + a->len, s, n);
    a->p[a->len + n] = 0;
    *off = a->len;
    a->len += n + 1;
    return BN_OK;
}

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves,
 * the others take code points from U+0100 up, in byte order. */
static int gpt2_keeps(unsigned b)
{
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

/* Writes the UTF-8 spelling of byte b to out and returns its length. */
static size_t gpt2_byte_utf8(unsigned b, char out[2])
{
    unsigned c = b;
    if (!gpt2_keeps(b)) {
        c = 256;
        for (unsigned i = 0; i < b; i++)
            c += !gpt2_keeps(i);
    }
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = (char)(0xC0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
}

/* Open-addressing set of token ids keyed by their text. */
typedef struct token_set {
    uint32_t *slot;                 /* token id + 1; 0 = empty */
    uint64_t mask;
} token_set;

static uint64_t text_hash(const char *s, size_t n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    return bn_mkmodel_mix64(h);
}

/* Finds the slot of text s: a slot holding it, or the empty slot where it goes. */
static uint32_t *set_find(const token_set *set, const arena *a, const size_t *off,
                          const size_t *len, const char *s, size_t n)
{
    for (uint64_t h = text_hash(s, n);; h++) {
        uint32_t *slot = &set->slot[h & set->mask];
        uint32_t id = *slot;
        if (!id || (len[id - 1] == n && !memcmp(a->p + off[id - 1], s, n)))
            return slot;
    }
}

typedef struct builder {
    arena a;
    size_t *off, *len;              /* per token */
    uint8_t *nchars;                /* code points per token */
    size_t *merge_off;
    uint64_t n_tokens, n_merges;
} builder;

static int add_token(builder *b, const char *s, size_t n, unsigned nchars)
{
    int rc = arena_put(&b->a, s, n, &b->off[b->n_tokens]);
    if (rc)
        return rc;
    b->len[b->n_tokens] = n;
    b->nchars[b->n_tokens] = (uint8_t)nchars;
    b->n_tokens++;
    return BN_OK;
}

static int add_special(builder *b, const char *s)
{
    return add_token(b, s, strlen(s), 0);
}

/* Llama 3's 256 special tokens in id order (128000 ...). */
static int add_llama3_specials(builder *b)
{
    static const char *const named[] = {
        "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
        "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
    };
    int rc = BN_OK;
    for (size_t i = 0; !rc && i < sizeof named / sizeof named[0]; i++)
        rc = add_special(b, named[i]);
    char name[48];
    for (unsigned i = 3; !rc && i < 248; i++) {
        snprintf(name, sizeof name, "<|reserved_special_token_%u|>", i);
        rc = add_special(b, name);
    }
    return rc;
}

/* The 8 specials of a small vocabulary: BOS, EOS, EOT, then 5 reserved. */
static int add_small_specials(builder *b)
{
    int rc = add_special(b, "<|begin_of_text|>");
    if (!rc) rc = add_special(b, "<|end_of_text|>");
    if (!rc) rc = add_special(b, "<|eot_id|>");
    char name[48];
    for (unsigned i = 0; !rc && i < 5; i++) {
        snprintf(name, sizeof name, "<|reserved_special_token_%u|>", i);
        rc = add_special(b, name);
    }
    return rc;
}

/* Grows the byte tokens to n_normal by merging random pairs; the right-hand
 * token is drawn from the first 256 + n/8 tokens so that merges stay short. */
static int add_merges(builder *b, uint64_t n_normal, int64_t seed)
{
    token_set set;
    uint64_t cap = 1024;
    while (cap < 2 * n_normal)
        cap *= 2;
    set.slot = calloc(cap, sizeof *set.slot);
    if (!set.slot)
        return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    set.mask = cap - 1;
    for (uint64_t i = 0; i < b->n_tokens; i++)
        *set_find(&set, &b->a, b->off, b->len, b->a.p + b->off[i], b->len[i]) = (uint32_t)(i + 1);

    uint64_t state = bn_mkmodel_mix64((uint64_t)seed ^ VOCAB_STATE_SALT);
    char text[4 * MAX_TOKEN_CHARS + 2];
    int rc = BN_OK;
    for (uint64_t ctr = 1; !rc && b->n_tokens < n_normal; ctr++) {
        uint64_t r = bn_mkmodel_mix64(state + ctr * BN_MKMODEL_GOLDEN);
        uint64_t n = b->n_tokens;
        uint64_t ia = ((r & 0xFFFFFFFFu) * n) >> 32;
        uint64_t nb = n < 256 + n / 8 ? n : 256 + n / 8;
        uint64_t ib = ((r >> 32) * nb) >> 32;
        unsigned nchars = b->nchars[ia] + b->nchars[ib];
        if (nchars > MAX_TOKEN_CHARS)
            continue;
        size_t la = b->len[ia], lb = b->len[ib];
        memcpy(text, b->a.p + b->off[ia], la);
        memcpy(text + la, b->a.p + b->off[ib], lb);
        uint32_t *slot = set_find(&set, &b->a, b->off, b->len, text, la + lb);
        if (*slot)
            continue;
        rc = add_token(b, text, la + lb, nchars);
        if (rc)
            break;
        *slot = (uint32_t)b->n_tokens;
        text[la] = ' ';             /* the merge rule "left right" */
        memcpy(text + la + 1, b->a.p + b->off[ib], lb);
        rc = arena_put(&b->a, text, la + 1 + lb, &b->merge_off[b->n_merges]);
        b->n_merges++;
    }
    free(set.slot);
    return rc;
}

/* Turns offsets into pointers once the arena no longer moves. */
static int finish(bn_mkmodel_vocab *v, builder *b, uint64_t n_normal)
{
    v->tokens = malloc(b->n_tokens * sizeof *v->tokens);
    v->token_lens = malloc(b->n_tokens * sizeof *v->token_lens);
    v->token_types = malloc(b->n_tokens * sizeof *v->token_types);
    v->merges = malloc((b->n_merges ? b->n_merges : 1) * sizeof *v->merges);
    if (!v->tokens || !v->token_lens || !v->token_types || !v->merges)
        return bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    for (uint64_t i = 0; i < b->n_tokens; i++) {
        v->tokens[i] = b->a.p + b->off[i];
        v->token_lens[i] = b->len[i];
        v->token_types[i] = i < n_normal ? 1 : 3;
    }
    for (uint64_t i = 0; i < b->n_merges; i++)
        v->merges[i] = b->a.p + b->merge_off[i];
    v->n_tokens = b->n_tokens;
    v->n_merges = b->n_merges;
    v->arena = b->a.p;
    b->a.p = NULL;
    snprintf(v->note, sizeof v->note, "synthetic byte-level BPE (%" PRIu64 " tokens, %" PRIu64
             " merges)", n_normal, b->n_merges);
    return BN_OK;
}

int bn_mkmodel_vocab_synthetic(bn_mkmodel_vocab *v, uint64_t n_vocab, int64_t seed)
{
    memset(v, 0, sizeof *v);
    /* With n_vocab >= 128256 the layout is Llama 3's: 256 specials after the
     * normal tokens, plus one <|extra_i|> per id beyond 128256 -- which makes
     * the list longer than n_vocab, so only 128256 itself is consistent. */
    if (n_vocab > BN_MKMODEL_LLAMA3_VOCAB)
        return bn_fail(BN_E_INVALID_ARG, "the vocabulary has %" PRIu64 " tokens but n_vocab is %"
                       PRIu64 " (--n-vocab)", 2 * n_vocab - BN_MKMODEL_LLAMA3_VOCAB, n_vocab);
    if (n_vocab < BN_MKMODEL_MIN_VOCAB)
        return bn_fail(BN_E_INVALID_ARG, "n_vocab %" PRIu64 " is too small for the synthetic "
                       "vocabulary (at least %d: 256 bytes, 1 merge, 8 specials)",
                       n_vocab, BN_MKMODEL_MIN_VOCAB);
    int llama3 = n_vocab == BN_MKMODEL_LLAMA3_VOCAB;
    uint64_t n_normal = llama3 ? LLAMA3_N_NORMAL : n_vocab - 8;

    builder b = { 0 };
    b.off = malloc(n_vocab * sizeof *b.off);
    b.len = malloc(n_vocab * sizeof *b.len);
    b.nchars = malloc(n_vocab);
    b.merge_off = malloc(n_normal * sizeof *b.merge_off);
    int rc = BN_OK;
    if (!b.off || !b.len || !b.nchars || !b.merge_off)
        rc = bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    for (unsigned i = 0; !rc && i < 256; i++) {
        char s[2];
        rc = add_token(&b, s, gpt2_byte_utf8(i, s), 1);
    }
    if (!rc)
        rc = add_merges(&b, n_normal, seed);
    if (!rc)
        rc = llama3 ? add_llama3_specials(&b) : add_small_specials(&b);
    if (!rc)
        rc = finish(v, &b, n_normal);
    if (!rc) {
        v->bos = (uint32_t)n_normal;
        v->eos = (uint32_t)n_normal + 1;
        v->eot = (uint32_t)n_normal + (llama3 ? 9 : 2);
    }
    free(b.a.p);
    free(b.off);
    free(b.len);
    free(b.nchars);
    free(b.merge_off);
    if (rc)
        bn_mkmodel_vocab_free(v);
    return rc;
}

/* ---- llama3-npm: the vocabulary of llama3-tokenizer-js ------------------------ */

int bn_mkmodel_read_stream(FILE *f, const char *what, char **data, size_t *size)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - 1 - len, f);
        if (len + 1 < cap)
            break;
        char *grown = realloc(buf, cap * 2);
        if (!grown)
            free(buf);
        buf = grown;
        cap *= 2;
    }
    if (!buf)
        return bn_fail(BN_E_NOMEM, "%s: out of memory", what);
    if (ferror(f)) {
        free(buf);
        return bn_fail(BN_E_IO, "%s: read failed: %s", what, strerror(errno));
    }
    buf[len] = 0;
    *data = buf;
    *size = len;
    return BN_OK;
}

int bn_mkmodel_npm_read(const char *path, const char *member, char **data, size_t *size)
{
    struct stat st;
    *data = NULL;
    *size = 0;
    if (stat(path, &st))
        return bn_fail(BN_E_IO, "cannot open '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return bn_mkmodel_tar_read(path, member, data, size);
    size_t n = strlen(path) + strlen(member) + sizeof "/package/";
    char *file = malloc(n);
    if (!file)
        return bn_fail(BN_E_NOMEM, "out of memory");
    /* the package's own directory, or the one `tar xf` unpacked it in */
    snprintf(file, n, "%s/package/%s", path, member);
    if (stat(file, &st))
        snprintf(file, n, "%s/%s", path, member);
    FILE *f = fopen(file, "rb");
    int rc = f ? bn_mkmodel_read_stream(f, file, data, size)
               : bn_fail(BN_E_IO, "cannot open '%s': %s", file, strerror(errno));
    if (f)
        fclose(f);
    free(file);
    return rc;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int bn_mkmodel_js_base64(const char *js, size_t js_len, const char *name, uint8_t **out,
                         size_t *out_len)
{
    size_t nl = strlen(name);
    /* the first `name\s*=\s*"[^"]+"`, as mkmodel.py's re.search */
    for (const char *p = js, *end = js + js_len; p < end;) {
        const char *q = bn_memmem(p, (size_t)(end - p), name, nl);
        if (!q)
            break;
        p = q + 1;
        q += nl;
        while (q < end && is_space(*q)) q++;
        if (q == end || *q++ != '=')
            continue;
        while (q < end && is_space(*q)) q++;
        if (q == end || *q++ != '"')
            continue;
        const char *close = memchr(q, '"', (size_t)(end - q));
        if (!close || close == q)
            continue;
        size_t n = (size_t)(close - q);
        uint8_t *buf = malloc(n / 4 * 3 + 3);
        if (!buf)
            return bn_fail(BN_E_NOMEM, "out of memory");
        size_t o = 0;
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n && q[i] != '='; i++) {
            int d = b64_value((unsigned char)q[i]);
            if (d < 0)
                continue;           /* like b64decode(): other characters are dropped */
            acc = (acc << 6) | (uint32_t)d;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                buf[o++] = (uint8_t)(acc >> bits);
            }
        }
        *out = buf;
        *out_len = o;
        return BN_OK;
    }
    return bn_fail(BN_E_FORMAT, "no string '%s = \"...\"' in the JavaScript source", name);
}

/* Bit-packed merge ids: consecutive LLAMA3_ID_BITS-bit big-endian numbers,
 * MSB first; pairs (left, right) in rank order. */
static uint32_t packed_id(const uint8_t *bits, uint64_t index)
{
    uint64_t bit = index * LLAMA3_ID_BITS;
    uint32_t v = 0;
    for (int k = 0; k < LLAMA3_ID_BITS; k++, bit++)
        v = (v << 1) | ((bits[bit >> 3] >> (7 - (bit & 7))) & 1u);
    return v;
}

static int llama3_from_js(bn_mkmodel_vocab *v, builder *b, const char *js, size_t js_len)
{
    uint8_t *text = NULL, *packed = NULL;
    size_t text_len = 0, packed_len = 0;
    int rc = bn_mkmodel_js_base64(js, js_len, "llama_vocab_base64", &text, &text_len);
    if (!rc)
        rc = bn_mkmodel_js_base64(js, js_len, "llama_merges_binary", &packed, &packed_len);
    /* the token strings, joined by '\n' */
    for (size_t i = 0, start = 0; !rc && i <= text_len; i++) {
        if (i < text_len && text[i] != '\n')
            continue;
        if (b->n_tokens == LLAMA3_N_NORMAL) {
            rc = bn_fail(BN_E_FORMAT, "llama3-tokenizer-js: more than %u tokens", LLAMA3_N_NORMAL);
            break;
        }
        rc = add_token(b, (const char *)text + start, i - start, 0);
        start = i + 1;
    }
    if (!rc && b->n_tokens != LLAMA3_N_NORMAL)
        rc = bn_fail(BN_E_FORMAT, "llama3-tokenizer-js: %" PRIu64 " tokens, expected %u",
                     b->n_tokens, LLAMA3_N_NORMAL);
    uint64_t n_merges = packed_len * 8 / LLAMA3_ID_BITS / 2;
    if (!rc && !(b->merge_off = malloc((n_merges ? n_merges : 1) * sizeof *b->merge_off)))
        rc = bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    char *rule = NULL;
    size_t rule_cap = 0;
    for (uint64_t i = 0; !rc && i < n_merges; i++) {
        uint32_t l = packed_id(packed, 2 * i), r = packed_id(packed, 2 * i + 1);
        if (l >= LLAMA3_N_NORMAL || r >= LLAMA3_N_NORMAL) {
            rc = bn_fail(BN_E_FORMAT, "llama3-tokenizer-js: merge %" PRIu64 " names token %u",
                         i, l >= LLAMA3_N_NORMAL ? l : r);
            break;
        }
        size_t ll = b->len[l], lr = b->len[r];
        if (ll + lr + 1 > rule_cap) {
            rule_cap = 2 * (ll + lr + 1);
            char *p = realloc(rule, rule_cap);
            if (!p) {
                rc = bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
                break;
            }
            rule = p;
        }
        memcpy(rule, b->a.p + b->off[l], ll);
        rule[ll] = ' ';
        memcpy(rule + ll + 1, b->a.p + b->off[r], lr);
        rc = arena_put(&b->a, rule, ll + 1 + lr, &b->merge_off[b->n_merges]);
        b->n_merges++;
    }
    free(rule);
    if (!rc)
        rc = add_llama3_specials(b);
    if (!rc)
        rc = finish(v, b, LLAMA3_N_NORMAL);
    if (!rc) {
        v->bos = LLAMA3_N_NORMAL;
        v->eos = LLAMA3_N_NORMAL + 1;
        v->eot = LLAMA3_N_NORMAL + 9;
        snprintf(v->note, sizeof v->note, "Llama 3 vocabulary from llama3-tokenizer-js (%" PRIu64
                 " merges)", v->n_merges);
    }
    free(text);
    free(packed);
    return rc;
}

int bn_mkmodel_vocab_llama3_npm(bn_mkmodel_vocab *v, const char *path)
{
    memset(v, 0, sizeof *v);
    char *js = NULL;
    size_t js_len = 0;
    int rc = bn_mkmodel_npm_read(path, "src/data-converted.js", &js, &js_len);
    if (rc)
        return rc;
    builder b = { 0 };
    b.off = malloc(BN_MKMODEL_LLAMA3_VOCAB * sizeof *b.off);
    b.len = malloc(BN_MKMODEL_LLAMA3_VOCAB * sizeof *b.len);
    b.nchars = malloc(BN_MKMODEL_LLAMA3_VOCAB);
    if (!b.off || !b.len || !b.nchars)
        rc = bn_fail(BN_E_NOMEM, "vocabulary: out of memory");
    if (!rc)
        rc = llama3_from_js(v, &b, js, js_len);
    free(js);
    free(b.a.p);
    free(b.off);
    free(b.len);
    free(b.nchars);
    free(b.merge_off);
    if (rc)
        bn_mkmodel_vocab_free(v);
    return rc;
}

int bn_mkmodel_vocab_build(bn_mkmodel_vocab *v, const char *spec, uint64_t n_vocab, int64_t seed)
{
    memset(v, 0, sizeof *v);
    if (!spec || !strcmp(spec, "synthetic"))
        return bn_mkmodel_vocab_synthetic(v, n_vocab, seed);
    if (strncmp(spec, "llama3-npm:", 11))
        return bn_fail(BN_E_INVALID_ARG, "unknown --vocab %s (synthetic or llama3-npm:PATH)", spec);
    int rc = bn_mkmodel_vocab_llama3_npm(v, spec + 11);
    if (rc) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "--vocab %.50s", spec);
        return bn_fail_prefix(rc, prefix);
    }
    if (v->n_tokens != n_vocab) {
        rc = bn_fail(BN_E_INVALID_ARG, "the vocabulary has %" PRIu64 " tokens but n_vocab is %"
                     PRIu64 " (--n-vocab)", v->n_tokens, n_vocab);
        bn_mkmodel_vocab_free(v);
    }
    return rc;
}

void bn_mkmodel_vocab_free(bn_mkmodel_vocab *v)
{
    if (!v)
        return;
    free(v->tokens);
    free(v->token_lens);
    free(v->token_types);
    free(v->merges);
    free(v->arena);
    memset(v, 0, sizeof *v);
}
