// Elementwise and gather kernels of the ELMo hot path, written in C so that they
// vectorise reliably; the matrix products are in elmo_gemm.h.
//
// Each kernel is compiled several times (baseline x86-64, AVX2+FMA, AVX-512) and the
// best variant for the running CPU is chosen once, at first use (family ELMO_KERNELS_FP32,
// elmo_kernel_variants.h). Floating-point contraction is disabled in every variant, so all
// variants return bit-identical results.
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

/// Clips n values to [-clip, clip] in place.
void elmo_clip(float *x, size_t n, float clip);

/// dst[i] += src[i] for n values.
void elmo_add_inplace(float *dst, const float *src, size_t n);

/// Processors this process may run on (its CPU affinity mask), at least 1.
int elmo_available_processors(void);

/// Reference scalar exp, sigmoid and tanh used by every variant (exposed for tests).
float elmo_kernel_exp(float x);
float elmo_kernel_sigmoid(float x);
float elmo_kernel_tanh(float x);

#ifdef __cplusplus
}
#endif
#endif
