/* AVX2 ternary GEMV/GEMM for tensors with block scales (tpack.h): one float
 * scale per row and 256-weight chunk. Built with the AVX2 flags;
 * bn_tgemm_avx2 hands such tensors here.
 *
 * One tile (4 rows) against T <= 2 tokens, a chunk at a time: each bit plane
 * shifted down to the code (0, 1, 2) meets the activations in vpmaddubsw,
 * whose int16 pairs (at most 2 * 2 * 128 = 512) add up over the chunk's 8
 * steps to at most 4096; the activation pairs (vpmaddubsw of ones, at most
 * 2048 over the chunk) are subtracted in int16 too, so one vpmaddwd per row
 * and chunk widens the chunk's sum (c - 1) . x to int32 lanes. Three vphaddd
 * put a tile's four row sums side by side, and one convert and one FMA with
 * the four block scales fold the chunk in, in chunk order:
 * acc = fma((float)S_c, d_c, acc), the reference's rounding (kernels_ref.c). */
#include <immintrin.h>

#include "arch/x86_64/kernels_x86.h"

#define PREFETCH_AHEAD 2048

/* tokens per pass over a tile: 4 row sums per token plus its activation
 * sums fill the 16 registers at 2 */
#define MAX_T 2

/* int32 lanes of four rows -> their four sums */
static inline __m128i sum4(__m256i a, __m256i b, __m256i c, __m256i d)
{
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

static inline __attribute__((always_inline)) void tile_tokens(const bn_tpack *w, int64_t t, int rows, const bn_qx *x,
                                                              int i, int T, float *y, size_t y_stride,
                                                              int accumulate)
{
    const __m256i m = _mm256_set1_epi8(0x03), ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
    const int8_t *xt = x->q + (size_t)i * x->stride;
    __m128 acc[MAX_T];
    BN_UNROLL
    for (int j = 0; j < T; j++)
        acc[j] = _mm_setzero_ps();
    for (int64_t c = 0; c < w->n_chunks; c++) {
        const uint8_t *p = tile + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES);
        _mm_prefetch((const char *)p + PREFETCH_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)p + PREFETCH_AHEAD + 128, _MM_HINT_T0);
        __m256i s[MAX_T][4], xs[MAX_T];
        BN_UNROLL
        for (int j = 0; j < T; j++) {
            xs[j] = _mm256_setzero_si256();
            BN_UNROLL
            for (int r = 0; r < 4; r++)
                s[j][r] = _mm256_setzero_si256();
        }
        BN_UNROLL
        for (int h = 0; h < 2; h++) {
            BN_UNROLL
            for (int q = 0; q < 4; q++) {
                BN_UNROLL
                for (int j = 0; j < T; j++) {
                    const __m256i xv = _mm256_loadu_si256(
                        (const void *)(xt + (size_t)j * x->stride + c * BN_TP_CHUNK + 64 * q + 32 * h));
                    xs[j] = _mm256_add_epi16(xs[j], _mm256_maddubs_epi16(ones8, xv));
                }
            }
            BN_UNROLL
            for (int r = 0; r < 4; r++) {
                const __m256i wv = _mm256_load_si256((const __m256i *)(const void *)(p + 64 * r + 32 * h));
                BN_UNROLL
                for (int q = 0; q < 4; q++) {
                    /* 16-bit shifts: the bits moved in from the next byte are masked off */
                    const __m256i plane = _mm256_and_si256(q ? _mm256_srli_epi16(wv, 2 * q) : wv, m);
                    BN_UNROLL
                    for (int j = 0; j < T; j++) {
                        const __m256i xv = _mm256_loadu_si256(
                            (const void *)(xt + (size_t)j * x->stride + c * BN_TP_CHUNK + 64 * q + 32 * h));
                        s[j][r] = _mm256_add_epi16(s[j][r], _mm256_maddubs_epi16(plane, xv));
                    }
                }
            }
        }
        const __m128 bs = _mm_loadu_ps(bn_tp_block_scales(w, t, c));
        BN_UNROLL
        for (int j = 0; j < T; j++) {
            __m256i d[4];
            BN_UNROLL
            for (int r = 0; r < 4; r++)
                d[r] = _mm256_madd_epi16(_mm256_sub_epi16(s[j][r], xs[j]), ones16);
            acc[j] = _mm_fmadd_ps(_mm_cvtepi32_ps(sum4(d[0], d[1], d[2], d[3])), bs, acc[j]);
        }
    }
    BN_UNROLL
    for (int j = 0; j < T; j++) {
        float v[4], *yj = y + (size_t)(i + j) * y_stride + t * BN_TP_ROWS;
        _mm_storeu_ps(v, _mm_mul_ps(acc[j], _mm_set1_ps(x->scale[i + j])));
        for (int r = 0; r < rows; r++)
            yj[r] = accumulate ? yj[r] + v[r] : v[r];
    }
}

/* as in the uniform kernel: a block of weights stays in L2 while each pair
 * of tokens passes over it */
#define GEMM_BLOCK_BYTES (256 * 1024)

void bn_tgemm_blocks_avx2(BN_TGEMM_ARGS)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    int64_t block = n_tok == 1 ? tile1 - tile0 : (int64_t)(GEMM_BLOCK_BYTES / tile_bytes);
    block = block < 1 ? 1 : block;
    for (int64_t tb = tile0; tb < tile1; tb += block) {
        const int64_t te = tb + block < tile1 ? tb + block : tile1;
        for (int i = 0; i < n_tok; i += MAX_T) {
            const int n = n_tok - i < MAX_T ? n_tok - i : MAX_T;
            for (int64_t t = tb; t < te; t++) {
                const int rows = bn_tp_tile_rows(w, t);
                if (n == MAX_T)
                    tile_tokens(w, t, rows, x, i, MAX_T, y, y_stride, accumulate);
                else
                    tile_tokens(w, t, rows, x, i, 1, y, y_stride, accumulate);
            }
        }
    }
}
