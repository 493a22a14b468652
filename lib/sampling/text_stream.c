/*
 * Tokens to displayable text. A token's piece may end inside a UTF-8
 * character (byte tokens) and a stop string may be spread over several
 * tokens, so text goes through two holding stages:
 *   - `partial`: the bytes of an incomplete character. A byte that cannot
 *     continue it (or can never start one) becomes U+FFFD, one per maximal
 *     invalid subsequence as in the WHATWG decoder: nothing shown is broken.
 *   - `pending`: whole characters that end with the beginning of a stop
 *     string; shown once they can no longer become that stop string.
 * An end-of-generation token (bn_model_token_is_eog) ends the text and
 * releases what was held back; a stop string ends it too, and neither it
 * nor anything after it is returned. Control tokens give no text.
 */
#include "sampling/text_stream.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/platform.h"

static const char replacement[3] = { (char)0xEF, (char)0xBF, (char)0xBD };   /* U+FFFD */

/* ---- growable byte buffers ------------------------------------------------ */
static int bytes_reserve(bn_bytes *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return BN_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2)
            return bn_fail(BN_E_NOMEM, "text stream: buffer too large");
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
        return bn_fail(BN_E_NOMEM, "text stream: out of memory");
    b->p = p;
    b->cap = cap;
    return BN_OK;
}

static int bytes_put(bn_bytes *b, const void *data, size_t n)
{
    int rc = bytes_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return BN_OK;
}

/* ---- UTF-8 assembly -------------------------------------------------------- */
/* Continuation bytes a lead byte needs; -1 when it cannot start a character. */
static int utf8_need(unsigned char b)
{
    if (b < 0x80)
        return 0;
    if (b >= 0xC2 && b <= 0xDF)
        return 1;
    if (b >= 0xE0 && b <= 0xEF)
        return 2;
    if (b >= 0xF0 && b <= 0xF4)
        return 3;
    return -1;
}

/* Whether b may follow `lead` as continuation byte number `index` (1..3):
 * the second byte also rules out overlongs, surrogates and > U+10FFFF. */
static int utf8_cont_ok(unsigned char lead, int index, unsigned char b)
{
    if ((b & 0xC0) != 0x80)
        return 0;
    if (index == 1) {
        if (lead == 0xE0)
            return b >= 0xA0;
        if (lead == 0xED)
            return b <= 0x9F;
        if (lead == 0xF0)
            return b >= 0x90;
        if (lead == 0xF4)
            return b <= 0x8F;
    }
    return 1;
}

/* Feeds one byte; whole characters (or U+FFFD) go to dst. */
static int utf8_feed(bn_utf8_state *u, unsigned char b, bn_bytes *dst)
{
    int rc;
    if (u->need > 0) {
        if (utf8_cont_ok(u->partial[0], u->n_partial, b)) {
            u->partial[u->n_partial++] = b;
            if (--u->need > 0)
                return BN_OK;
            size_t n = (size_t)u->n_partial;
            u->n_partial = 0;
            return bytes_put(dst, u->partial, n);
        }
        u->n_partial = u->need = 0;
        if ((rc = bytes_put(dst, replacement, 3)))
            return rc;
    }
    int need = utf8_need(b);
    if (need == 0)
        return bytes_put(dst, &b, 1);
    if (need < 0)
        return bytes_put(dst, replacement, 3);
    u->partial[0] = b;
    u->n_partial = 1;
    u->need = need;
    return BN_OK;
}

/* An incomplete character at the end of the text becomes U+FFFD. */
static int utf8_finish(bn_utf8_state *u, bn_bytes *dst)
{
    if (u->n_partial == 0)
        return BN_OK;
    u->n_partial = u->need = 0;
    return bytes_put(dst, replacement, 3);
}

/* 1 when the n bytes are valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int utf8_valid(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char b = (unsigned char)p[i];
        int need = utf8_need(b);
        if (need < 0 || n - i - 1 < (size_t)need)
            return 0;
        for (int k = 1; k <= need; k++)
            if (!utf8_cont_ok(b, k, (unsigned char)p[i + (size_t)k]))
                return 0;
        i += 1 + (size_t)need;
    }
    return 1;
}

/* ---- the stream ------------------------------------------------------------ */
int bn_text_stream_create(bn_text_stream **out, const bn_model *m, const char *const *stop,
                          size_t n_stop)
{
    for (size_t i = 0; i < n_stop; i++) {
        if (!stop[i])
            return bn_fail(BN_E_INVALID_ARG, "bn_text_stream_new: stop string %zu is NULL", i);
        if (!stop[i][0])
            return bn_fail(BN_E_INVALID_ARG, "bn_text_stream_new: stop string %zu is empty", i);
        if (!utf8_valid(stop[i], strlen(stop[i])))
            return bn_fail(BN_E_INVALID_ARG, "bn_text_stream_new: stop string %zu is not valid UTF-8", i);
    }
    bn_text_stream *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_E_NOMEM, "text stream: out of memory");
    s->model = m;
    s->n_vocab = bn_model_n_vocab(m);
    int rc = BN_OK;
    if (n_stop) {
        s->stop = calloc(n_stop, sizeof *s->stop);
        s->stop_len = calloc(n_stop, sizeof *s->stop_len);
        if (!s->stop || !s->stop_len)
            rc = bn_fail(BN_E_NOMEM, "text stream: out of memory");
    }
    for (size_t i = 0; !rc && i < n_stop; i++) {
        s->stop_len[i] = strlen(stop[i]);
        s->stop[i] = malloc(s->stop_len[i] + 1);
        if (!s->stop[i])
            rc = bn_fail(BN_E_NOMEM, "text stream: out of memory");
        else
            memcpy(s->stop[i], stop[i], s->stop_len[i] + 1);
        s->n_stop = i + 1;
    }
    /* room for ordinary pieces up front; longer ones grow the buffers */
    if (!rc)
        rc = bytes_reserve(&s->piece, 256);
    if (!rc)
        rc = bytes_reserve(&s->pending, 256);
    if (!rc)
        rc = bytes_reserve(&s->out, 256);
    if (rc) {
        bn_text_stream_destroy(s);
        return rc;
    }
    *out = s;
    return BN_OK;
}

void bn_text_stream_destroy(bn_text_stream *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_stop; i++)
        free(s->stop[i]);
    free(s->stop);
    free(s->stop_len);
    free(s->piece.p);
    free(s->pending.p);
    free(s->out.p);
    free(s);
}

/* The bytes of a token into s->piece (control tokens give none). */
static int get_piece(bn_text_stream *s, bn_token token)
{
    size_t n = 0;
    int rc = bn_token_to_piece(s->model, token, s->piece.p, s->piece.cap, 0, &n);
    if (rc == BN_E_RANGE && n > s->piece.cap) {
        s->piece.len = 0;
        if ((rc = bytes_reserve(&s->piece, n)))
            return rc;
        rc = bn_token_to_piece(s->model, token, s->piece.p, s->piece.cap, 0, &n);
    }
    if (rc)
        return rc;
    s->piece.len = n;
    return BN_OK;
}

/* Moves the first n pending bytes to out. */
static int release(bn_text_stream *s, size_t n)
{
    int rc = bytes_put(&s->out, s->pending.p, n);
    if (rc)
        return rc;
    memmove(s->pending.p, s->pending.p + n, s->pending.len - n);
    s->pending.len -= n;
    return BN_OK;
}

/* Longest tail of the pending text that begins some stop string. */
static size_t stop_prefix_tail(const bn_text_stream *s)
{
    size_t hold = 0;
    const char *p = s->pending.p;
    const size_t len = s->pending.len;
    for (size_t i = 0; i < s->n_stop; i++) {
        size_t max = s->stop_len[i] - 1 < len ? s->stop_len[i] - 1 : len;
        for (size_t k = max; k > hold; k--) {
            if (!memcmp(p + len - k, s->stop[i], k)) {
                hold = k;
                break;
            }
        }
    }
    return hold;
}

/* Ends the text: returns the first `keep` pending bytes, drops the rest. */
static int finish(bn_text_stream *s, size_t keep)
{
    int rc = bytes_put(&s->out, s->pending.p, keep);
    s->pending.len = 0;
    s->utf8.n_partial = s->utf8.need = 0;
    s->stopped = 1;
    return rc;
}

/* The earliest stop string in the pending text, or NULL. Any match begins
 * in `pending`, because text was only released once no stop string could
 * begin in it. */
static const char *first_stop(const bn_text_stream *s)
{
    const char *first = NULL;
    for (size_t i = 0; i < s->n_stop; i++) {
        const char *hit = bn_memmem(s->pending.p, s->pending.len, s->stop[i], s->stop_len[i]);
        if (hit && (!first || hit < first))
            first = hit;
    }
    return first;
}

/* The end of the text (an end-of-generation token, or drain): an incomplete
 * last character becomes U+FFFD, which may complete a stop string. Returns
 * how many pending bytes to keep. */
static size_t keep_at_end(const bn_text_stream *s)
{
    const char *first = first_stop(s);
    return first ? (size_t)(first - s->pending.p) : s->pending.len;
}

int bn_text_stream_add(bn_text_stream *s, bn_token token, int *stopped)
{
    s->out.len = 0;
    if (s->stopped) {
        *stopped = 1;
        return BN_OK;
    }
    int rc;
    if (bn_model_token_is_eog(s->model, token)) {
        rc = utf8_finish(&s->utf8, &s->pending);
        if (!rc)
            rc = finish(s, keep_at_end(s));
        *stopped = 1;
        return rc;
    }
    if ((rc = get_piece(s, token)))
        return rc;
    for (size_t i = 0; i < s->piece.len && !rc; i++)
        rc = utf8_feed(&s->utf8, (unsigned char)s->piece.p[i], &s->pending);
    if (rc)
        return rc;
    /* the earliest stop string wins */
    const char *first = first_stop(s);
    if (first) {
        *stopped = 1;
        return finish(s, (size_t)(first - s->pending.p));
    }
    *stopped = 0;
    return release(s, s->pending.len - stop_prefix_tail(s));
}

int bn_text_stream_drain(bn_text_stream *s)
{
    s->out.len = 0;
    int rc = utf8_finish(&s->utf8, &s->pending);
    if (!rc)
        rc = bytes_put(&s->out, s->pending.p, keep_at_end(s));
    s->pending.len = 0;
    s->stopped = 0;
    return rc;
}
