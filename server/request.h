/*
 * Request bodies (JSON) into plain C structs, with every field checked.
 * No HTTP and no model here, so that the fuzz target (test/fuzz/fuzz_request.c)
 * drives exactly what the server runs on untrusted bytes.
 */
#ifndef BN_SRV_REQUEST_H
#define BN_SRV_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <bitnet/bitnet.h>

/* What a request asks for (the endpoint it came to). */
typedef enum srv_kind {
    SRV_CHAT,          /* POST /v1/chat/completions */
    SRV_COMPLETION,    /* POST /v1/completions */
    SRV_TOKENIZE,      /* POST /tokenize */
    SRV_DETOKENIZE,    /* POST /detokenize */
} srv_kind;

#define SRV_MAX_STOP 16         /* stop strings per request */
#define SRV_MAX_MESSAGES 4096   /* messages per conversation */

/* A client error: the HTTP status, OpenAI's error type, the field at fault. */
typedef struct srv_error {
    int status;                 /* 400, 401, 404, 413, 429, 500, 503, ... */
    const char *type;           /* "invalid_request_error", ... (static) */
    char param[64];             /* the field ("messages[2].content"), or "" */
    char message[320];
} srv_error;

/* Fills *e and returns its status. */
int srv_error_set(srv_error *e, int status, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

typedef struct srv_request {
    srv_kind kind;
    char *model;                /* "model" as given, or NULL */
    /* chat */
    char **roles;               /* n_messages roles (system, user, assistant) */
    char **contents;            /* n_messages texts (content parts joined) */
    size_t n_messages;
    /* completion and tokenize: text, or (completion) token ids */
    char *text;
    size_t text_len;
    bn_token *tokens;           /* completion prompt as ids, or detokenize input */
    size_t n_tokens;
    int has_tokens;
    /* generation */
    int32_t max_tokens;         /* -1 = until the end of generation or a full context */
    bn_sampler_params sampling; /* library defaults where the request says nothing */
    int has_seed;               /* 0: the caller picks a seed */
    char *stop[SRV_MAX_STOP];
    size_t n_stop;
    int ignore_eos;             /* generate past end-of-generation tokens (llama.cpp's name) */
    int stream;
    int include_usage;          /* stream_options.include_usage */
    /* tokenize */
    int add_special;
    int parse_special;
    int with_pieces;
} srv_request;

/*
 * Parses body (len bytes, not NUL-terminated) as a request of kind `kind`.
 * Token ids are checked against [0, n_vocab). Returns 0, or an error status
 * (400) with *e filled; *r is then released. Free with srv_request_release().
 */
int srv_request_parse(srv_request *r, srv_kind kind, const char *body, size_t len,
                      int32_t n_vocab, srv_error *e);
void srv_request_release(srv_request *r);

#endif
