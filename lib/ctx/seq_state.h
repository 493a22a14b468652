/* The saved state of one sequence (bn_ctx_seq_state_*): format, writing and
 * checked reading. doc/design.md ("Saved state") gives the layout. */
#ifndef BN_CTX_SEQ_STATE_H
#define BN_CTX_SEQ_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "ctx/context.h"

/* Bytes of the state of sequence seq (checked by the caller), 0 on overflow. */
size_t bn_seq_state_size(const bn_ctx *c, int32_t seq);

/* Writes it to buf (bn_seq_state_size bytes). */
void bn_seq_state_write(const bn_ctx *c, int32_t seq, uint8_t *buf);

/* Checks a state against the context and, only when all is well, replaces
 * sequence seq with it. Errors: BN_E_FORMAT, BN_E_MODEL, BN_E_CTX_FULL. */
int bn_seq_state_read(bn_ctx *c, int32_t seq, const uint8_t *data, size_t size);

#endif
