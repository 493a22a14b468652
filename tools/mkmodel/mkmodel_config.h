/* The option set checked and turned into what the generator needs: final
 * sizes, architecture name, activation and GGML type ids. */
#ifndef BN_MKMODEL_CONFIG_H
#define BN_MKMODEL_CONFIG_H

#include <stdint.h>

#include "mkmodel.h"

/* Linear kinds of a precision plan, in the order of bn_mkmodel_linear_kinds. */
#define BN_MKMODEL_N_LINEAR_KINDS 7
#define BN_MKMODEL_NO_PLAN UINT32_MAX
extern const char *const bn_mkmodel_linear_kinds[BN_MKMODEL_N_LINEAR_KINDS];

typedef struct bn_mkmodel_config {
    bn_mkmodel_hparams hp;
    const char *arch;               /* general.architecture */
    enum bn_mkmodel_family family;
    enum bn_mkmodel_act act;        /* RELU2 or SILU, never DEFAULT */
    uint32_t weight_type;           /* BN_TYPE_* of the linear weights */
    uint32_t plan_type[BN_MKMODEL_N_LINEAR_KINDS]; /* per kind; BN_MKMODEL_NO_PLAN: weight_type */
    uint32_t embd_type;             /* BN_TYPE_F16 or BN_TYPE_F32 */
    uint32_t file_type;             /* general.file_type */
    int default_model;              /* bitnet + relu2: the only model of mkmodel-1,
                                       whose key set must not change */
} bn_mkmodel_config;

/* Validates the option combination and fills c. Warns on o->log about a
 * valid but probably unintended combination. Returns 0 or BN_E_INVALID_ARG /
 * BN_E_UNSUPPORTED with a message naming the option. */
int bn_mkmodel_resolve(const bn_mkmodel_opts *o, bn_mkmodel_config *c);

#endif
