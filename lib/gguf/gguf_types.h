/*
 * Tensor element types found in GGUF files and the size of their payloads.
 *
 * Type id 36 is ambiguous: bitnet.cpp uses it for I2_S, upstream ggml
 * reserves it. The reader maps it to BN_TYPE_I2_S only when the file declares
 * general.file_type = 40 ("mostly I2_S", bitnet.cpp's converter); otherwise it
 * is rejected as an unknown type. See doc/formats.md.
 */
#ifndef BN_GGUF_TYPES_H
#define BN_GGUF_TYPES_H

#include <stdint.h>

enum bn_tensor_type {
    BN_TYPE_F32 = 0,
    BN_TYPE_F16 = 1,
    BN_TYPE_Q4_0 = 2,
    BN_TYPE_Q8_0 = 8,
    BN_TYPE_BF16 = 30,
    BN_TYPE_TQ1_0 = 34,
    BN_TYPE_TQ2_0 = 35,
    BN_TYPE_I2_S = 36,      /* bitnet.cpp only; see above */
    BN_TYPE_TL1 = 38,       /* bitnet.cpp look-up-table layouts: rejected */
    BN_TYPE_TL2 = 39,
};

#define BN_FILE_TYPE_MOSTLY_I2_S 40u

#define BN_QK8_0 32u
#define BN_QK4_0 32u
#define BN_QK_K 256u
#define BN_QK_I2_S 128u

/* Block layouts, static_assert'ed in gguf_types.c. */
typedef struct bn_block_q8_0 {
    uint16_t d;             /* f16 scale */
    int8_t qs[BN_QK8_0];
} bn_block_q8_0;

/* element j < 16 in the low nibble of qs[j], element 16 + j in its high
 * nibble; value (nibble - 8) * d */
typedef struct bn_block_q4_0 {
    uint16_t d;             /* f16 scale */
    uint8_t qs[BN_QK4_0 / 2];
} bn_block_q4_0;

typedef struct bn_block_tq2_0 {
    uint8_t qs[BN_QK_K / 4];
    uint16_t d;
} bn_block_tq2_0;

typedef struct bn_block_tq1_0 {
    uint8_t qs[(BN_QK_K - 4 * BN_QK_K / 64) / 5]; /* 48 */
    uint8_t qh[BN_QK_K / 64];                      /* 4 */
    uint16_t d;
} bn_block_tq1_0;

typedef struct bn_type_info {
    const char *name;
    uint32_t block;         /* elements per block */
    uint32_t block_bytes;   /* bytes per block */
    int supported;          /* can the library compute with it */
} bn_type_info;

/* NULL for ids the library does not know. */
const bn_type_info *bn_type_info_get(uint32_t type);
const char *bn_type_name(uint32_t type);

/* Is this one of the ternary weight formats. */
int bn_type_is_ternary(uint32_t type);

/*
 * Payload bytes of a tensor of `n_elements` with rows of `ne0` elements.
 * Returns 0 and a message when the shape does not fit the type (row length
 * not a multiple of the block, I2_S count not a multiple of 128) or the size
 * overflows.
 */
int bn_type_nbytes(uint32_t type, uint64_t ne0, uint64_t n_elements, uint64_t *out);

#endif
