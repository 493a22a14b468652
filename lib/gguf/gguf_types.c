#include "gguf/gguf_types.h"

#include <assert.h>
#include <stddef.h>

#include "core/checked.h"
#include "core/error.h"

static_assert(sizeof(bn_block_q8_0) == 34, "Q8_0 block is 34 bytes");
static_assert(sizeof(bn_block_q4_0) == 18, "Q4_0 block is 18 bytes");
static_assert(sizeof(bn_block_tq2_0) == 66, "TQ2_0 block is 66 bytes");
static_assert(sizeof(bn_block_tq1_0) == 54, "TQ1_0 block is 54 bytes");

static const struct {
    uint32_t id;
    bn_type_info info;
} bn_types[] = {
    { BN_TYPE_F32,   { "F32", 1, 4, 1 } },
    { BN_TYPE_F16,   { "F16", 1, 2, 1 } },
    { BN_TYPE_Q4_0,  { "Q4_0", 32, 18, 1 } },
    { BN_TYPE_Q8_0,  { "Q8_0", 32, 34, 1 } },
    { BN_TYPE_BF16,  { "BF16", 1, 2, 1 } },
    { BN_TYPE_TQ1_0, { "TQ1_0", 256, 54, 1 } },
    { BN_TYPE_TQ2_0, { "TQ2_0", 256, 66, 1 } },
    /* I2_S payload is n/4 bytes + 32: handled in bn_type_nbytes */
    { BN_TYPE_I2_S,  { "I2_S", 128, 32, 1 } },
    /* known by name only, for clear messages */
    { 3,  { "Q4_1", 32, 20, 0 } },
    { 6,  { "Q5_0", 32, 22, 0 } },
    { 7,  { "Q5_1", 32, 24, 0 } },
    { 9,  { "Q8_1", 32, 36, 0 } },
    { 10, { "Q2_K", 256, 84, 0 } },
    { 11, { "Q3_K", 256, 110, 0 } },
    { 12, { "Q4_K", 256, 144, 0 } },
    { 13, { "Q5_K", 256, 176, 0 } },
    { 14, { "Q6_K", 256, 210, 0 } },
    { 15, { "Q8_K", 256, 292, 0 } },
    { 24, { "I8", 1, 1, 0 } },
    { 25, { "I16", 1, 2, 0 } },
    { 26, { "I32", 1, 4, 0 } },
    { 27, { "I64", 1, 8, 0 } },
    { 28, { "F64", 1, 8, 0 } },
};

const bn_type_info *bn_type_info_get(uint32_t type)
{
    for (size_t i = 0; i < sizeof bn_types / sizeof bn_types[0]; i++)
        if (bn_types[i].id == type)
            return &bn_types[i].info;
    return NULL;
}

const char *bn_type_name(uint32_t type)
{
    if (type == BN_TYPE_TL1)
        return "TL1";
    if (type == BN_TYPE_TL2)
        return "TL2";
    const bn_type_info *t = bn_type_info_get(type);
    return t ? t->name : "unknown";
}

int bn_type_is_ternary(uint32_t type)
{
    return type == BN_TYPE_I2_S || type == BN_TYPE_TQ1_0 || type == BN_TYPE_TQ2_0;
}

int bn_type_nbytes(uint32_t type, uint64_t ne0, uint64_t n_elements, uint64_t *out)
{
    const bn_type_info *t = bn_type_info_get(type);
    if (!t) {
        bn_fail(BN_E_UNSUPPORTED, "unknown tensor type %u", type);
        return 0;
    }
    if (type == BN_TYPE_I2_S) {
        /* one flat array in blocks of 128 that may cross rows, then an f32
         * scale padded to 32 bytes */
        if (n_elements % BN_QK_I2_S) {
            bn_fail(BN_E_FORMAT, "I2_S tensor of %llu elements: not a multiple of %u",
                    (unsigned long long)n_elements, BN_QK_I2_S);
            return 0;
        }
        *out = n_elements / 4 + 32;
        return 1;
    }
    if (ne0 % t->block) {
        bn_fail(BN_E_FORMAT, "%s rows of %llu elements: not a multiple of the block size %u",
                t->name, (unsigned long long)ne0, t->block);
        return 0;
    }
    if (!bn_mul_u64(n_elements / t->block, t->block_bytes, out)) {
        bn_fail(BN_E_FORMAT, "%s tensor of %llu elements: size overflows", t->name,
                (unsigned long long)n_elements);
        return 0;
    }
    return 1;
}
