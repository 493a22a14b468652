/* Public entry points for many sequences: batches, the batch decode that
 * bn_decode also goes through, logits per token and per sequence, sequence
 * operations and the abort callback. State save/load is in api_state.c. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "ctx/context.h"

#define BN_MAX_BATCH (1 << 24)

struct bn_batch {
    bn_token *tokens;
    int32_t *seq, *pos;
    uint8_t *want;
    int32_t n, cap;
};

/* ---- batches ---------------------------------------------------------------- */

int bn_batch_new(bn_batch **out, int32_t n_max)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_batch_new: out is NULL");
    *out = NULL;
    if (n_max < 1 || n_max > BN_MAX_BATCH)
        return bn_fail(BN_E_INVALID_ARG, "bn_batch_new: n_max %d: expected 1 to %d", n_max, BN_MAX_BATCH);
    bn_batch *b = calloc(1, sizeof *b);
    const size_t n = (size_t)n_max;
    if (b) {
        b->tokens = malloc(n * sizeof *b->tokens);
        b->seq = malloc(n * sizeof *b->seq);
        b->pos = malloc(n * sizeof *b->pos);
        b->want = malloc(n);
    }
    if (!b || !b->tokens || !b->seq || !b->pos || !b->want) {
        bn_batch_free(&b);
        return bn_fail(BN_E_NOMEM, "bn_batch_new: out of memory for %d tokens", n_max);
    }
    b->cap = n_max;
    *out = b;
    return BN_OK;
}

void bn_batch_free(bn_batch **pb)
{
    if (!pb || !*pb)
        return;
    bn_batch *b = *pb;
    free(b->tokens);
    free(b->seq);
    free(b->pos);
    free(b->want);
    free(b);
    *pb = NULL;
}

void bn_batch_clear(bn_batch *b)
{
    if (b)
        b->n = 0;
}

int bn_batch_add(bn_batch *b, bn_token token, int32_t seq, int32_t pos, int want_logits)
{
    if (!b)
        return bn_fail(BN_E_INVALID_ARG, "bn_batch_add: NULL batch");
    if (seq < 0)
        return bn_fail(BN_E_INVALID_ARG, "bn_batch_add: sequence %d is negative", seq);
    if (pos < BN_POS_NEXT)
        return bn_fail(BN_E_INVALID_ARG, "bn_batch_add: position %d: expected BN_POS_NEXT (-1) or >= 0", pos);
    if (want_logits != 0 && want_logits != 1)
        return bn_fail(BN_E_INVALID_ARG, "bn_batch_add: want_logits %d: expected 0 or 1", want_logits);
    if (b->n == b->cap)
        return bn_fail(BN_E_BATCH, "bn_batch_add: the batch is full (%d tokens)", b->cap);
    b->tokens[b->n] = token;
    b->seq[b->n] = seq;
    b->pos[b->n] = pos;
    b->want[b->n] = (uint8_t)want_logits;
    b->n++;
    return BN_OK;
}

int32_t bn_batch_n_tokens(const bn_batch *b)
{
    return b ? b->n : 0;
}

/* ---- running a batch ------------------------------------------------------------ */

void bn_ctx_forget_logits(bn_ctx *c)
{
    c->last_batch = 0;
    for (int32_t s = 0; s < c->n_seq_max; s++)
        c->seq_row[s] = -1;
}

/* Checks every token and lays out run_seq, run_pos and run_out; the
 * context's visible state is not touched. next[] receives each sequence's
 * length after the batch. */
static int plan_batch(bn_ctx *c, const bn_token *tokens, const int32_t *seq, const int32_t *pos,
                      const uint8_t *want, int32_t n, int32_t *next, const char *fn)
{
    if (n > c->n_batch)
        return bn_fail(BN_E_BATCH, "%s: %d tokens exceed n_batch %d", fn, n, c->n_batch);
    const int32_t n_vocab = c->model->hp.n_vocab;
    memcpy(next, c->seq_len, (size_t)c->n_seq_max * sizeof *next);
    int32_t n_out = 0;
    for (int32_t t = 0; t < n; t++) {
        if (tokens[t] < 0 || tokens[t] >= n_vocab)
            return bn_fail(BN_E_RANGE, "%s: token %d is %d, outside [0, %d)", fn, t, tokens[t], n_vocab);
        const int32_t s = seq ? seq[t] : 0;
        if (s < 0 || s >= c->n_seq_max)
            return bn_fail(BN_E_RANGE, "%s: token %d names sequence %d, outside [0, %d)", fn, t, s,
                           c->n_seq_max);
        if (pos && pos[t] != BN_POS_NEXT && pos[t] != next[s])
            return bn_fail(BN_E_INVALID_ARG, "%s: token %d of sequence %d is at position %d, but the "
                           "sequence's next position is %d (no gaps, no overlaps)", fn, t, s, pos[t], next[s]);
        if (next[s] >= c->n_ctx)
            return bn_fail(BN_E_CTX_FULL, "%s: sequence %d would exceed n_ctx %d (token %d)", fn, s,
                           c->n_ctx, t);
        c->run_seq[t] = s;
        c->run_pos[t] = next[s]++;
        if (c->logits_all || (want ? want[t] : t == n - 1)) {
            if (n_out == c->n_outputs)
                return bn_fail(BN_E_BATCH, "%s: more than %d tokens ask for logits (n_outputs_max)", fn,
                               c->n_outputs);
            c->run_out[n_out++] = t;
        }
    }
    c->run_tokens = tokens;
    c->run_n = n;
    c->run_n_out = n_out;
    return BN_OK;
}

int bn_ctx_run_batch(bn_ctx *c, const bn_token *tokens, const int32_t *seq, const int32_t *pos,
                     const uint8_t *want, int32_t n, const char *fn)
{
    int32_t *next = c->seq_scratch;
    int rc = plan_batch(c, tokens, seq, pos, want, n, next, fn);
    if (rc)
        return rc;
    if (bn_graph_run(c) == BN_E_CANCELLED)
        return bn_fail(BN_E_CANCELLED, "%s: cancelled by the abort callback", fn);
    /* commit: lengths, then which logits row belongs to which token */
    memcpy(c->seq_len, next, (size_t)c->n_seq_max * sizeof *next);
    for (int32_t t = 0; t < n; t++) {
        c->batch_row[t] = -1;
        c->batch_seq[t] = c->run_seq[t];
    }
    for (int32_t i = 0; i < c->run_n_out; i++)
        c->batch_row[c->run_out[i]] = i;
    c->last_batch = n;
    for (int32_t s = 0; s < c->n_seq_max; s++)
        c->seq_row[s] = -1;
    for (int32_t t = 0; t < n; t++)          /* tokens of a sequence come in position order */
        c->seq_row[c->run_seq[t]] = c->batch_row[t];
    return BN_OK;
}

int bn_decode_batch(bn_ctx *c, const bn_batch *b)
{
    if (!c || !b)
        return bn_fail(BN_E_INVALID_ARG, "bn_decode_batch: NULL %s", c ? "batch" : "context");
    if (b->n == 0)
        return bn_fail(BN_E_INVALID_ARG, "bn_decode_batch: the batch is empty");
    return bn_ctx_run_batch(c, b->tokens, b->seq, b->pos, b->want, b->n, "bn_decode_batch");
}

/* ---- logits ------------------------------------------------------------------- */

static const float *logits_row(const bn_ctx *c, int32_t row)
{
    return row < 0 ? NULL : c->buf[BN_BUF_LOGITS] + (size_t)row * c->width[BN_BUF_LOGITS];
}

const float *bn_ctx_batch_logits(const bn_ctx *c, int32_t i)
{
    if (!c)
        return NULL;
    if (i < 0)
        i += c->last_batch;
    if (i < 0 || i >= c->last_batch)
        return NULL;
    return logits_row(c, c->batch_row[i]);
}

const float *bn_ctx_seq_logits(const bn_ctx *c, int32_t seq)
{
    if (!c || seq < 0 || seq >= c->n_seq_max)
        return NULL;
    return logits_row(c, c->seq_row[seq]);
}

/* ---- sequences ------------------------------------------------------------------ */

int32_t bn_ctx_n_seq_max(const bn_ctx *c)
{
    return c ? c->n_seq_max : 0;
}

int32_t bn_ctx_seq_pos(const bn_ctx *c, int32_t seq)
{
    return c && seq >= 0 && seq < c->n_seq_max ? c->seq_len[seq] : 0;
}

static int check_seq(const bn_ctx *c, int32_t seq, const char *fn)
{
    if (!c)
        return bn_fail(BN_E_INVALID_ARG, "%s: NULL context", fn);
    if (seq < 0 || seq >= c->n_seq_max)
        return bn_fail(BN_E_RANGE, "%s: sequence %d outside [0, %d)", fn, seq, c->n_seq_max);
    return BN_OK;
}

/* A sequence changed: its logits, and the per-token logits of its tokens
 * in the last batch, are no longer valid (the rows stay in place, so the
 * other sequences' are). */
static void changed(bn_ctx *c, int32_t seq)
{
    c->seq_row[seq] = -1;
    for (int32_t t = 0; t < c->last_batch; t++)
        if (c->batch_seq[t] == seq)
            c->batch_row[t] = -1;
}

int bn_ctx_seq_clear(bn_ctx *c, int32_t seq)
{
    if (c && seq == -1) {
        for (int32_t s = 0; s < c->n_seq_max; s++)
            c->seq_len[s] = 0;
        bn_ctx_forget_logits(c);
        return BN_OK;
    }
    int rc = check_seq(c, seq, "bn_ctx_seq_clear");
    if (rc)
        return rc;
    c->seq_len[seq] = 0;
    changed(c, seq);
    return BN_OK;
}

int bn_ctx_seq_truncate(bn_ctx *c, int32_t seq, int32_t pos)
{
    int rc = check_seq(c, seq, "bn_ctx_seq_truncate");
    if (rc)
        return rc;
    if (pos < 0 || pos > c->seq_len[seq])
        return bn_fail(BN_E_RANGE, "bn_ctx_seq_truncate: position %d outside [0, %d] of sequence %d", pos,
                       c->seq_len[seq], seq);
    c->seq_len[seq] = pos;
    changed(c, seq);
    return BN_OK;
}

int bn_ctx_seq_copy(bn_ctx *c, int32_t src, int32_t dst, int32_t n_pos)
{
    int rc = check_seq(c, src, "bn_ctx_seq_copy");
    if (!rc)
        rc = check_seq(c, dst, "bn_ctx_seq_copy");
    if (rc)
        return rc;
    if (src == dst)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_seq_copy: source and destination are both %d", src);
    if (n_pos == -1)
        n_pos = c->seq_len[src];
    if (n_pos < 0 || n_pos > c->seq_len[src])
        return bn_fail(BN_E_RANGE, "bn_ctx_seq_copy: %d positions: sequence %d has %d", n_pos, src,
                       c->seq_len[src]);
    bn_kv_copy_seq(&c->kv, src, dst, n_pos);
    c->seq_len[dst] = n_pos;
    const int32_t row = n_pos == c->seq_len[src] ? c->seq_row[src] : -1;
    changed(c, dst);
    c->seq_row[dst] = row;      /* src's row stays src's too: rows are read-only until the next decode */
    return BN_OK;
}

int bn_ctx_seq_keep(bn_ctx *c, int32_t seq)
{
    int rc = check_seq(c, seq, "bn_ctx_seq_keep");
    if (rc)
        return rc;
    for (int32_t s = 0; s < c->n_seq_max; s++)
        if (s != seq) {
            c->seq_len[s] = 0;
            c->seq_row[s] = -1;
        }
    c->last_batch = 0;
    return BN_OK;
}

int bn_ctx_set_abort_callback(bn_ctx *c, bn_abort_fn fn, void *user_data)
{
    if (!c)
        return bn_fail(BN_E_INVALID_ARG, "bn_ctx_set_abort_callback: NULL context");
    c->abort_fn = fn;
    c->abort_data = fn ? user_data : NULL;
    return BN_OK;
}
