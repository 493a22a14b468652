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

/* vpdpbusd with the accumulator updated in place. GCC 12 copies the
 * accumulator around the intrinsic and spills to the stack in these loops;
 * the asm form keeps all accumulators in registers. */
static inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8)); /* register operands: AddressSanitizer sees the loads */
    return acc;
}

/* bytes ahead of the current chunk to prefetch: the stream is sequential, so
 * a few KB keep enough cache misses in flight to approach DRAM bandwidth */
#define PREFETCH_AHEAD 4096

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
        _mm_prefetch((const char *)p + PREFETCH_AHEAD, _MM_HINT_T0);
        _mm_prefetch((const char *)p + PREFETCH_AHEAD + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)p + PREFETCH_AHEAD + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)p + PREFETCH_AHEAD + 192, _MM_HINT_T0);
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

/* Prompt processing: one row against four tokens, so that each masked
 * weight plane feeds four vpdpbusd (the row's chunks are 256 bytes apart). */
static inline void row_dot4(const uint8_t *row, int64_t n_chunks, const int8_t *x, size_t xs, int32_t out[4])
{
    const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0c);
    const __m512i m2 = _mm512_set1_epi8(0x30), m3 = _mm512_set1_epi8((char)0xc0);
    __m512i a[4][4];
    for (int t = 0; t < 4; t++)
        for (int q = 0; q < 4; q++)
            a[t][q] = _mm512_setzero_si512();
    for (int64_t c = 0; c < n_chunks; c++) {
        const __m512i w = _mm512_load_si512(row + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES));
        const __m512i p0 = _mm512_and_si512(w, m0), p1 = _mm512_and_si512(w, m1);
        const __m512i p2 = _mm512_and_si512(w, m2), p3 = _mm512_and_si512(w, m3);
        for (int t = 0; t < 4; t++) {
            const int8_t *xc = x + (size_t)t * xs + c * BN_TP_CHUNK;
            a[t][0] = dpbusd(a[t][0], p0, _mm512_loadu_si512(xc));
            a[t][1] = dpbusd(a[t][1], p1, _mm512_loadu_si512(xc + 64));
            a[t][2] = dpbusd(a[t][2], p2, _mm512_loadu_si512(xc + 128));
            a[t][3] = dpbusd(a[t][3], p3, _mm512_loadu_si512(xc + 192));
        }
    }
    for (int t = 0; t < 4; t++)
        out[t] = combine_planes(a[t][0], a[t][1], a[t][2], a[t][3]);
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
        store(yi + r, (float)(dot[r] - x->sum[i]) * w->scale * x->scale[i], accumulate);
}

/* Tiles per block in prompt processing: a block of weights (about 256 KB)
 * stays in L2 while each group of four tokens, whose activations stay in L1,
 * passes over it. */
#define GEMM_BLOCK_BYTES (256 * 1024)

void bn_tgemm_avx512(BN_TGEMM_ARGS)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    if (n_tok == 1) {
        /* decode: two halves of the range read side by side, two streams of
         * misses in flight instead of one */
        const int64_t mid = tile0 + (tile1 - tile0) / 2;
        for (int64_t a = tile0, b = mid; b < tile1; a++, b++) {
            if (a < mid) {
                const int rows = w->rows - a * BN_TP_ROWS < BN_TP_ROWS ? (int)(w->rows - a * BN_TP_ROWS) : BN_TP_ROWS;
                tile_token(w, w->codes + (size_t)a * tile_bytes, a, rows, x, 0, y, y_stride, accumulate);
            }
            const int rows = w->rows - b * BN_TP_ROWS < BN_TP_ROWS ? (int)(w->rows - b * BN_TP_ROWS) : BN_TP_ROWS;
            tile_token(w, w->codes + (size_t)b * tile_bytes, b, rows, x, 0, y, y_stride, accumulate);
        }
        return;
    }
    int64_t block = (int64_t)(GEMM_BLOCK_BYTES / tile_bytes);
    block = block < 1 ? 1 : block;
    for (int64_t tb = tile0; tb < tile1; tb += block) {
        const int64_t te = tb + block < tile1 ? tb + block : tile1;
        int i = 0;
        for (; i + 4 <= n_tok; i += 4)
            for (int64_t t = tb; t < te; t++) {
                const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
                const int rows = w->rows - t * BN_TP_ROWS < BN_TP_ROWS ? (int)(w->rows - t * BN_TP_ROWS) : BN_TP_ROWS;
                for (int r = 0; r < rows; r++) {
                    int32_t dot[4];
                    row_dot4(tile + r * BN_TP_CHUNK_BYTES, w->n_chunks, x->q + (size_t)i * x->stride, x->stride, dot);
                    for (int j = 0; j < 4; j++)
                        store(y + (size_t)(i + j) * y_stride + t * BN_TP_ROWS + r,
                              (float)(dot[j] - x->sum[i + j]) * w->scale * x->scale[i + j], accumulate);
                }
            }
        for (; i < n_tok; i++)
            for (int64_t t = tb; t < te; t++) {
                const int rows = w->rows - t * BN_TP_ROWS < BN_TP_ROWS ? (int)(w->rows - t * BN_TP_ROWS) : BN_TP_ROWS;
                tile_token(w, w->codes + (size_t)t * tile_bytes, t, rows, x, i, y, y_stride, accumulate);
            }
    }
}
