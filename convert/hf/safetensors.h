/*
 * safetensors files: an 8-byte little-endian header length N, N bytes of a
 * JSON object {"name": {"dtype": "BF16", "shape": [..], "data_offsets":
 * [begin, end]}, ..., "__metadata__": {...}}, then the data, offsets
 * relative to its start (huggingface/safetensors, docs "Format").
 *
 * Every length, shape and offset is untrusted: the header must fit the file,
 * each tensor's bytes must equal its element count times the dtype size, lie
 * inside the data and not overlap another's. Messages name the file and the
 * tensor. A model is one file or the shards of model.safetensors.index.json,
 * each memory-mapped.
 */
#ifndef BN_CONVERT_SAFETENSORS_H
#define BN_CONVERT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/mapfile.h"

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (100u * 1024u * 1024u)   /* the format's own limit */

enum st_dtype { ST_F32, ST_F16, ST_BF16, ST_F64, ST_U8, ST_I8, ST_I16, ST_I32, ST_I64, ST_BOOL,
                ST_DTYPE_COUNT };

typedef struct st_tensor {
    char *name;
    enum st_dtype dtype;
    uint32_t n_dims;
    uint64_t shape[ST_MAX_DIMS];
    uint64_t n_elements;
    uint64_t begin, end;        /* relative to the data section */
    const uint8_t *data;
    int file;                   /* index into st_model.files */
} st_tensor;

typedef struct st_file {
    char *path;
    bn_mapfile map;
} st_file;

typedef struct st_model {
    st_file *files;
    size_t n_files;
    st_tensor *tensors;         /* sorted by name */
    size_t n_tensors;
} st_model;

const char *st_dtype_name(enum st_dtype d);
unsigned st_dtype_size(enum st_dtype d);

/* Parses the header of one file image (buf, size) and appends its tensors
 * (data pointing into buf) to *t / *n. `path` names the file in messages,
 * written to err. Returns 0 or -1. */
int st_parse(const uint8_t *buf, uint64_t size, const char *path, int file_index, st_tensor **t,
             size_t *n, char *err, size_t err_size);
void st_tensors_free(st_tensor *t, size_t n);

/* Opens DIR/model.safetensors, or the shards DIR/model.safetensors.index.json
 * lists (every tensor must be in the shard its weight_map names). A tensor
 * name found twice is an error. Returns 0 or -1 with a message in err. */
int st_model_open(st_model *m, const char *dir, char *err, size_t err_size);
void st_model_close(st_model *m);

/* The tensor of that name, or NULL. */
const st_tensor *st_model_find(const st_model *m, const char *name);

/* Tells the kernel the pages of a tensor are no longer needed, so that they
 * leave the process's resident set (bounded memory on large models). */
void st_tensor_release(const st_model *m, const st_tensor *t);
/* The same for bytes [off, off + len) of the tensor's data. */
void st_tensor_release_range(const st_model *m, const st_tensor *t, uint64_t off, uint64_t len);

#endif
