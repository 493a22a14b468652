/* A tiny model GGUF built in memory, with knobs to break it in one place:
 * for the model-binding tests (what a wrong file must be told). */
#ifndef BN_TEST_TINY_MODEL_H
#define BN_TEST_TINY_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct bn_tiny_opts {
    const char *arch;           /* general.architecture; default "bitnet-b1.58" */
    uint32_t weight_type;       /* linear weight type; default BN_TYPE_I2_S */
    int llama_layout;           /* no sub-norms, separate output.weight */
    const char *skip_tensor;    /* leave this tensor out */
    const char *bad_shape_tensor; /* give this tensor ne[0] + 256 */
    const char *hidden_activation; /* write <arch>.hidden_activation */
    int skip_key;               /* leave out <arch>.embedding_length */
    int vocab_size_key;         /* write <arch>.vocab_size with this value (0: none) */
    int code3;                  /* put an invalid 0b11 code into blk.0.attn_q.weight */
    int extra_layer_tensor;     /* add blk.1.attn_norm.weight with block_count 1 */
    int file_type;              /* general.file_type; default 40 for I2_S, 1 otherwise */
} bn_tiny_opts;

#define BN_TINY_N_EMBD 256
#define BN_TINY_N_FF 512
#define BN_TINY_N_VOCAB 300
#define BN_TINY_N_HEAD 2
#define BN_TINY_N_HEAD_KV 1

void bn_tiny_default(bn_tiny_opts *o);

/* Returns a malloc'ed GGUF image (free() it), size in *size; NULL on failure. */
uint8_t *bn_tiny_build(const bn_tiny_opts *o, size_t *size);

/* A cmocka group fixture: the default tiny model, loaded from its image. */
typedef struct bn_tiny_fixture {
    uint8_t *img;
    size_t size;
    struct bn_model *model;
} bn_tiny_fixture;

int bn_tiny_fixture_setup(void **state);
int bn_tiny_fixture_teardown(void **state);

#endif
