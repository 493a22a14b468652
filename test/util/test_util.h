/*
 * Helpers shared by the test programs: temporary files, deterministic tensor
 * payloads and small GGUF images built in memory with the library's writer.
 *
 * Link with `bn_test_util_dep` (test/util/meson.build); it brings the internal
 * library (bn_internal_dep) and cmocka. Every function is deterministic: the
 * same arguments give byte-identical output.
 *
 *     bn_test_model_spec s;
 *     bn_test_model_spec_default(&s);          // tiny F32 model that binds
 *     s.weight_type = BN_TYPE_I2_S;
 *     uint8_t *img; size_t n;
 *     if (bn_test_model_gguf(&s, &img, &n) == BN_OK) {
 *         bn_model *m = NULL;
 *         bn_model_load_from_memory(&m, img, n, NULL);
 *         ...
 *         bn_model_free(&m);
 *         free(img);
 *     }
 */
#ifndef BN_TEST_UTIL_H
#define BN_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"
#include "gguf/gguf.h"

/* ---- files -------------------------------------------------------------- */

/* Writes `size` bytes to a new file in $TMPDIR (or /tmp). Returns its path
 * (malloc'd) or NULL; remove it with bn_test_temp_file_remove(). */
char *bn_test_temp_file(const void *data, size_t size);

/* Unlinks the file and frees the path; accepts NULL. */
void bn_test_temp_file_remove(char *path);

/* Reads a whole file into a malloc'd buffer (with one extra NUL byte after
 * the end, not counted in *size). NULL on failure. */
uint8_t *bn_test_read_file(const char *path, size_t *size);

/* ---- process memory -------------------------------------------------------- */

/* This process's virtual size (field 0) or resident set (field 1) in bytes,
 * from /proc/self/statm; 0 where it cannot be read. */
uint64_t bn_test_statm_bytes(int field);

/* Whether RLIMIT_AS, already lowered by the caller, binds: a 1 GB mapping
 * must then fail. qemu-user, for one, keeps the limit to itself. */
int bn_test_rlimit_as_binds(void);

/* ---- tensor payloads ---------------------------------------------------- */

/*
 * A valid payload for a tensor of `type` with rows of `ne0` elements and
 * `n_elements` in all, from a generator seeded by `seed`: floats in [-1, 1],
 * finite block scales, ternary codes 0..2 only (I2_S: codes, then an f32
 * scale and zero padding to n/4 + 32 bytes). Returns a malloc'd buffer and
 * its size, or NULL when the shape does not fit the type.
 */
uint8_t *bn_test_payload(uint32_t type, uint64_t ne0, uint64_t n_elements, uint64_t seed,
                         size_t *nbytes);

/* ---- GGUF images ---------------------------------------------------------- */

typedef struct bn_test_tensor {
    const char *name;
    uint32_t type;          /* bn_tensor_type */
    uint32_t n_dims;        /* 1..4 */
    uint64_t ne[4];
} bn_test_tensor;

/* Adds metadata to a writer; returns BN_OK or an error. */
typedef int (*bn_test_meta_fn)(bn_gguf_writer *w, void *user);

/*
 * Writes a GGUF image into a malloc'd buffer (*data, *size; free() it):
 * general.alignment (u32) first when alignment != 32, then whatever meta()
 * adds (may be NULL), then the tensors with payloads from bn_test_payload()
 * (seed = tensor index). Returns BN_OK or the writer's error.
 */
int bn_test_gguf_build(uint32_t version, uint32_t alignment, bn_test_meta_fn meta, void *user,
                       const bn_test_tensor *tensors, size_t n_tensors, uint8_t **data,
                       size_t *size);

/* Runs a prepared writer into a malloc'd buffer (through open_memstream). */
int bn_test_gguf_to_memory(bn_gguf_writer *w, bn_gguf_emit_fn emit, void *user, uint8_t **data,
                           size_t *size);

/* ---- tiny models ---------------------------------------------------------- */

typedef struct bn_test_model_spec {
    const char *arch;       /* "bitnet-b1.58"; "llama" has no sub-norms */
    uint32_t version;       /* GGUF version, 3 */
    uint32_t alignment;     /* 32; any other value is also written as general.alignment */
    uint32_t n_embd;        /* 16 */
    uint32_t n_layer;       /* 1 */
    uint32_t n_ff;          /* 32 */
    uint32_t n_head;        /* 2 (head dim 8) */
    uint32_t n_head_kv;     /* 1 */
    uint32_t n_vocab;       /* 8 */
    uint32_t n_ctx;         /* 64 */
    uint32_t weight_type;   /* linear weights: BN_TYPE_F32; I2_S sets general.file_type 40 */
    uint32_t embd_type;     /* token_embd (and output): BN_TYPE_F32 */
    int tied;               /* 1: no output.weight (the default) */
    const char *omit;       /* a tensor name or metadata key to leave out, or NULL */
    bn_test_meta_fn meta;   /* extra metadata added after the standard keys, or NULL */
    void *meta_user;
    const bn_test_tensor *extra;  /* more tensors after the model's (e.g. a
                                     blk.0.attn_q.scale), or NULL */
    size_t n_extra;
} bn_test_model_spec;

/* The defaults documented on each field: a model that loads and binds. The
 * TQ types need n_embd and n_ff multiples of 256; I2_S needs every linear
 * weight's element count a multiple of 128 (true for the defaults). */
void bn_test_model_spec_default(bn_test_model_spec *s);

/* Builds the model's GGUF image: token_embd, output_norm, [output], then per
 * layer the 11 (llama: 9) tensors in the order of llama.cpp's converters,
 * then the extra tensors. */
int bn_test_model_gguf(const bn_test_model_spec *s, uint8_t **data, size_t *size);

#endif
