// Matrix kernels of the ELMo hot path over weights packed once, at load time.
//
// A general-purpose BLAS repacks its weight operand on every call; for the LSTM's
// recurrent step (a few rows times a 32 MB matrix, thousands of times per batch) that
// repacking costs more than the arithmetic. Here every weight matrix is stored in the
// layout the micro-kernels stream: column panels of ELMO_PANEL columns, each panel
// K rows x ELMO_PANEL values, contiguous. The native model file stores exactly this
// layout, so it is memory-mapped and used as is.
//
// Exactness: every output element is its starting value (zero, a bias value, or the
// element's previous value) plus, in order, the partial sums of k = 0..63, 64..127, ...:
// each partial sum one fused multiply-add chain over its 64 values of k in order, starting
// from zero. (Split accumulation: the rounding error of one chain over all of K grows about
// like K, that of 64-value chains summed like K^(3/4); K is 4096 for the LSTM projection.)
// It therefore depends only on its own row of A and column of W: not on how many rows are
// computed together, at which position, on how the work is split between threads, or on
// which instruction-set variant runs (AVX-512, AVX2+FMA and portable code give identical
// bits). The token-layer cache relies on this.
#ifndef ELMO_GEMM_H
#define ELMO_GEMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Columns per packed panel. Part of the native file format: never depends on the CPU.
#define ELMO_PANEL 64
/// LSTM cells per panel of a gate-interleaved matrix (4 gates x 16 cells = one panel).
#define ELMO_PANEL_CELLS 16

/// Element type of packed weights.
typedef enum {
    ELMO_WEIGHTS_F32 = 0,   ///< float32, for elmo_gemm and elmo_lstm_step
    ELMO_WEIGHTS_BF16 = 1,  ///< bfloat16 in pairs of rows, for elmo_gemm_bf16 and elmo_lstm_step_bf16 (elmo_bf16.h)
} elmo_weight_type;

/// A packed K x N weight matrix: ceil(N / ELMO_PANEL) panels; panel p holds columns
/// [p * ELMO_PANEL, (p + 1) * ELMO_PANEL).
/// - F32: the panel is K rows of ELMO_PANEL floats, row-major.
/// - BF16: the panel is ceil(K / 2) pair rows of 2 * ELMO_PANEL bf16 values; pair row q
///   holds, for each column j, W[2q][j] then W[2q+1][j] (one 32-bit word per column, the
///   operand layout of vdpbf16ps). Row K of an odd K is zero.
/// Columns at or beyond N are zero. `data` is 64-byte aligned.
typedef struct {
    const void *data;
    int64_t rows;    ///< K
    int64_t cols;    ///< N (logical columns; the last panel may be partly padding)
    int32_t type;    ///< elmo_weight_type
} elmo_packed;

/// Number of panels of a matrix with `cols` columns.
static inline size_t elmo_panel_count(size_t cols) { return (cols + ELMO_PANEL - 1) / ELMO_PANEL; }

/// How `elmo_gemm` initialises each output element before accumulating.
typedef enum {
    ELMO_GEMM_ZERO = 0,        ///< c = a * W
    ELMO_GEMM_BIAS = 1,        ///< c = bias + a * W (bias: N values)
    ELMO_GEMM_ACCUMULATE = 2,  ///< c = c + a * W
} elmo_gemm_init;

/// c (m x N, row stride ldc) = init + a (m x K, row stride lda) * W, restricted to the
/// columns of panels [panel_begin, panel_end) so that threads can split the work;
/// columns >= N are never written.
/// (F32 weights only; does nothing for other types.)
void elmo_gemm(const float *a, size_t lda, size_t m, const elmo_packed *w,
               elmo_gemm_init init, const float *bias, float *c, size_t ldc,
               size_t panel_begin, size_t panel_end);

/// One LSTM timestep (TensorFlow LSTMCell semantics) for `m` rows, fused: recurrent
/// product, gate non-linearities, cell update, clipping and the hidden output, for the
/// cells of panels [panel_begin, panel_end) (ELMO_PANEL_CELLS cells per panel).
///
/// Gate-interleaved layout with dp = dim rounded up to ELMO_PANEL_CELLS: column
/// 64 * q + 16 * g + u holds gate g (TensorFlow order i, j, f, o) of cell 16 * q + u.
/// - gates: m rows (stride ld_gates >= 4 * dp): input contribution including the bias
///   (forget bias folded in), read only.
/// - h_prev: m rows (stride ld_h) of the previous output, the K = u->rows inputs.
/// - u: the packed recurrent weights (K x 4 * dp, gate-interleaved).
/// - cell: m rows (stride ld_cell >= dp): previous cell state in, new state out.
/// - hidden: m rows (stride ld_cell): sigmoid(o) * tanh(c) out.
/// c = sigmoid(f) * c_prev + sigmoid(i) * tanh(j), clipped to +-cell_clip when
/// cell_clip > 0. Cells of the padding (dim <= cell < dp) stay zero when their weights,
/// bias and state are zero.
void elmo_lstm_step(const float *gates, size_t ld_gates, const float *h_prev, size_t ld_h,
                    const elmo_packed *u, float *cell, float *hidden, size_t ld_cell,
                    size_t m, float cell_clip, size_t panel_begin, size_t panel_end);

#ifdef __cplusplus
}
#endif
#endif
