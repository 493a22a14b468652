/* AVX-512 VNNI ternary GEMV/GEMM for tensors with block scales (tpack.h):
 * one float scale per row and 256-weight chunk. Built with the AVX-512 flags;
 * bn_tgemm_avx512 (and the AMX level) hand such tensors here.
 *
 * The integer work is that of the uniform kernel's token path: each bit
 * plane shifted down to the code (0, 1, 2) feeds vpdpbusd, one accumulator
 * per (row, token). Here the accumulators live for one chunk only; one
 * sum16 reduces 16 of them (4 rows x T tokens x G = 4 / T chunks), and the
 * chunks' activation sums, computed once per call (or, for rows longer than
 * XS_CHUNKS chunks, per tile from vpdpbusd of ones in the same lanes), are
 * subtracted: the chunk's exact sum (c - 1) . x. Each chunk's
 * four row sums then go through one convert and one FMA with the four block
 * scales, in chunk order: acc = fma((float)S_c, d_c, acc), the reference's
 * rounding (kernels_ref.c). */
#include <immintrin.h>
#include <string.h>

#include "arch/x86_64/kernels_x86.h"
#include "arch/x86_64/ternary_avx512.h"

/* chunks whose activation sums a call computes once: rows of up to 32768 */
#define XS_CHUNKS 128

/* xs[c * 4 + j] = sum of token i + j's activations in chunk c, for chunks
 * [0, n_chunks) and T tokens; the 4 chunks past them are 0 */
static void chunk_sums(const bn_qx *x, int i, int T, int64_t n_chunks, int32_t *xs)
{
    const __m512i ones = _mm512_set1_epi8(1);
    memset(xs, 0, sizeof(int32_t) * 4 * (size_t)(n_chunks + 4));
    for (int j = 0; j < T; j++)
        for (int64_t c = 0; c < n_chunks; c++) {
            const int8_t *xc = x->q + (size_t)(i + j) * x->stride + c * BN_TP_CHUNK;
            __m512i v = _mm512_setzero_si512();
            for (int q = 0; q < 4; q++)
                v = dpbusd(v, ones, _mm512_loadu_si512(xc + 64 * q));
            xs[c * 4 + j] = _mm512_reduce_add_epi32(v);
        }
}

/* One tile (4 rows) for tokens [i, i + T), T <= 4, scaled and stored as
 * bn_tgemm_ref does; xs from chunk_sums, or NULL to compute them here. */
static inline __attribute__((always_inline)) void tile_tokens(const bn_tpack *w, int64_t t, int rows, const bn_qx *x,
                                                              int i, int T, const int32_t *xs_call, float *y,
                                                              size_t y_stride, int accumulate)
{
    /* lane l of the sums: chunk (l / 4) / T, token (l / 4) % T: where its
     * activation sum is in xs_call + c0 * 4 */
    static const int32_t spread[5][16] = {
        { 0 },
        { 0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12 },
        { 0, 0, 0, 0, 1, 1, 1, 1, 4, 4, 4, 4, 5, 5, 5, 5 },
        { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 },
        { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3 },
    };
    enum { G_MAX = 4 };
    const int G = G_MAX / T;    /* chunks per reduction */
    const __m512i m = _mm512_set1_epi8(0x03), ones = _mm512_set1_epi8(1);
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
    const int8_t *xt = x->q + (size_t)i * x->stride;
    /* 128-bit lane j: token i + j's four rows */
    __m512 acc = _mm512_setzero_ps();
    for (int64_t c0 = 0; c0 < w->n_chunks; c0 += G) {
        const int64_t left = w->n_chunks - c0;
        __m512i s[16];
        BN_UNROLL
        for (int j = 0; j < 16; j++)
            s[j] = _mm512_setzero_si512();
        BN_UNROLL
        for (int g = 0; g < G; g++) {
            if (g >= left)
                break;
            const int64_t c = c0 + g;
            const uint8_t *p = tile + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES);
            prefetch_chunk(p);
            BN_UNROLL
            for (int j = 0; j < T && !xs_call; j++) {
                const int8_t *xc = xt + (size_t)j * x->stride + c * BN_TP_CHUNK;
                __m512i xs = _mm512_setzero_si512();
                BN_UNROLL
                for (int q = 0; q < 4; q++)
                    xs = dpbusd(xs, ones, _mm512_loadu_si512(xc + 64 * q));
                xs = _mm512_sub_epi32(_mm512_setzero_si512(), xs);
                BN_UNROLL
                for (int r = 0; r < 4; r++)
                    s[(g * T + j) * 4 + r] = xs;
            }
            __m512i wr[4];
            BN_UNROLL
            for (int r = 0; r < 4; r++)
                wr[r] = _mm512_load_si512(p + 64 * r);
            BN_UNROLL
            for (int q = 0; q < 4; q++) {
                __m512i xv[4];
                BN_UNROLL
                for (int j = 0; j < T; j++)
                    xv[j] = _mm512_loadu_si512(xt + (size_t)j * x->stride + c * BN_TP_CHUNK + 64 * q);
                BN_UNROLL
                for (int r = 0; r < 4; r++) {
                    /* 16-bit shifts: the bits moved in from the next byte are masked off */
                    const __m512i plane = _mm512_and_si512(q ? _mm512_srli_epi16(wr[r], 2 * q) : wr[r], m);
                    BN_UNROLL
                    for (int j = 0; j < T; j++)
                        s[(g * T + j) * 4 + r] = dpbusd(s[(g * T + j) * 4 + r], plane, xv[j]);
                }
            }
        }
        /* 128-bit lane g * T + j: chunk c0 + g, token j, rows 0-3 */
        __m512i dot = sum16(s);
        if (xs_call)
            dot = _mm512_sub_epi32(dot, _mm512_permutexvar_epi32(_mm512_loadu_si512(spread[T]),
                                                                 _mm512_loadu_si512(xs_call + c0 * 4)));
        BN_UNROLL
        for (int g = 0; g < G; g++) {
            if (g >= left)
                break;
            /* chunk g's lanes down to lanes 0..T-1 */
            /* (lane + 4gT) mod 16, a rotation by lanes: valignd wants an
             * immediate, which clang does not see through the unrolling */
            const __m512i rot = _mm512_and_si512(_mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                                                    12, 13, 14, 15),
                                                                  _mm512_set1_epi32(4 * g * T)),
                                                 _mm512_set1_epi32(15));
            const __m512 d = _mm512_cvtepi32_ps(g ? _mm512_permutexvar_epi32(rot, dot) : dot);
            const __m512 bs = _mm512_broadcast_f32x4(_mm_loadu_ps(bn_tp_block_scales(w, t, c0 + g)));
            acc = _mm512_fmadd_ps(d, bs, acc);
        }
    }
    store_tile_tokens(_mm512_mul_ps(acc, token_scales(x, i, T)), t, rows, i, T, y, y_stride, accumulate);
}

/* as in the uniform kernel: a block of weights stays in L2 while each group
 * of tokens passes over it */
#define GEMM_BLOCK_BYTES (256 * 1024)

void bn_tgemm_blocks_avx512(BN_TGEMM_ARGS)
{
    if (n_tok == 1 && w->n_chunks <= XS_CHUNKS) {
        /* decode: as in the uniform kernel, two halves of the range read
         * side by side, two streams of misses in flight instead of one */
        int32_t xs[(XS_CHUNKS + 4) * 4];
        chunk_sums(x, 0, 1, w->n_chunks, xs);
        const int64_t mid = tile0 + (tile1 - tile0) / 2;
        for (int64_t a = tile0, b = mid; b < tile1; a++, b++) {
            if (a < mid)
                tile_tokens(w, a, bn_tp_tile_rows(w, a), x, 0, 1, xs, y, y_stride, accumulate);
            tile_tokens(w, b, bn_tp_tile_rows(w, b), x, 0, 1, xs, y, y_stride, accumulate);
        }
        return;
    }
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    int64_t block = n_tok == 1 ? tile1 - tile0 : (int64_t)(GEMM_BLOCK_BYTES / tile_bytes);
    block = block < 1 ? 1 : block;
    for (int64_t tb = tile0; tb < tile1; tb += block) {
        const int64_t te = tb + block < tile1 ? tb + block : tile1;
        for (int i = 0; i < n_tok; i += 4) {
            const int n = n_tok - i < 4 ? n_tok - i : 4;
            int32_t xs_buf[(XS_CHUNKS + 4) * 4];
            const int32_t *xs = NULL;
            if (w->n_chunks <= XS_CHUNKS) {
                chunk_sums(x, i, n, w->n_chunks, xs_buf);
                xs = xs_buf;
            }
            for (int64_t t = tb; t < te; t++) {
                const int rows = bn_tp_tile_rows(w, t);
                /* a constant T for each variant, so that the loops unroll;
                 * xs NULL only for rows of more than XS_CHUNKS chunks */
                switch (n) {
                case 4: tile_tokens(w, t, rows, x, i, 4, xs, y, y_stride, accumulate); break;
                case 3: tile_tokens(w, t, rows, x, i, 3, xs, y, y_stride, accumulate); break;
                case 2: tile_tokens(w, t, rows, x, i, 2, xs, y, y_stride, accumulate); break;
                default: tile_tokens(w, t, rows, x, i, 1, xs, y, y_stride, accumulate);
                }
            }
        }
    }
}
