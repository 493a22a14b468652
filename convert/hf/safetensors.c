#include "safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/error.h"
#include "cv_pages.h"
#include "cv_error.h"

static const struct { const char *name; unsigned size; } dtypes[ST_DTYPE_COUNT] = {
    [ST_F32] = { "F32", 4 },   [ST_F16] = { "F16", 2 }, [ST_BF16] = { "BF16", 2 },
    [ST_F64] = { "F64", 8 },   [ST_U8] = { "U8", 1 },   [ST_I8] = { "I8", 1 },
    [ST_I16] = { "I16", 2 },   [ST_I32] = { "I32", 4 }, [ST_I64] = { "I64", 8 },
    [ST_BOOL] = { "BOOL", 1 },
};

const char *st_dtype_name(enum st_dtype d)
{
    return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].name : "?";
}

unsigned st_dtype_size(enum st_dtype d)
{
    return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].size : 0;
}

void st_tensors_free(st_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].name);
    free(t);
}

/* A JSON integer that is a valid non-negative size. */
static int json_u64(const json_t *j, uint64_t *out)
{
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return 0;
    *out = (uint64_t)json_integer_value(j);
    return 1;
}

static int parse_entry(const char *path, const char *name, json_t *v, uint64_t data_size, st_tensor *t,
                       char *err, size_t en)
{
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *off = json_object_get(v, "data_offsets");
    if (!json_is_object(v) || !json_is_string(dt) || !json_is_array(shape) || !json_is_array(off) ||
        json_array_size(off) != 2)
        return cv_fail(err, en, "%s: tensor %.200s: header entry needs dtype, shape and data_offsets [begin, end]",
                    path, name);
    int d = -1;
    for (int i = 0; i < ST_DTYPE_COUNT; i++)
        if (!strcmp(json_string_value(dt), dtypes[i].name))
            d = i;
    if (d < 0)
        return cv_fail(err, en, "%s: tensor %.200s: unsupported dtype %.32s", path, name, json_string_value(dt));
    t->dtype = (enum st_dtype)d;
    if (json_array_size(shape) > ST_MAX_DIMS)
        return cv_fail(err, en, "%s: tensor %.200s: %zu dimensions (at most %d)", path, name,
                    json_array_size(shape), ST_MAX_DIMS);
    t->n_dims = (uint32_t)json_array_size(shape);
    uint64_t n = 1, bytes;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        if (!json_u64(json_array_get(shape, i), &t->shape[i]) || !bn_mul_u64(n, t->shape[i], &n))
            return cv_fail(err, en, "%s: tensor %.200s: bad or too large shape", path, name);
    }
    t->n_elements = n;
    if (!json_u64(json_array_get(off, 0), &t->begin) || !json_u64(json_array_get(off, 1), &t->end) ||
        t->begin > t->end || t->end > data_size)
        return cv_fail(err, en, "%s: tensor %.200s: data_offsets outside the file's %llu data bytes", path, name,
                    (unsigned long long)data_size);
    if (!bn_mul_u64(n, dtypes[d].size, &bytes) || bytes != t->end - t->begin)
        return cv_fail(err, en, "%s: tensor %.200s: %llu bytes of data for a %s tensor of %llu elements", path,
                    name, (unsigned long long)(t->end - t->begin), dtypes[d].name, (unsigned long long)n);
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const st_tensor *x = *(st_tensor *const *)a, *y = *(st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

int st_parse(const uint8_t *buf, uint64_t size, const char *path, int file_index, st_tensor **tp,
             size_t *np, char *err, size_t en)
{
    if (size < 8)
        return cv_fail(err, en, "%s: %llu bytes: too short for a safetensors file", path, (unsigned long long)size);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | buf[i];
    if (hl > size - 8)
        return cv_fail(err, en, "%s: header length %llu runs past the end of the file (%llu bytes)", path,
                    (unsigned long long)hl, (unsigned long long)size);
    if (hl > ST_MAX_HEADER)
        return cv_fail(err, en, "%s: header length %llu is over the 100 MB limit", path, (unsigned long long)hl);
    json_error_t je;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hl, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cv_fail(err, en, "%s: header JSON, line %d column %d: %s", path, je.line, je.column, je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return cv_fail(err, en, "%s: header is not a JSON object", path);
    }
    const uint64_t data_size = size - 8 - hl;
    const uint8_t *data = buf + 8 + hl;
    size_t n0 = *np, cap = n0 + json_object_size(root);
    st_tensor *t = realloc(*tp, (cap ? cap : 1) * sizeof *t);
    if (!t) {
        json_decref(root);
        return cv_fail(err, en, "%s: out of memory", path);
    }
    *tp = t;
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__"))
            continue;
        st_tensor *x = &t[*np];
        memset(x, 0, sizeof *x);
        if (parse_entry(path, key, v, data_size, x, err, en)) {
            rc = -1;
            break;
        }
        x->name = strdup(key);
        if (!x->name) {
            rc = cv_fail(err, en, "%s: out of memory", path);
            break;
        }
        x->data = data + x->begin;
        x->file = file_index;
        (*np)++;
    }
    json_decref(root);
    if (rc)
        return rc;
    /* no two tensors of this file may share bytes */
    size_t k = *np - n0;
    st_tensor **by = malloc((k ? k : 1) * sizeof *by);
    if (!by)
        return cv_fail(err, en, "%s: out of memory", path);
    for (size_t i = 0; i < k; i++)
        by[i] = &t[n0 + i];
    qsort(by, k, sizeof *by, cmp_begin);
    for (size_t i = 1; i < k && !rc; i++)
        if (by[i]->begin < by[i - 1]->end && by[i]->begin < by[i]->end)
            rc = cv_fail(err, en, "%s: tensors %.200s and %.200s overlap", path, by[i - 1]->name, by[i]->name);
    free(by);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

const st_tensor *st_model_find(const st_model *m, const char *name)
{
    st_tensor key;
    key.name = (char *)name;
    return bsearch(&key, m->tensors, m->n_tensors, sizeof key, cmp_name);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int add_file(st_model *m, const char *dir, const char *name, char *err, size_t en)
{
    if (strchr(name, '/') || !strcmp(name, "..") || !*name)
        return cv_fail(err, en, "%s/model.safetensors.index.json: shard name %.200s is not a file name", dir, name);
    for (size_t i = 0; i < m->n_files; i++)
        if (!strcmp(strrchr(m->files[i].path, '/') + 1, name))
            return 0;
    st_file *f = realloc(m->files, (m->n_files + 1) * sizeof *f);
    if (!f)
        return cv_fail(err, en, "out of memory");
    m->files = f;
    st_file *nf = &f[m->n_files];
    memset(nf, 0, sizeof *nf);
    nf->path = join(dir, name);
    if (!nf->path)
        return cv_fail(err, en, "out of memory");
    if (bn_mapfile_open(&nf->map, nf->path, 1)) {
        cv_fail(err, en, "%s", bn_last_error());
        free(nf->path);
        return -1;
    }
    m->n_files++;
    return st_parse(nf->map.data, nf->map.size, nf->path, (int)m->n_files - 1, &m->tensors, &m->n_tensors,
                    err, en);
}

int st_model_open(st_model *m, const char *dir, char *err, size_t en)
{
    memset(m, 0, sizeof *m);
    char *index = join(dir, "model.safetensors.index.json");
    if (!index)
        return cv_fail(err, en, "out of memory");
    int rc = 0;
    json_t *root = NULL;
    if (access(index, F_OK)) {
        rc = add_file(m, dir, "model.safetensors", err, en);
    } else {
        json_error_t je;
        root = json_load_file(index, JSON_REJECT_DUPLICATES, &je);
        json_t *map = root ? json_object_get(root, "weight_map") : NULL;
        if (!root)
            rc = cv_fail(err, en, "%s: line %d column %d: %s", index, je.line, je.column, je.text);
        else if (!json_is_object(map))
            rc = cv_fail(err, en, "%s: no weight_map object", index);
        const char *key;
        json_t *v;
        if (!rc)
            json_object_foreach(map, key, v) {
                if (!json_is_string(v)) {
                    rc = cv_fail(err, en, "%s: weight_map entry %.200s is not a file name", index, key);
                    break;
                }
                if ((rc = add_file(m, dir, json_string_value(v), err, en)))
                    break;
            }
        if (!rc && m->n_files == 0)
            rc = cv_fail(err, en, "%s: weight_map lists no shard", index);
    }
    if (!rc) {
        qsort(m->tensors, m->n_tensors, sizeof *m->tensors, cmp_name);
        for (size_t i = 1; i < m->n_tensors && !rc; i++)
            if (!strcmp(m->tensors[i].name, m->tensors[i - 1].name))
                rc = cv_fail(err, en, "tensor %.200s is in both %s and %s", m->tensors[i].name,
                          m->files[m->tensors[i - 1].file].path, m->files[m->tensors[i].file].path);
    }
    if (!rc && root) {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(root, "weight_map"), key, v) {
            const st_tensor *t = st_model_find(m, key);
            const char *fname = json_string_value(v);
            if (!t) {
                rc = cv_fail(err, en, "%s: tensor %.200s is in no shard (weight_map says %.200s)", index, key, fname);
                break;
            }
            if (strcmp(strrchr(m->files[t->file].path, '/') + 1, fname)) {
                rc = cv_fail(err, en, "%s: tensor %.200s is in %s, not in %.200s as weight_map says", index, key,
                          m->files[t->file].path, fname);
                break;
            }
        }
    }
    json_decref(root);
    free(index);
    if (rc)
        st_model_close(m);
    return rc;
}

void st_model_close(st_model *m)
{
    st_tensors_free(m->tensors, m->n_tensors);
    for (size_t i = 0; i < m->n_files; i++) {
        bn_mapfile_close(&m->files[i].map);
        free(m->files[i].path);
    }
    free(m->files);
    memset(m, 0, sizeof *m);
}

void st_tensor_release_range(const st_model *m, const st_tensor *t, uint64_t off, uint64_t len)
{
    const bn_mapfile *f = &m->files[t->file].map;
    if (!f->mapped || !len || off >= t->end - t->begin)
        return;
    if (len > t->end - t->begin - off)
        len = t->end - t->begin - off;
    cv_pages_release(t->data + off, len);
}

void st_tensor_release(const st_model *m, const st_tensor *t)
{
    st_tensor_release_range(m, t, 0, t->end - t->begin);
}
