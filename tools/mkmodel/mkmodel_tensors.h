/* The tensors of a synthetic model: their list (names, shapes, types, in file
 * order) and the streaming generation of their payloads. */
#ifndef BN_MKMODEL_TENSORS_H
#define BN_MKMODEL_TENSORS_H

#include <stdint.h>
#include <stdio.h>

#include "mkmodel_config.h"

enum bn_mkmodel_kind {
    BN_MKMODEL_EMBEDDING,           /* uniform, std embd_std: token_embd, llama's output */
    BN_MKMODEL_NORM,                /* f32 around 1 */
    BN_MKMODEL_LINEAR,              /* ternary codes times the tensor scale */
};

typedef struct bn_mkmodel_tensor {
    char name[64];
    uint32_t n_dims;
    uint64_t ne[2];                 /* ne[0] = row length, contiguous */
    uint32_t type;                  /* BN_TYPE_* */
    enum bn_mkmodel_kind kind;
} bn_mkmodel_tensor;

/* The tensor list in file order; *out is malloc'ed. */
int bn_mkmodel_tensor_plan(const bn_mkmodel_config *c, bn_mkmodel_tensor **out, uint64_t *count);

uint64_t bn_mkmodel_tensor_plan_count(const bn_mkmodel_config *c);

/* Generates payloads a chunk at a time, so memory stays small for any size. */
typedef struct bn_mkmodel_emitter {
    int64_t seed;
    double embd_std;
    int scales;                     /* enum bn_mkmodel_scales, for TQ linears */
    FILE *log;                      /* per linear tensor: name, shape, scale; NULL: quiet */
    uint8_t *codes;                 /* one chunk of codes */
    uint8_t *bytes;                 /* one chunk of output */
} bn_mkmodel_emitter;

int bn_mkmodel_emitter_init(bn_mkmodel_emitter *e, int64_t seed, double embd_std, int scales, FILE *log);
void bn_mkmodel_emitter_free(bn_mkmodel_emitter *e);

/* Writes exactly the payload of t to f (without alignment padding). */
int bn_mkmodel_emit(bn_mkmodel_emitter *e, const bn_mkmodel_tensor *t, FILE *f);

#endif
