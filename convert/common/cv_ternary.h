/*
 * Ternary weights between the forms the converters meet: codes c = w + 1 in
 * {0, 1, 2} (flat index order, ne0 fastest) with their scales, the GGUF
 * payloads I2_S / TQ2_0 / TQ1_0 (doc/formats.md), and float tensors that
 * are ternary already or are ternarised with absmean as in training.
 */
#ifndef BN_CONVERT_CV_TERNARY_H
#define BN_CONVERT_CV_TERNARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A ternary tensor in memory: n codes, the f32 tensor scale, and for tensors
 * read from a TQ type the f16 scale of every 256-block (else NULL). */
typedef struct cv_ternary {
    uint64_t n;
    uint8_t *codes;
    float scale;
    uint16_t *block_d;      /* n / 256 entries, or NULL */
    int scale_uniform;      /* every block with a non-zero code has the same d */
} cv_ternary;

void cv_ternary_free(cv_ternary *t);

/* Decodes a GGUF payload of `type` (I2_S, TQ2_0, TQ1_0) with rows of ne0.
 * Returns 0, or -1 with a message on stderr naming `name` (an I2_S code 0b11
 * or a TQ1_0 byte that is no valid base-3 pack). */
int cv_ternary_from_gguf(cv_ternary *t, uint32_t type, const uint8_t *data, uint64_t ne0,
                         uint64_t n, const char *name);

/* Float weights (n little-endian values of src_type F32, F16 or BF16;
 * cv_float.h) to codes: when they take at most
 * the values {-a, 0, a} the codes are exact and the scale is a; otherwise
 * absmean: s = mean|w| (at least 1e-5), c = clamp(round(w / s), -1, 1) + 1,
 * rounding half to even as torch.round does. *was_ternary tells which. */
int cv_ternary_from_float(cv_ternary *t, uint32_t src_type, const uint8_t *src, uint64_t n,
                          int *was_ternary);

/* Bytes of the payload of `type` for n weights (I2_S with its 32-byte tail). */
uint64_t cv_ternary_nbytes(uint32_t type, uint64_t n);

/* Checks that `type` can hold rows of ne0 (TQ: multiples of 256; I2_S: n a
 * multiple of 128). Returns 0, or -1 with a message naming the tensor. */
int cv_ternary_check_shape(uint32_t type, uint64_t ne0, uint64_t n, const char *name);

/*
 * Writes the payload of `type`. TQ types take the block scales of t when it
 * has them, else the tensor scale rounded to F16 (0 for an all-zero block,
 * as ggml's reference quantiser gives). I2_S needs one scale: a TQ tensor
 * whose blocks differ is refused (-1, message naming the tensor).
 */
int cv_ternary_write(const cv_ternary *t, uint32_t type, const char *name, FILE *f);

/* Absmean ternarisation's rounding: nearest, ties to even. */
float cv_round_even(float x);

#endif
