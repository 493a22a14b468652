/* Kernel selection and weight repacking at load. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fp16.h"
#include "ops/ops.h"
#include "model/model_internal.h"

/* BITNET_CPU_LEVEL caps the kernels for bug reports and tests: a level name
 * ("scalar", "avx2", "avx512vnni", "amx", "neon", "dotprod", "i8mm") or number. */
static int env_level_cap(void)
{
    const char *e = getenv("BITNET_CPU_LEVEL");
    if (!e || !*e)
        return -1;
    if (isdigit((unsigned char)e[0]))
        return atoi(e);
    for (int level = 0; level <= 3; level++)
        if (!strcmp(e, bn_cpu_level_name(level)))
            return level;
    return -1;
}

/* Drops the file pages of [data, data + nbytes) from memory: with mmap they
 * are re-read from the page cache only if touched again. */
static void release_range(const bn_model *m, const void *data, uint64_t nbytes)
{
    if (!m->file.mapped)
        return;
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t b = (uintptr_t)data, e = b + nbytes;
    b = (b + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);   /* whole pages inside the tensor only */
    e &= ~((uintptr_t)page - 1);
    if (e > b)
        madvise((void *)b, e - b, MADV_DONTNEED);
}

static void release_pages(const bn_model *m, const bn_tensor *t)
{
    release_range(m, t->data, t->nbytes);
}

/* roundf (half away from zero) for |v| < 2^23, without the libm call: the
 * difference v - trunc(v) is exact. */
static inline int round_away(float v)
{
    int i = (int)v;
    float frac = v - (float)i;
    return i + (frac >= 0.5f) - (frac <= -0.5f);
}

/* Q8_0 of one row as llama.cpp quantises it: d = max|w| / 127 per block of
 * 32, q = round(w / d). */
static void quantize_row_q8_0(const float *x, int64_t k, bn_block_q8_0 *out)
{
    for (int64_t b = 0; b < k / 32; b++) {
        float amax = 0.0f;
        for (int i = 0; i < 32; i++) {
            float a = fabsf(x[32 * b + i]);
            amax = a > amax ? a : amax;     /* maxss: no branch */
        }
        const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = bn_f16_from_f32(d);
        memcpy(&out[b].d, &dh, 2);
        for (int i = 0; i < 32; i++)
            out[b].qs[i] = (int8_t)round_away(x[32 * b + i] * id);
    }
}

/* Replaces the float output projection by a Q8_0 copy (model params output_q8). */
static int convert_output_q8(bn_model *m)
{
    bn_tensor *o = &m->output;
    if (o->type == BN_TYPE_Q8_0)
        return BN_OK;
    const int64_t k = (int64_t)o->ne[0], rows = (int64_t)o->ne[1];
    if (k % 32)
        return bn_fail(BN_E_UNSUPPORTED, "output_q8: rows of %lld are not a multiple of 32", (long long)k);
    const size_t bytes = (size_t)(rows * (k / 32)) * sizeof(bn_block_q8_0);
    bn_block_q8_0 *q = malloc(bytes);
    float *row = malloc((size_t)k * sizeof *row);
    if (!q || !row) {
        free(q);
        free(row);
        return bn_fail(BN_E_NOMEM, "output_q8: cannot allocate %zu bytes", bytes);
    }
    /* the float rows are let go as they are converted, so that the peak
     * resident memory does not hold both copies */
    const uint64_t row_bytes = o->nbytes / (uint64_t)rows;
    const int64_t rows_per_release = row_bytes ? (int64_t)((16u << 20) / row_bytes) + 1 : rows;
    for (int64_t r = 0; r < rows; r++) {
        bn_op_embed_row(o->type, o->data, (uint64_t)r, (int)k, row);
        quantize_row_q8_0(row, k, q + r * (k / 32));
        if ((r + 1) % rows_per_release == 0 || r + 1 == rows) {
            int64_t first = (r / rows_per_release) * rows_per_release;
            release_range(m, (const uint8_t *)o->data + (uint64_t)first * row_bytes,
                          (uint64_t)(r + 1 - first) * row_bytes);
        }
    }
    free(row);
    m->output_q8 = q;
    o->type = BN_TYPE_Q8_0;
    o->data = q;
    o->nbytes = bytes;
    return BN_OK;
}

int bn_model_prepare_kernels(bn_model *m, const bn_model_params *p)
{
    int cap = p->cpu_level_cap >= 0 ? p->cpu_level_cap : env_level_cap();
    bn_kernels_init(&m->kernels, cap);
    m->packs = calloc((size_t)m->hp.n_layer * 7, sizeof *m->packs);
    if (!m->packs)
        return bn_fail(BN_E_NOMEM, "out of memory");
    for (int il = 0; il < m->hp.n_layer; il++) {
        bn_layer *L = &m->layers[il];
        bn_tensor *ts[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            bn_tensor *t = ts[i];
            if (!bn_type_is_ternary(t->type))
                continue;
            bn_tpack *pk = &m->packs[m->n_packs];
            int rc = bn_tpack_make(pk, t->type, t->data, (int64_t)t->ne[1], (int64_t)t->ne[0], t->scale,
                                   t->out_scale);
            if (rc)
                return bn_fail_prefix(rc, t->name);
            m->n_packs++;
            t->pack = pk;
            release_pages(m, t);
        }
    }
    if (p->output_q8) {
        int rc = convert_output_q8(m);
        if (rc)
            return rc;
    }
    const int fast_output = m->output.type == BN_TYPE_F16 || m->output.type == BN_TYPE_Q8_0;
    snprintf(m->kernel_desc, sizeof m->kernel_desc, "ternary %s, output %s %s, quant %s",
             m->kernels.name, bn_type_name(m->output.type), fast_output ? m->kernels.float_name : "scalar",
             m->kernels.float_name);
    return BN_OK;
}
