/* Steps of binding a parsed GGUF into a bn_model (model_*.c). */
#ifndef BN_MODEL_INTERNAL_H
#define BN_MODEL_INTERNAL_H

#include "model/model.h"

int bn_model_read_hparams(bn_model *m);
int bn_model_bind_tensors(bn_model *m);
/* Rejects codes no ternary format may hold, and non-finite scales. */
int bn_model_check_weights(const bn_model *m, const bn_model_params *p);
/* Chooses the kernels and repacks the ternary weights into their layout,
 * then lets the file's pages of those weights go (model_pack.c). */
int bn_model_prepare_kernels(bn_model *m, const bn_model_params *p);

#endif
