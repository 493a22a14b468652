/* Shared by the reference-logit tests: generate a synthetic model, run the
 * reference prompt in one batch, compare with logits computed by bitnet.cpp /
 * llama.cpp (test/data/reference, shared/reference). */
#ifndef BN_TEST_REFERENCE_CHECK_H
#define BN_TEST_REFERENCE_CHECK_H

#include "mkmodel.h"
#include "reference_data.h"

typedef struct bn_ref_case {
    const char *label;          /* e.g. "small-seed1 i2_s" */
    const bn_ref_file *ref;
    enum bn_mkmodel_shape shape;
    enum bn_mkmodel_type type;
    enum bn_mkmodel_family family;
    enum bn_mkmodel_act act;
    enum bn_mkmodel_arch arch;
    int64_t seed;
    int n_head_kv;              /* 0: the shape's */
    double rope_theta;          /* 0: the shape's */
    int same_numerics_run;      /* index of the bitnet.cpp I2_S run to report against; -1 none */
} bn_ref_case;

typedef struct bn_ref_result {
    double max_abs, rms;        /* against run 0 */
    double max_abs_same, rms_same; /* against the same-numerics run, if any */
    int argmax_checked, argmax_agree;
    double tol_max, tol_rms;
} bn_ref_result;

/* Generates the model into dir, computes and compares; fails the cmocka test
 * on any miss of the targets. ref_dir holds <stem>.<run>.f32 files. */
void bn_ref_check(const bn_ref_case *c, const char *model_dir, const char *ref_dir, int n_threads,
                  bn_ref_result *res);

#endif
