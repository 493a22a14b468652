/*
 * Fuzz target for bitnet-convert's tokenizer.json reader and its GGUF
 * output (hf_vocab_from_tokenizer_json, hf_vocab_write).
 *
 * Invariant: whatever the bytes, the reader returns 0 with a vocabulary whose
 * every token and merge is a string, or -1 with a message naming the file;
 * never a crash, an out-of-bounds read or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "hf_vocab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_vocab v;
    char err[512] = "";
    hf_vocab_init(&v);
    int rc = hf_vocab_from_tokenizer_json(&v, (const char *)data, size, "tokenizer.json", err, sizeof err);
    if (rc && strncmp(err, "tokenizer.json", 14))
        abort();
    if (!rc) {
        for (uint64_t i = 0; i < v.n_merges; i++)
            if (!v.merges[i] || !strchr(v.merges[i], ' '))
                abort();
        /* fill holes as the converter does, then write the keys */
        int has_holes = 0;
        for (uint64_t i = 0; i < v.n_tokens; i++)
            has_holes |= v.tokens[i] == NULL;
        bn_gguf_writer *w = NULL;
        if (!has_holes && bn_gguf_writer_new(&w, 3, 32) == 0) {
            hf_vocab_write(&v, w);
            bn_gguf_writer_free(&w);
        }
    }
    hf_vocab_free(&v);
    return 0;
}
