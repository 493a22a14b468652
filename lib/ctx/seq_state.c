/* Saved sequence state. Layout (little-endian, as the host writes it; the
 * library only runs on little-endian CPUs):
 *
 *   0   8  magic "BNSTATE\0"
 *   8   4  format version (1)
 *   12  4  KV type (enum bn_kv_type)
 *   16  8  model fingerprint (below)
 *   24  4  n_layer      28  4  n_kv_dim
 *   32  4  n_vocab      36  4  n_pos (tokens in the sequence)
 *   40  4  has_logits   44  4  zero
 *   48     K then V rows of each layer: n_pos rows of n_kv_dim elements
 *          (F16 or F32, as the cache holds them)
 *          then n_vocab float logits when has_logits
 *   end-8  8  checksum of every byte before it (core/checksum.h)
 *
 * The fingerprint ties a state to its model: the hyper-parameters and, for
 * every weight, its type, shape and its first and last 64 bytes. */
#include "ctx/seq_state.h"

#include <string.h>

#include "core/checked.h"
#include "core/checksum.h"
#include "core/error.h"

#define HEADER 48
#define VERSION 1
static const char magic[8] = "BNSTATE";

static uint64_t fold_tensor(uint64_t h, const bn_tensor *t)
{
    uint64_t desc[4] = { t->type, t->ne[0], t->ne[1], t->nbytes };
    h = bn_checksum64(h, desc, sizeof desc);
    if (!t->data || t->nbytes == 0)
        return h;
    const size_t n = t->nbytes < 64 ? (size_t)t->nbytes : 64;
    h = bn_checksum64(h, t->data, n);
    return bn_checksum64(h, (const uint8_t *)t->data + t->nbytes - n, n);
}

static uint64_t fingerprint(const bn_model *m)
{
    const bn_hparams *hp = &m->hp;
    int32_t shape[8] = { hp->n_vocab, hp->n_embd, hp->n_layer, hp->n_head, hp->n_head_kv, hp->n_ff,
                         hp->head_dim, (int32_t)hp->act };
    uint64_t h = bn_checksum64(0x6269746E6574ull, shape, sizeof shape);
    h = fold_tensor(h, &m->tok_embd);
    h = fold_tensor(h, &m->output_norm);
    h = fold_tensor(h, &m->output);
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const bn_layer *L = &m->layers[l];
        const bn_tensor *ts[] = { &L->attn_norm, &L->wq, &L->wk, &L->wv, &L->attn_sub_norm, &L->wo,
                                  &L->ffn_norm, &L->w_gate, &L->w_up, &L->ffn_sub_norm, &L->w_down };
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
            h = fold_tensor(h, ts[i]);
    }
    return h;
}

static size_t kv_bytes(const bn_kv_cache *kv, int32_t n_pos)
{
    size_t n;
    if (!bn_mul_size((size_t)n_pos, bn_kv_pos_bytes(kv), &n))
        return SIZE_MAX;
    return n;
}

static size_t total(const bn_ctx *c, int32_t n_pos, int has_logits)
{
    size_t n = kv_bytes(&c->kv, n_pos), logits = has_logits ? (size_t)c->model->hp.n_vocab * 4 : 0;
    if (n == SIZE_MAX || n > SIZE_MAX - HEADER - 8 - logits)
        return 0;
    return HEADER + n + logits + 8;
}

size_t bn_seq_state_size(const bn_ctx *c, int32_t seq)
{
    return total(c, c->seq_len[seq], c->seq_row[seq] >= 0);
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

void bn_seq_state_write(const bn_ctx *c, int32_t seq, uint8_t *buf)
{
    const bn_kv_cache *kv = &c->kv;
    const int32_t n_pos = c->seq_len[seq], row = c->seq_row[seq];
    const uint64_t fp = fingerprint(c->model);
    memcpy(buf, magic, 8);
    put32(buf + 8, VERSION);
    put32(buf + 12, (uint32_t)kv->type);
    memcpy(buf + 16, &fp, 8);
    put32(buf + 24, (uint32_t)kv->n_layer);
    put32(buf + 28, (uint32_t)kv->n_kv_dim);
    put32(buf + 32, (uint32_t)c->model->hp.n_vocab);
    put32(buf + 36, (uint32_t)n_pos);
    put32(buf + 40, row >= 0);
    put32(buf + 44, 0);
    uint8_t *p = buf + HEADER;
    const size_t plane = (size_t)n_pos * (size_t)kv->n_kv_dim * kv->elem_size;
    for (int32_t l = 0; l < kv->n_layer; l++)
        for (int which = 0; which < 2; which++, p += plane)
            memcpy(p, bn_kv_row(kv, seq, l, which, 0), plane);
    if (row >= 0) {
        const size_t n = (size_t)c->model->hp.n_vocab * 4;
        memcpy(p, c->buf[BN_BUF_LOGITS] + (size_t)row * c->width[BN_BUF_LOGITS], n);
        p += n;
    }
    const uint64_t sum = bn_checksum64(0, buf, (size_t)(p - buf));
    memcpy(p, &sum, 8);
}

/* A LOGITS row no other sequence's logits live in (there are at least
 * n_seq_max rows, so one is always free). */
static int32_t free_row(const bn_ctx *c, int32_t seq)
{
    for (int32_t r = 0; r < c->n_rows; r++) {
        int used = 0;
        for (int32_t s = 0; s < c->n_seq_max && !used; s++)
            used = s != seq && c->seq_row[s] == r;
        if (!used)
            return r;
    }
    return -1;
}

int bn_seq_state_read(bn_ctx *c, int32_t seq, const uint8_t *d, size_t size)
{
    const bn_kv_cache *kv = &c->kv;
    if (size < HEADER + 8 || memcmp(d, magic, 8))
        return bn_fail(BN_E_FORMAT, "saved state: not a libbitnet sequence state (%zu bytes)", size);
    if (get32(d + 8) != VERSION)
        return bn_fail(BN_E_FORMAT, "saved state: format version %u; this library reads version %d",
                       get32(d + 8), VERSION);
    const uint32_t n_pos = get32(d + 36), has_logits = get32(d + 40);
    if (has_logits > 1 || get32(d + 44) != 0 || n_pos > (uint32_t)INT32_MAX)
        return bn_fail(BN_E_FORMAT, "saved state: corrupted header");
    /* sizes as the header's own shape gives them, before any comparison with ours */
    const uint32_t n_layer = get32(d + 24), n_kv_dim = get32(d + 28), n_vocab = get32(d + 32),
                   type = get32(d + 12);
    uint64_t want = (type == BN_KV_F32 ? 4u : 2u);
    if (type > BN_KV_F32 || !bn_mul_u64(want, (uint64_t)n_layer * 2, &want)
        || !bn_mul_u64(want, n_kv_dim, &want) || !bn_mul_u64(want, n_pos, &want)
        || want > UINT64_MAX - HEADER - 8 - 4ull * n_vocab)
        return bn_fail(BN_E_FORMAT, "saved state: corrupted header");
    want += HEADER + 8 + (has_logits ? 4ull * n_vocab : 0);
    if (size != want)
        return bn_fail(BN_E_FORMAT, "saved state: %zu bytes, its header says %llu (truncated or corrupted)",
                       size, (unsigned long long)want);
    uint64_t sum;
    memcpy(&sum, d + size - 8, 8);
    if (sum != bn_checksum64(0, d, size - 8))
        return bn_fail(BN_E_FORMAT, "saved state: checksum mismatch (corrupted)");
    uint64_t fp;
    memcpy(&fp, d + 16, 8);
    if (fp != fingerprint(c->model) || n_layer != (uint32_t)kv->n_layer || n_kv_dim != (uint32_t)kv->n_kv_dim
        || n_vocab != (uint32_t)c->model->hp.n_vocab)
        return bn_fail(BN_E_MODEL, "saved state: saved from another model");
    if (type != (uint32_t)kv->type)
        return bn_fail(BN_E_MODEL, "saved state: KV cache type %s, this context's is %s",
                       type == BN_KV_F32 ? "F32" : "F16", kv->type == BN_KV_F32 ? "F32" : "F16");
    if (n_pos > (uint32_t)c->n_ctx)
        return bn_fail(BN_E_CTX_FULL, "saved state: %u tokens, this context holds %d per sequence", n_pos,
                       c->n_ctx);
    const uint8_t *p = d + HEADER;
    const size_t plane = (size_t)n_pos * (size_t)kv->n_kv_dim * kv->elem_size;
    for (int32_t l = 0; l < kv->n_layer; l++)
        for (int which = 0; which < 2; which++, p += plane)
            memcpy(bn_kv_row(kv, seq, l, which, 0), p, plane);
    c->seq_len[seq] = (int32_t)n_pos;
    c->last_batch = 0;
    c->seq_row[seq] = -1;
    if (has_logits) {
        const int32_t row = free_row(c, seq);
        memcpy(c->buf[BN_BUF_LOGITS] + (size_t)row * c->width[BN_BUF_LOGITS], p, (size_t)n_vocab * 4);
        c->seq_row[seq] = row;
    }
    return BN_OK;
}
