/* The merge queue of the BPE and SentencePiece loops: a 4-ary min-heap of
 * 64-bit entries, never 0 (half the depth of a binary heap: a long word's
 * queue is megabytes, and each level down is a cache miss). Inline: short
 * words make a few operations each, millions of times. */
#ifndef BN_TOKENIZER_QUEUE_H
#define BN_TOKENIZER_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* Whether entry e is still what it says (for bn_queue_push). */
typedef int (*bn_queue_live_fn)(const void *ctx, uint64_t e);

static inline void bn_queue_sift_down(uint64_t *q, size_t n, size_t i)
{
    uint64_t x = q[i];
    for (;;) {
        size_t c = 4 * i + 1, end = c + 4 < n ? c + 4 : n;
        if (c >= n)
            break;
        size_t best = c;
        for (size_t k = c + 1; k < end; k++)
            if (q[k] < q[best])
                best = k;
        if (q[best] >= x)
            break;
        q[i] = q[best];
        i = best;
    }
    q[i] = x;
}

static inline void bn_queue_sift_up(uint64_t *q, size_t i)
{
    uint64_t x = q[i];
    while (i > 0 && q[(i - 1) / 4] > x) {
        q[i] = q[(i - 1) / 4];
        i = (i - 1) / 4;
    }
    q[i] = x;
}

static inline void bn_queue_heapify(uint64_t *q, size_t n)
{
    for (size_t i = n / 4 + 1; i-- > 0;)
        if (i < n)
            bn_queue_sift_down(q, n, i);
}

/* Replaces the top with e, or pops it when e is 0. */
static inline void bn_queue_replace_top(uint64_t *q, size_t *n, uint64_t e)
{
    if (e)
        q[0] = e;
    else
        q[0] = q[--*n];
    bn_queue_sift_down(q, *n, 0);
}

/* Adds e; a full queue (n == cap) first keeps only what live() accepts: the
 * caller guarantees that this leaves room. */
static inline void bn_queue_push(uint64_t *q, size_t *n, size_t cap, uint64_t e,
                                 bn_queue_live_fn live, const void *ctx)
{
    if (*n == cap) {                /* full: keep the live entries only */
        size_t k = 0;
        for (size_t i = 0; i < *n; i++)
            if (live(ctx, q[i]))
                q[k++] = q[i];
        *n = k;
        bn_queue_heapify(q, k);
    }
    q[*n] = e;
    bn_queue_sift_up(q, (*n)++);
}

#endif
