// bf16 packed-weight GEMM and fused LSTM step for CPUs without vdpbf16ps, written once
// over clang vector types and included once per instruction-set variant by bf16.c, which
// defines before inclusion:
//   ELMO_SUFFIX, ELMO_ATTR, ELMO_VW  as for vec_math.h
//   ELMO_NV      vectors per column group (a group is ELMO_VW * ELMO_NV columns)
//   ELMO_MR      rows per register tile
//
// The bf16 values are widened to fp32 (exact) and multiplied with fp32 fused multiply-adds
// in the order vdpbf16ps uses (odd element of each pair first). That gives the
// instruction's bits except where its fixed denormal handling or its NaN rules differ from
// IEEE fp32, which needs a value below 2^-126 somewhere in the chain, or a NaN. Each
// register tile checks its operands instead of every intermediate value: when every
// nonzero weight and activation is at least 2^-50 in magnitude and every nonzero starting
// value at least 2^-91, all products and starting values are multiples of 2^-114, so is
// every sum and every rounded sum, and no nonzero intermediate can come below 2^-114:
// nothing is denormal, nothing is flushed, and the fp32 chain is the instruction's. A tile
// that fails the check (or ends with a NaN) is recomputed with the scalar definition
// (elmo_bf16_tile_exact in bf16.c): rare in real models, exact in every case.

#include "vec_math.h"

#define BGW (ELMO_VW * ELMO_NV)
#define BGROUPS (ELMO_PANEL / BGW)
#define U32 ELMO_FN(bu32)
typedef uint32_t ELMO_FN(bu32) __attribute__((ext_vector_type(ELMO_VW)));

// All-ones lanes where x is nonzero and below `limit` (an fp32 bit pattern) in magnitude.
ELMO_ALWAYS U32 ELMO_FN(bsmall)(U32 bits, uint32_t limit) {
    U32 mag = bits & 0x7fffffffu;
    return (U32)((mag - 1u) < limit - 1u);
}

/// Smallest magnitude of a nonzero operand (2^-50) and starting value (2^-91) for which
/// the fp32 chain is provably the instruction's (see above), as fp32 bit patterns.
#define ELMO_BF16_OPERAND_MIN 0x26800000u
#define ELMO_BF16_START_MIN 0x12000000u

// One register tile: `rows` (<= ELMO_MR, a constant at every call site) rows times one
// column group. dst = init + a * W over `pairs` pair rows of k (plus one half pair when
// odd_tail: the block ends at an odd K), w pointing at the group's first column in pair
// row 0 of the block (pair row stride 2 * ELMO_PANEL values).
ELMO_ALWAYS void ELMO_FN(btile)(const int rows, const uint16_t *a, size_t lda, const uint16_t *w,
                                size_t pairs, int odd_tail, int init, const float *src, size_t lds,
                                float *dst, size_t ldd) {
    VEC acc[ELMO_MR][ELMO_NV];
    U32 flag = (U32)0u;
    uint32_t scalar_flag = 0;
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < ELMO_NV; v++) {
            if (init == ELMO_TILE_ZERO) acc[r][v] = ELMO_FN(splat)(0.0f);
            else if (init == ELMO_TILE_BIAS) acc[r][v] = ELMO_FN(loadu)(src + v * ELMO_VW);
            else acc[r][v] = ELMO_FN(loadu)(src + (size_t)r * lds + v * ELMO_VW);
            if (init != ELMO_TILE_ZERO) flag |= ELMO_FN(bsmall)((U32)acc[r][v], ELMO_BF16_START_MIN);
        }
    }
    const size_t steps = pairs + (odd_tail ? 1 : 0);
    for (size_t q = 0; q < steps; q++) {
        const uint16_t *wq = w + q * 2 * ELMO_PANEL;
        VEC we[ELMO_NV], wo[ELMO_NV];
        for (int v = 0; v < ELMO_NV; v++) {
            U32 p = *(const U32 *)(wq + 2 * v * ELMO_VW);
            U32 even = p << 16, odd = p & 0xffff0000u;
            flag |= ELMO_FN(bsmall)(even, ELMO_BF16_OPERAND_MIN) | ELMO_FN(bsmall)(odd, ELMO_BF16_OPERAND_MIN);
            we[v] = (VEC)even;
            wo[v] = (VEC)odd;
        }
        for (int r = 0; r < rows; r++) {
            const uint16_t *ar = a + (size_t)r * lda + 2 * q;
            uint32_t pair = ar[0];
            if (q < pairs) pair |= (uint32_t)ar[1] << 16;
            const uint32_t even = pair << 16, odd = pair & 0xffff0000u;
            scalar_flag |= ((even & 0x7fffffffu) - 1u < ELMO_BF16_OPERAND_MIN - 1u) |
                           ((odd & 0x7fffffffu) - 1u < ELMO_BF16_OPERAND_MIN - 1u);
            VEC xe = ELMO_FN(splat)(elmo_f32_from_bits(even));
            VEC xo = ELMO_FN(splat)(elmo_f32_from_bits(odd));
            for (int v = 0; v < ELMO_NV; v++) {
                acc[r][v] = __builtin_elementwise_fma(wo[v], xo, acc[r][v]);
                acc[r][v] = __builtin_elementwise_fma(we[v], xe, acc[r][v]);
            }
        }
    }
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < ELMO_NV; v++) flag |= (U32)(acc[r][v] != acc[r][v]);  // NaN
    }
    int any = scalar_flag != 0;
    for (int i = 0; i < ELMO_VW; i++) any |= flag[i] != 0;
    if (__builtin_expect(any, 0)) {
        elmo_bf16_tile_exact(rows, BGW, a, lda, w, pairs, odd_tail, init, src, lds, dst, ldd);
        return;
    }
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < ELMO_NV; v++) ELMO_FN(storeu)(dst + (size_t)r * ldd + v * ELMO_VW, acc[r][v]);
    }
}

ELMO_ALWAYS void ELMO_FN(btile_rows)(int rows, const uint16_t *a, size_t lda, const uint16_t *w, size_t pairs,
                                     int odd_tail, int init, const float *src, size_t lds, float *dst, size_t ldd) {
    switch (rows) {
#define ELMO_ROWS_CASE(R) \
    case R: ELMO_FN(btile)(R, a, lda, w, pairs, odd_tail, init, src, lds, dst, ldd); break;
    ELMO_ROWS_CASE(1)
    ELMO_ROWS_CASE(2)
    ELMO_ROWS_CASE(3)
    ELMO_ROWS_CASE(4)
#if ELMO_MR > 4
#error "ELMO_MR above 4 needs more cases"
#endif
#undef ELMO_ROWS_CASE
    default: break;
    }
}

// A whole panel for up to ELMO_MR rows: every column group in turn.
ELMO_ALWAYS void ELMO_FN(bpanel_rows)(int rows, const uint16_t *a, size_t lda, const uint16_t *w, size_t pairs,
                                      int odd_tail, int init, const float *src, size_t lds, float *dst, size_t ldd) {
    for (int g = 0; g < BGROUPS; g++) {
        ELMO_FN(btile_rows)(rows, a, lda, w + 2 * g * BGW, pairs, odd_tail, init,
                            src ? src + g * BGW : src, lds, dst + g * BGW, ldd);
    }
}

ELMO_ATTR static void ELMO_FN(gemm_bf16)(const uint16_t *a, size_t lda, size_t m, const elmo_packed *w,
                                         elmo_gemm_init init, const float *bias, float *c, size_t ldc,
                                         size_t panel_begin, size_t panel_end) {
    ELMO_BF16_GEMM_LOOP(ELMO_FN(bpanel_rows), ELMO_MR)
}

ELMO_ATTR static void ELMO_FN(lstm_step_bf16)(const float *gates, size_t ld_gates, const uint16_t *h_prev, size_t ld_h,
                                              const elmo_packed *u, float *cell, float *hidden, uint16_t *hidden_bf16,
                                              size_t ld_cell, size_t m, float cell_clip, size_t panel_begin,
                                              size_t panel_end) {
    ELMO_BF16_STEP_LOOP(ELMO_FN(bpanel_rows), ELMO_MR, ELMO_FN(cell_update))
}

ELMO_ATTR static void ELMO_FN(convert_rows)(const float *src, size_t lds, size_t rows, size_t cols, uint16_t *dst,
                                            size_t ldd) {
    for (size_t r = 0; r < rows; r++) {
        const float *s = src + r * lds;
        uint16_t *d = dst + r * ldd;
        size_t j = 0;
        for (; j + ELMO_VW <= cols; j += ELMO_VW) ELMO_FN(store_bf16)(d + j, ELMO_FN(loadu)(s + j));
        for (; j < cols; j++) d[j] = elmo_bf16_round_scalar(s[j]);
    }
}

#undef U32
#undef ELMO_BF16_OPERAND_MIN
#undef ELMO_BF16_START_MIN
#undef BGW
#undef BGROUPS
#include "vec_math_end.h"
