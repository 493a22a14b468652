/*
 * GGUF container: a validating, zero-copy reader over a byte buffer (mmap or
 * memory) and a streaming writer. Knows nothing about models.
 *
 * The reader treats every byte as hostile: counts, lengths, dimensions,
 * offsets and sizes are checked with overflow-safe arithmetic against the
 * buffer before use, and nothing is allocated with a size taken from the file
 * before that size has been bounded by the bytes actually present.
 */
#ifndef BN_GGUF_GGUF_H
#define BN_GGUF_GGUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gguf/gguf_types.h"

/* Metadata value types (GGUF spec). */
enum bn_gguf_vtype {
    BN_GGUF_U8 = 0, BN_GGUF_I8 = 1, BN_GGUF_U16 = 2, BN_GGUF_I16 = 3,
    BN_GGUF_U32 = 4, BN_GGUF_I32 = 5, BN_GGUF_F32 = 6, BN_GGUF_BOOL = 7,
    BN_GGUF_STRING = 8, BN_GGUF_ARRAY = 9, BN_GGUF_U64 = 10, BN_GGUF_I64 = 11,
    BN_GGUF_F64 = 12,
    BN_GGUF_VTYPE_COUNT
};

/* Limits on what a file may claim; anything beyond is BN_E_FORMAT. */
#define BN_GGUF_MAX_KEY_LEN     (64u * 1024u)
#define BN_GGUF_MAX_STRING_LEN  (64u * 1024u * 1024u)
#define BN_GGUF_MAX_ARRAY_LEN   (256u * 1024u * 1024u)
#define BN_GGUF_MAX_NAME_LEN    256u
#define BN_GGUF_MAX_DIMS        4u
#define BN_GGUF_MAX_TENSORS     (1u << 20)
#define BN_GGUF_MAX_KV          (1u << 20)
#define BN_GGUF_MAX_ALIGNMENT   (1u << 16)
#define BN_GGUF_DEFAULT_ALIGNMENT 32u

/* A string inside the buffer: not NUL-terminated. */
typedef struct bn_gguf_str {
    const char *ptr;
    uint64_t len;
} bn_gguf_str;

typedef struct bn_gguf_value {
    uint32_t type;              /* enum bn_gguf_vtype */
    union {
        uint64_t u64;           /* U8, U16, U32, U64, BOOL (0/1) */
        int64_t i64;            /* I8, I16, I32, I64 */
        double f64;             /* F32, F64 */
        bn_gguf_str str;        /* STRING */
        struct {
            uint32_t elem_type; /* never ARRAY: nested arrays are rejected */
            uint64_t count;
            const uint8_t *data;/* first element (strings: length-prefixed) */
            uint64_t nbytes;    /* bytes of all elements */
        } arr;
    } v;
} bn_gguf_value;

typedef struct bn_gguf_kv {
    bn_gguf_str key;
    bn_gguf_value value;
} bn_gguf_kv;

typedef struct bn_gguf_tensor {
    bn_gguf_str name;
    uint32_t n_dims;
    uint64_t ne[BN_GGUF_MAX_DIMS]; /* unused dims are 1; ne[0] is contiguous */
    uint64_t n_elements;
    uint32_t type;                 /* bn_tensor_type, after the id-36 rule */
    uint64_t offset;               /* relative to the data section */
    uint64_t nbytes;               /* payload size the type implies */
    const uint8_t *data;           /* into the buffer */
} bn_gguf_tensor;

typedef struct bn_gguf {
    const uint8_t *base;           /* the whole file */
    uint64_t size;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;          /* start of the data section in the file */
    uint64_t n_kv;
    bn_gguf_kv *kv;
    uint64_t n_tensors;
    bn_gguf_tensor *tensors;       /* in file order */
    uint32_t *kv_order;            /* indexes sorted by key, for lookups */
    uint32_t *tensor_order;        /* indexes sorted by name */
    uint8_t *meta_copy;            /* bn_gguf_own_metadata()'s copy, or NULL */
} bn_gguf;

/*
 * Parses and validates a GGUF image of `size` bytes. The buffer must outlive
 * the parsed structure (strings and tensor data point into it). On failure
 * returns a BN_E_* code with a message and leaves *g zeroed.
 */
int bn_gguf_parse(bn_gguf *g, const void *data, uint64_t size);
void bn_gguf_release(bn_gguf *g);

/*
 * Copies everything before the data section (keys, values, tensor names)
 * into memory the structure owns and points every key, string, array and
 * name there: metadata then no longer depends on the buffer, which may be a
 * mapping of a file that changes. Tensor data still points into the buffer.
 * Returns BN_OK or BN_E_NOMEM (g unchanged).
 */
int bn_gguf_own_metadata(bn_gguf *g);

/* Lookups by key / name; NULL when absent. */
const bn_gguf_kv *bn_gguf_find_kv(const bn_gguf *g, const char *key);
const bn_gguf_tensor *bn_gguf_find_tensor(const bn_gguf *g, const char *name);

/* Typed getters for scalar metadata. Integers of any width/sign convert when
 * the value fits; they return BN_E_NOT_FOUND when the key is absent and
 * BN_E_MODEL (with a message naming the key) when the type does not fit. */
int bn_gguf_get_u32(const bn_gguf *g, const char *key, uint32_t *out);
int bn_gguf_get_f32(const bn_gguf *g, const char *key, float *out);
int bn_gguf_get_bool(const bn_gguf *g, const char *key, int *out);
int bn_gguf_get_str(const bn_gguf *g, const char *key, bn_gguf_str *out);

/* Sequential walk over a validated array of strings. */
typedef struct bn_gguf_str_iter {
    const uint8_t *p;
    uint64_t left;
} bn_gguf_str_iter;
void bn_gguf_str_iter_init(bn_gguf_str_iter *it, const bn_gguf_value *arr);
int bn_gguf_str_iter_next(bn_gguf_str_iter *it, bn_gguf_str *out); /* 0 at end */

/* Element i of a numeric array as int64/double (arrays validated at parse). */
int64_t bn_gguf_arr_i64(const bn_gguf_value *arr, uint64_t i);
double bn_gguf_arr_f64(const bn_gguf_value *arr, uint64_t i);

int bn_gguf_str_eq(bn_gguf_str s, const char *cstr);

/* Formats a value as text like bn_model_meta_string() documents. */
int bn_gguf_value_to_text(const bn_gguf_value *v, char *buf, size_t buf_size);

const char *bn_gguf_vtype_name(uint32_t type);

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct bn_gguf_writer bn_gguf_writer;

/* version: 2 or 3. Metadata and tensors are written in the order added. */
int bn_gguf_writer_new(bn_gguf_writer **out, uint32_t version, uint32_t alignment);
void bn_gguf_writer_free(bn_gguf_writer **w);

/* Scalars: value given widened; it is stored with the given type. */
int bn_gguf_writer_add_int(bn_gguf_writer *w, const char *key, uint32_t type, int64_t v);
int bn_gguf_writer_add_uint(bn_gguf_writer *w, const char *key, uint32_t type, uint64_t v);
int bn_gguf_writer_add_float(bn_gguf_writer *w, const char *key, uint32_t type, double v);
int bn_gguf_writer_add_bool(bn_gguf_writer *w, const char *key, int v);
int bn_gguf_writer_add_str(bn_gguf_writer *w, const char *key, const char *s, size_t len);
/* Array of fixed-size elements, `data` holding `count` little-endian values. */
int bn_gguf_writer_add_array(bn_gguf_writer *w, const char *key, uint32_t elem_type,
                             const void *data, uint64_t count);
/* Array of strings: strs[i] of lens[i] bytes (lens NULL: NUL-terminated). */
int bn_gguf_writer_add_str_array(bn_gguf_writer *w, const char *key, const char *const *strs,
                                 const size_t *lens, uint64_t count);

/* Declares a tensor; its payload size follows from type and shape. */
int bn_gguf_writer_add_tensor(bn_gguf_writer *w, const char *name, uint32_t n_dims,
                              const uint64_t *ne, uint32_t type);

/* Called once per tensor, in order, to write exactly its payload to f. */
typedef int (*bn_gguf_emit_fn)(void *user, uint64_t tensor_index, FILE *f);

/* Writes header, metadata, tensor infos, then each payload through `emit`,
 * each padded to the alignment. */
int bn_gguf_writer_write(bn_gguf_writer *w, FILE *f, bn_gguf_emit_fn emit, void *user);

#endif
