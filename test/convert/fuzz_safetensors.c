/*
 * Fuzz target for bitnet-convert's safetensors header reader (st_parse).
 *
 * Invariant: whatever the bytes, st_parse() returns 0 with tensors whose data
 * lie inside the input, in the declared size, without overlap, or -1 with a
 * message naming the file; never a crash, an out-of-bounds read or a leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_tensor *t = NULL;
    size_t n = 0;
    char err[512] = "";
    int rc = st_parse(data, size, "fuzz.safetensors", 0, &t, &n, err, sizeof err);
    if (rc && strncmp(err, "fuzz.safetensors", 16))
        abort();            /* a failure without a message naming the file */
    for (size_t i = 0; !rc && i < n; i++) {
        uint64_t bytes = t[i].end - t[i].begin;
        if (t[i].data < data || t[i].data + bytes > data + size ||
            bytes != t[i].n_elements * st_dtype_size(t[i].dtype))
            abort();
        volatile uint8_t sink = 0;
        for (uint64_t k = 0; k < bytes; k += 64)
            sink ^= t[i].data[k];
        if (bytes)
            sink ^= t[i].data[bytes - 1];
        (void)sink;
    }
    st_tensors_free(t, n);
    return 0;
}
