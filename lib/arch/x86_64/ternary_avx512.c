/* AVX-512 (F/BW/VL + VNNI) kernels. Built with -mavx512f -mavx512bw
 * -mavx512vl -mavx512vnni -mfma -mf16c; called only when the CPU and OS
 * support them (dispatch.c).
 *
 * Ternary GEMV/GEMM over the packed layout (tpack.h): each 64-byte row chunk
 * holds four bit planes aligned with 64 consecutive activations. Masking a
 * plane in place (no shift) gives code * 4^p as an unsigned byte (at most
 * 128), so one vpdpbusd per plane accumulates 4^p * sum(code * x) in a
 * per-plane accumulator; the planes are shifted back (exactly: every lane is
 * a multiple of 4^p) once per row. */
#include <immintrin.h>
#include <string.h>

#include "arch/x86_64/kernels_x86.h"
#include "arch/x86_64/ternary_avx512.h"

static inline int32_t combine_planes(__m512i a0, __m512i a1, __m512i a2, __m512i a3)
{
    __m512i v = _mm512_add_epi32(_mm512_add_epi32(a0, _mm512_srai_epi32(a1, 2)),
                                 _mm512_add_epi32(_mm512_srai_epi32(a2, 4), _mm512_srai_epi32(a3, 6)));
    return _mm512_reduce_add_epi32(v);
}

/* sum_k code[r][k] * x[k] for the 4 rows of one tile */
static inline void tile_dot(const uint8_t *tile, int64_t n_chunks, const int8_t *x, int32_t out[4])
{
    const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c);
    const __m512i m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8((char)0xc0);
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00;
    __m512i a10 = a00, a11 = a00, a12 = a00, a13 = a00;
    __m512i a20 = a00, a21 = a00, a22 = a00, a23 = a00;
    __m512i a30 = a00, a31 = a00, a32 = a00, a33 = a00;
    for (int64_t c = 0; c < n_chunks; c++) {
        const uint8_t *p = tile + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES);
        prefetch_chunk(p);
        const int8_t *xc = x + c * BN_TP_CHUNK;
        const __m512i x0 = _mm512_loadu_si512(xc), x1 = _mm512_loadu_si512(xc + 64);
        const __m512i x2 = _mm512_loadu_si512(xc + 128), x3 = _mm512_loadu_si512(xc + 192);
        __m512i w = _mm512_load_si512(p);
        a00 = dpbusd(a00, _mm512_and_si512(w, m0), x0);
        a01 = dpbusd(a01, _mm512_and_si512(w, m1), x1);
        a02 = dpbusd(a02, _mm512_and_si512(w, m2), x2);
        a03 = dpbusd(a03, _mm512_and_si512(w, m3), x3);
        w = _mm512_load_si512(p + 64);
        a10 = dpbusd(a10, _mm512_and_si512(w, m0), x0);
        a11 = dpbusd(a11, _mm512_and_si512(w, m1), x1);
        a12 = dpbusd(a12, _mm512_and_si512(w, m2), x2);
        a13 = dpbusd(a13, _mm512_and_si512(w, m3), x3);
        w = _mm512_load_si512(p + 128);
        a20 = dpbusd(a20, _mm512_and_si512(w, m0), x0);
        a21 = dpbusd(a21, _mm512_and_si512(w, m1), x1);
        a22 = dpbusd(a22, _mm512_and_si512(w, m2), x2);
        a23 = dpbusd(a23, _mm512_and_si512(w, m3), x3);
        w = _mm512_load_si512(p + 192);
        a30 = dpbusd(a30, _mm512_and_si512(w, m0), x0);
        a31 = dpbusd(a31, _mm512_and_si512(w, m1), x1);
        a32 = dpbusd(a32, _mm512_and_si512(w, m2), x2);
        a33 = dpbusd(a33, _mm512_and_si512(w, m3), x3);
    }
    out[0] = combine_planes(a00, a01, a02, a03);
    out[1] = combine_planes(a10, a11, a12, a13);
    out[2] = combine_planes(a20, a21, a22, a23);
    out[3] = combine_planes(a30, a31, a32, a33);
}

/* Prompt processing and batches: one tile (4 rows) against T <= 4 tokens,
 * chunks [c0, c1). Each bit plane is shifted down to the code itself (0, 1
 * or 2) once per row and chunk and fed to T vpdpbusd, so that all planes
 * share one accumulator per (row, token) and 16 of them stay in registers;
 * the activations of a chunk and plane are loaded once for the 4 rows.
 * Prefetches `ahead` bytes past each chunk. Returns the sums, 128-bit lane j:
 * token j's rows 0-3. */
static inline __attribute__((always_inline)) __m512i tile_dot_tokens(const uint8_t *tile, int64_t c0, int64_t c1,
                                                                     size_t ahead, const int8_t *x, size_t xs, int T)
{
    const __m512i m = _mm512_set1_epi8(0x03);
    __m512i acc[16];
    BN_UNROLL
    for (int i = 0; i < 16; i++)
        acc[i] = _mm512_setzero_si512();
    for (int64_t c = c0; c < c1; c++) {
        const uint8_t *p = tile + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES);
        prefetch_lines(p, ahead);
        __m512i w[4];
        BN_UNROLL
        for (int r = 0; r < 4; r++)
            w[r] = _mm512_load_si512(p + 64 * r);
        BN_UNROLL
        for (int q = 0; q < 4; q++) {
            __m512i xv[4];
            BN_UNROLL
            for (int t = 0; t < T; t++)
                xv[t] = _mm512_loadu_si512(x + (size_t)t * xs + c * BN_TP_CHUNK + 64 * q);
            BN_UNROLL
            for (int r = 0; r < 4; r++) {
                /* 16-bit shifts: the bits moved in from the next byte are masked off */
                const __m512i plane = _mm512_and_si512(q ? _mm512_srli_epi16(w[r], 2 * q) : w[r], m);
                BN_UNROLL
                for (int t = 0; t < T; t++)
                    acc[t * 4 + r] = dpbusd(acc[t * 4 + r], plane, xv[t]);
            }
        }
    }
    return sum16(acc);
}

/* One tile's sums for tokens [i, i + T) (from tile_dot_tokens) scaled and
 * stored: the reference's expression (float)(dot - sum) * scale * x_scale. */
static inline __attribute__((always_inline)) void tile_store_tokens(const bn_tpack *w, int64_t t, int rows,
                                                                    const bn_qx *x, int i, int T, __m512i dot,
                                                                    float *y, size_t y_stride, int accumulate)
{
    /* token j's sum and scale in 128-bit lane j */
    const __mmask16 tok = (__mmask16)((1u << T) - 1);
    const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i sum = _mm512_permutexvar_epi32(spread, _mm512_maskz_loadu_epi32(tok, x->sum + i));
    const __m512 d = _mm512_cvtepi32_ps(_mm512_sub_epi32(dot, sum));
    /* the rows' scales in every 128-bit lane */
    const __m512 ws = w->row_scales ? _mm512_broadcast_f32x4(_mm_loadu_ps(w->row_scales + t * BN_TP_ROWS))
                                    : _mm512_set1_ps(w->scale);
    store_tile_tokens(_mm512_mul_ps(_mm512_mul_ps(d, ws), token_scales(x, i, T)), t, rows, i, T, y, y_stride,
                      accumulate);
}

static inline void store(float *y, float v, int accumulate)
{
    *y = accumulate ? *y + v : v;
}

/* Sums of one tile for token i (GEMV path), scaled and stored. */
static inline void tile_token(const bn_tpack *w, const uint8_t *tile, int64_t t, int rows, const bn_qx *x,
                              int i, float *y, size_t y_stride, int accumulate)
{
    int32_t dot[4];
    tile_dot(tile, w->n_chunks, x->q + (size_t)i * x->stride, dot);
    float *yi = y + (size_t)i * y_stride + t * BN_TP_ROWS;
    for (int r = 0; r < rows; r++)
        store(yi + r, (float)(dot[r] - x->sum[i]) * bn_tp_row_scale(w, t * BN_TP_ROWS + r) * x->scale[i], accumulate);
}

/* Tiles per block in prompt processing: a block of weights (about 256 KB)
 * stays in L2 while each group of four tokens, whose activations stay in L1,
 * passes over it. */
#define GEMM_BLOCK_BYTES (256 * 1024)
/* Chunks of a pass over a block: longer rows are cut into segments whose
 * activations (four tokens of them, 28 KB) stay in L1 while the weights
 * stream in from memory; the segments' int32 sums add up exactly. One
 * thread, Zen 5, weights from memory, K = 14336: 4 tokens 160 -> 292, 8
 * tokens 253 -> 389 GMAC/s. Shorter segments lose more to the strided
 * stream than they gain: 12 chunks made K = 6912 slower (450 -> 300). */
#define SEGMENT_CHUNKS 28
/* at most this many tiles per block, whose partial sums the stack keeps */
#define SEGMENT_TILES 64

/* Tiles [tb, te) for tokens [i, i + T), segment by segment. */
static inline __attribute__((always_inline)) void block_tokens(const bn_tpack *w, int64_t tb, int64_t te,
                                                               const bn_qx *x, int i, int T, float *y,
                                                               size_t y_stride, int accumulate)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    const int8_t *xi = x->q + (size_t)i * x->stride;
    if (w->n_chunks <= SEGMENT_CHUNKS) {
        for (int64_t t = tb; t < te; t++) {
            const __m512i dot = tile_dot_tokens(w->codes + (size_t)t * tile_bytes, 0, w->n_chunks, GEMM_PREFETCH_AHEAD,
                                                xi, x->stride, T);
            tile_store_tokens(w, t, bn_tp_tile_rows(w, t), x, i, T, dot, y, y_stride, accumulate);
        }
        return;
    }
    const int64_t n_seg = (w->n_chunks + SEGMENT_CHUNKS - 1) / SEGMENT_CHUNKS;
    const int64_t seg = (w->n_chunks + n_seg - 1) / n_seg;
    __m512i part[SEGMENT_TILES];
    for (int64_t c0 = 0; c0 < w->n_chunks; c0 += seg) {
        const int64_t c1 = c0 + seg < w->n_chunks ? c0 + seg : w->n_chunks;
        for (int64_t t = tb; t < te; t++) {
            /* the same segment of the next tile: the first token group
             * reads the block from memory segment by segment */
            __m512i dot = tile_dot_tokens(w->codes + (size_t)t * tile_bytes, c0, c1, tile_bytes, xi, x->stride, T);
            if (c0 > 0)
                dot = _mm512_add_epi32(dot, part[t - tb]);
            if (c1 < w->n_chunks)
                part[t - tb] = dot;
            else
                tile_store_tokens(w, t, bn_tp_tile_rows(w, t), x, i, T, dot, y, y_stride, accumulate);
        }
    }
}

void bn_tgemm_avx512(BN_TGEMM_ARGS)
{
    if (w->block_scales) {
        bn_tgemm_blocks_avx512(w, tile0, tile1, x, n_tok, y, y_stride, accumulate);
        return;
    }
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    if (n_tok == 1) {
        /* decode: two halves of the range read side by side, two streams of
         * misses in flight instead of one */
        const int64_t mid = tile0 + (tile1 - tile0) / 2;
        for (int64_t a = tile0, b = mid; b < tile1; a++, b++) {
            if (a < mid)
                tile_token(w, w->codes + (size_t)a * tile_bytes, a, bn_tp_tile_rows(w, a), x, 0, y, y_stride, accumulate);
            tile_token(w, w->codes + (size_t)b * tile_bytes, b, bn_tp_tile_rows(w, b), x, 0, y, y_stride, accumulate);
        }
        return;
    }
    int64_t block = (int64_t)(GEMM_BLOCK_BYTES / tile_bytes);
    block = block < 1 ? 1 : block;
    if (w->n_chunks > SEGMENT_CHUNKS && block > SEGMENT_TILES)
        block = SEGMENT_TILES;
    for (int64_t tb = tile0; tb < tile1; tb += block) {
        const int64_t te = tb + block < tile1 ? tb + block : tile1;
        for (int i = 0; i < n_tok; i += 4) {
            /* a constant T for each variant, so that the loops unroll */
            switch (n_tok - i < 4 ? n_tok - i : 4) {
            case 4: block_tokens(w, tb, te, x, i, 4, y, y_stride, accumulate); break;
            case 3: block_tokens(w, tb, te, x, i, 3, y, y_stride, accumulate); break;
            case 2: block_tokens(w, tb, te, x, i, 2, y, y_stride, accumulate); break;
            default:
                for (int64_t t = tb; t < te; t++)
                    tile_token(w, w->codes + (size_t)t * tile_bytes, t, bn_tp_tile_rows(w, t), x, i, y, y_stride, accumulate);
            }
        }
    }
}
