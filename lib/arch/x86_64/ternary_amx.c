/* AMX-INT8 ternary GEMM for prompts. Built with the AVX-512 flags plus
 * -mamx-tile -mamx-int8; called only when the CPU has AMX and the kernel
 * granted this process the tile state (cpu_x86.c).
 *
 * One TDPBUSD multiplies a 16 x 64 tile of unsigned bytes by a 64 x 16 tile
 * of signed bytes into 16 x 16 int32 sums: the weight codes (0, 1, 2) are the
 * unsigned side, one tile row per output row, and the int8 activations the
 * signed side, in the "VNNI" order the instruction wants (four consecutive
 * k of one token side by side). Both are rearranged into the work buffer:
 * the codes of 32 rows are unpacked from 2 bits to bytes once per 32 rows
 * and reused by every token; the activations are regrouped once per pass
 * (up to about 1 MB of them, all tokens of a 2B4T prompt of 128).
 * The sums are the same integers as every other level computes, and the
 * scaling is the same float expression, so outputs are bit-identical.
 *
 * Decode (few tokens), tensors with block scales (their per-chunk sums do
 * not fit the 64-weight tile steps' single sum) and calls without enough
 * work buffer go to the AVX-512 kernel. */
#include <immintrin.h>
#include <string.h>

#include "arch/x86_64/kernels_x86.h"

/* GCC's _tile_loadd and _tile_stored cast the stride to long, 32 bits on
 * Windows (LLP64), and the assembler rejects the (%rax,%r10d,1) that makes.
 * These take a 64-bit stride on every OS and are otherwise GCC's (the same
 * code on Linux); dst and src are tile numbers. */
#define TILE_LOADD(dst, base, stride) \
    __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #dst \
                     :: "r"((const void *)(base)), "r"((int64_t)(stride)))
#define TILE_STORED(src, base, stride) \
    __asm__ volatile("tilestored %%tmm" #src ", (%0,%1,1)" \
                     :: "r"((void *)(base)), "r"((int64_t)(stride)) : "memory")

/* fewer tokens leave the 16-token tiles mostly padding; at 8, AMX already
 * beats the AVX-512 GEMM (2B4T pp8: 64 vs 53 tok/s, 2 threads) */
#define AMX_MIN_TOKENS 8
/* rows and tokens per pass: two tiles of 16 each way */
#define MR 32
#define NT 32
/* cap on the regrouped activations of one pass over the rows (L2-sized) */
#define B_BYTES_MAX (1024 * 1024)

/* What the regrouped activations in the work buffer hold: a matmul node
 * calls the kernel once per piece of rows (and once per weight of the node),
 * always on the same activations, which are then regrouped only once. */
typedef struct regrouped {
    uint64_t stamp;         /* bn_qx.stamp they were made from; 0 = none */
    const int8_t *q;
    size_t stride;
    int64_t kp;
    int i0, n;
} regrouped;

size_t bn_tgemm_work_amx(int64_t kp)
{
    /* 32 unpacked rows + at least one pass of 32 tokens, plus one tile of
     * sums and the note of what the regrouped activations are */
    size_t a = (size_t)MR * (size_t)kp;
    size_t b = (size_t)kp * NT;
    size_t want = (size_t)B_BYTES_MAX > b ? (size_t)B_BYTES_MAX : b;
    return a + want + 4 * 1024 + sizeof(regrouped);
}

typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* tmm0-3: sums (rows 0-15 / 16-31 x tokens 0-15 / 16-31), tmm4-5: codes of
 * rows 0-15 / 16-31, tmm6-7: activations of tokens 0-15 / 16-31; all 16 x 64 B */
static void configure_tiles(void)
{
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int i = 0; i < 8; i++) {
        cfg.colsb[i] = 64;
        cfg.rows[i] = 16;
    }
    _tile_loadconfig(&cfg);
}

/* bytes ahead of the weight stream to prefetch (as in the GEMV kernels) */
#define PREFETCH_AHEAD 4096

/* Codes of rows [r0, r1) (r1 - r0 <= 32, r0 a multiple of 4) as bytes:
 * a[kb][row - r0][64] for each block kb of 64 weights; rows past r1 are 0.
 * Reads the packed tiles front to back (they come from DRAM). */
static void unpack_rows(const bn_tpack *w, int64_t r0, int64_t r1, uint8_t *a)
{
    const __m512i m = _mm512_set1_epi8(0x03);
    const size_t tile_bytes = (size_t)w->n_chunks * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
    const int n_rows = (int)(r1 - r0);
    for (int tr = 0; tr < MR; tr += BN_TP_ROWS) {
        if (tr >= n_rows) {
            for (int64_t kb = 0; kb < w->n_chunks * 4; kb++)
                for (int r = tr; r < MR; r++)
                    _mm512_store_si512(a + ((size_t)kb * MR + (size_t)r) * 64, _mm512_setzero_si512());
            break;
        }
        const uint8_t *tile = w->codes + (size_t)((r0 + tr) / BN_TP_ROWS) * tile_bytes;
        const int live = n_rows - tr < BN_TP_ROWS ? n_rows - tr : BN_TP_ROWS;
        for (int64_t c = 0; c < w->n_chunks; c++) {
            const uint8_t *src = tile + (size_t)c * BN_TP_ROWS * BN_TP_CHUNK_BYTES;
            _mm_prefetch((const char *)src + PREFETCH_AHEAD, _MM_HINT_T0);
            _mm_prefetch((const char *)src + PREFETCH_AHEAD + 64, _MM_HINT_T0);
            _mm_prefetch((const char *)src + PREFETCH_AHEAD + 128, _MM_HINT_T0);
            _mm_prefetch((const char *)src + PREFETCH_AHEAD + 192, _MM_HINT_T0);
            uint8_t *d = a + ((size_t)c * 4 * MR + (size_t)tr) * 64;
            for (int r = 0; r < BN_TP_ROWS; r++, d += 64) {
                /* rows of the tile past r1 belong to the next range: zero */
                const __m512i v = r < live ? _mm512_load_si512(src + r * BN_TP_CHUNK_BYTES) : _mm512_set1_epi8(0x00);
                _mm512_store_si512(d, _mm512_and_si512(v, m));
                _mm512_store_si512(d + MR * 64, _mm512_and_si512(_mm512_srli_epi16(v, 2), m));
                _mm512_store_si512(d + 2 * MR * 64, _mm512_and_si512(_mm512_srli_epi16(v, 4), m));
                _mm512_store_si512(d + 3 * MR * 64, _mm512_and_si512(_mm512_srli_epi16(v, 6), m));
            }
        }
    }
}

/* Activations of tokens [i0, i0 + n) regrouped for the tiles:
 * b[g][kb][k4 0..15][token 0..15][4 bytes] for each group g of 16 tokens
 * (tokens past n are 0): a 16 x 16 transpose of 4-byte words per block. */
static void regroup_tokens(const bn_qx *x, int i0, int n, int64_t kp, uint8_t *b)
{
    const int64_t n_kb = kp / 64;
    const int n_groups = (n + 15) / 16;
    /* byte offset of each token's row (the caller checked it fits in int32) */
    const __m512i rows = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32((int)x->stride));
    for (int g = 0; g < n_groups; g++) {
        const int in_group = n - g * 16 < 16 ? n - g * 16 : 16;
        const __mmask16 valid = (__mmask16)((1u << in_group) - 1);
        const int8_t *base = x->q + (size_t)(i0 + g * 16) * x->stride;
        uint8_t *dst = b + (size_t)g * (size_t)n_kb * 1024;
        for (int64_t kb = 0; kb < n_kb; kb++)
            for (int k4 = 0; k4 < 16; k4++) {
                /* word k4 of block kb of each token (rows need not be
                 * 4-byte aligned: byte offsets, scale 1) */
                const __m512i idx = _mm512_add_epi32(rows, _mm512_set1_epi32((int)(kb * 64 + k4 * 4)));
                const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, idx, base, 1);
                _mm512_store_si512(dst + (size_t)kb * 1024 + (size_t)k4 * 64, v);
            }
    }
}

/* In-register transpose of a 16 x 16 matrix of 32-bit words. */
static void transpose16(__m512i m[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(m[i], m[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(m[i], m[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        m[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        m[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        m[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        m[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* m[4a + b] now holds, in 128-bit lane L, rows 4L.. of column group b of block a */
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(m[i], m[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(m[i], m[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(m[i + 8], m[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(m[i + 8], m[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        m[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        m[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        m[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        m[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* Scales one tile of sums (s[row][token], 16 x 16) into y for nt tokens from
 * token i and nr rows: the same expression as bn_tgemm_ref, per token. */
static void scale_tile(const int32_t *s, const bn_tpack *w, int64_t row0, const bn_qx *x, int i, int nt, int nr,
                       float *y, size_t y_stride, int accumulate)
{
    __m512i m[16];
    for (int r = 0; r < 16; r++)
        m[r] = _mm512_load_si512(s + r * 16);
    transpose16(m);
    const __mmask16 rows = (__mmask16)((1u << nr) - 1);
    const __m512 ws = w->row_scales ? _mm512_maskz_loadu_ps(rows, w->row_scales + row0) : _mm512_set1_ps(w->scale);
    for (int j = 0; j < nt; j++) {
        const __m512 d = _mm512_cvtepi32_ps(_mm512_sub_epi32(m[j], _mm512_set1_epi32(x->sum[i + j])));
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(d, ws), _mm512_set1_ps(x->scale[i + j]));
        float *yj = y + (size_t)(i + j) * y_stride;
        if (accumulate)
            v = _mm512_add_ps(_mm512_maskz_loadu_ps(rows, yj), v);
        _mm512_mask_storeu_ps(yj, rows, v);
    }
}

void bn_tgemm_amx(BN_TGEMM_ARGS)
{
    const int64_t kp = w->n_chunks * BN_TP_CHUNK;
    const size_t a_bytes = (size_t)MR * (size_t)kp;
    const size_t need = bn_tgemm_work_amx(kp);
    /* regroup_tokens gathers 16 rows at int32 byte offsets */
    if (n_tok < AMX_MIN_TOKENS || w->block_scales || !x->work || x->work_bytes < need
        || x->stride > ((size_t)INT32_MAX - (size_t)kp) / 16 || (uintptr_t)x->work % 64) {
        bn_tgemm_avx512(w, tile0, tile1, x, n_tok, y, y_stride, accumulate);
        return;
    }
    uint8_t *a = x->work, *b = a + a_bytes;
    size_t b_room = need - a_bytes - 4 * 1024 - sizeof(regrouped);
    int32_t *sums = (int32_t *)(void *)(b + b_room);
    regrouped *held = (regrouped *)(void *)(b + b_room + 4 * 1024);
    int pass = (int)(b_room / (size_t)kp / NT * NT);
    pass = pass < NT ? NT : pass;

    const int64_t r_begin = tile0 * BN_TP_ROWS;
    const int64_t r_end = tile1 * BN_TP_ROWS < w->rows ? tile1 * BN_TP_ROWS : w->rows;
    const int64_t n_kb = kp / 64;
    configure_tiles();
    for (int i0 = 0; i0 < n_tok; i0 += pass) {
        const int n = n_tok - i0 < pass ? n_tok - i0 : pass;
        if (!x->stamp || held->stamp != x->stamp || held->q != x->q || held->stride != x->stride
            || held->kp != kp || held->i0 != i0 || held->n != n) {
            regroup_tokens(x, i0, n, kp, b);
            *held = (regrouped){ x->stamp, x->q, x->stride, kp, i0, n };
        }
        for (int64_t r0 = r_begin; r0 < r_end; r0 += MR) {
            const int64_t r1 = r0 + MR < r_end ? r0 + MR : r_end;
            unpack_rows(w, r0, r1, a);
            for (int g = 0; g * 16 < n; g += 2) {
                const uint8_t *b0 = b + (size_t)g * (size_t)n_kb * 1024;
                /* a lone last group pairs with itself; its sums are not stored twice */
                const uint8_t *b1 = (g + 1) * 16 < n ? b0 + (size_t)n_kb * 1024 : b0;
                _tile_zero(0);
                _tile_zero(1);
                _tile_zero(2);
                _tile_zero(3);
                for (int64_t kb = 0; kb < n_kb; kb++) {
                    TILE_LOADD(4, a + (size_t)kb * MR * 64, 64);
                    TILE_LOADD(5, a + (size_t)kb * MR * 64 + 16 * 64, 64);
                    TILE_LOADD(6, b0 + (size_t)kb * 1024, 64);
                    TILE_LOADD(7, b1 + (size_t)kb * 1024, 64);
                    _tile_dpbusd(0, 4, 6);
                    _tile_dpbusd(1, 4, 7);
                    _tile_dpbusd(2, 5, 6);
                    _tile_dpbusd(3, 5, 7);
                }
                /* sums[h][rows 16][tokens 16] for h = rows half * 2 + tokens half */
                TILE_STORED(0, sums, 64);
                TILE_STORED(1, sums + 256, 64);
                TILE_STORED(2, sums + 512, 64);
                TILE_STORED(3, sums + 768, 64);
                for (int h = 0; h < 4; h++) {
                    const int tok0 = (g + (h & 1)) * 16;
                    const int64_t row0 = r0 + (h >> 1) * 16;
                    if (tok0 < n && row0 < r1)
                        scale_tile(sums + h * 256, w, row0, x, i0 + tok0, n - tok0 < 16 ? n - tok0 : 16,
                                   (int)(r1 - row0 < 16 ? r1 - row0 : 16), y + row0, y_stride, accumulate);
                }
            }
        }
    }
    _tile_release();
}
