/* AVX2 ternary GEMV/GEMM over the packed layout (tpack.h). Built with -mavx2
 * -mfma -mf16c -mbmi2.
 *
 * Each bit plane becomes an unsigned byte (the code, or the code * 4 in
 * decode); vpmaddubsw multiplies it with the signed activations and adds
 * pairs into int16, exactly as long as the int16 sums are bounded (see each
 * kernel) before vpmaddwd widens them to int32 (bitnet.cpp's AVX2 kernel
 * accumulates in int16 without such a bound and can overflow). */
#include <immintrin.h>

#include "arch/x86_64/kernels_x86.h"

#define PREFETCH_AHEAD 2048
/* batches: chunks whose int16 pair sums (at most 512 each, 8 per lane and
 * chunk) a lane takes before it is widened */
#define INT16_CHUNKS 8

/* acc += v in int16, in place: written as C, GCC sums the products of a
 * chunk in a tree first and spills the temporaries */
static inline __m256i add16(__m256i acc, __m256i v)
{
    __asm__("vpaddw %1, %0, %0" : "+x"(acc) : "x"(v));
    return acc;
}

/* chunks per block of decode's int16 sums (see tile_dot) */
#define DECODE_INT16_CHUNKS 4

/* Decode: the 4 rows of a tile together, chunk by chunk, so that the tile
 * is read in order. One 16-bit shift per 32 code bytes, not three: planes 0
 * and 1 are masked in place in the bytes, planes 2 and 3 in the bytes
 * shifted down by 4, which gives code * 1 for planes 0 and 2 and code * 4
 * for planes 1 and 3. The two kinds add up in separate int16 sums, a (at
 * most 2 * 2 * 128 = 512 per vpmaddubsw pair) and b (at most 2048); b takes
 * 4 per lane and chunk, so 4 chunks (16, the most that stays exact) before
 * vpmaddwd widens both, a times 4: the int32 sums hold 4 * the dot product,
 * shifted back exactly at the end. This loop is bound by its vector
 * instructions (13 per 32 code bytes instead of 15), not by memory. */
static inline void tile_dot(const uint8_t *tile, int64_t n_chunks, const int8_t *x, int32_t out[BN_TP_ROWS])
{
    const __m256i m_lo = _mm256_set1_epi8(0x03), m_hi = _mm256_set1_epi8(0x0c);
    const __m256i ones = _mm256_set1_epi16(1), fours = _mm256_set1_epi16(4);
    __m256i acc[BN_TP_ROWS];
    for (int r = 0; r < BN_TP_ROWS; r++)
        acc[r] = _mm256_setzero_si256();
    for (int64_t c0 = 0; c0 < n_chunks; c0 += DECODE_INT16_CHUNKS) {
        const int64_t c1 = c0 + DECODE_INT16_CHUNKS < n_chunks ? c0 + DECODE_INT16_CHUNKS : n_chunks;
        __m256i a[BN_TP_ROWS], b[BN_TP_ROWS];
        for (int r = 0; r < BN_TP_ROWS; r++)
            a[r] = b[r] = _mm256_setzero_si256();
        for (int64_t c = c0; c < c1; c++) {
            const uint8_t *p = tile + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES);
            const int8_t *xc = x + c * BN_TP_CHUNK;
            _mm_prefetch((const char *)p + PREFETCH_AHEAD, _MM_HINT_T0);
            _mm_prefetch((const char *)p + PREFETCH_AHEAD + 64, _MM_HINT_T0);
            _mm_prefetch((const char *)p + PREFETCH_AHEAD + 128, _MM_HINT_T0);
            _mm_prefetch((const char *)p + PREFETCH_AHEAD + 192, _MM_HINT_T0);
            BN_UNROLL
            for (int h = 0; h < 2; h++) {
                BN_UNROLL
                for (int r = 0; r < BN_TP_ROWS; r++) {
                    const uint8_t *pr = p + BN_TP_CHUNK_BYTES * r + 32 * h;
                    const __m256i w = _mm256_load_si256((const __m256i *)(const void *)pr);
                    /* 16-bit shift: the bits moved in from the next byte are masked off */
                    const __m256i hi = _mm256_srli_epi16(w, 4);
                    const int8_t *xh = xc + 32 * h;
                    a[r] = add16(a[r], _mm256_maddubs_epi16(_mm256_and_si256(w, m_lo),
                                                            _mm256_loadu_si256((const void *)xh)));
                    b[r] = add16(b[r], _mm256_maddubs_epi16(_mm256_and_si256(w, m_hi),
                                                            _mm256_loadu_si256((const void *)(xh + 64))));
                    a[r] = add16(a[r], _mm256_maddubs_epi16(_mm256_and_si256(hi, m_lo),
                                                            _mm256_loadu_si256((const void *)(xh + 128))));
                    b[r] = add16(b[r], _mm256_maddubs_epi16(_mm256_and_si256(hi, m_hi),
                                                            _mm256_loadu_si256((const void *)(xh + 192))));
                }
            }
        }
        for (int r = 0; r < BN_TP_ROWS; r++)
            acc[r] = _mm256_add_epi32(acc[r], _mm256_add_epi32(_mm256_madd_epi16(a[r], fours),
                                                               _mm256_madd_epi16(b[r], ones)));
    }
    for (int r = 0; r < BN_TP_ROWS; r++) {
        __m128i v = _mm_add_epi32(_mm256_castsi256_si128(acc[r]), _mm256_extracti128_si256(acc[r], 1));
        v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4e));
        v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0xb1));
        out[r] = _mm_cvtsi128_si32(v) / 4;   /* exact: a multiple of 4 */
    }
}

/* One tile of decode, scaled and stored as bn_tgemm_ref does (rows past the
 * matrix's end are computed on the padding and dropped). */
static inline void tile_token(const bn_tpack *w, int64_t t, const bn_qx *x, float *y, int accumulate)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    const int rows = bn_tp_tile_rows(w, t);
    int32_t dot[BN_TP_ROWS];
    tile_dot(w->codes + (size_t)t * tile_bytes, w->n_chunks, x->q, dot);
    for (int r = 0; r < rows; r++) {
        const float v = (float)(dot[r] - x->sum[0]) * bn_tp_row_scale(w, t * BN_TP_ROWS + r) * x->scale[0];
        y[t * BN_TP_ROWS + r] = accumulate ? y[t * BN_TP_ROWS + r] + v : v;
    }
}

/* Prompts and batches: one row against T <= MAX_T tokens. Each plane is shifted
 * down to the code itself (0, 1 or 2) once and used for all T tokens; a
 * vpmaddubsw pair is then at most 2 * 2 * 128 = 512 in magnitude, so 64 of
 * them (8 chunks) add up exactly in int16 before one vpmaddwd widens them,
 * as in tile_dot. */
/* tokens per pass over a row: the unpacking of a plane is shared by this
 * many; 8 int16 sums plus the plane fill the 16 registers */
#define MAX_T 8


/* Chunks [begin, end) of one row against T tokens: out[t] = the int32 sum.
 * Prefetches `ahead` bytes past each chunk. */
static inline __attribute__((always_inline)) void row_dot_tokens(const uint8_t *row, int64_t begin, int64_t end,
                                                                 size_t ahead, const int8_t *x, size_t xs, int T,
                                                                 int32_t out[MAX_T])
{
    const __m256i m = _mm256_set1_epi8(0x03), ones = _mm256_set1_epi16(1);
    __m256i acc[MAX_T];
    BN_UNROLL
    for (int t = 0; t < T; t++)
        acc[t] = _mm256_setzero_si256();
    for (int64_t c0 = begin; c0 < end; c0 += INT16_CHUNKS) {
        const int64_t c1 = c0 + INT16_CHUNKS < end ? c0 + INT16_CHUNKS : end;
        __m256i a16[MAX_T];
        BN_UNROLL
        for (int t = 0; t < T; t++)
            a16[t] = _mm256_setzero_si256();
        for (int64_t c = c0; c < c1; c++) {
            const uint8_t *p = row + c * (BN_TP_ROWS * BN_TP_CHUNK_BYTES);
            _mm_prefetch((const char *)((uintptr_t)p + ahead), _MM_HINT_T0);
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

/* Chunks [begin, end) of one tile for tokens [i, i + T), added to part
 * (part[r][j]: row r, token i + j; begin == 0 starts it); with the last
 * chunk, scaled and stored as bn_tgemm_ref does. */
static inline __attribute__((always_inline)) void tile_tokens(const bn_tpack *w, int64_t t, int rows, const bn_qx *x,
                                                              int i, int T, int64_t begin, int64_t end,
                                                              int32_t part[BN_TP_ROWS][MAX_T], float *y,
                                                              size_t y_stride, int accumulate)
{
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    const uint8_t *tile = w->codes + (size_t)t * tile_bytes;
    /* a segment of a longer row: the same segment of the next tile, which
     * the first token group reads from memory tile after tile */
    const size_t ahead = end - begin < w->n_chunks ? tile_bytes : PREFETCH_AHEAD;
    for (int r = 0; r < rows; r++) {
        int32_t dot[MAX_T];
        row_dot_tokens(tile + r * BN_TP_CHUNK_BYTES, begin, end, ahead, x->q + (size_t)i * x->stride, x->stride, T,
                       dot);
        for (int j = 0; j < T; j++)
            part[r][j] = begin ? part[r][j] + dot[j] : dot[j];
        if (end < w->n_chunks)
            continue;
        for (int j = 0; j < T; j++) {
            float *yj = y + (size_t)(i + j) * y_stride + t * BN_TP_ROWS + r;
            const float v = (float)(part[r][j] - x->sum[i + j]) * bn_tp_row_scale(w, t * BN_TP_ROWS + r) * x->scale[i + j];
            *yj = accumulate ? *yj + v : v;
        }
    }
}

/* Tiles per block in prompts and batches: a block of weights (about 256 KB)
 * stays in L2 while each group of tokens, whose activations stay in L1,
 * passes over it. */
#define GEMM_BLOCK_BYTES (256 * 1024)
/* Activation bytes of one pass: longer rows are taken in segments of
 * chunks, each over the whole block, so that a segment's activations stay
 * in L1; the int32 sums of the segments add up exactly. With 8 tokens of
 * K = 6912 (55 KB) in one pass, a product of 2560 rows from memory took
 * 997 us against 750 for K = 2560 x 6912 (the same MACs); in segments,
 * 781 (checkasm --bench, one thread, Zen 5). */
#define SEGMENT_BYTES (24 * 1024)
/* at most this many tiles per block, whose partial sums the stack keeps */
#define SEGMENT_TILES 64

/* Tiles [tb, te) for tokens [i, i + T), segment by segment. */
static inline __attribute__((always_inline)) void block_tokens(const bn_tpack *w, int64_t tb, int64_t te,
                                                               const bn_qx *x, int i, int T, int64_t seg,
                                                               int32_t (*part)[BN_TP_ROWS][MAX_T], float *y,
                                                               size_t y_stride, int accumulate)
{
    for (int64_t c0 = 0; c0 < w->n_chunks; c0 += seg) {
        const int64_t c1 = c0 + seg < w->n_chunks ? c0 + seg : w->n_chunks;
        for (int64_t t = tb; t < te; t++) {
            const int rows = bn_tp_tile_rows(w, t);
            tile_tokens(w, t, rows, x, i, T, c0, c1, part[t - tb], y, y_stride, accumulate);
        }
    }
}

void bn_tgemm_avx2(BN_TGEMM_ARGS)
{
    if (w->block_scales) {
        bn_tgemm_blocks_avx2(w, tile0, tile1, x, n_tok, y, y_stride, accumulate);
        return;
    }
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    if (n_tok == 1) {
        /* decode: two halves of the range read side by side, two streams of
         * misses in flight instead of one (as the AVX-512 kernel) */
        const int64_t mid = tile0 + (tile1 - tile0) / 2;
        for (int64_t a = tile0, b = mid; b < tile1; a++, b++) {
            if (a < mid)
                tile_token(w, a, x, y, accumulate);
            tile_token(w, b, x, y, accumulate);
        }
        return;
    }
    int64_t block = (int64_t)(GEMM_BLOCK_BYTES / tile_bytes);
    block = block < 1 ? 1 : block;
    block = block > SEGMENT_TILES ? SEGMENT_TILES : block;
    int32_t part[SEGMENT_TILES][BN_TP_ROWS][MAX_T];
    for (int64_t tb = tile0; tb < tile1; tb += block) {
        const int64_t te = tb + block < tile1 ? tb + block : tile1;
        for (int i = 0; i < n_tok;) {
            const int n = n_tok - i >= MAX_T ? MAX_T : n_tok - i >= 4 ? 4 : n_tok - i >= 2 ? 2 : 1;
            int64_t seg = SEGMENT_BYTES / (n * BN_TP_CHUNK);
            seg = seg < w->n_chunks ? seg : w->n_chunks;
            /* a constant T for each variant, so that the loops unroll */
            switch (n) {
            case MAX_T: block_tokens(w, tb, te, x, i, MAX_T, seg, part, y, y_stride, accumulate); break;
            case 4: block_tokens(w, tb, te, x, i, 4, seg, part, y, y_stride, accumulate); break;
            case 2: block_tokens(w, tb, te, x, i, 2, seg, part, y, y_stride, accumulate); break;
            default: block_tokens(w, tb, te, x, i, 1, seg, part, y, y_stride, accumulate);
            }
            i += n;
        }
    }
}
