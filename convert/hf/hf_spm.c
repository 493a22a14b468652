/* tokenizer.model (SentencePiece ModelProto) through protobuf-c, with the
 * schema of the fields we read in sentencepiece.proto. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hf_vocab.h"
#include "sentencepiece.pb-c.h"
#include "cv_error.h"

int hf_vocab_from_spm(hf_vocab *v, const uint8_t *data, size_t len, const char *path, char *err, size_t en)
{
    BnSpm__ModelProto *mp = bn_spm__model_proto__unpack(NULL, len, data);
    if (!mp)
        return cv_fail(err, en, "%s: not a SentencePiece model (protobuf does not parse)", path);
    int rc = -1;
    const BnSpm__TrainerSpec *ts = mp->trainer_spec;
    if (ts && ts->has_model_type && ts->model_type != BN_SPM__TRAINER_SPEC__MODEL_TYPE__BPE &&
        ts->model_type != BN_SPM__TRAINER_SPEC__MODEL_TYPE__UNIGRAM) {
        cv_fail(err, en, "%s: SentencePiece model type %d is not supported (BPE, unigram)", path, ts->model_type);
        goto out;
    }
    if (mp->n_pieces == 0 || mp->n_pieces > (1u << 24)) {
        cv_fail(err, en, "%s: %zu pieces", path, mp->n_pieces);
        goto out;
    }
    v->model = "llama";
    v->n_tokens = mp->n_pieces;
    v->tokens = calloc(mp->n_pieces, sizeof *v->tokens);
    v->types = calloc(mp->n_pieces, sizeof *v->types);
    v->scores = calloc(mp->n_pieces, sizeof *v->scores);
    if (!v->tokens || !v->types || !v->scores) {
        cv_fail(err, en, "%s: out of memory", path);
        goto out;
    }
    for (size_t i = 0; i < mp->n_pieces; i++) {
        const BnSpm__ModelProto__SentencePiece *p = mp->pieces[i];
        int type = p->has_type ? (int)p->type : 1;
        if (!p->piece || type < 1 || type > 6) {
            cv_fail(err, en, "%s: piece %zu has no text or an unknown type %d", path, i, type);
            goto out;
        }
        v->tokens[i] = strdup(p->piece);
        if (!v->tokens[i]) {
            cv_fail(err, en, "%s: out of memory", path);
            goto out;
        }
        v->types[i] = type;
        v->scores[i] = p->score;
    }
    int32_t unk = ts && ts->has_unk_id ? ts->unk_id : 0, bos = ts && ts->has_bos_id ? ts->bos_id : 1,
            eos = ts && ts->has_eos_id ? ts->eos_id : 2, pad = ts && ts->has_pad_id ? ts->pad_id : -1;
    v->unk = unk >= 0 && (size_t)unk < mp->n_pieces ? unk : -1;
    v->bos = bos >= 0 && (size_t)bos < mp->n_pieces ? bos : -1;
    v->eos = eos >= 0 && (size_t)eos < mp->n_pieces ? eos : -1;
    v->pad = pad >= 0 && (size_t)pad < mp->n_pieces ? pad : -1;
    v->add_bos = 1;
    v->add_eos = 0;
    const BnSpm__NormalizerSpec *ns = mp->normalizer_spec;
    v->add_space_prefix = ns && ns->has_add_dummy_prefix ? ns->add_dummy_prefix : 1;
    /* libbitnet tokenizes raw text: say so when the model expects normalisation */
    if (ns && ns->name && strcmp(ns->name, "identity"))
        fprintf(stderr, "warning: %s: normalizer %.40s is not applied by libbitnet (identity only)\n", path,
                ns->name);
    rc = 0;
out:
    bn_spm__model_proto__free_unpacked(mp, NULL);
    return rc;
}
