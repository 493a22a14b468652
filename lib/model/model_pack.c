/* Kernel selection and weight repacking at load. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fp16.h"
#include "core/hugepages.h"
#include "core/platform.h"
#include "ops/ops.h"
#include "model/model_internal.h"
#include "runtime/parallel_for.h"

/* threads for the repacking and conversions at load */
#define LOAD_THREADS 4

/* BITNET_CPU_LEVEL caps the kernels for bug reports and tests: a level name
 * of this architecture ("scalar", "avx2", "avx512vnni", "amx"; "neon",
 * "dotprod", "i8mm") or a number 0 to 3. Anything else is an error rather
 * than "the best": a typo must not silently test the wrong kernels. */
static int env_level_cap(int *cap)
{
    *cap = -1;
    const char *e = getenv("BITNET_CPU_LEVEL");
    if (!e || !*e)
        return BN_OK;
    if (e[0] >= '0' && e[0] <= '3' && !e[1]) {
        *cap = e[0] - '0';
        return BN_OK;
    }
    for (int level = 0; level <= 3; level++)
        if (!strcmp(e, bn_cpu_level_name(level))) {
            *cap = level;
            return BN_OK;
        }
    return bn_fail(BN_E_INVALID_ARG, "BITNET_CPU_LEVEL '%.32s': expected 0 to 3 or one of %s, %s, %s, %s",
                   e, bn_cpu_level_name(0), bn_cpu_level_name(1), bn_cpu_level_name(2),
                   bn_cpu_level_name(3));
}

static void release_range(const bn_model *m, const void *data, uint64_t nbytes)
{
    bn_mapfile_drop(&m->file, data, nbytes);
}

static void release_pages(const bn_model *m, const bn_tensor *t)
{
    release_range(m, t->data, t->nbytes);
}

/* The output projection's conversion to Q8_0 or Q4_0, in pieces of rows. */
#define HEAD_PIECE_ROWS 1024
/* An F16 head is copied off the file's mapping from this size on: about
 * what the L2 TLB of a current core maps with 4 KB pages (2-3 thousand
 * entries); a smaller head gains nothing and the load would start threads
 * for it. */
#define HEAD_COPY_MIN_BYTES ((uint64_t)32 << 20)

typedef struct head_job {
    const bn_model *m;
    uint32_t type;              /* BN_TYPE_Q8_0 or BN_TYPE_Q4_0 */
    uint8_t *q;
    size_t row_bytes;           /* of the converted rows */
    _Atomic int failed;
} head_job;

static void convert_piece(void *arg, int64_t piece)
{
    head_job *j = arg;
    const bn_tensor *o = &j->m->output;
    const int64_t k = (int64_t)o->ne[0], rows = (int64_t)o->ne[1];
    const int64_t r0 = piece * HEAD_PIECE_ROWS, r1 = rows - r0 < HEAD_PIECE_ROWS ? rows : r0 + HEAD_PIECE_ROWS;
    const int direct = o->type == BN_TYPE_F16 && j->type == BN_TYPE_Q8_0;
    const uint64_t src_row_bytes = o->nbytes / o->ne[1];
    if (j->type == o->type) {
        /* a copy of F16 rows */
        memcpy(j->q + (size_t)r0 * j->row_bytes, (const uint8_t *)o->data + (uint64_t)r0 * src_row_bytes,
               (size_t)(r1 - r0) * j->row_bytes);
        release_range(j->m, (const uint8_t *)o->data + (uint64_t)r0 * src_row_bytes,
                      (uint64_t)(r1 - r0) * src_row_bytes);
        return;
    }
    float *row = NULL;
    if (!direct && !(row = malloc((size_t)k * sizeof *row))) {
        j->failed = 1;
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        uint8_t *dst = j->q + (size_t)r * j->row_bytes;
        if (direct) {
            j->m->kernels.q8_from_f16((const uint16_t *)o->data + r * k, k, dst);
            continue;
        }
        bn_op_embed_row(o->type, o->data, (uint64_t)r, (int)k, row);
        if (j->type == BN_TYPE_Q8_0)
            bn_q8_from_f32_ref(row, k, dst);
        else
            bn_q4_from_f32_ref(row, k, dst);
    }
    free(row);
    /* the float rows are let go as they are converted, so that the peak
     * resident memory does not hold both copies */
    release_range(j->m, (const uint8_t *)o->data + (uint64_t)r0 * src_row_bytes,
                  (uint64_t)(r1 - r0) * src_row_bytes);
}

/* Replaces the float output projection by a Q8_0 or Q4_0 copy (model params
 * output_q8, output_q4), converted on all cores: it is most of the load time.
 * An F16 projection in a mapped file is copied as it is: the file's pages
 * are mapped 4 KB at a time, and a decode reads the whole head once per
 * token, one TLB miss per 4 KB; the copy sits on huge pages like the packed
 * weights (doc/design.md, "Load"). */
static int convert_output(bn_model *m, uint32_t type)
{
    bn_tensor *o = &m->output;
    const char *what = type == BN_TYPE_Q8_0 ? "output_q8" : type == BN_TYPE_Q4_0 ? "output_q4" : "output";
    if (o->type == type && type != BN_TYPE_F16)
        return BN_OK;
    if (o->type != BN_TYPE_F16 && o->type != BN_TYPE_F32 && o->type != BN_TYPE_BF16)
        return bn_fail(BN_E_UNSUPPORTED, "%s: the output projection is %s, not a float type", what,
                       bn_type_name(o->type));
    const int64_t k = (int64_t)o->ne[0], rows = (int64_t)o->ne[1];
    if (k % 32)
        return bn_fail(BN_E_UNSUPPORTED, "%s: rows of %lld are not a multiple of 32", what, (long long)k);
    const size_t row_bytes = type == BN_TYPE_F16 ? (size_t)k * 2
                             : (size_t)(k / 32) * (type == BN_TYPE_Q8_0 ? sizeof(bn_block_q8_0) : sizeof(bn_block_q4_0));
    const size_t bytes = (size_t)rows * row_bytes;
    head_job job = { m, type, malloc(bytes), row_bytes, 0 };
    if (!job.q)
        return bn_fail(BN_E_NOMEM, "%s: cannot allocate %zu bytes", what, bytes);
    bn_advise_hugepages(job.q, bytes);
    bn_parallel_for((rows + HEAD_PIECE_ROWS - 1) / HEAD_PIECE_ROWS, LOAD_THREADS, convert_piece, &job);
    if (job.failed) {
        free(job.q);
        return bn_fail(BN_E_NOMEM, "%s: out of memory", what);
    }
    m->output_converted = job.q;
    o->type = type;
    o->data = job.q;
    o->nbytes = bytes;
    /* the float rows were let go; a tied embedding keeps reading them, by
     * pread so that they stay out of the resident set (model_embed.c) */
    m->embed_by_pread = m->tied_output && m->file.mapped;
    return BN_OK;
}

/* The ternary tensors to repack, in layer order, each with its slot and
 * the offset of its codes in m->pack_codes. */
typedef struct pack_job {
    bn_model *m;
    bn_tensor **tensors;
    size_t *offset;
    int *rc;
} pack_job;

static void pack_one(void *arg, int64_t i)
{
    pack_job *j = arg;
    bn_tensor *t = j->tensors[i];
    j->rc[i] = bn_tpack_make_in(&j->m->packs[i], (uint8_t *)j->m->pack_codes + j->offset[i], t->type, t->data,
                                (int64_t)t->ne[1], (int64_t)t->ne[0], t->scale, t->out_scale);
    if (j->rc[i] == BN_OK)
        release_pages(j->m, t);
}

/* the weight types with kernels of their own (f16gemm, q8gemm, q4gemm) */
static int is_fast_float(uint32_t type)
{
    return type == BN_TYPE_F16 || type == BN_TYPE_Q8_0 || type == BN_TYPE_Q4_0;
}

static int uses_fast_float(const bn_model *m)
{
    if (is_fast_float(m->output.type))
        return 1;
    for (int il = 0; il < m->hp.n_layer; il++) {
        const bn_layer *L = &m->layers[il];
        const bn_tensor *ts[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            if (is_fast_float(ts[i]->type))
                return 1;
    }
    return 0;
}

/* what a decode may use instead of the level's kernels (graph/kernel_pick.h) */
static void describe_alt(char *buf, size_t size, int mode, const char *alt)
{
    if (mode == BN_PICK_TIMED)
        snprintf(buf, size, " (decode: or %s, timed)", alt);
    else if (mode == BN_PICK_LOWER)
        snprintf(buf, size, " (decode: %s)", alt);
}

int bn_model_prepare_kernels(bn_model *m, const bn_model_params *p)
{
    int cap = p->cpu_level_cap;
    if (cap < 0) {
        int rc = env_level_cap(&cap);
        if (rc)
            return rc;
    }
    bn_kernels_init(&m->kernels, cap);
    m->pick_mode = bn_kernel_pick_mode_env();
    if (m->pick_mode < 0)
        return bn_fail(BN_E_INVALID_ARG, "BITNET_KERNEL_PICK '%.32s': expected timed, own or lower",
                       getenv("BITNET_KERNEL_PICK"));
    const size_t max_packs = (size_t)m->hp.n_layer * 7;
    m->packs = calloc(max_packs, sizeof *m->packs);
    bn_tensor **tensors = malloc(max_packs * sizeof *tensors);
    size_t *offset = malloc(max_packs * sizeof *offset);
    int *rcs = malloc(max_packs * sizeof *rcs);
    if (!m->packs || !tensors || !offset || !rcs) {
        free(tensors);
        free(offset);
        free(rcs);
        return bn_fail(BN_E_NOMEM, "out of memory");
    }
    int n = 0;
    size_t total = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        bn_layer *L = &m->layers[il];
        bn_tensor *ts[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down };
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            if (bn_type_is_ternary(ts[i]->type)) {
                offset[n] = total;
                total += bn_tpack_code_bytes((int64_t)ts[i]->ne[1], (int64_t)ts[i]->ne[0]);
                tensors[n++] = ts[i];
            }
    }
    /* All codes in one block on 2 MB boundaries, so that huge pages cover
     * nearly all of them: one per tensor would leave every tensor under
     * 2 MB (2B4T's Q, K, V and O) and the tails of the others on 4 KB pages,
     * 60 % of 2B4T's packed bytes. Only whole huge pages inside the codes
     * are advised (the rounding up is never touched). */
    const size_t huge = (size_t)2 << 20;
    if (total) {
        m->pack_codes = bn_aligned_alloc(huge, (total + huge - 1) / huge * huge);
        if (!m->pack_codes) {
            free(tensors);
            free(offset);
            free(rcs);
            return bn_fail(BN_E_NOMEM, "cannot allocate %zu bytes for packed weights", total);
        }
        bn_advise_hugepages(m->pack_codes, total);
    }
    /* every slot is freed with the model, made or not (bn_tpack_free of a
     * zeroed pack does nothing) */
    m->n_packs = n;
    pack_job job = { m, tensors, offset, rcs };
    bn_parallel_for(n, LOAD_THREADS, pack_one, &job);
    int rc = BN_OK;
    for (int i = 0; i < n && !rc; i++) {
        /* the pack's own message was recorded on the thread that made it
         * (messages are per thread), and its size cleared with the pack */
        if (rcs[i])
            rc = bn_fail(rcs[i], "tensor '%s': out of memory while packing its weights", tensors[i]->name);
        else
            tensors[i]->pack = &m->packs[i];
    }
    free(tensors);
    free(offset);
    free(rcs);
    if (!rc && p->output_q8)
        rc = convert_output(m, BN_TYPE_Q8_0);
    else if (!rc && p->output_q4)
        rc = convert_output(m, BN_TYPE_Q4_0);
    else if (!rc && m->output.type == BN_TYPE_F16 && m->file.mapped && m->output.nbytes >= HEAD_COPY_MIN_BYTES)
        rc = convert_output(m, BN_TYPE_F16);
    if (rc)
        return rc;
    const int fast_output = is_fast_float(m->output.type);
    m->pick_has_alt[BN_PICK_TERNARY] = m->kernels.tgemm_alt && m->n_packs > 0;
    m->pick_has_alt[BN_PICK_FLOAT] = m->kernels.f16gemm_alt && uses_fast_float(m);
    char tern_alt[48] = "", float_alt[48] = "";
    if (m->pick_has_alt[BN_PICK_TERNARY])
        describe_alt(tern_alt, sizeof tern_alt, m->pick_mode, m->kernels.tgemm_alt_name);
    if (m->pick_has_alt[BN_PICK_FLOAT])
        describe_alt(float_alt, sizeof float_alt, m->pick_mode, m->kernels.float_alt_name);
    snprintf(m->kernel_desc, sizeof m->kernel_desc, "ternary %s%s, output %s %s%s, quant %s", m->kernels.name,
             tern_alt, bn_type_name(m->output.type), fast_output ? m->kernels.float_name : "scalar",
             fast_output ? float_alt : "", m->kernels.float_name);
    return BN_OK;
}
