/* What the AVX-512 ternary kernels share (static inline: built into each
 * object with the AVX-512 flags). */
#ifndef BN_ARCH_X86_TERNARY_AVX512_H
#define BN_ARCH_X86_TERNARY_AVX512_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

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
/* in a batch, where each of two threads streams its weights at about 15
 * GB/s while it computes, 4 KB is short of the latency under load: 8 KB
 * took the 8-token pass's ternary products from 19.3 to 18.4 ms (2B4T,
 * 2 threads, Zen 5, 5 alternating runs); decode, which reads at the full
 * rate, is slower with 8 KB */
#define GEMM_PREFETCH_AHEAD 8192

/* The 4 lines `ahead` bytes past p. An address, not a pointer into the
 * weights: past the end of a matrix it lies outside them, and prefetches
 * do not fault. */
static inline void prefetch_lines(const uint8_t *p, size_t ahead)
{
    const uintptr_t a = (uintptr_t)p + ahead;
    _mm_prefetch((const char *)a, _MM_HINT_T0);
    _mm_prefetch((const char *)(a + 64), _MM_HINT_T0);
    _mm_prefetch((const char *)(a + 128), _MM_HINT_T0);
    _mm_prefetch((const char *)(a + 192), _MM_HINT_T0);
}

static inline void prefetch_chunk(const uint8_t *p)
{
    prefetch_lines(p, PREFETCH_AHEAD);
}

/* Horizontal sums of 16 vectors: lane j of the result is the sum of v[j],
 * so 128-bit lane t holds v[4t .. 4t + 3]'s sums. */
static inline __m512i sum16(const __m512i v[16])
{
    __m512i s[8], u[4];
    BN_UNROLL
    for (int j = 0; j < 8; j++)
        s[j] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * j], v[2 * j + 1]),
                                _mm512_unpackhi_epi32(v[2 * j], v[2 * j + 1]));
    BN_UNROLL
    for (int i = 0; i < 4; i++)
        u[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(s[2 * i], s[2 * i + 1]),
                                _mm512_unpackhi_epi64(s[2 * i], s[2 * i + 1]));
    const __m512i z0 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[0], u[1], 0x88), _mm512_shuffle_i32x4(u[0], u[1], 0xdd));
    const __m512i z1 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[2], u[3], 0x88), _mm512_shuffle_i32x4(u[2], u[3], 0xdd));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(z0, z1, 0x88), _mm512_shuffle_i32x4(z0, z1, 0xdd));
}

/* A tile's rows' outputs for tokens [i, i + T) from v (128-bit lane j:
 * token i + j's rows 0-3), stored to the first `rows` rows. */
static inline __attribute__((always_inline)) void store_tile_tokens(__m512 v, int64_t t, int rows, int i, int T,
                                                                    float *y, size_t y_stride, int accumulate)
{
    const __mmask8 rm = (__mmask8)((1u << rows) - 1);
    float *yt = y + (size_t)i * y_stride + t * BN_TP_ROWS;
    __m128 vj[4] = { _mm512_extractf32x4_ps(v, 0), _mm512_extractf32x4_ps(v, 1), _mm512_extractf32x4_ps(v, 2),
                     _mm512_extractf32x4_ps(v, 3) };
    BN_UNROLL
    for (int j = 0; j < T; j++) {
        float *yj = yt + (size_t)j * y_stride;
        __m128 o = vj[j];
        if (accumulate)
            o = _mm_add_ps(_mm_maskz_loadu_ps(rm, yj), o);
        _mm_mask_storeu_ps(yj, rm, o);
    }
}

/* x scales of tokens [i, i + T) in 128-bit lanes 0..T-1 */
static inline __m512 token_scales(const bn_qx *x, int i, int T)
{
    const __mmask16 tok = (__mmask16)((1u << T) - 1);
    const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(spread, _mm512_maskz_loadu_ps(tok, x->scale + i));
}

#endif
