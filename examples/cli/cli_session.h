/* bitnet-cli's work: a loaded model with its context, sampler and text
 * stream; plain generation and the chat loop. */
#ifndef BN_CLI_SESSION_H
#define BN_CLI_SESSION_H

#include <stdio.h>

#include "cli_options.h"
#include "cli_output.h"

typedef struct bn_cli_session {
    const bn_cli_options *o;
    bn_model *model;
    bn_ctx *ctx;
    bn_sampler *sampler;
    bn_text_stream *stream;
    bn_token *tokens;           /* tokenizer output */
    size_t cap_tokens;
    bn_spec *spec;              /* --draft: the speculative decoder, else NULL */
    bn_model *draft_model;      /* --draft-model and its context, else NULL */
    bn_ctx *draft_ctx;
    bn_token *hist;             /* every token in the context, for the drafts */
    size_t n_hist, cap_hist;
    bn_cli_output out;          /* the model's text on stdout */
    int ctx_full;               /* the context filled up: stop */
    int interrupted;            /* Ctrl-C ends the program: exit status 130 */
    double load_s, prompt_s, gen_s;
    long n_prompt, n_gen;
} bn_cli_session;

/* Loads the model at `path` and makes the context, sampler and stream.
 * Returns 0, BN_CLI_FAILURE after printing the library's message, or
 * BN_CLI_INTERRUPTED after a Ctrl-C during the load. */
int bn_cli_session_open(bn_cli_session *s, const bn_cli_options *o, const char *path);
void bn_cli_session_close(bn_cli_session *s);

/* Generates from a prompt (tokenized with the model's BOS), streaming the
 * text to stdout. Returns an exit status. */
int bn_cli_generate(bn_cli_session *s, const char *prompt, size_t len);

/* The conversation: the first message (may be NULL), then one message per
 * line of `in`. Returns an exit status. */
int bn_cli_chat(bn_cli_session *s, const char *first, FILE *in);

/* The one-line summary on stderr. */
void bn_cli_summary(const bn_cli_session *s);

#endif
