#include "cv_gguf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "cv_progress.h"

const char cv_chat_template_2b4t[] =
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{{ message['role'] | capitalize }}: {{ message['content'] | trim }}<|eot_id|>"
    "{% endfor %}{% if add_generation_prompt %}Assistant: {% endif %}";

int cv_gguf_open(bn_mapfile *m, bn_gguf *g, const char *path)
{
    memset(g, 0, sizeof *g);
    if (bn_mapfile_open(m, path, 1)) {
        fprintf(stderr, "%s\n", bn_last_error());
        return -1;
    }
    if (bn_gguf_parse(g, m->data, m->size)) {
        fprintf(stderr, "%s: %s\n", path, bn_last_error());
        bn_mapfile_close(m);
        return -1;
    }
    return 0;
}

void cv_gguf_close(bn_mapfile *m, bn_gguf *g)
{
    bn_gguf_release(g);
    bn_mapfile_close(m);
}

int cv_gguf_write_file(bn_gguf_writer *w, const char *path, bn_gguf_emit_fn emit, void *user, const char *prog)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    int rc = bn_gguf_writer_write(w, f, emit, user);
    cv_progress_end();
    int crc = fclose(f);
    if (!rc && !crc)
        return 0;
    fprintf(stderr, "%s: %s not written%s%s\n", prog, path, rc && *bn_last_error() ? ": " : "",
            rc ? bn_last_error() : ": close failed");
    remove(path);
    return -1;
}

int cv_gguf_copy_value(bn_gguf_writer *w, const char *key, const bn_gguf_value *v)
{
    switch (v->type) {
    case BN_GGUF_U8: case BN_GGUF_U16: case BN_GGUF_U32: case BN_GGUF_U64:
        return bn_gguf_writer_add_uint(w, key, v->type, v->v.u64);
    case BN_GGUF_I8: case BN_GGUF_I16: case BN_GGUF_I32: case BN_GGUF_I64:
        return bn_gguf_writer_add_int(w, key, v->type, v->v.i64);
    case BN_GGUF_F32: case BN_GGUF_F64:
        return bn_gguf_writer_add_float(w, key, v->type, v->v.f64);
    case BN_GGUF_BOOL:
        return bn_gguf_writer_add_bool(w, key, (int)v->v.u64);
    case BN_GGUF_STRING:
        return bn_gguf_writer_add_str(w, key, v->v.str.ptr, (size_t)v->v.str.len);
    case BN_GGUF_ARRAY:
        break;
    default:
        return bn_fail(BN_E_FORMAT, "key %s: unknown value type %u", key, v->type);
    }
    if (v->v.arr.elem_type != BN_GGUF_STRING)
        return bn_gguf_writer_add_array(w, key, v->v.arr.elem_type, v->v.arr.data, v->v.arr.count);
    uint64_t n = v->v.arr.count;
    const char **s = malloc((n ? n : 1) * sizeof *s);
    size_t *len = malloc((n ? n : 1) * sizeof *len);
    if (!s || !len) {
        free(s);
        free(len);
        return bn_fail(BN_E_NOMEM, "key %s: out of memory", key);
    }
    bn_gguf_str_iter it;
    bn_gguf_str str;
    bn_gguf_str_iter_init(&it, v);
    for (uint64_t i = 0; i < n && bn_gguf_str_iter_next(&it, &str); i++) {
        s[i] = str.ptr;
        len[i] = (size_t)str.len;
    }
    int rc = bn_gguf_writer_add_str_array(w, key, s, len, n);
    free(s);
    free(len);
    return rc;
}

uint32_t cv_file_type(uint32_t type)
{
    switch (type) {
    case BN_TYPE_TQ1_0: return 36;
    case BN_TYPE_TQ2_0: return 37;
    case BN_TYPE_I2_S: return BN_FILE_TYPE_MOSTLY_I2_S;
    case BN_TYPE_F16: return 1;
    default: return 0;
    }
}

int cv_parse_ternary_type(const char *s, uint32_t *type)
{
    if (!strcmp(s, "i2_s"))
        *type = BN_TYPE_I2_S;
    else if (!strcmp(s, "tq2_0"))
        *type = BN_TYPE_TQ2_0;
    else if (!strcmp(s, "tq1_0"))
        *type = BN_TYPE_TQ1_0;
    else
        return -1;
    return 0;
}

int cv_parse_float_type(const char *s, uint32_t *type)
{
    if (!strcmp(s, "f16"))
        *type = BN_TYPE_F16;
    else if (!strcmp(s, "q8_0"))
        *type = BN_TYPE_Q8_0;
    else if (!strcmp(s, "q4_0"))
        *type = BN_TYPE_Q4_0;
    else if (!strcmp(s, "f32"))
        *type = BN_TYPE_F32;
    else
        return -1;
    return 0;
}

int cv_is_linear_weight(const char *name)
{
    static const char *const lin[] = { "attn_q", "attn_k", "attn_v", "attn_output",
                                       "ffn_gate", "ffn_up", "ffn_down" };
    if (strncmp(name, "blk.", 4))
        return 0;
    const char *p = name + 4;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '.')
        return 0;
    for (size_t i = 0; i < sizeof lin / sizeof *lin; i++) {
        size_t l = strlen(lin[i]);
        if (!strncmp(p, lin[i], l) && !strcmp(p + l, ".weight"))
            return 1;
    }
    return 0;
}
