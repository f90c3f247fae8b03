// Instruction-set variants of the kernels and the run-time choice between them.
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
    ATTR static void add_bias_##SUFFIX(float *x, const float *bias, size_t rows, size_t n) {   \
        elmo_add_bias_body(x, bias, rows, n);                                                  \
    }                                                                                          \
    ATTR static void lstm_cell_##SUFFIX(const float *gates, const float *bias, float *cell,    \
                                        float *hidden, size_t rows, size_t dim,                \
                                        float cell_clip) {                                     \
        elmo_lstm_cell_body(gates, bias, cell, hidden, rows, dim, cell_clip);                  \
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

typedef struct {
    const char *name;
    void (*char_cnn)(const uint16_t *, size_t, size_t, size_t, const elmo_char_filter *, size_t,
                     elmo_kernel_activation, float *, size_t);
    void (*highway)(const float *, const float *, float *, size_t, size_t);
    void (*add_bias)(float *, const float *, size_t, size_t);
    void (*lstm_cell)(const float *, const float *, float *, float *, size_t, size_t, float);
    void (*clip)(float *, size_t, float);
    void (*add_inplace)(float *, const float *, size_t);
} elmo_kernel_table;

#define ELMO_TABLE(SUFFIX, NAME) \
    { NAME, char_cnn_##SUFFIX, highway_##SUFFIX, add_bias_##SUFFIX, lstm_cell_##SUFFIX, clip_##SUFFIX, add_inplace_##SUFFIX }

static const elmo_kernel_table table_baseline = ELMO_TABLE(baseline, "baseline");
#ifdef ELMO_HAVE_X86_VARIANTS
static const elmo_kernel_table table_avx2 = ELMO_TABLE(avx2, "avx2");
static const elmo_kernel_table table_avx512 = ELMO_TABLE(avx512, "avx512");
#endif

static elmo_isa_level detect(void) {
#ifdef ELMO_HAVE_X86_VARIANTS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return __builtin_cpu_supports("avx512bf16") ? ELMO_LEVEL_AVX512_BF16 : ELMO_LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ELMO_LEVEL_AVX2;
#endif
    return ELMO_LEVEL_BASELINE;
}

// The choice is a pure function of the CPU, so a benign race between two first callers
// stores the same value; an atomic keeps the compiler and sanitizers honest about it.
// Stored as level + 1 so that 0 means "not yet detected".
static int detected_level;

elmo_isa_level elmo_isa(void) {
    int v = __atomic_load_n(&detected_level, __ATOMIC_ACQUIRE);
    if (!v) {
        v = (int)detect() + 1;
        __atomic_store_n(&detected_level, v, __ATOMIC_RELEASE);
    }
    return (elmo_isa_level)(v - 1);
}

int elmo_kernels_limit_variant(int level) {
    elmo_isa_level best = detect();
    elmo_isa_level chosen = level < 0 || level > (int)best ? best : (elmo_isa_level)level;
    __atomic_store_n(&detected_level, (int)chosen + 1, __ATOMIC_RELEASE);
    return (int)chosen;
}

static const elmo_kernel_table *kernels(void) {
    switch (elmo_isa()) {
#ifdef ELMO_HAVE_X86_VARIANTS
    case ELMO_LEVEL_AVX512_BF16:
    case ELMO_LEVEL_AVX512: return &table_avx512;
    case ELMO_LEVEL_AVX2: return &table_avx2;
#endif
    default: return &table_baseline;
    }
}

void elmo_char_cnn(const uint16_t *ids, size_t n_tokens, size_t max_chars, size_t n_chars,
                   const elmo_char_filter *filters, size_t n_filters, elmo_kernel_activation act,
                   float *out, size_t out_stride) {
    kernels()->char_cnn(ids, n_tokens, max_chars, n_chars, filters, n_filters, act, out, out_stride);
}

void elmo_highway_combine(const float *pre, const float *bias, float *x, size_t rows, size_t n) {
    kernels()->highway(pre, bias, x, rows, n);
}

void elmo_add_bias(float *x, const float *bias, size_t rows, size_t n) {
    kernels()->add_bias(x, bias, rows, n);
}

void elmo_lstm_cell(const float *gates, const float *bias, float *cell, float *hidden,
                    size_t rows, size_t dim, float cell_clip) {
    kernels()->lstm_cell(gates, bias, cell, hidden, rows, dim, cell_clip);
}

void elmo_clip(float *x, size_t n, float clip) { kernels()->clip(x, n, clip); }

void elmo_add_inplace(float *dst, const float *src, size_t n) { kernels()->add_inplace(dst, src, n); }

const char *elmo_kernels_variant(void) { return kernels()->name; }

float elmo_kernel_exp(float x) { return elmo_exp_body(x); }
float elmo_kernel_sigmoid(float x) { return elmo_sigmoid_body(x); }
float elmo_kernel_tanh(float x) { return elmo_tanh_body(x); }
