// Elementwise and gather kernels of the ELMo hot path, written in C so that they
// vectorise reliably; matrix products go through OpenBLAS instead.
//
// Each kernel is compiled several times (baseline x86-64, AVX2+FMA, AVX-512) and the
// best variant for the running CPU is chosen once, at first use. Floating-point
// contraction is disabled in every variant, so all variants return bit-identical
// results: a model gives the same vectors on every x86-64 machine the same BLAS runs on.
#ifndef ELMO_KERNELS_H
#define ELMO_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Activation applied after the char-CNN max-pool.
typedef enum {
    ELMO_KERNEL_ACT_RELU = 0,
    ELMO_KERNEL_ACT_TANH = 1,
} elmo_kernel_activation;

/// One convolution filter bank of the character CNN, in "table" form: because the
/// convolution's input is an embedding of one of `n_chars` character ids, the product of
/// every (offset k, character c) pair with the filter is precomputed at load:
/// table[(k * n_chars + c) * stride + f] = sum_d embedding[c][d] * W[k][d][f].
typedef struct {
    const float *table;  ///< width * n_chars * stride floats
    const float *bias;   ///< count floats
    int32_t width;       ///< convolution width in characters
    int32_t count;       ///< number of output channels
    int32_t stride;      ///< floats per table row (>= count; padding channels ignored)
} elmo_char_filter;

/// Token layer, stage 1: convolutions + max-pool over positions + bias + activation.
/// ids: n_tokens * max_chars character ids (already +1 shifted as bilm-tf's Batcher does),
/// each < n_chars. out: n_tokens rows of out_stride floats; filter outputs are
/// concatenated in order. Windows lying entirely in a token's trailing padding are
/// all identical, so only the first of them is evaluated (the max is unchanged).
void elmo_char_cnn(const uint16_t *ids, size_t n_tokens, size_t max_chars, size_t n_chars,
                   const elmo_char_filter *filters, size_t n_filters, elmo_kernel_activation act,
                   float *out, size_t out_stride);

/// Highway combination, in place: for each of rows x n entries,
/// x = sigmoid(carry) * relu(transform) + (1 - sigmoid(carry)) * x, where
/// pre holds rows of [carry(n) | transform(n)] pre-activations without bias, and
/// bias holds [b_carry(n) | b_transform(n)]. (bilm-tf's convention.)
void elmo_highway_combine(const float *pre, const float *bias, float *x, size_t rows, size_t n);

/// Adds a bias row to every one of rows x n entries of x (row stride n).
void elmo_add_bias(float *x, const float *bias, size_t rows, size_t n);

/// LSTM cell update for `rows` rows (TensorFlow LSTMCell semantics).
/// gates: rows x 4*dim pre-activations in TensorFlow's order [i | j | f | o], bias not yet
/// added; bias: 4*dim, with the forget bias already folded into its f block.
/// cell: rows x dim, read (previous state) and written (new state).
/// hidden: rows x dim, written: sigmoid(o) * tanh(c).
/// c = sigmoid(f) * c_prev + sigmoid(i) * tanh(j), then clipped to [-cell_clip, cell_clip]
/// when cell_clip > 0.
void elmo_lstm_cell(const float *gates, const float *bias, float *cell, float *hidden,
                    size_t rows, size_t dim, float cell_clip);

/// Clips n values to [-clip, clip] in place.
void elmo_clip(float *x, size_t n, float clip);

/// dst[i] += src[i] for n values.
void elmo_add_inplace(float *dst, const float *src, size_t n);

/// Name of the kernel variant in use ("avx512", "avx2", "baseline").
const char *elmo_kernels_variant(void);

/// Processors this process may run on (its CPU affinity mask), at least 1.
int elmo_available_processors(void);

/// Tests only: restricts every kernel to variant `level` (0 baseline, 1 avx2, 2 avx512,
/// 3 avx512 with BF16: the fp32 kernels as at 2, the bf16 kernels using vdpbf16ps)
/// or below what the CPU supports; -1 restores the best. Returns the level now in use.
/// Process-global: never call it while another thread is computing.
int elmo_kernels_limit_variant(int level);

/// Reference scalar exp, sigmoid and tanh used by every variant (exposed for tests).
float elmo_kernel_exp(float x);
float elmo_kernel_sigmoid(float x);
float elmo_kernel_tanh(float x);

#ifdef __cplusplus
}
#endif
#endif
