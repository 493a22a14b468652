/* Token samplers: penalties over a window of recent tokens, top-k, min-p,
 * top-p, temperature, then a draw from a seeded xoshiro256** generator.
 * Every buffer is allocated in bn_sampler_alloc(): picking a token never
 * allocates. lib/api/api_sampling.c checks the public arguments. */
#ifndef BN_SAMPLING_SAMPLER_H
#define BN_SAMPLING_SAMPLER_H

#include <stdint.h>

#include "bitnet/bitnet.h"

/* Upper bound of penalty_last_n: the window is allocated up front. */
#define BN_SAMPLER_MAX_WINDOW (1 << 20)

struct bn_sampler {
    bn_sampler_params p;
    int32_t n_vocab;
    uint64_t rng[4];            /* xoshiro256** state */
    bn_token *window;           /* ring of the last penalty_last_n tokens */
    int32_t win_len, win_next;
    float *work;                /* n_vocab: logits after penalties */
    uint32_t *cand;             /* n_vocab: candidate token ids */
    float *weight;              /* n_vocab: per token id */
    int32_t *count;             /* n_vocab: window counts; all zero between calls */
    bn_token *distinct;         /* penalty_last_n: tokens of the window, once each */
};

/* Checks every field; BN_E_INVALID_ARG with a message naming the field. */
int bn_sampler_check_params(const bn_sampler_params *p);

/* Allocates a sampler for a vocabulary of n_vocab tokens (params checked). */
int bn_sampler_alloc(bn_sampler **out, int32_t n_vocab, const bn_sampler_params *p);
void bn_sampler_destroy(bn_sampler *s);

/* The distribution of the next token: after penalties, top-k, min-p, top-p
 * and temperature, the candidates are cand[0, *n) with unnormalised weights
 * weight[token] summing to *sum; *greedy = 1 when the pick is certain
 * (temperature 0, or +inf logits): then cand[0] is it, with weight 1.
 * BN_E_INVALID_ARG when no logit is above -inf. Valid until the next call. */
int bn_sampler_filter(bn_sampler *s, const float *logits, int32_t *n, double *sum, int *greedy);

/* Draws an index into cand[0, n) from the weights of the last filter. */
int32_t bn_sampler_draw(bn_sampler *s, int32_t n, double sum);

/* Uniform in [0, 1) from the sampler's generator. */
double bn_sampler_uniform(bn_sampler *s);

/* Picks the next token (BN_E_INVALID_ARG when no logit is above -inf). */
int bn_sampler_pick(bn_sampler *s, const float *logits, bn_token *out);

/* Appends a token to the penalty window (id already checked). */
void bn_sampler_record(bn_sampler *s, bn_token t);

/* Empties the window and reseeds the generator. */
void bn_sampler_restart(bn_sampler *s);

#endif
