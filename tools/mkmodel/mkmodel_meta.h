/* The GGUF metadata of a synthetic model, built as a list first so that it
 * can be written to a file or listed by --dry-run. */
#ifndef BN_MKMODEL_META_H
#define BN_MKMODEL_META_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gguf/gguf.h"
#include "mkmodel.h"
#include "mkmodel_config.h"
#include "mkmodel_vocab.h"

#define BN_MKMODEL_MAX_KV 40

typedef struct bn_mkmodel_kv {
    char key[96];
    uint32_t type;                  /* BN_GGUF_U32, F32, BOOL, STRING or ARRAY */
    uint64_t u;                     /* U32, BOOL */
    double f;                       /* F32: the value before rounding to f32 */
    const char *str;                /* STRING; NUL-terminated */
    uint32_t elem_type;             /* ARRAY: I32, F32 or STRING */
    uint64_t count;
    const void *data;               /* int32_t[], float[] or const char *[] */
    const size_t *lens;             /* string lengths, or NULL */
} bn_mkmodel_kv;

typedef struct bn_mkmodel_meta {
    bn_mkmodel_kv kv[BN_MKMODEL_MAX_KV];
    size_t n_kv;
    char name[128];                 /* general.name */
    float *scores;                  /* tokenizer.ggml.scores, when written */
} bn_mkmodel_meta;

/* The key set of mkmodel.py files, or with o->published_keys that of the
 * published 2B4T GGUF. Strings point into o, c, v and m: keep them alive. */
int bn_mkmodel_meta_build(bn_mkmodel_meta *m, const bn_mkmodel_opts *o,
                          const bn_mkmodel_config *c, const bn_mkmodel_vocab *v);

int bn_mkmodel_meta_add_to(const bn_mkmodel_meta *m, bn_gguf_writer *w);

/* One "kv  key = value" line per key, values as Python's repr() shows them,
 * arrays as "[N items]" (mkmodel.py --dry-run's listing). */
void bn_mkmodel_meta_print(const bn_mkmodel_meta *m, FILE *out);

void bn_mkmodel_meta_free(bn_mkmodel_meta *m);

#endif
