/* Many sequences in one context (API 0.2): every token's logits equal those
 * of its sequence decoded alone, bit for bit, whatever the interleaving and
 * batch split; sequence copy, truncate, saved state (also through a file
 * and another process) and cancellation give the uninterrupted results;
 * bad batches and bad states change nothing; contexts share a pool. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <bitnet/bitnet.h>

#include "gguf/gguf_types.h"
#include "test_util.h"
#include "tiny_model.h"

#define NV BN_TINY_N_VOCAB
#define N_SEQ 4
#define MAX_LEN 24

typedef bn_tiny_fixture fixture;

static bn_ctx *new_ctx(bn_model *m, int n_seq, int n_threads, int n_ctx, int n_batch)
{
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_seq_max = n_seq;
    p.n_threads = n_threads;
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    bn_ctx *c = NULL;
    if (bn_ctx_new(&c, m, &p))
        fail_msg("bn_ctx_new: %s", bn_last_error());
    return c;
}

/* The token at position i of sequence s: distinct streams per sequence. */
static bn_token tok(int s, int i)
{
    return (bn_token)((s * 37 + i * 11 + (i * i) % 7) % NV);
}

static const int seq_len[N_SEQ] = { 24, 7, 15, 1 };

/* ref[s][i]: logits after token i of sequence s, decoded alone one by one. */
static float ref[N_SEQ][MAX_LEN][NV];

static void make_reference(bn_model *m)
{
    static int done;
    if (done)
        return;
    for (int s = 0; s < N_SEQ; s++) {
        bn_ctx *c = new_ctx(m, 1, 1, 64, 8);
        for (int i = 0; i < seq_len[s]; i++) {
            bn_token t = tok(s, i);
            assert_int_equal(bn_decode(c, &t, 1), BN_OK);
            memcpy(ref[s][i], bn_ctx_logits(c), sizeof ref[s][i]);
        }
        bn_ctx_free(&c);
    }
    done = 1;
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_interleaved_batches_bit_identical(void **state)
{
    fixture *f = *state;
    make_reference(f->model);
    for (int round = 0; round < 12; round++) {
        uint64_t rng = 0x9E3779B97F4A7C15ull + (uint64_t)round;
        const int threads = 1 + round % 3, n_batch = round % 2 ? 8 : 16;
        bn_ctx *c = new_ctx(f->model, N_SEQ, threads, 64, n_batch);
        bn_batch *b = NULL;
        assert_int_equal(bn_batch_new(&b, n_batch), BN_OK);
        int done[N_SEQ] = { 0 };
        for (;;) {
            bn_batch_clear(b);
            int idx[64][2], n = 0;
            /* a random chunk of each unfinished sequence, in a random order
             * of sequences, while room lasts */
            int start = (int)(rng_next(&rng) % N_SEQ);
            for (int k = 0; k < N_SEQ; k++) {
                int s = (start + k) % N_SEQ;
                int left = seq_len[s] - done[s];
                int chunk = left ? 1 + (int)(rng_next(&rng) % (uint64_t)left) : 0;
                for (int i = 0; i < chunk && n < n_batch; i++, n++) {
                    int pos = done[s] + i;
                    /* explicit and implicit positions mixed */
                    assert_int_equal(bn_batch_add(b, tok(s, pos), s, (pos & 1) ? pos : BN_POS_NEXT, 1),
                                     BN_OK);
                    idx[n][0] = s;
                    idx[n][1] = pos;
                }
            }
            if (n == 0)
                break;
            if (bn_decode_batch(c, b))
                fail_msg("bn_decode_batch: %s", bn_last_error());
            for (int i = 0; i < n; i++) {
                const float *l = bn_ctx_batch_logits(c, i);
                assert_non_null(l);
                if (memcmp(l, ref[idx[i][0]][idx[i][1]], sizeof ref[0][0]))
                    fail_msg("round %d: sequence %d position %d differs from the sequence alone", round,
                             idx[i][0], idx[i][1]);
                done[idx[i][0]] = idx[i][1] + 1;
            }
            for (int s = 0; s < N_SEQ; s++) {
                assert_int_equal(bn_ctx_seq_pos(c, s), done[s]);
                const float *l = bn_ctx_seq_logits(c, s);
                int in_batch = 0;
                for (int i = 0; i < n; i++)
                    in_batch |= idx[i][0] == s;
                if (in_batch)
                    assert_memory_equal(l, ref[s][done[s] - 1], sizeof ref[0][0]);
                else
                    assert_null(l);
            }
        }
        assert_null(bn_ctx_batch_logits(c, n_batch));
        bn_batch_free(&b);
        bn_ctx_free(&c);
    }
}

/* Decodes tokens of seq one at a time; the logits after each go to out. */
static void feed(bn_ctx *c, bn_batch *b, int seq, const bn_token *t, int n, float (*out)[NV])
{
    for (int i = 0; i < n; i++) {
        bn_batch_clear(b);
        assert_int_equal(bn_batch_add(b, t[i], seq, BN_POS_NEXT, 1), BN_OK);
        if (bn_decode_batch(c, b))
            fail_msg("bn_decode_batch: %s", bn_last_error());
        if (out)
            memcpy(out[i], bn_ctx_seq_logits(c, seq), sizeof out[i]);
    }
}

static void test_copy_truncate_keep(void **state)
{
    fixture *f = *state;
    make_reference(f->model);
    bn_ctx *c = new_ctx(f->model, 3, 2, 64, 16);
    bn_batch *b = NULL;
    assert_int_equal(bn_batch_new(&b, 16), BN_OK);
    bn_token s0[24];
    for (int i = 0; i < 24; i++)
        s0[i] = tok(0, i);
    feed(c, b, 0, s0, 10, NULL);
    /* whole copy: same logits, then both continue as sequence 0 would */
    assert_int_equal(bn_ctx_seq_copy(c, 0, 1, -1), BN_OK);
    assert_int_equal(bn_ctx_seq_pos(c, 1), 10);
    assert_memory_equal(bn_ctx_seq_logits(c, 1), ref[0][9], sizeof ref[0][0]);
    /* a prefix copy has no logits until it decodes */
    assert_int_equal(bn_ctx_seq_copy(c, 0, 2, 4), BN_OK);
    assert_null(bn_ctx_seq_logits(c, 2));
    static float out[24][NV];
    feed(c, b, 1, s0 + 10, 14, out);
    for (int i = 0; i < 14; i++)
        assert_memory_equal(out[i], ref[0][10 + i], sizeof ref[0][0]);
    feed(c, b, 2, s0 + 4, 6, out);
    for (int i = 0; i < 6; i++)
        assert_memory_equal(out[i], ref[0][4 + i], sizeof ref[0][0]);
    /* diverge: sequence 2 (a prefix of 0) takes sequence 3's... own tokens */
    assert_int_equal(bn_ctx_seq_truncate(c, 1, 3), BN_OK);
    assert_int_equal(bn_ctx_seq_pos(c, 1), 3);
    feed(c, b, 1, s0 + 3, 5, out);
    for (int i = 0; i < 5; i++)
        assert_memory_equal(out[i], ref[0][3 + i], sizeof ref[0][0]);
    /* errors */
    assert_int_equal(bn_ctx_seq_copy(c, 0, 0, -1), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_seq_copy(c, 0, 3, -1), BN_E_RANGE);
    assert_int_equal(bn_ctx_seq_copy(c, 0, 1, 11), BN_E_RANGE);
    assert_int_equal(bn_ctx_seq_truncate(c, 1, 9), BN_E_RANGE);
    assert_int_equal(bn_ctx_seq_truncate(c, 5, 0), BN_E_RANGE);
    assert_int_equal(bn_ctx_seq_clear(c, 3), BN_E_RANGE);
    assert_int_equal(bn_ctx_seq_clear(NULL, 0), BN_E_INVALID_ARG);
    /* keep one */
    assert_int_equal(bn_ctx_seq_keep(c, 1), BN_OK);
    assert_int_equal(bn_ctx_seq_pos(c, 0), 0);
    assert_int_equal(bn_ctx_seq_pos(c, 1), 8);
    assert_int_equal(bn_ctx_seq_pos(c, 2), 0);
    assert_int_equal(bn_ctx_seq_clear(c, -1), BN_OK);
    assert_int_equal(bn_ctx_seq_pos(c, 1), 0);
    bn_batch_free(&b);
    bn_ctx_free(&c);
}

/* bn_decode, bn_ctx_logits, bn_ctx_pos and bn_ctx_truncate act on sequence 0. */
static void test_old_api_is_sequence_0(void **state)
{
    fixture *f = *state;
    make_reference(f->model);
    bn_ctx *c = new_ctx(f->model, 2, 2, 64, 16);
    bn_token s0[5];
    for (int i = 0; i < 5; i++)
        s0[i] = tok(0, i);
    assert_int_equal(bn_decode(c, s0, 5), BN_OK);
    assert_int_equal(bn_ctx_pos(c), 5);
    assert_int_equal(bn_ctx_seq_pos(c, 0), 5);
    assert_int_equal(bn_ctx_seq_pos(c, 1), 0);
    assert_memory_equal(bn_ctx_logits(c), ref[0][4], sizeof ref[0][0]);
    assert_ptr_equal(bn_ctx_logits(c), bn_ctx_seq_logits(c, 0));
    assert_int_equal(bn_ctx_truncate(c, 2), BN_OK);
    assert_int_equal(bn_ctx_seq_pos(c, 0), 2);
    assert_null(bn_ctx_logits(c));
    assert_int_equal(bn_ctx_n_seq_max(c), 2);
    bn_ctx_free(&c);
}

static void test_bad_batches_change_nothing(void **state)
{
    fixture *f = *state;
    bn_ctx *c = new_ctx(f->model, 2, 2, 8, 4);
    bn_batch *b = NULL;
    assert_int_equal(bn_batch_new(&b, 8), BN_OK);
    assert_int_equal(bn_batch_add(b, 1, 0, BN_POS_NEXT, 1), BN_OK);
    assert_int_equal(bn_batch_add(b, 2, 1, BN_POS_NEXT, 1), BN_OK);
    assert_int_equal(bn_decode_batch(c, b), BN_OK);
    static float l0[NV], l1[NV];
    memcpy(l0, bn_ctx_seq_logits(c, 0), sizeof l0);
    memcpy(l1, bn_ctx_seq_logits(c, 1), sizeof l1);

    struct { bn_token t; int32_t seq, pos; int want; int expect; } cases[] = {
        { 3, 2, BN_POS_NEXT, 1, BN_E_RANGE },        /* sequence out of range */
        { NV, 0, BN_POS_NEXT, 1, BN_E_RANGE },       /* token out of range */
        { 3, 0, 3, 1, BN_E_INVALID_ARG },            /* gap: next is 1 */
        { 3, 1, 0, 1, BN_E_INVALID_ARG },            /* overlap */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bn_batch_clear(b);
        assert_int_equal(bn_batch_add(b, 5, 0, BN_POS_NEXT, 0), BN_OK);
        assert_int_equal(bn_batch_add(b, cases[k].t, cases[k].seq, cases[k].pos, cases[k].want), BN_OK);
        assert_int_equal(bn_decode_batch(c, b), cases[k].expect);
    }
    bn_batch_clear(b);
    for (int i = 0; i < 5; i++)
        assert_int_equal(bn_batch_add(b, 5, 0, BN_POS_NEXT, 0), BN_OK);
    assert_int_equal(bn_decode_batch(c, b), BN_E_BATCH);           /* 5 > n_batch 4 */
    bn_batch_clear(b);
    assert_int_equal(bn_decode_batch(c, b), BN_E_INVALID_ARG);     /* empty */
    for (int i = 0; i < 4; i++)
        assert_int_equal(bn_batch_add(b, 5, 1, BN_POS_NEXT, 0), BN_OK);
    assert_int_equal(bn_decode_batch(c, b), BN_OK);                 /* 5 of 8 */
    memcpy(l1, bn_ctx_seq_logits(c, 0) ? l1 : l1, sizeof l1);
    assert_null(bn_ctx_seq_logits(c, 1));                          /* none asked */
    bn_batch_clear(b);
    for (int i = 0; i < 4; i++)
        assert_int_equal(bn_batch_add(b, 5, 1, BN_POS_NEXT, 1), BN_OK);
    assert_int_equal(bn_decode_batch(c, b), BN_E_CTX_FULL);        /* 9 > 8 */
    assert_int_equal(bn_ctx_seq_pos(c, 0), 1);
    assert_int_equal(bn_ctx_seq_pos(c, 1), 5);
    /* batch-level argument checks */
    assert_int_equal(bn_batch_add(NULL, 1, 0, 0, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_batch_add(b, 1, -1, 0, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_batch_add(b, 1, 0, -2, 1), BN_E_INVALID_ARG);
    assert_int_equal(bn_batch_add(b, 1, 0, 0, 2), BN_E_INVALID_ARG);
    assert_int_equal(bn_batch_n_tokens(b), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(bn_batch_add(b, 1, 0, BN_POS_NEXT, 1), BN_OK);
    assert_int_equal(bn_batch_add(b, 1, 0, BN_POS_NEXT, 1), BN_E_BATCH);  /* room for 8 */
    assert_int_equal(bn_decode_batch(NULL, b), BN_E_INVALID_ARG);
    assert_int_equal(bn_decode_batch(c, NULL), BN_E_INVALID_ARG);
    bn_batch *bad = (bn_batch *)1;
    assert_int_equal(bn_batch_new(&bad, 0), BN_E_INVALID_ARG);
    assert_null(bad);
    bn_batch_free(&b);
    bn_batch_free(NULL);
    bn_ctx_free(&c);

    /* more tokens asking for logits than the context keeps */
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_outputs_max = 2;
    p.n_threads = 1;
    assert_int_equal(bn_ctx_new(&c, f->model, &p), BN_OK);
    assert_int_equal(bn_batch_new(&b, 4), BN_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(bn_batch_add(b, 1, 0, BN_POS_NEXT, 1), BN_OK);
    assert_int_equal(bn_decode_batch(c, b), BN_E_BATCH);
    assert_int_equal(bn_ctx_pos(c), 0);
    p.n_seq_max = -1;
    bn_ctx *c2 = NULL;
    assert_int_equal(bn_ctx_new(&c2, f->model, &p), BN_E_INVALID_ARG);
    p.n_seq_max = 1;
    p.n_outputs_max = -1;
    assert_int_equal(bn_ctx_new(&c2, f->model, &p), BN_E_INVALID_ARG);
    bn_batch_free(&b);
    bn_ctx_free(&c);
}

/* ---- saved state --------------------------------------------------------- */

static uint8_t *save(bn_ctx *c, int seq, size_t *n)
{
    size_t need = bn_ctx_seq_state_size(c, seq), got = 0;
    assert_true(need > 0);
    assert_int_equal(bn_ctx_seq_state_save(c, seq, NULL, 0, &got), BN_E_RANGE);
    assert_int_equal(got, need);
    uint8_t *buf = malloc(need);
    assert_int_equal(bn_ctx_seq_state_save(c, seq, buf, need, &got), BN_OK);
    *n = got;
    return buf;
}

static void test_state_roundtrip(void **state)
{
    fixture *f = *state;
    make_reference(f->model);
    bn_ctx *c = new_ctx(f->model, 2, 2, 64, 16);
    bn_batch *b = NULL;
    assert_int_equal(bn_batch_new(&b, 16), BN_OK);
    bn_token s0[24];
    for (int i = 0; i < 24; i++)
        s0[i] = tok(0, i);
    feed(c, b, 1, s0, 12, NULL);
    size_t n;
    uint8_t *st = save(c, 1, &n);
    char *path = bn_test_temp_file("", 0);
    assert_non_null(path);
    assert_int_equal(bn_ctx_seq_state_save_file(c, 1, path), BN_OK);
    bn_ctx_free(&c);

    /* a new context, another sequence slot: continue as if never stopped */
    c = new_ctx(f->model, 3, 1, 32, 8);
    assert_int_equal(bn_ctx_seq_state_load(c, 2, st, n), BN_OK);
    assert_int_equal(bn_ctx_seq_pos(c, 2), 12);
    assert_memory_equal(bn_ctx_seq_logits(c, 2), ref[0][11], sizeof ref[0][0]);
    static float out[24][NV];
    feed(c, b, 2, s0 + 12, 12, out);
    for (int i = 0; i < 12; i++)
        assert_memory_equal(out[i], ref[0][12 + i], sizeof ref[0][0]);
    /* from the file, into sequence 0 of a one-sequence context */
    bn_ctx *c1 = new_ctx(f->model, 1, 1, 32, 8);
    assert_int_equal(bn_ctx_seq_state_load_file(c1, 0, path), BN_OK);
    assert_memory_equal(bn_ctx_logits(c1), ref[0][11], sizeof ref[0][0]);
    assert_int_equal(bn_decode(c1, s0 + 12, 1), BN_OK);
    assert_memory_equal(bn_ctx_logits(c1), ref[0][12], sizeof ref[0][0]);
    bn_ctx_free(&c1);

    /* another process restores it and continues */
    char *out_path = bn_test_temp_file("", 0);
    assert_non_null(out_path);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bn_ctx *cc = NULL;
        bn_ctx_params p;
        bn_ctx_params_default(&p);
        p.n_ctx = 32;
        p.n_threads = 1;
        int ok = bn_ctx_new(&cc, f->model, &p) == BN_OK && bn_ctx_seq_state_load_file(cc, 0, path) == BN_OK
                 && bn_decode(cc, s0 + 12, 3) == BN_OK;
        FILE *fo = ok ? fopen(out_path, "wb") : NULL;
        ok = fo && fwrite(bn_ctx_logits(cc), sizeof(float), NV, fo) == NV;
        ok &= fo && fclose(fo) == 0;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    static float child[NV];
    FILE *fi = fopen(out_path, "rb");
    assert_non_null(fi);
    assert_int_equal(fread(child, sizeof(float), NV, fi), NV);
    fclose(fi);
    assert_memory_equal(child, ref[0][14], sizeof child);
    bn_test_temp_file_remove(out_path);
    bn_test_temp_file_remove(path);
    free(st);
    bn_batch_free(&b);
    bn_ctx_free(&c);
}

static void test_state_bad_input(void **state)
{
    fixture *f = *state;
    bn_ctx *c = new_ctx(f->model, 2, 1, 32, 8);
    bn_token t[6] = { 4, 8, 15, 16, 23, 42 };
    assert_int_equal(bn_decode(c, t, 6), BN_OK);
    size_t n;
    uint8_t *st = save(c, 0, &n);
    uint8_t *bad = malloc(n);
    /* the target sequence holds something that must survive every failure */
    bn_batch *b = NULL;
    assert_int_equal(bn_batch_new(&b, 4), BN_OK);
    assert_int_equal(bn_batch_add(b, 7, 1, BN_POS_NEXT, 1), BN_OK);
    assert_int_equal(bn_batch_add(b, 9, 1, BN_POS_NEXT, 1), BN_OK);
    assert_int_equal(bn_decode_batch(c, b), BN_OK);
    static float before[NV];
    memcpy(before, bn_ctx_seq_logits(c, 1), sizeof before);

    /* truncated at every length class, a flipped bit anywhere, another version */
    size_t cuts[] = { 0, 7, 47, 48, 100, n / 2, n - 9, n - 1 };
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++)
        assert_int_equal(bn_ctx_seq_state_load(c, 1, st, cuts[k]), BN_E_FORMAT);
    size_t flips[] = { 0, 9, 20, 37, 60, n / 2, n - 20, n - 3 };
    for (size_t k = 0; k < sizeof flips / sizeof flips[0]; k++) {
        memcpy(bad, st, n);
        bad[flips[k]] ^= 0x10;
        int rc = bn_ctx_seq_state_load(c, 1, bad, n);
        assert_true(rc == BN_E_FORMAT || rc == BN_E_MODEL);
    }
    memcpy(bad, st, n);
    bad[8] = 2;                     /* format version 2 */
    assert_int_equal(bn_ctx_seq_state_load(c, 1, bad, n), BN_E_FORMAT);
    assert_non_null(strstr(bn_last_error(), "version"));
    assert_int_equal(bn_ctx_seq_state_load(c, 2, st, n), BN_E_RANGE);
    assert_int_equal(bn_ctx_seq_state_load(c, 1, NULL, n), BN_E_INVALID_ARG);
    assert_int_equal(bn_ctx_seq_state_load_file(c, 1, "/nonexistent/state"), BN_E_IO);
    assert_int_equal(bn_ctx_seq_pos(c, 1), 2);
    assert_memory_equal(bn_ctx_seq_logits(c, 1), before, sizeof before);

    /* another KV type, a shorter context, another model */
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.kv_type = BN_KV_F32;
    p.n_threads = 1;
    bn_ctx *c32 = NULL;
    assert_int_equal(bn_ctx_new(&c32, f->model, &p), BN_OK);
    assert_int_equal(bn_ctx_seq_state_load(c32, 0, st, n), BN_E_MODEL);
    bn_ctx_free(&c32);
    bn_ctx *small = new_ctx(f->model, 1, 1, 4, 4);
    assert_int_equal(bn_ctx_seq_state_load(small, 0, st, n), BN_E_CTX_FULL);
    bn_ctx_free(&small);
    bn_tiny_opts o;
    bn_tiny_default(&o);
    o.weight_type = BN_TYPE_F16;    /* F16 linears: another model of the same shape */
    size_t size;
    uint8_t *img = bn_tiny_build(&o, &size);
    bn_model *other = NULL;
    assert_int_equal(bn_model_load_from_memory(&other, img, size, NULL), BN_OK);
    bn_ctx *co = new_ctx(other, 1, 1, 32, 8);
    assert_int_equal(bn_ctx_seq_state_load(co, 0, st, n), BN_E_MODEL);
    assert_int_equal(bn_ctx_seq_pos(co, 0), 0);
    bn_ctx_free(&co);
    bn_model_free(&other);
    free(img);
    free(bad);
    free(st);
    bn_batch_free(&b);
    bn_ctx_free(&c);
}

/* ---- cancellation --------------------------------------------------------- */

typedef struct abort_state {
    int calls, stop_at;
} abort_state;

static int abort_cb(void *user)
{
    abort_state *a = user;
    return ++a->calls == a->stop_at;
}

static void test_cancel_changes_nothing(void **state)
{
    fixture *f = *state;
    make_reference(f->model);
    bn_token s0[24];
    for (int i = 0; i < 24; i++)
        s0[i] = tok(0, i);
    const int n_layer = bn_model_n_layer(f->model);
    for (int threads = 1; threads <= 3; threads += 2) {
        bn_ctx *c = new_ctx(f->model, 1, threads, 64, 16);
        abort_state a = { 0, 0 };
        assert_int_equal(bn_ctx_set_abort_callback(c, abort_cb, &a), BN_OK);
        assert_int_equal(bn_decode(c, s0, 6), BN_OK);
        /* at least once per layer of the pass */
        assert_true(a.calls >= n_layer);
        const int per_pass = a.calls;
        for (int stop = 1; stop <= per_pass; stop++) {
            a.calls = 0;
            a.stop_at = stop;
            assert_int_equal(bn_decode(c, s0 + 6, 10), BN_E_CANCELLED);
            assert_int_equal(a.calls, stop);
            assert_int_equal(bn_ctx_pos(c), 6);
            assert_memory_equal(bn_ctx_logits(c), ref[0][5], sizeof ref[0][0]);
        }
        a.stop_at = 0;
        assert_int_equal(bn_decode(c, s0 + 6, 10), BN_OK);
        assert_memory_equal(bn_ctx_logits(c), ref[0][15], sizeof ref[0][0]);
        assert_int_equal(bn_ctx_set_abort_callback(c, NULL, NULL), BN_OK);
        assert_int_equal(bn_ctx_set_abort_callback(NULL, NULL, NULL), BN_E_INVALID_ARG);
        bn_ctx_free(&c);
    }
}

/* ---- a shared pool ------------------------------------------------------------ */

typedef struct pool_job {
    bn_model *model;
    bn_threadpool *pool;
    int seq;
    int ok;
} pool_job;

static void *pool_thread(void *arg)
{
    pool_job *j = arg;
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_ctx = 32;
    bn_ctx *c = NULL;
    j->ok = bn_ctx_new_with_pool(&c, j->model, &p, j->pool) == BN_OK;
    for (int round = 0; round < 3 && j->ok; round++) {
        bn_ctx_seq_clear(c, 0);
        for (int i = 0; i < seq_len[j->seq] && j->ok; i++) {
            bn_token t = tok(j->seq, i);
            j->ok = bn_decode(c, &t, 1) == BN_OK && !memcmp(bn_ctx_logits(c), ref[j->seq][i], sizeof ref[0][0]);
        }
    }
    bn_ctx_free(&c);
    return NULL;
}

static void test_shared_pool(void **state)
{
    fixture *f = *state;
    make_reference(f->model);
    bn_threadpool *pool = NULL;
    assert_int_equal(bn_threadpool_new(&pool, 3), BN_OK);
    assert_int_equal(bn_threadpool_n_threads(pool), 3);
    pthread_t th[N_SEQ];
    pool_job jobs[N_SEQ];
    for (int s = 0; s < N_SEQ; s++) {
        jobs[s] = (pool_job){ f->model, pool, s, 0 };
        assert_int_equal(pthread_create(&th[s], NULL, pool_thread, &jobs[s]), 0);
    }
    for (int s = 0; s < N_SEQ; s++) {
        pthread_join(th[s], NULL);
        assert_true(jobs[s].ok);
    }
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_threads = 2;
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new_with_pool(&c, f->model, &p, pool), BN_E_INVALID_ARG);
    assert_null(c);
    assert_int_equal(bn_ctx_new_with_pool(&c, f->model, NULL, NULL), BN_E_INVALID_ARG);
    p.n_threads = 0;
    assert_int_equal(bn_ctx_new_with_pool(&c, f->model, &p, pool), BN_OK);
    assert_int_equal(bn_ctx_n_threads(c), 3);
    bn_ctx_free(&c);
    bn_threadpool_free(&pool);
    assert_null(pool);
    bn_threadpool_free(NULL);
    assert_int_equal(bn_threadpool_new(&pool, -1), BN_E_INVALID_ARG);
    assert_int_equal(bn_threadpool_n_threads(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleaved_batches_bit_identical),
        cmocka_unit_test(test_copy_truncate_keep),
        cmocka_unit_test(test_old_api_is_sequence_0),
        cmocka_unit_test(test_bad_batches_change_nothing),
        cmocka_unit_test(test_state_roundtrip),
        cmocka_unit_test(test_state_bad_input),
        cmocka_unit_test(test_cancel_changes_nothing),
        cmocka_unit_test(test_shared_pool),
    };
    return cmocka_run_group_tests(tests, bn_tiny_fixture_setup, bn_tiny_fixture_teardown);
}
