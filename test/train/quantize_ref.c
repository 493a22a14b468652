/*
 * quantize-ref: floats to Q8_0 or Q4_0 blocks with libbitnet's reference
 * quantisers (bn_q8_from_f32_ref, bn_q4_from_f32_ref), so that
 * test_finetune.py can check that tools/train/bntrain/quant.py writes the
 * same bytes. Usage: quantize-ref q8_0|q4_0 IN.f32 OUT (IN: a multiple of 32
 * little-endian floats).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_types.h"
#include "kernels/kernels.h"

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "q8_0") && strcmp(argv[1], "q4_0"))) {
        fprintf(stderr, "usage: quantize-ref q8_0|q4_0 IN.f32 OUT\n");
        return 2;
    }
    const int q8 = !strcmp(argv[1], "q8_0");
    FILE *f = fopen(argv[2], "rb");
    if (!f || fseek(f, 0, SEEK_END)) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    const long size = ftell(f);
    if (size <= 0 || size % (32 * sizeof(float)) || fseek(f, 0, SEEK_SET)) {
        fprintf(stderr, "%s: not a positive multiple of 32 floats\n", argv[2]);
        return 1;
    }
    const size_t n = (size_t)size / sizeof(float), nb = n / 32;
    const size_t block = q8 ? sizeof(bn_block_q8_0) : sizeof(bn_block_q4_0);
    float *x = malloc(n * sizeof *x);
    void *out = malloc(nb * block);
    if (!x || !out || fread(x, sizeof *x, n, f) != n) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(f);
    if (q8)
        bn_q8_from_f32_ref(x, (int64_t)n, out);
    else
        bn_q4_from_f32_ref(x, (int64_t)n, out);
    FILE *o = fopen(argv[3], "wb");
    if (!o || fwrite(out, block, nb, o) != nb || fclose(o)) {
        fprintf(stderr, "cannot write %s\n", argv[3]);
        return 1;
    }
    free(x);
    free(out);
    return 0;
}
