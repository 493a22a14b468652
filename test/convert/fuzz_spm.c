/*
 * Fuzz target for bitnet-convert's tokenizer.model reader (hf_vocab_from_spm:
 * protobuf-c's unpacker on the schema of convert/hf/sentencepiece.proto,
 * then our checks of the pieces).
 *
 * Invariant: whatever the bytes, the reader returns 0 with a vocabulary of
 * strings whose special ids are in range, or -1 with a message naming the
 * file; never a crash, an out-of-bounds read or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hf_vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_vocab v;
    char err[512] = "";
    hf_vocab_init(&v);
    int rc = hf_vocab_from_spm(&v, data, size, "tokenizer.model", err, sizeof err);
    if (rc && strncmp(err, "tokenizer.model", 15))
        abort();
    if (!rc) {
        const int64_t ids[] = { v.bos, v.eos, v.unk, v.pad };
        for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
            if (ids[i] >= (int64_t)v.n_tokens)
                abort();
        for (uint64_t i = 0; i < v.n_tokens; i++)
            if (!v.tokens[i] || v.types[i] < 1 || v.types[i] > 6)
                abort();
    }
    hf_vocab_free(&v);
    return 0;
}
