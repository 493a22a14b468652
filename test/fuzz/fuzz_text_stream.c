/*
 * Fuzz target for the text stream (bn_text_stream_new / _push / _flush).
 *
 * Input: a selector byte (the vocabulary: the hand-made BPE or SentencePiece
 * one of the tokenizer tests, or one whose tokens hold terminal control
 * sequences and ill-formed UTF-8), a count byte and that many stop strings
 * (each ended by a NUL byte), then token ids (2 bytes each, little-endian,
 * modulo the vocabulary size).
 *
 * Invariants, with D the pieces of the tokens before the first
 * end-of-generation token, decoded as UTF-8 with U+FFFD for each maximal
 * ill-formed subsequence (the WHATWG decoder): every call succeeds; the text
 * returned is valid UTF-8 and holds no stop string; when a stop string ended
 * it, the text followed by that stop string begins D; otherwise it is D.
 * Never a crash, a read outside the input or a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "tok_hostile.h"
#include "tok_models.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_MODELS 3
#define MAX_STOPS 8

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_text_stream: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static bn_model *models[N_MODELS];

static void load_models(void)
{
    bn_tok_vocab v;
    const char *name;
    int expect;
    bn_tok_vocab_hand_bpe(&v, "llama-bpe");
    models[0] = bn_tok_model_load(&v, NULL);
    bn_tok_vocab_free(&v);
    bn_tok_vocab_hand_spm(&v);
    models[1] = bn_tok_model_load(&v, NULL);
    bn_tok_vocab_free(&v);
    bn_hostile_case(2, &v, &name, &expect);        /* BPE with control characters */
    v.eos = (int64_t)v.n - 1;
    models[2] = bn_tok_model_load(&v, NULL);
    bn_tok_vocab_free(&v);
    for (int i = 0; i < N_MODELS; i++)
        if (!models[i]) {
            fprintf(stderr, "fuzz_text_stream: model %d: %s\n", i, bn_last_error());
            abort();
        }
}

/* A growable byte string. */
typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void put(buf *b, const void *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        CHECK(p);
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* WHATWG UTF-8 decoding of s into out. */
static void decode(const uint8_t *s, size_t n, buf *out)
{
    static const uint8_t fffd[3] = { 0xEF, 0xBF, 0xBD };
    for (size_t i = 0; i < n;) {
        uint8_t b = s[i];
        int need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b < 0x80) {
            put(out, &b, 1);
            i++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            lo = b == 0xE0 ? 0xA0 : 0x80;
            hi = b == 0xED ? 0x9F : 0xBF;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            lo = b == 0xF0 ? 0x90 : 0x80;
            hi = b == 0xF4 ? 0x8F : 0xBF;
        } else {
            put(out, fffd, 3);
            i++;
            continue;
        }
        size_t j = i + 1;
        int k = 0;
        while (k < need && j < n && s[j] >= lo && s[j] <= hi) {
            lo = 0x80;
            hi = 0xBF;
            j++;
            k++;
        }
        if (k == need)
            put(out, s + i, j - i);
        else
            put(out, fffd, 3);      /* the byte that broke it is read again */
        i = j;
    }
}

static int valid_utf8(const uint8_t *s, size_t n)
{
    buf d = { 0 };
    decode(s, n, &d);
    int same = d.len == n && (n == 0 || !memcmp(d.p, s, n));
    free(d.p);
    return same;
}

static int contains(const uint8_t *s, size_t n, const char *stop)
{
    size_t k = strlen(stop);
    for (size_t i = 0; k && i + k <= n; i++)
        if (!memcmp(s + i, stop, k))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!models[0])
        load_models();
    if (size < 2)
        return 0;
    bn_model *m = models[data[0] % N_MODELS];
    size_t n_stop = data[1] % (MAX_STOPS + 1), pos = 2;
    const char *stop[MAX_STOPS];
    char *copy = malloc(size + 1);      /* the stop strings, NUL-terminated */
    CHECK(copy);
    memcpy(copy, data, size);
    copy[size] = 0;
    for (size_t i = 0; i < n_stop; i++) {
        stop[i] = copy + pos;
        const uint8_t *nul = pos < size ? memchr(data + pos, 0, size - pos) : NULL;
        pos = nul ? (size_t)(nul - data) + 1 : size;
    }

    bn_text_stream *s = NULL;
    int rc = bn_text_stream_new(&s, m, stop, n_stop);
    if (rc == BN_E_INVALID_ARG) {       /* e.g. an empty stop string */
        free(copy);
        return 0;
    }
    CHECK(rc == BN_OK);
    buf out = { 0 }, pieces = { 0 };
    int stopped = 0, eog = 0;
    for (; pos + 2 <= size && !stopped; pos += 2) {
        bn_token t = (bn_token)((data[pos] | data[pos + 1] << 8) % bn_model_n_vocab(m));
        if (bn_model_token_is_eog(m, t))
            eog = 1;
        static char piece[1 << 16];
        size_t n = 0;
        CHECK(bn_token_to_piece(m, t, piece, sizeof piece, 0, &n) == BN_OK);
        if (!eog)
            put(&pieces, piece, n);
        const char *text = NULL;
        size_t len = 0;
        CHECK(bn_text_stream_push(s, t, &text, &len, &stopped) == BN_OK);
        CHECK(len == 0 || text);
        put(&out, text, len);
        CHECK(!eog || stopped);
    }
    if (!stopped) {
        const char *text = NULL;
        size_t len = 0;
        CHECK(bn_text_stream_flush(s, &text, &len) == BN_OK);
        CHECK(len == 0 || text);
        put(&out, text, len);
    }
    bn_text_stream_free(&s);
    CHECK(!s);

    buf d = { 0 };
    decode(pieces.p, pieces.len, &d);
    CHECK(valid_utf8(out.p, out.len));
    for (size_t i = 0; i < n_stop; i++)
        CHECK(!contains(out.p, out.len, stop[i]));
    CHECK(out.len <= d.len && (out.len == 0 || !memcmp(out.p, d.p, out.len)));
    if (stopped && !eog) {
        int found = 0;
        for (size_t i = 0; i < n_stop && !found; i++) {
            size_t k = strlen(stop[i]);
            found = out.len + k <= d.len && !memcmp(d.p + out.len, stop[i], k);
        }
        CHECK(found);
    } else {
        CHECK(out.len == d.len);
    }
    free(d.p);
    free(out.p);
    free(pieces.p);
    free(copy);
    return 0;
}
