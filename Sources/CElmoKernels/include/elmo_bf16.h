// bfloat16 weights: conversion and the packed-weight kernels that multiply by them.
//
// Arithmetic: the products are those of `vdpbf16ps` (AVX512_BF16). Activations are rounded
// to bf16 (elmo_bf16_round) and multiplied by the bf16 weights; each output element is one
// fp32 accumulation chain over k = 1, 0, 3, 2, 5, 4, ... (the instruction adds the odd
// product of a pair first), every step one rounding to nearest even, with denormal inputs
// read as zero and results below 2^-126 flushed to zero (the instruction's fixed
// behaviour, whatever MXCSR says). NaNs propagate as the instruction propagates them.
//
// Every variant gives exactly those bits: the AVX512_BF16 one by executing the instruction,
// the others (AVX-512F, AVX2+FMA, portable) with fp32 fused multiply-adds on widened values,
// recomputing, with the scalar definition in bf16_scalar.h, the rare register tiles where a
// value came near underflow or became NaN. As for fp32 (elmo_gemm.h), an output element
// depends only on its own row and column: not on the rows computed with it, the thread
// split or the variant.
#ifndef ELMO_BF16_H
#define ELMO_BF16_H

#include <stddef.h>
#include <stdint.h>
#include "elmo_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/// fp32 -> bf16 as `vcvtneps2bf16` rounds: to nearest, ties to even; fp32 denormals become
/// zero of the same sign; NaN stays NaN (sign and upper payload kept, made quiet); values
/// beyond the largest bf16 after rounding become infinity.
uint16_t elmo_bf16_round(float x);

/// bf16 -> fp32 (exact).
float elmo_bf16_widen(uint16_t x);

/// Converts `rows` rows of `cols` floats (row stride lds) to bf16 rows (row stride ldd).
void elmo_bf16_convert_rows(const float *src, size_t lds, size_t rows, size_t cols, uint16_t *dst, size_t ldd);

/// Packs a K x N float matrix (column j, row k at src[k * ld_row + j * ld_col]) into the
/// BF16 packed layout at `dst` (elmo_bf16_packed_size(K, N) uint16 values, 64-byte aligned),
/// rounding with elmo_bf16_round. Padding (row K of an odd K, columns >= N) is zero.
void elmo_bf16_pack(const float *src, size_t ld_row, size_t ld_col, size_t rows, size_t cols, uint16_t *dst);

/// uint16 values of a packed BF16 matrix of `rows` x `cols`.
static inline size_t elmo_bf16_packed_size(size_t rows, size_t cols) {
    return elmo_panel_count(cols) * ((rows + 1) / 2) * 2 * ELMO_PANEL;
}

/// c (m x N, row stride ldc) = init + a (m x K bf16, row stride lda) * W for BF16 packed
/// weights, restricted to panels [panel_begin, panel_end) (as elmo_gemm). Columns >= N
/// are never written. Does nothing for other weight types.
void elmo_gemm_bf16(const uint16_t *a, size_t lda, size_t m, const elmo_packed *w,
                    elmo_gemm_init init, const float *bias, float *c, size_t ldc,
                    size_t panel_begin, size_t panel_end);

/// One fused LSTM timestep as elmo_lstm_step, with BF16 recurrent weights and the previous
/// output h_prev given in bf16 (m rows, stride ld_h). Writes the new hidden state as fp32
/// to `hidden` and/or rounded to bf16 (elmo_bf16_round) to `hidden_bf16` (either may be
/// NULL; both have row stride ld_cell).
void elmo_lstm_step_bf16(const float *gates, size_t ld_gates, const uint16_t *h_prev, size_t ld_h,
                         const elmo_packed *u, float *cell, float *hidden, uint16_t *hidden_bf16,
                         size_t ld_cell, size_t m, float cell_clip, size_t panel_begin, size_t panel_end);

/// One step of the accumulation chain, for tests: acc + w * a exactly as one half of a
/// `vdpbf16ps` lane computes it (w the first source operand, a the second).
float elmo_bf16_fma_reference(float acc, uint16_t w, uint16_t a);

#ifdef __cplusplus
}
#endif
#endif
