/*
 * The tensors of a converted model: each GGUF tensor with the checkpoint
 * tensor(s) it comes from, checked against config.json's shapes before
 * anything is written, then written one at a time (doc/convert.md).
 */
#ifndef BN_CONVERT_HF_WEIGHTS_H
#define BN_CONVERT_HF_WEIGHTS_H

#include <stdint.h>
#include <stdio.h>

#include "gguf/gguf.h"
#include "hf_config.h"
#include "safetensors.h"

enum hf_kind { HF_FLOAT, HF_TERNARY };

typedef struct hf_out_tensor {
    char name[96];              /* GGUF name */
    enum hf_kind kind;
    const st_tensor *src;       /* checkpoint tensor */
    const st_tensor *scale;     /* its weight_scale (packed weights), or NULL */
    uint64_t ne[2];             /* GGUF shape: ne[0] contiguous */
    uint32_t n_dims;
    uint32_t type;              /* output type */
    int64_t permute_heads;      /* > 0: Llama q/k rows reordered for GGUF rope */
} hf_out_tensor;

typedef struct hf_weights {
    hf_out_tensor *t;
    uint64_t n;
    int lossy;                  /* some float weights were ternarised with absmean */
    const st_model *st;
    const hf_config *cfg;
    int64_t head_dim;
} hf_weights;

/* Plans every tensor: ternary type `ttype`, head type `head_type` (-1: keep
 * the model's tying and write an untied head as F16). Returns 0 or -1 with a
 * message in err naming the file and tensor. */
int hf_weights_plan(hf_weights *w, const st_model *st, const hf_config *c, uint32_t ttype, int head_type,
                    char *err, size_t en);
void hf_weights_free(hf_weights *w);

/* Writes the payload of tensor i. Returns 0 or -1 with a message on stderr. */
int hf_weights_emit(hf_weights *w, uint64_t i, FILE *f);

#endif
