/* Streaming text out: token pieces are assembled into whole UTF-8 characters,
 * then searched for stop strings, holding back any tail that may still become
 * one. lib/api/api_sampling.c checks the public arguments. */
#ifndef BN_SAMPLING_TEXT_STREAM_H
#define BN_SAMPLING_TEXT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"

typedef struct bn_bytes {
    char *p;
    size_t len, cap;
} bn_bytes;

/* An incomplete UTF-8 character: the bytes held and how many more it needs. */
typedef struct bn_utf8_state {
    unsigned char partial[4];
    int n_partial, need;
} bn_utf8_state;

struct bn_text_stream {
    const bn_model *model;
    int32_t n_vocab;
    char **stop;                /* copies of the stop strings */
    size_t *stop_len;
    size_t n_stop;
    bn_utf8_state utf8;         /* the tail of the text, when incomplete */
    bn_bytes piece;             /* scratch for bn_token_to_piece */
    bn_bytes pending;           /* whole characters not yet shown */
    bn_bytes out;               /* what the last call returned */
    int stopped;
};

/* Copies the stop strings (checked: non-empty, valid UTF-8). */
int bn_text_stream_create(bn_text_stream **out, const bn_model *m, const char *const *stop,
                          size_t n_stop);
void bn_text_stream_destroy(bn_text_stream *s);
int bn_text_stream_add(bn_text_stream *s, bn_token token, int *stopped);
int bn_text_stream_drain(bn_text_stream *s);

#endif
