/*
 * Fuzz target for the GGUF reader and the model loader.
 *
 * Invariant: whatever the bytes, bn_gguf_parse() and
 * bn_model_load_from_memory() (weights checked) return BN_OK or a negative
 * status with a message, never crash, never read outside the input, never
 * leak; on success every accessor works on what was parsed.
 *
 * Built against libFuzzer with -Dfuzzing_engine=libfuzzer, otherwise linked
 * with replay_main.c, which runs the seed corpus as an ordinary test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/bitnet.h"
#include "core/error.h"
#include "gguf/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A violated invariant: crash loudly so that the engine records the input. */
static void check_status(int rc)
{
    if (rc > 0 || (rc < 0 && bn_last_error()[0] == 0))
        abort();
}

/* A file string as a C string, when it is one (no NUL inside, not too long). */
static int as_cstr(bn_gguf_str s, char *buf, size_t n)
{
    if (s.len >= n || memchr(s.ptr, 0, (size_t)s.len))
        return 0;
    memcpy(buf, s.ptr, (size_t)s.len);
    buf[s.len] = 0;
    return 1;
}

static void exercise_value(const bn_gguf_value *v)
{
    char text[32];
    int n = bn_gguf_value_to_text(v, text, sizeof text);
    if (n < 0 && n != BN_E_RANGE)
        abort();
    if (v->type != BN_GGUF_ARRAY)
        return;
    if (v->v.arr.elem_type == BN_GGUF_STRING) {
        bn_gguf_str_iter it;
        bn_gguf_str s;
        uint64_t k = 0;
        bn_gguf_str_iter_init(&it, v);
        while (bn_gguf_str_iter_next(&it, &s))
            k++;
        if (k != v->v.arr.count)
            abort();
        return;
    }
    volatile double sink = 0;
    for (uint64_t i = 0; i < v->v.arr.count && i < 256; i++)
        sink += bn_gguf_arr_f64(v, i) + (double)bn_gguf_arr_i64(v, i);
    (void)sink;
}

static void exercise_gguf(const bn_gguf *g, const uint8_t *data, size_t size)
{
    char name[BN_GGUF_MAX_NAME_LEN + 1];
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const bn_gguf_kv *kv = &g->kv[i];
        exercise_value(&kv->value);
        if (!as_cstr(kv->key, name, sizeof name))
            continue;
        if (bn_gguf_find_kv(g, name) != kv)
            abort();
        uint32_t u;
        float f;
        int b;
        bn_gguf_str s;
        check_status(bn_gguf_get_u32(g, name, &u));
        check_status(bn_gguf_get_f32(g, name, &f));
        check_status(bn_gguf_get_bool(g, name, &b));
        check_status(bn_gguf_get_str(g, name, &s));
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const bn_gguf_tensor *t = &g->tensors[i];
        if (t->data < data || t->nbytes > size || (size_t)(t->data - data) > size - t->nbytes)
            abort();
        if (as_cstr(t->name, name, sizeof name) && bn_gguf_find_tensor(g, name) != t)
            abort();
    }
}

static void exercise_model(const bn_model *m)
{
    char key[256], text[64];
    int32_t n = bn_model_meta_count(m);
    for (int32_t i = 0; i < n; i++) {
        int32_t len = bn_model_meta_key_by_index(m, i, key, sizeof key);
        if (len < 0)
            abort();
        if ((size_t)len < sizeof key && strlen(key) == (size_t)len
            && bn_model_meta_string(m, key, text, sizeof text) < 0)
            abort();
    }
    volatile uint64_t sink = (uint64_t)bn_model_n_vocab(m) + (uint64_t)bn_model_n_params(m)
                             + bn_model_weight_bytes(m) + strlen(bn_model_arch_name(m))
                             + strlen(bn_model_name(m)) + strlen(bn_model_weight_type_name(m));
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bn_gguf g;
    bn_fail(BN_OK, "%s", "");
    int rc = bn_gguf_parse(&g, data, size);
    check_status(rc);
    if (rc == BN_OK) {
        exercise_gguf(&g, data, size);
        bn_gguf_release(&g);
    }

    bn_model_params p;
    bn_model_params_default(&p);
    p.check_weights = 1;
    bn_model *m = NULL;
    bn_fail(BN_OK, "%s", "");
    rc = bn_model_load_from_memory(&m, data, size, &p);
    check_status(rc);
    if ((rc == BN_OK) != (m != NULL))
        abort();
    if (m)
        exercise_model(m);
    bn_model_free(&m);
    return 0;
}
