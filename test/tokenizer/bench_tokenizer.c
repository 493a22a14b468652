/*
 * Tokenizer speed on the full Llama 3 vocabulary (suite `bench`, through
 * npm-test.sh): the time to build the vocabulary from a parsed GGUF, and the
 * throughput of bn_tokenize on 1 MiB of English prose (the long lines of the
 * test corpus, repeated) and on one word of 1 MiB (random letters: a single
 * pre-token), on one core; with a third argument, the same on
 * the LLaMA SentencePiece vocabulary of llama-tokenizer-js.
 *
 *   bench_tokenizer GGUF VECTORS [LLAMA_TOKENIZER_JS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitnet/bitnet.h"
#include "gguf/gguf.h"
#include "test_util.h"
#include "tok_models.h"
#include "tokenizer/vocab.h"

#define TEXT_BYTES (1u << 20)
#define RUNS 7

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* CPU time of this thread: less disturbed than wall time on a busy machine */
static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The English prose of the corpus: its lines of 200 bytes or more. */
static char *english(const char *vectors, size_t *len)
{
    size_t size;
    char *data = (char *)bn_test_read_file(vectors, &size);
    char *text = malloc(TEXT_BYTES);
    if (!data || !text)
        return NULL;
    size_t n = 0;
    while (n < TEXT_BYTES) {
        size_t before = n;
        for (char *p = data; p < data + size && n < TEXT_BYTES;) {
            char *tab = memchr(p, '\t', (size_t)(data + size - p));
            char *nl = memchr(p, '\n', (size_t)(data + size - p));
            if (!tab || !nl)
                break;
            size_t k = (size_t)(tab - p);
            if (k >= 200 && tab < nl && !memchr(p, '\\', k)) {
                if (k + 1 > TEXT_BYTES - n)
                    k = TEXT_BYTES - n - 1;
                memcpy(text + n, p, k);
                n += k;
                text[n++] = '\n';
            }
            p = nl + 1;
        }
        if (n == before)
            break;
    }
    free(data);
    *len = n;
    return text;
}

/* Tokenizes text RUNS times; prints and returns the best MiB/s. */
static double throughput(const bn_model *m, const char *what, const char *text, size_t len)
{
    bn_token *out = malloc(len * sizeof *out);
    size_t n = 0;
    double best = 1e9, best_cpu = 1e9;
    for (int r = 0; out && r < RUNS; r++) {
        double t0 = now_ms(), c0 = cpu_ms();
        int rc = bn_tokenize(m, text, len, out, len, 0, &n);
        double t = now_ms() - t0, c = cpu_ms() - c0;
        if (rc) {
            fprintf(stderr, "bn_tokenize: %s\n", bn_last_error());
            free(out);
            return 0;
        }
        if (c < best_cpu)
            best_cpu = c;
        if (t < best)
            best = t;
    }
    free(out);
    double mbs = (double)len / (1 << 20) / (best / 1e3);
    printf("%s: %zu bytes, %zu tokens in %.1f ms (CPU %.1f ms): %.1f MiB/s "
           "(best of %d)\n", what, len, n, best, best_cpu, mbs, RUNS);
    return mbs;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s GGUF VECTORS [LLAMA_TOKENIZER_JS]\n", argv[0]);
        return 2;
    }
    size_t size;
    uint8_t *file = bn_test_read_file(argv[1], &size);
    bn_gguf g;
    if (!file || bn_gguf_parse(&g, file, size)) {
        fprintf(stderr, "cannot read %s: %s\n", argv[1], bn_last_error());
        return 1;
    }
    uint32_t n_vocab = 0;
    const bn_gguf_tensor *emb = bn_gguf_find_tensor(&g, "token_embd.weight");
    if (emb)
        n_vocab = (uint32_t)emb->ne[1];
    double best_load = 1e9, best_load_cpu = 1e9;
    for (int r = 0; r < RUNS; r++) {
        bn_vocab *v = NULL;
        double t0 = now_ms(), c0 = cpu_ms();
        int rc = bn_vocab_load(&v, &g, (int32_t)n_vocab);
        double t = now_ms() - t0, c = cpu_ms() - c0;
        if (c < best_load_cpu)
            best_load_cpu = c;
        if (rc || !v) {
            fprintf(stderr, "vocabulary: %s\n", bn_last_error());
            return 1;
        }
        bn_vocab_free(v);
        if (t < best_load)
            best_load = t;
    }
    bn_gguf_release(&g);
    free(file);

    bn_model *m = NULL;
    if (bn_model_load(&m, argv[1], NULL)) {
        fprintf(stderr, "%s\n", bn_last_error());
        return 1;
    }
    size_t len;
    char *text = english(argv[2], &len);
    if (!text || len < TEXT_BYTES / 2) {
        fprintf(stderr, "no English text in %s\n", argv[2]);
        return 1;
    }
    printf("vocabulary (%u tokens) built in %.1f ms (CPU %.1f ms; best of %d)\n", n_vocab,
           best_load, best_load_cpu, RUNS);
    double mbs = throughput(m, "Llama 3 BPE", text, len);
    /* one pre-token of 1 MiB: a run of letters is never cut */
    char *word = malloc(TEXT_BYTES);
    uint64_t seed = 1;
    for (size_t i = 0; word && i < TEXT_BYTES; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        word[i] = (char)('a' + (seed >> 33) % 26);
    }
    double word_mbs = word ? throughput(m, "Llama 3 BPE, one word", word, TEXT_BYTES) : 0;
    free(word);
    bn_model_free(&m);
    if (argc == 4) {
        bn_tok_vocab v;
        int rc = bn_tok_vocab_from_llama_js(&v, argv[3]);
        if (!rc)
            m = bn_tok_model_load(&v, &rc);
        bn_tok_vocab_free(&v);
        if (rc) {
            fprintf(stderr, "%s\n", bn_last_error());
            return 1;
        }
        throughput(m, "LLaMA SentencePiece", text, len);
        bn_model_free(&m);
    }
    free(text);
    /* gross regressions only: the goals are far beyond these */
    return best_load > 1000 || mbs < 1.0 || word_mbs < 4.0;
}
