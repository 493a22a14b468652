/* Exact speculative decoding (bn_spec_*): drafting from a sequence's own
 * history (prompt lookup) or from a small draft model, verification in one
 * batched pass, the speculative-sampling acceptance rule. The split form (bn_spec_draft,
 * bn_spec_accept) and bn_spec_step share bn_spec_plan and bn_spec_settle.
 * lib/api/api_spec.c checks the public arguments. */
#ifndef BN_SAMPLING_SPECULATIVE_H
#define BN_SAMPLING_SPECULATIVE_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"

struct bn_spec {
    bn_spec_params p;
    bn_token *hist;             /* the sequence's tokens, then what was returned */
    size_t n_hist, cap_hist;
    int has_pending;            /* hist's last token was returned but is not in the cache */
    double accept_rate;         /* running estimate of P(a drafted token is accepted) */
    int32_t idle_steps;         /* steps since drafting paused (it probes again after a while) */
    bn_batch *batch;            /* n_draft_max + 1 tokens */
    bn_spec_stats stats;
    /* the draft model, if set (bn_spec_set_draft_model): its context and
     * sequence, what that sequence holds, and its tokens' relative cost */
    bn_ctx *dctx;
    int32_t dseq;
    float dcost;
    bn_token *dtok;
    size_t n_dtok, cap_dtok;
    bn_batch *dbatch;           /* the draft context's n_batch tokens */
};

int bn_spec_alloc(bn_spec **out, const bn_spec_params *p);
void bn_spec_destroy(bn_spec *s);
int bn_spec_set_history(bn_spec *s, const bn_token *t, size_t n);
/* Drafts from the model of context d's sequence seq (cleared now), whose
 * tokens cost cost of a pass of the checked model each; d NULL: lookup. */
int bn_spec_use_model(bn_spec *s, bn_ctx *d, int32_t seq, float cost);

/* Drafts up to k tokens following hist (prompt lookup); returns how many. */
size_t bn_spec_lookup(const bn_spec *s, bn_token *draft, size_t k);

/* The draft length worth checking at the current acceptance rate (0: none). */
int32_t bn_spec_draft_len(const bn_spec *s);

/* Judges draft d against logits with the sampler: *keep = 1 if accepted
 * (then *next = d), else *next is the replacement, drawn from the filtered
 * distribution without d. Records *next in the penalty window. */
int bn_spec_judge(bn_sampler *smp, const float *logits, bn_token d, int *keep, bn_token *next);

/* The drafts of the next pass (at most n_max, within the sequence's room,
 * n_batch and n_outputs_max), adapting their number; the pending token must
 * be there and not end the generation. */
int bn_spec_plan(bn_spec *s, const bn_ctx *c, int32_t seq, bn_token *draft, size_t n_max, size_t *n_draft);

/* After a pass that fed the pending token (if any) and draft[0, n_draft)
 * with logits rows[0, n_draft]: the acceptance rule, the cache cut back to
 * the accepted drafts, the tokens to out (room for n_draft + 1). On an error
 * the sequence and the decoder are as before the pass. */
int bn_spec_settle(bn_spec *s, bn_ctx *c, int32_t seq, bn_sampler *smp, const float *const *rows,
                   const bn_token *draft, size_t n_draft, bn_token *out, size_t *n_out);

int bn_spec_run_step(bn_spec *s, bn_ctx *c, int32_t seq, bn_sampler *smp, bn_token *out, size_t *n_out);

#endif
