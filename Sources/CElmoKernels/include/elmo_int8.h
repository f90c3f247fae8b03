// int8 weights: quantisation and the packed-weight kernels that multiply by them.
//
// Weights are quantised once, per output column, symmetrically: w[k][j] ~= scale[j] * q[k][j]
// with q in [-127, 127] and scale[j] = max_k |w[k][j]| / 127 (fp32). Activations are
// quantised at run time per row the same way (elmo_int8_quantize_rows), stored offset by
// 128 as unsigned bytes, the operand layout of `vpdpbusd`. A product is the exact int32 sum
// S = sum_k (a_u8[k] - 128) * q[k][j] (with vpdpbusd: sum_k a_u8 * q, minus 128 times the
// column's stored sum of q), and the output element is
//     init + (float)S * (row_scale * scale[j])
// in fp32 with separate roundings (no fused multiply-add): ZERO init gives the product alone,
// BIAS adds bias[j], ACCUMULATE adds the element's previous value. S is an integer computed
// exactly by every variant (AVX-512 VNNI, AVX-VNNI, AVX2 and portable C), and the
// dequantisation is the same fp32 operations in every variant, so all variants give
// identical bits; as for fp32, an output element depends only on its own row and column.
// Sums cannot overflow: |S| <= 4 * 255 * 127 per quad of k, far below 2^31 for any K < 2^21.
#ifndef ELMO_INT8_H
#define ELMO_INT8_H

#include <stddef.h>
#include <stdint.h>
#include "elmo_gemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/// A packed K x N int8 matrix with its per-column scales and column sums.
/// - data: ceil(N / ELMO_PANEL) panels; panel p is ceil(K / 4) quad rows of 4 * ELMO_PANEL
///   bytes; quad row q holds, for each column j of the panel, q[4q..4q+3][j] (one 32-bit
///   word per column, the operand layout of vpdpbusd). Rows beyond K and columns beyond N
///   are zero. 64-byte aligned.
/// - scales: panels * ELMO_PANEL floats (0 for padding columns).
/// - column_sums: panels * ELMO_PANEL int32: sum over k of q[k][j].
typedef struct {
    const int8_t *data;
    const float *scales;
    const int32_t *column_sums;
    int64_t rows;  ///< K
    int64_t cols;  ///< N
} elmo_packed_int8;

/// Bytes of the packed data of a rows x cols matrix.
static inline size_t elmo_int8_packed_size(size_t rows, size_t cols) {
    return elmo_panel_count(cols) * ((rows + 3) / 4) * 4 * ELMO_PANEL;
}

/// Quantises a K x N float matrix (column j, row k at src[k * ld_row + j * ld_col]) into the
/// packed layout: data (elmo_int8_packed_size bytes), scales and column_sums
/// (elmo_panel_count(N) * ELMO_PANEL values each). q = round-half-even(w * (127 / amax))
/// clamped to [-127, 127]; an all-zero column has scale 0.
void elmo_int8_pack(const float *src, size_t ld_row, size_t ld_col, size_t rows, size_t cols,
                    int8_t *data, float *scales, int32_t *column_sums);

/// The float value of packed element (k, j): scale[j] * q[k][j] (for conversions and tests).
float elmo_int8_packed_value(const elmo_packed_int8 *w, size_t k, size_t j);

/// Quantises `rows` rows of `cols` floats (row stride ldx) to bytes (row stride ldq >= cols
/// rounded up to 4; the bytes from cols to that are set to 128, zero) and one scale per row:
/// scale = amax / 127, byte = 128 + round-half-even(x * (127 / amax)) clamped to
/// [-127, 127] (NaN read as 0). A row of zeros has scale 0.
void elmo_int8_quantize_rows(const float *x, size_t ldx, size_t rows, size_t cols, uint8_t *q, size_t ldq,
                             float *scales);

/// c (m x N, row stride ldc) = init + a * W (see above) for the columns of panels
/// [panel_begin, panel_end); a: m rows of K = w->rows quantised bytes (stride lda >= K
/// rounded up to 4) with their scales a_scales. Columns >= N are never written.
void elmo_gemm_int8(const uint8_t *a, size_t lda, const float *a_scales, size_t m, const elmo_packed_int8 *w,
                    elmo_gemm_init init, const float *bias, float *c, size_t ldc, size_t panel_begin,
                    size_t panel_end);

/// One fused LSTM timestep as elmo_lstm_step, with int8 recurrent weights and the previous
/// output h_prev quantised (m rows of bytes, stride ld_h, scales h_scales): the gate
/// pre-activations are gates + the dequantised product, then the fp32 cell update of
/// elmo_lstm_step. Writes the new hidden state (fp32) to `hidden` (row stride ld_cell).
void elmo_lstm_step_int8(const float *gates, size_t ld_gates, const uint8_t *h_prev, size_t ld_h,
                         const float *h_scales, const elmo_packed_int8 *u, float *cell, float *hidden,
                         size_t ld_cell, size_t m, float cell_clip, size_t panel_begin, size_t panel_end);

#ifdef __cplusplus
}
#endif
#endif
