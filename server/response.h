/*
 * Response bodies in OpenAI's shapes (JSON via jansson), and the
 * server-sent-event framing of streamed answers. No HTTP here either.
 */
#ifndef BN_SRV_RESPONSE_H
#define BN_SRV_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include <bitnet/bitnet.h>

#include "request.h"

/* One answer, or one streamed piece of it. */
typedef struct srv_answer {
    srv_kind kind;              /* SRV_CHAT or SRV_COMPLETION */
    const char *id;             /* "chatcmpl-..." / "cmpl-..." */
    long long created;          /* Unix time of the request */
    const char *model;          /* the alias */
    const char *text;           /* the answer, or this chunk's text (UTF-8 enforced) */
    size_t len;
    const char *finish;         /* "stop", "length", or NULL (a chunk in the middle) */
    int first;                  /* a chunk: the first (chat: carries the role) */
    int32_t prompt_tokens;
    int32_t completion_tokens;
    int32_t cached_tokens;      /* prompt tokens reused from the cache */
} srv_answer;

/* Each returns a malloc'd NUL-terminated JSON text (length in *len), or NULL
 * when out of memory. */
char *srv_json_error(const srv_error *e, size_t *len);
char *srv_json_answer(const srv_answer *a, size_t *len);   /* the whole answer */
char *srv_json_chunk(const srv_answer *a, size_t *len);    /* one stream chunk */
char *srv_json_usage_chunk(const srv_answer *a, size_t *len); /* include_usage's last chunk */
char *srv_json_models(const char *alias, long long created, const bn_model *m, size_t *len);
char *srv_json_model(const char *alias, long long created, const bn_model *m, size_t *len);
char *srv_json_tokens(const bn_model *m, const bn_token *t, size_t n, int with_pieces,
                      size_t *len);
char *srv_json_text(const char *key, const char *text, size_t n, size_t *len);

/* Appends "data: JSON\n\n" to a growing buffer; 0 or -1 (out of memory). */
typedef struct srv_buf {
    char *data;
    size_t len, cap;
} srv_buf;
int srv_buf_append(srv_buf *b, const char *s, size_t n);
int srv_sse_event(srv_buf *b, const char *json, size_t n);
void srv_buf_free(srv_buf *b);

/* Copies n bytes, each invalid UTF-8 sequence replaced by U+FFFD; NULL when out of memory. */
char *srv_utf8_clean(const char *s, size_t n, size_t *out_len);

#endif
