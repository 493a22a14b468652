/*
 * Tokenizer speed on hostile input (suite `bench`): vocabularies whose keys
 * collided in the former fixed hash (tok_hostile.c) against random ones of
 * the same size, and a single very long pre-token. CPU time of the thread,
 * median and range of ROUNDS rounds (default 5), crafted and control
 * interleaved.
 *
 *   bench_hostile [ROUNDS]
 *
 * Fails (exit 1) when a crafted vocabulary is more than 5 times slower than
 * its control, to load or to tokenize (with the former hash, 512k colliding
 * tokens took minutes to load), or when a word of 4 MiB tokenizes at less
 * than 8 MiB/s (it was 1-2 MB/s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitnet/bitnet.h"
#include "gguf/gguf.h"
#include "tok_hostile.h"
#include "tok_models.h"
#include "tokenizer/vocab.h"

#define MAX_ROUNDS 64
#define SLOWER_MAX 5.0
#define WORD_MIB_S_MIN 8.0

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct stats {
    double t[MAX_ROUNDS];
    int n;
} stats;

static double median(stats *s)
{
    qsort(s->t, (size_t)s->n, sizeof *s->t, cmp_double);
    return s->n % 2 ? s->t[s->n / 2] : (s->t[s->n / 2 - 1] + s->t[s->n / 2]) / 2;
}

static void report(const char *what, stats *s)
{
    double m = median(s);
    printf("  %-34s median %9.1f ms  (range %.1f - %.1f, %d rounds)\n", what, m, s->t[0],
           s->t[s->n - 1], s->n);
}

/* A vocabulary's model image, parsed once. */
typedef struct image {
    uint8_t *data;
    bn_gguf g;
    int32_t n_vocab;
} image;

static int make_image(image *im, bn_tok_vocab *tv)
{
    size_t size = 0;
    im->n_vocab = (int32_t)tv->n;
    int rc = bn_tok_model_image(tv, &im->data, &size);
    if (!rc)
        rc = bn_gguf_parse(&im->g, im->data, size);
    bn_tok_vocab_free(tv);
    if (rc)
        fprintf(stderr, "image: %s\n", bn_last_error());
    return rc;
}

static void free_image(image *im)
{
    bn_gguf_release(&im->g);
    free(im->data);
}

/* One round: load (into *load_ms) and, with text, tokenize (into *tok_ms). */
static int round_of(image *im, const char *text, size_t len, double *load_ms, double *tok_ms)
{
    bn_vocab *v = NULL;
    double t0 = cpu_ms();
    int rc = bn_vocab_load(&v, &im->g, im->n_vocab);
    *load_ms = cpu_ms() - t0;
    if (rc || !v) {
        fprintf(stderr, "load: %s\n", bn_last_error());
        return 1;
    }
    if (text) {
        size_t cap = 4 * len + 8, n = 0;
        bn_token *out = malloc(cap * sizeof *out);
        t0 = cpu_ms();
        rc = out ? bn_vocab_tokenize(v, text, len, out, cap, 0, &n) : BN_E_NOMEM;
        *tok_ms = cpu_ms() - t0;
        free(out);
    }
    bn_vocab_free(v);
    if (rc)
        fprintf(stderr, "tokenize: %s\n", bn_last_error());
    return rc != 0;
}

/* Crafted against control, interleaved; returns how much slower crafted is
 * (the larger of the load and tokenize ratios of the medians). */
static double compare(const char *title, bn_tok_vocab *crafted, bn_tok_vocab *control,
                      const char *text, size_t len, int rounds)
{
    image im[2];
    if (make_image(&im[0], crafted) || make_image(&im[1], control))
        exit(1);
    stats load[2] = { { { 0 }, 0 } }, tok[2] = { { { 0 }, 0 } };
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < 2; k++) {
            if (round_of(&im[k], text, len, &load[k].t[r], &tok[k].t[r]))
                exit(1);
            load[k].n = tok[k].n = r + 1;
        }
    printf("%s\n", title);
    report("load, crafted", &load[0]);
    report("load, control", &load[1]);
    double ratio = median(&load[0]) / median(&load[1]);
    if (text) {
        report("tokenize, crafted", &tok[0]);
        report("tokenize, control", &tok[1]);
        double mt = median(&tok[0]) / median(&tok[1]);
        printf("  tokenizing %zu KiB: %.1f MiB/s crafted, %.1f MiB/s control\n", len >> 10,
               (double)len / (1 << 20) / (median(&tok[0]) / 1e3),
               (double)len / (1 << 20) / (median(&tok[1]) / 1e3));
        if (mt > ratio)
            ratio = mt;
    }
    printf("  crafted / control: %.2f\n", ratio);
    free_image(&im[0]);
    free_image(&im[1]);
    return ratio;
}

/* One word of 4 MiB of a and b with many merges (the GPT-2 pre-tokenizer
 * keeps a run of letters whole); returns the median MiB/s. */
static double long_word(int rounds)
{
    bn_tok_vocab tv;
    bn_hostile_dense_merges(&tv, 8, 1);
    image im;
    if (make_image(&im, &tv))
        exit(1);
    size_t len = 4u << 20;
    char *text = bn_hostile_text("ab", len, 3);
    stats load = { { 0 }, 0 }, tok = { { 0 }, 0 };
    for (int r = 0; r < rounds; r++) {
        if (round_of(&im, text, len, &load.t[r], &tok.t[r]))
            exit(1);
        load.n = tok.n = r + 1;
    }
    printf("one word of 4 MiB (a and b, %d tokens with %d merge rules)\n", im.n_vocab,
           im.n_vocab - 256);
    report("tokenize", &tok);
    double mibs = (double)len / (1 << 20) / (median(&tok) / 1e3);
    printf("  %.1f MiB/s (at least %.0f)\n", mibs, WORD_MIB_S_MIN);
    free(text);
    free_image(&im);
    return mibs;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: %s [ROUNDS (1..%d)]\n", argv[0], MAX_ROUNDS);
        return 2;
    }
    double worst = 0, r;
    bn_tok_vocab a, b;

    bn_hostile_colliding_tokens(&a, 512u << 10);
    bn_hostile_random_tokens(&b, 512u << 10);
    r = compare("512Ki tokens of 8 bytes (SentencePiece)", &a, &b, NULL, 0, rounds);
    worst = r > worst ? r : worst;

    size_t len = 256u << 10;
    char *text = bn_hostile_text("abcdefghijklmnopqrstuvwxyz ", len, 1);
    bn_hostile_colliding_tokens(&a, 128000);
    bn_hostile_random_tokens(&b, 128000);
    r = compare("128000 tokens of 8 bytes (SentencePiece), 256 KiB of letters", &a, &b, text, len,
                rounds);
    worst = r > worst ? r : worst;
    free(text);

    text = bn_hostile_text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_ ", len,
                           2);
    bn_hostile_colliding_merges(&a, 170000, 0);
    bn_hostile_colliding_merges(&b, 170000, 1);
    r = compare("170000 merge rules (byte-level BPE), 256 KiB of letters and digits", &a, &b, text,
                len, rounds);
    worst = r > worst ? r : worst;
    free(text);

    printf("worst crafted / control: %.2f (at most %.0f)\n", worst, SLOWER_MAX);
    double word = long_word(rounds);
    return worst > SLOWER_MAX || word < WORD_MIB_S_MIN;
}
