/* From a parsed GGUF to a usable model: architecture, hyper-parameters,
 * tensors, optional weight scan. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model_internal.h"
#include "tokenizer/vocab.h"

static char *dup_str(bn_gguf_str s)
{
    char *p = malloc((size_t)s.len + 1);
    if (p) {
        memcpy(p, s.ptr, (size_t)s.len);
        p[s.len] = 0;
    }
    return p;
}

static int read_arch(bn_model *m)
{
    bn_gguf_str s;
    int rc = bn_gguf_get_str(&m->gguf, "general.architecture", &s);
    if (rc == BN_E_NOT_FOUND)
        return bn_fail(BN_E_MODEL, "missing metadata 'general.architecture'");
    if (rc)
        return rc;
    if (s.len == 0 || s.len > 64 || memchr(s.ptr, 0, (size_t)s.len))
        return bn_fail(BN_E_MODEL, "general.architecture is not a valid name");
    if (!(m->arch_name = dup_str(s)))
        return bn_fail(BN_E_NOMEM, "out of memory");
    m->arch = bn_arch_find(s.ptr, (unsigned long)s.len);
    if (!m->arch)
        return bn_fail(BN_E_UNSUPPORTED, "architecture '%s' is not supported (supported: %s)",
                       m->arch_name, bn_arch_list());
    if (bn_gguf_get_str(&m->gguf, "general.name", &s) == BN_OK && !memchr(s.ptr, 0, (size_t)s.len))
        m->name = dup_str(s);
    else
        m->name = calloc(1, 1);
    if (!m->name)
        return bn_fail(BN_E_NOMEM, "out of memory");
    return BN_OK;
}

int bn_model_bind(bn_model *m, const bn_model_params *p)
{
    int rc;
    if ((rc = read_arch(m)) || (rc = bn_model_read_hparams(m)) || (rc = bn_model_bind_tensors(m)))
        return rc;
    if ((rc = bn_vocab_load(&m->vocab, &m->gguf, m->hp.n_vocab)))
        return rc;
    if (p->progress && p->progress(0.5f, p->progress_user_data))
        return bn_fail(BN_E_CANCELLED, "model load cancelled by the progress callback");
    if (p->check_weights && (rc = bn_model_check_weights(m, p)))
        return rc;
    if ((rc = bn_model_prepare_kernels(m, p)))
        return rc;
    if (p->progress && p->progress(1.0f, p->progress_user_data))
        return bn_fail(BN_E_CANCELLED, "model load cancelled by the progress callback");
    return BN_OK;
}

void bn_model_destroy(bn_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_packs; i++)
        bn_tpack_free(&m->packs[i]);
    free(m->packs);
    free(m->pack_codes);
    free(m->output_converted);
    bn_gguf_release(&m->gguf);
    bn_mapfile_close(&m->file);
    free(m->layers);
    free(m->tensor_names);
    free(m->arch_name);
    free(m->name);
    bn_vocab_free(m->vocab);
    free(m);
}
