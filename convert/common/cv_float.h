/* Float tensors (embeddings, norms, output heads) from one element type to
 * another, row by row, so that memory stays at one row whatever the size. */
#ifndef BN_CONVERT_CV_FLOAT_H
#define BN_CONVERT_CV_FLOAT_H

#include <stdint.h>
#include <stdio.h>

/* Source element types beyond the GGUF ones (safetensors dtypes). */
enum { CV_SRC_F32 = 0, CV_SRC_F16 = 1, CV_SRC_BF16 = 30 };

/* Element i of a little-endian F32 / F16 / BF16 array as float. */
float cv_float_at(uint32_t src_type, const uint8_t *src, uint64_t i);

/* Writes `rows` rows of ne0 elements of src (F32, F16, BF16, Q8_0 or Q4_0)
 * as dst_type (the same types, rounded as ggml's reference does).
 * Returns 0, or -1 with a message naming the tensor. */
int cv_float_write(FILE *f, uint32_t dst_type, uint32_t src_type, const uint8_t *src, uint64_t ne0,
                   uint64_t rows, const char *name);

/* Is this a type cv_float_write reads. */
int cv_float_type(uint32_t type);

#endif
