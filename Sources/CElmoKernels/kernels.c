// The elementwise kernels (elmo_kernels.h) in each instruction-set variant, and the table
// the FP32 family dispatches through (dispatch.h).
#ifdef __clang__
#pragma clang fp contract(off)
#else
#pragma STDC FP_CONTRACT OFF
#endif

#include "elmo_kernels.h"
#include "kernels_body.h"
#include "dispatch.h"

// One wrapper per (variant, kernel). The body is identical; only the target differs.
#define ELMO_DEFINE_VARIANT(SUFFIX, ATTR)                                                     \
    ATTR static void char_cnn_##SUFFIX(const uint16_t *ids, size_t n_tokens, size_t max_chars, \
                                        size_t n_chars, const elmo_char_filter *filters,       \
                                        size_t n_filters, elmo_kernel_activation act,          \
                                        float *out, size_t out_stride) {                       \
        elmo_char_cnn_body(ids, n_tokens, max_chars, n_chars, filters, n_filters, act, out,    \
                           out_stride);                                                        \
    }                                                                                          \
    ATTR static void highway_##SUFFIX(const float *pre, const float *bias, float *x,           \
                                      size_t rows, size_t n) {                                 \
        elmo_highway_combine_body(pre, bias, x, rows, n);                                      \
    }                                                                                          \
    ATTR static void clip_##SUFFIX(float *x, size_t n, float clip) { elmo_clip_body(x, n, clip); } \
    ATTR static void add_inplace_##SUFFIX(float *dst, const float *src, size_t n) {            \
        elmo_add_inplace_body(dst, src, n);                                                    \
    }

ELMO_DEFINE_VARIANT(baseline, )
#ifdef ELMO_HAVE_X86_VARIANTS
ELMO_DEFINE_VARIANT(avx2, ELMO_TARGET_AVX2)
ELMO_DEFINE_VARIANT(avx512, ELMO_TARGET_AVX512)
#endif

// ---- dispatch (dispatch.h): one table entry per level of ELMO_KERNELS_FP32 --------------

typedef struct {
    void (*char_cnn)(const uint16_t *, size_t, size_t, size_t, const elmo_char_filter *, size_t,
                     elmo_kernel_activation, float *, size_t);
    void (*highway)(const float *, const float *, float *, size_t, size_t);
    void (*clip)(float *, size_t, float);
    void (*add_inplace)(float *, const float *, size_t);
} fp32_kernels;

#define ELMO_TABLE(SUFFIX) { char_cnn_##SUFFIX, highway_##SUFFIX, clip_##SUFFIX, add_inplace_##SUFFIX }

static const fp32_kernels variants[ELMO_MAX_VARIANTS] = {
    [ELMO_VARIANT_BASELINE] = ELMO_TABLE(baseline),
#ifdef ELMO_HAVE_X86_VARIANTS
    [ELMO_VARIANT_AVX2] = ELMO_TABLE(avx2),
    [ELMO_VARIANT_AVX512] = ELMO_TABLE(avx512),
#endif
};

static const fp32_kernels *kernels(void) { return &variants[elmo_variant_level(ELMO_KERNELS_FP32)]; }

void elmo_char_cnn(const uint16_t *ids, size_t n_tokens, size_t max_chars, size_t n_chars,
                   const elmo_char_filter *filters, size_t n_filters, elmo_kernel_activation act,
                   float *out, size_t out_stride) {
    kernels()->char_cnn(ids, n_tokens, max_chars, n_chars, filters, n_filters, act, out, out_stride);
}

void elmo_highway_combine(const float *pre, const float *bias, float *x, size_t rows, size_t n) {
    kernels()->highway(pre, bias, x, rows, n);
}

void elmo_clip(float *x, size_t n, float clip) { kernels()->clip(x, n, clip); }

void elmo_add_inplace(float *dst, const float *src, size_t n) { kernels()->add_inplace(dst, src, n); }

float elmo_kernel_exp(float x) { return elmo_exp_body(x); }
float elmo_kernel_sigmoid(float x) { return elmo_sigmoid_body(x); }
float elmo_kernel_tanh(float x) { return elmo_tanh_body(x); }
