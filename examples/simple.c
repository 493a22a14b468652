/*
 * simple: the smallest complete libbitnet program. Loads a model, tokenizes a
 * prompt, decodes it, then samples tokens and prints the text as it streams.
 * Builds on its own against the installed library:
 *
 *     cc simple.c $(pkg-config --cflags --libs bitnet) -o simple
 *     ./simple models/default.gguf "And God said" 40
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bitnet/bitnet.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.gguf [PROMPT] [N_TOKENS]\n", argv[0]);
        return 2;
    }
    const char *prompt = argc > 2 ? argv[2] : "And God said";
    const int n_predict = argc > 3 ? atoi(argv[3]) : 40;

    bn_model *model = NULL;
    bn_ctx *ctx = NULL;
    bn_sampler *sampler = NULL;
    bn_text_stream *stream = NULL;
    bn_token *tokens = NULL;
    size_t n_tokens = 0;

    /* NULL parameters = the defaults (bn_*_params_default()) */
    int rc = bn_model_load(&model, argv[1], NULL);
    if (rc == BN_OK)
        rc = bn_ctx_new(&ctx, model, NULL);
    if (rc == BN_OK)
        rc = bn_sampler_new(&sampler, model, NULL);
    if (rc == BN_OK)
        rc = bn_text_stream_new(&stream, model, NULL, 0);

    /* The prompt's tokens, BOS first when the model asks for it: one call
     * for the count, one to fill the array. */
    if (rc == BN_OK) {
        const uint32_t flags = BN_TOKENIZE_ADD_SPECIAL;
        rc = bn_tokenize(model, prompt, strlen(prompt), NULL, 0, flags, &n_tokens);
        if (rc == BN_E_RANGE) {
            tokens = malloc(n_tokens * sizeof *tokens);
            if (!tokens) {
                fprintf(stderr, "simple: out of memory\n");
                return 1;
            }
            rc = bn_tokenize(model, prompt, strlen(prompt), tokens, n_tokens, flags, &n_tokens);
        }
    }
    /* The prompt in one batch (n_batch is 512 by default), then one token at
     * a time: sample from the logits, print what became safe to show, feed
     * the token back. */
    if (rc == BN_OK)
        rc = bn_decode(ctx, tokens, n_tokens);
    if (rc == BN_OK)
        fputs(prompt, stdout);
    for (int i = 0; rc == BN_OK && i < n_predict; i++) {
        bn_token next;
        const char *text;
        size_t len;
        int stopped;
        rc = bn_sampler_sample(sampler, bn_ctx_logits(ctx), &next);
        if (rc == BN_OK)
            rc = bn_text_stream_push(stream, next, &text, &len, &stopped);
        if (rc != BN_OK || stopped)
            break;
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        rc = bn_decode(ctx, &next, 1);
    }
    if (rc == BN_E_CTX_FULL)
        rc = BN_OK;                     /* the context is full: the text ends here */
    if (rc == BN_OK) {
        const char *rest;
        size_t len;
        rc = bn_text_stream_flush(stream, &rest, &len);
        if (rc == BN_OK)
            fwrite(rest, 1, len, stdout);
        putchar('\n');
    }
    if (rc != BN_OK)
        fprintf(stderr, "simple: %s: %s\n", bn_strerror(rc), bn_last_error());

    free(tokens);
    bn_text_stream_free(&stream);
    bn_sampler_free(&sampler);
    bn_ctx_free(&ctx);
    bn_model_free(&model);
    return rc == BN_OK ? 0 : 1;
}
