/* Token embedding lookup. Normally a row is read through the file mapping;
 * when the load let the embedding's pages go (a tied embedding whose output
 * copy was converted to Q8_0), the row is copied with pread instead: the
 * kernel may map a whole large page-cache folio (megabytes) on one fault,
 * so lookups through the mapping would slowly bring the F16 table back
 * into the resident set. */
#include "model/model_internal.h"
#include "ops/ops.h"

size_t bn_model_embed_row_bytes(const bn_model *m)
{
    return (size_t)(m->tok_embd.nbytes / m->tok_embd.ne[1]);
}

void bn_model_embed_row(const bn_model *m, uint64_t token, float *out, void *scratch)
{
    const bn_tensor *e = &m->tok_embd;
    const size_t row_bytes = bn_model_embed_row_bytes(m);
    if (m->embed_by_pread && scratch) {
        const uint64_t offset = (uint64_t)((const uint8_t *)e->data - m->file.data) + token * row_bytes;
        if (bn_mapfile_pread(&m->file, scratch, row_bytes, offset)) {
            bn_op_embed_row(e->type, scratch, 0, m->hp.n_embd, out);
            return;
        }
        /* an I/O error: the mapping still holds the same bytes */
    }
    bn_op_embed_row(e->type, e->data, token, m->hp.n_embd, out);
}
