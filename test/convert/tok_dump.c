/* Tokenizes each line of a text file with a model's tokenizer (no special
 * tokens added or parsed) and prints the ids, one line per input line: the
 * converter tests compare these between models and with SentencePiece. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: tok_dump MODEL.gguf TEXT\n");
        return 2;
    }
    bn_model_params mp;
    bn_model_params_default(&mp);
    bn_model *m = NULL;
    if (bn_model_load(&m, argv[1], &mp)) {
        fprintf(stderr, "%s: %s\n", argv[1], bn_last_error());
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        perror(argv[2]);
        bn_model_free(&m);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int status = 0;
    bn_token *tok = NULL;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len && line[len - 1] == '\n')
            len--;
        size_t n = 0;
        int rc = bn_tokenize(m, line, (size_t)len, NULL, 0, 0, &n);
        if (rc && rc != BN_E_RANGE) {
            fprintf(stderr, "%s\n", bn_last_error());
            status = 1;
            break;
        }
        bn_token *t = realloc(tok, (n ? n : 1) * sizeof *t);
        if (!t) {
            status = 1;
            break;
        }
        tok = t;
        if (bn_tokenize(m, line, (size_t)len, tok, n, 0, &n)) {
            fprintf(stderr, "%s\n", bn_last_error());
            status = 1;
            break;
        }
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", (int)tok[i]);
        putchar('\n');
    }
    free(tok);
    free(line);
    fclose(f);
    bn_model_free(&m);
    return status;
}
