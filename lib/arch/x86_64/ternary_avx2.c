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

/* Prompts and batches: one row against T <= MAX_T tokens. Each plane is shifted
 * down to the code itself (0, 1 or 2) once and used for all T tokens; a
 * vpmaddubsw pair is then at most 2 * 2 * 128 = 512 in magnitude, so 64 of
 * them (8 chunks) add up exactly in int16 before one vpmaddwd widens them,
 * instead of a vpmaddwd per vpmaddubsw as in row_dot. */
#define INT16_CHUNKS 8
/* tokens per pass over a row: the unpacking of a plane is shared by this
 * many; 8 int16 sums plus the plane fill the 16 registers */
#define MAX_T 8

/* acc += v in int16, in place: written as C, GCC sums the products of a
 * chunk in a tree first and spills the temporaries */
static inline __m256i add16(__m256i acc, __m256i v)
{
    __asm__("vpaddw %1, %0, %0" : "+x"(acc) : "x"(v));
    return acc;
}

static inline __attribute__((always_inline)) void row_dot_tokens(const uint8_t *row, int64_t n_chunks,
                                                                 const int8_t *x, size_t xs, int T,
                                                                 int32_t out[MAX_T])
{
    const __m256i m = _mm256_set1_epi8(0x03), ones = _mm256_set1_epi16(1);
    __m256i acc[MAX_T];
    BN_UNROLL
    for (int t = 0; t < T; t++)
        acc[t] = _mm256_setzero_si256();
    for (int64_t c0 = 0; c0 < n_chunks; c0 += INT16_CHUNKS) {
        const int64_t c1 = c0 + INT16_CHUNKS < n_chunks ? c0 + INT16_CHUNKS : n_chunks;
        __m256i a16[MAX_T];
        BN_UNROLL
        for (int t = 0; t < T; t++)
            a16[t] = _mm256_setzero_si256();
        for (int64_t c = c0; c < c1; c++) {
            const uint8_t *p = row + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES);
            _mm_prefetch((const char *)p + PREFETCH_AHEAD, _MM_HINT_T0);
            BN_UNROLL
            for (int h = 0; h < 2; h++) {
                const __m256i w = _mm256_load_si256((const __m256i *)(const void *)(p + 32 * h));
                BN_UNROLL
                for (int q = 0; q < 4; q++) {
                    /* 16-bit shifts: the bits moved in from the next byte are masked off */
                    const __m256i plane = _mm256_and_si256(q ? _mm256_srli_epi16(w, 2 * q) : w, m);
                    BN_UNROLL
                    for (int t = 0; t < T; t++) {
                        const int8_t *xc = x + (size_t)t * xs + c * BN_TP_CHUNK + 64 * q + 32 * h;
                        a16[t] = add16(a16[t], _mm256_maddubs_epi16(plane, _mm256_loadu_si256((const void *)xc)));
                    }
                }
            }
        }
        BN_UNROLL
        for (int t = 0; t < T; t++)
            acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(a16[t], ones));
    }
    BN_UNROLL
    for (int t = 0; t < T; t++) {
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc[t]), _mm256_extracti128_si256(acc[t], 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
        out[t] = _mm_cvtsi128_si32(s);
    }
}

/* One tile for tokens [i, i + T), scaled and stored as bn_tgemm_ref does. */
static inline __attribute__((always_inline)) void tile_tokens(const bn_tpack *w, int64_t t, int rows, const bn_qx *x,
                                                              int i, int T, float *y, size_t y_stride,
                                                              int accumulate)
{
    const uint8_t *tile = w->codes + (size_t)t * w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    for (int r = 0; r < rows; r++) {
        int32_t dot[MAX_T];
        row_dot_tokens(tile + r * BN_TP_CHUNK_BYTES, w->n_chunks, x->q + (size_t)i * x->stride, x->stride, T, dot);
        for (int j = 0; j < T; j++) {
            float *yj = y + (size_t)(i + j) * y_stride + t * BN_TP_ROWS + r;
            const float v = (float)(dot[j] - x->sum[i + j]) * bn_tp_row_scale(w, t * BN_TP_ROWS + r) * x->scale[i + j];
            *yj = accumulate ? *yj + v : v;
        }
    }
}

/* Tiles per block in prompts and batches: a block of weights (about 256 KB)
 * stays in L2 while each group of tokens, whose activations stay in L1,
 * passes over it. */
#define GEMM_BLOCK_BYTES (256 * 1024)

void bn_tgemm_avx2(BN_TGEMM_ARGS)
{
    if (w->block_scales) {
        bn_tgemm_blocks_avx2(w, tile0, tile1, x, n_tok, y, y_stride, accumulate);
        return;
    }
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    if (n_tok == 1) {
        for (int64_t t = tile0; t < tile1; t++) {
            const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
            const int rows = w->rows - t * BN_TP_ROWS < BN_TP_ROWS ? (int)(w->rows - t * BN_TP_ROWS) : BN_TP_ROWS;
            for (int r = 0; r < rows; r++) {
                int32_t dot = row_dot(tile + r * BN_TP_CHUNK_BYTES, w->n_chunks, x->q);
                float v = (float)(dot - x->sum[0]) * bn_tp_row_scale(w, t * BN_TP_ROWS + r) * x->scale[0];
                y[t * BN_TP_ROWS + r] = accumulate ? y[t * BN_TP_ROWS + r] + v : v;
            }
        }
        return;
    }
    int64_t block = (int64_t)(GEMM_BLOCK_BYTES / tile_bytes);
    block = block < 1 ? 1 : block;
    for (int64_t tb = tile0; tb < tile1; tb += block) {
        const int64_t te = tb + block < tile1 ? tb + block : tile1;
        for (int i = 0; i < n_tok;) {
            const int n = n_tok - i >= MAX_T ? MAX_T : n_tok - i >= 4 ? 4 : n_tok - i >= 2 ? 2 : 1;
            for (int64_t t = tb; t < te; t++) {
                const int rows = w->rows - t * BN_TP_ROWS < BN_TP_ROWS ? (int)(w->rows - t * BN_TP_ROWS) : BN_TP_ROWS;
                /* a constant T for each variant, so that the loops unroll */
                switch (n) {
                case MAX_T: tile_tokens(w, t, rows, x, i, MAX_T, y, y_stride, accumulate); break;
                case 4: tile_tokens(w, t, rows, x, i, 4, y, y_stride, accumulate); break;
                case 2: tile_tokens(w, t, rows, x, i, 2, y, y_stride, accumulate); break;
                default: tile_tokens(w, t, rows, x, i, 1, y, y_stride, accumulate);
                }
            }
            i += n;
        }
    }
}
