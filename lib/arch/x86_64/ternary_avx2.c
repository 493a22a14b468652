/* AVX2 ternary GEMV/GEMM over the packed layout (tpack.h). Built with -mavx2
 * -mfma -mf16c -mbmi2.
 *
 * As in the AVX-512 kernel, each bit plane is masked in place, giving
 * code * 4^p (at most 128) as an unsigned byte. vpmaddubsw multiplies it with
 * the signed activations and adds pairs into int16: at most 2 * 128 * 128 =
 * 32768 in magnitude, and only -32768 is reached, so it never saturates;
 * vpmaddwd widens to int32 before anything is accumulated (bitnet.cpp's AVX2
 * kernel accumulates in int16 across blocks and can overflow). */
#include <immintrin.h>

#include "arch/x86_64/kernels_x86.h"

#define PREFETCH_AHEAD 2048

static inline __m256i plane_dot(__m256i w, __m256i mask, __m256i x, __m256i ones)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(w, mask), x), ones);
}

static inline int32_t hsum_planes(__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
    __m256i v = _mm256_add_epi32(_mm256_add_epi32(a0, _mm256_srai_epi32(a1, 2)),
                                 _mm256_add_epi32(_mm256_srai_epi32(a2, 4), _mm256_srai_epi32(a3, 6)));
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* one row of a tile: its chunks are 256 bytes apart (4 rows interleaved) */
static inline int32_t row_dot(const uint8_t *row, int64_t n_chunks, const int8_t *x)
{
    const __m256i m0 = _mm256_set1_epi8(0x03), m1 = _mm256_set1_epi8(0x0c);
    const __m256i m2 = _mm256_set1_epi8(0x30), m3 = _mm256_set1_epi8((char)0xc0);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t c = 0; c < n_chunks; c++) {
        const uint8_t *p = row + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES);
        const int8_t *xc = x + c * BN_TP_CHUNK;
        _mm_prefetch((const char *)p + PREFETCH_AHEAD, _MM_HINT_T0);
        for (int h = 0; h < 2; h++) {
            const __m256i w = _mm256_load_si256((const __m256i *)(const void *)(p + 32 * h));
            a0 = _mm256_add_epi32(a0, plane_dot(w, m0, _mm256_loadu_si256((const void *)(xc + 32 * h)), ones));
            a1 = _mm256_add_epi32(a1, plane_dot(w, m1, _mm256_loadu_si256((const void *)(xc + 64 + 32 * h)), ones));
            a2 = _mm256_add_epi32(a2, plane_dot(w, m2, _mm256_loadu_si256((const void *)(xc + 128 + 32 * h)), ones));
            a3 = _mm256_add_epi32(a3, plane_dot(w, m3, _mm256_loadu_si256((const void *)(xc + 192 + 32 * h)), ones));
        }
    }
    return hsum_planes(a0, a1, a2, a3);
}

void bn_tgemm_avx2(BN_TGEMM_ARGS)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    for (int64_t t = tile0; t < tile1; t++) {
        const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
        const int rows = w->rows - t * BN_TP_ROWS < BN_TP_ROWS ? (int)(w->rows - t * BN_TP_ROWS) : BN_TP_ROWS;
        for (int i = 0; i < n_tok; i++) {
            const int8_t *xi = x->q + (size_t)i * x->stride;
            float *yi = y + (size_t)i * y_stride + t * BN_TP_ROWS;
            for (int r = 0; r < rows; r++) {
                int32_t dot = row_dot(tile + r * BN_TP_CHUNK_BYTES, w->n_chunks, xi);
                float v = (float)(dot - x->sum[i]) * w->scale * x->scale[i];
                yi[r] = accumulate ? yi[r] + v : v;
            }
        }
    }
}
