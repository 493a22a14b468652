/*
 * Fuzz target for saved sequence states (bn_ctx_seq_state_load).
 *
 * Input: any bytes, loaded as the state of sequence 1 of a two-sequence
 * context on the tiny model (test/model/tiny_model.c). Invariants: a
 * rejected blob changes nothing (sequence 1 keeps its two tokens and its
 * logits); an accepted one decodes a further token, and saving it again
 * gives the same bytes back. Never a crash or a read outside the input.
 *
 * Built with -DBN_FUZZ_WRITE_SEEDS (fuzz_state_gen_corpus DIR) it writes the
 * seed corpus instead: valid states with and without logits, empty, and
 * cut copies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "tiny_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *img;
static bn_model *model;
static bn_ctx *ctx;
static float before[BN_TINY_N_VOCAB];

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz_state: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* Sequence 1 holds two tokens and their logits before every input. */
static void reset(void)
{
    static const bn_token t[2] = { 7, 9 };
    bn_batch *b = NULL;
    CHECK(bn_batch_new(&b, 2) == BN_OK);
    CHECK(bn_ctx_seq_clear(ctx, -1) == BN_OK);
    CHECK(bn_batch_add(b, t[0], 1, BN_POS_NEXT, 0) == BN_OK);
    CHECK(bn_batch_add(b, t[1], 1, BN_POS_NEXT, 1) == BN_OK);
    CHECK(bn_decode_batch(ctx, b) == BN_OK);
    bn_batch_free(&b);
    memcpy(before, bn_ctx_seq_logits(ctx, 1), sizeof before);
}

static void init(void)
{
    if (ctx)
        return;
    bn_tiny_opts o;
    bn_tiny_default(&o);
    size_t n;
    img = bn_tiny_build(&o, &n);
    CHECK(img && bn_model_load_from_memory(&model, img, n, NULL) == BN_OK);
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_ctx = 16;
    p.n_batch = 8;
    p.n_threads = 1;
    p.n_seq_max = 2;
    CHECK(bn_ctx_new(&ctx, model, &p) == BN_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    reset();
    int rc = bn_ctx_seq_state_load(ctx, 1, data, size);
    if (rc != BN_OK) {
        CHECK(rc == BN_E_FORMAT || rc == BN_E_MODEL || rc == BN_E_CTX_FULL);
        CHECK(bn_ctx_seq_pos(ctx, 1) == 2);
        CHECK(!memcmp(bn_ctx_seq_logits(ctx, 1), before, sizeof before));
        return 0;
    }
    /* accepted: saved again byte for byte, and it decodes on */
    size_t n = 0;
    CHECK(bn_ctx_seq_state_save(ctx, 1, NULL, 0, &n) == BN_E_RANGE && n == size);
    uint8_t *again = malloc(n);
    CHECK(again && bn_ctx_seq_state_save(ctx, 1, again, n, &n) == BN_OK && !memcmp(again, data, n));
    free(again);
    if (bn_ctx_seq_pos(ctx, 1) < 16) {
        bn_batch *b = NULL;
        CHECK(bn_batch_new(&b, 1) == BN_OK);
        CHECK(bn_batch_add(b, 3, 1, BN_POS_NEXT, 1) == BN_OK);
        CHECK(bn_decode_batch(ctx, b) == BN_OK);
        bn_batch_free(&b);
    }
    return 0;
}

#ifdef BN_FUZZ_WRITE_SEEDS
static void write_file(const char *dir, const char *name, const void *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n && fclose(f) == 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_state_gen_corpus DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    init();
    reset();
    size_t n = 0;
    bn_ctx_seq_state_save(ctx, 1, NULL, 0, &n);
    uint8_t *s = malloc(n);
    CHECK(s && bn_ctx_seq_state_save(ctx, 1, s, n, &n) == BN_OK);
    write_file(dir, "valid-with-logits", s, n);
    write_file(dir, "cut-header", s, 40);
    write_file(dir, "cut-rows", s, n / 2);
    free(s);
    CHECK(bn_ctx_seq_truncate(ctx, 1, 1) == BN_OK);       /* no logits now */
    bn_ctx_seq_state_save(ctx, 1, NULL, 0, &n);
    s = malloc(n);
    CHECK(s && bn_ctx_seq_state_save(ctx, 1, s, n, &n) == BN_OK);
    write_file(dir, "valid-no-logits", s, n);
    free(s);
    CHECK(bn_ctx_seq_clear(ctx, 1) == BN_OK);
    bn_ctx_seq_state_save(ctx, 1, NULL, 0, &n);
    s = malloc(n);
    CHECK(s && bn_ctx_seq_state_save(ctx, 1, s, n, &n) == BN_OK);
    write_file(dir, "valid-empty", s, n);
    free(s);
    return 0;
}
#endif
