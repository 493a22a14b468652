/* GGUF helpers shared by bitnet-convert and bitnet-quantize: input files
 * mapped and parsed, metadata copied, the file types and output names. */
#ifndef BN_CONVERT_CV_GGUF_H
#define BN_CONVERT_CV_GGUF_H

#include <stdint.h>

#include "core/mapfile.h"
#include "gguf/gguf.h"

/* Maps and parses a GGUF file; on failure prints the library's message with
 * the path and returns -1. */
int cv_gguf_open(bn_mapfile *m, bn_gguf *g, const char *path);
void cv_gguf_close(bn_mapfile *m, bn_gguf *g);

/* Writes the file: header, metadata, then each tensor through emit (see
 * bn_gguf_writer_write). On failure prints why (prefixed by prog), removes
 * the partial file and returns -1. */
int cv_gguf_write_file(bn_gguf_writer *w, const char *path, bn_gguf_emit_fn emit, void *user, const char *prog);

/* Adds a copy of value v under `key` to the writer. */
int cv_gguf_copy_value(bn_gguf_writer *w, const char *key, const bn_gguf_value *v);

/* general.file_type for a model whose linear weights are `type` (ggml's
 * LLAMA_FTYPE_MOSTLY_TQ1_0 = 36, TQ2_0 = 37; bitnet.cpp's MOSTLY_I2_S = 40). */
uint32_t cv_file_type(uint32_t type);

/* "i2_s", "tq2_0", "tq1_0" / "f16", "q8_0", "q4_0", "f32" to a type id; 0 on success. */
int cv_parse_ternary_type(const char *s, uint32_t *type);
int cv_parse_float_type(const char *s, uint32_t *type);

/* Is `name` (a GGUF tensor name) one of the ternary linear weights
 * blk.N.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}.weight. */
int cv_is_linear_weight(const char *name);

/* The chat template BitNet b1.58 2B4T was trained with, as Jinja (the
 * published file embeds a placeholder instead; doc/sampling-and-chat.md). */
extern const char cv_chat_template_2b4t[];

#endif
