/* Hyper-parameters from the `<arch>.*` metadata keys, each range-checked. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/model_internal.h"

/* Generous caps: far above any model we run, low enough that products of
 * them cannot overflow 64-bit sizes. */
#define MAX_EMBD   (1 << 18)
#define MAX_LAYER  4096
#define MAX_FF     (1 << 20)
#define MAX_VOCAB  (1 << 22)
#define MAX_HEADS  4096
#define MAX_CTX    (1 << 24)

static int get_dim(const bn_gguf *g, const char *arch, const char *suffix, int required,
                   uint32_t max, int32_t *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v = 0;
    int rc = bn_gguf_get_u32(g, key, &v);
    if (rc == BN_E_NOT_FOUND) {
        if (required)
            return bn_fail(BN_E_MODEL, "missing metadata '%s'", key);
        return BN_OK;
    }
    if (rc)
        return rc;
    if (v == 0 || v > max)
        return bn_fail(BN_E_MODEL, "metadata '%s' = %u: expected 1 to %u", key, v, max);
    *out = (int32_t)v;
    return BN_OK;
}

static int get_positive_float(const bn_gguf *g, const char *arch, const char *suffix, float *out)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    float v;
    int rc = bn_gguf_get_f32(g, key, &v);
    if (rc == BN_E_NOT_FOUND)
        return BN_OK;       /* keep the default */
    if (rc)
        return rc;
    if (!(v > 0.0f) || !isfinite(v))
        return bn_fail(BN_E_MODEL, "metadata '%s' = %g: expected a positive number", key, (double)v);
    *out = v;
    return BN_OK;
}

static int read_activation(const bn_gguf *g, const char *arch, bn_hparams *hp)
{
    char key[128];
    snprintf(key, sizeof key, "%s.hidden_activation", arch);
    bn_gguf_str s;
    int rc = bn_gguf_get_str(g, key, &s);
    if (rc == BN_E_NOT_FOUND)
        return BN_OK;
    if (rc)
        return rc;
    if (bn_gguf_str_eq(s, "relu2")) {
        hp->act = BN_ACT_RELU2;
        return BN_OK;
    }
    char shown[40];
    snprintf(shown, sizeof shown, "%.*s", (int)(s.len < 32 ? s.len : 32), s.ptr);
    return bn_fail(BN_E_UNSUPPORTED, "metadata '%s' = '%s': only \"relu2\" is supported (absent "
                   "means the architecture's default, %s)", key, shown, bn_ffn_act_name(hp->act));
}

int bn_model_read_hparams(bn_model *m)
{
    const bn_gguf *g = &m->gguf;
    const char *a = m->arch_name;
    bn_hparams *hp = &m->hp;
    memset(hp, 0, sizeof *hp);
    hp->act = m->arch->default_act;
    hp->rope = m->arch->rope;
    hp->rope_theta = m->arch->default_rope_theta;
    hp->rms_eps = 1e-5f;
    int rc;
    if ((rc = get_dim(g, a, "embedding_length", 1, MAX_EMBD, &hp->n_embd))
        || (rc = get_dim(g, a, "block_count", 1, MAX_LAYER, &hp->n_layer))
        || (rc = get_dim(g, a, "feed_forward_length", 1, MAX_FF, &hp->n_ff))
        || (rc = get_dim(g, a, "attention.head_count", 1, MAX_HEADS, &hp->n_head))
        || (rc = get_dim(g, a, "context_length", 1, MAX_CTX, &hp->n_ctx_train))
        || (rc = get_positive_float(g, a, "rope.freq_base", &hp->rope_theta))
        || (rc = get_positive_float(g, a, "attention.layer_norm_rms_epsilon", &hp->rms_eps))
        || (rc = read_activation(g, a, hp)))
        return rc;
    hp->n_head_kv = hp->n_head;
    if ((rc = get_dim(g, a, "attention.head_count_kv", 0, MAX_HEADS, &hp->n_head_kv)))
        return rc;
    if (hp->n_embd % hp->n_head)
        return bn_fail(BN_E_MODEL, "embedding_length %d is not a multiple of head_count %d",
                       hp->n_embd, hp->n_head);
    if (hp->n_head % hp->n_head_kv)
        return bn_fail(BN_E_MODEL, "head_count %d is not a multiple of head_count_kv %d",
                       hp->n_head, hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    if (hp->head_dim % 2)
        return bn_fail(BN_E_MODEL, "head dimension %d is odd: rope needs pairs", hp->head_dim);
    hp->n_rot = hp->head_dim;
    if ((rc = get_dim(g, a, "rope.dimension_count", 0, MAX_EMBD, &hp->n_rot)))
        return rc;
    if (hp->n_rot != hp->head_dim)
        return bn_fail(BN_E_UNSUPPORTED, "rope.dimension_count %d differs from the head dimension "
                       "%d: partial rotary embeddings are not supported", hp->n_rot, hp->head_dim);
    /* n_vocab: from the embedding's shape (bound later); the key is checked then */
    return BN_OK;
}
