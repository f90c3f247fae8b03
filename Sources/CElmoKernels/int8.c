// int8 packed-weight kernels (elmo_int8.h): quantisation, the GEMM and the fused LSTM step,
// in four variants chosen at run time (AVX-512 VNNI, AVX-VNNI, AVX2, portable C; the table
// the INT8 family dispatches through is at the end, dispatch.h says how). Every
// variant computes the same exact int32 sums and dequantises them with the same fp32
// operations, so all give identical bits (the tests compare them).
#ifdef __clang__
#pragma clang fp contract(off)
#else
#pragma STDC FP_CONTRACT OFF
#endif

#include "elmo_int8.h"
#include "dispatch.h"
#include "panels.h"

#include <math.h>
#include <string.h>

#ifdef ELMO_HAVE_X86_VARIANTS
#include <immintrin.h>
#endif

/// Bytes of one quad row of a panel: 4 values of k for each of its 64 columns.
#define ELMO_QUAD_BYTES (4 * ELMO_PANEL)

// ---- quantisation (scalar definitions) ------------------------------------------------

/// x * inv rounded half to even and clamped to [-127, 127]; NaN gives 0.
static inline int elmo_int8_quantize_one(float x, float inv) {
    float v = x * inv;
    if (v != v) v = 0.0f;
    if (v > 127.0f) v = 127.0f;
    if (v < -127.0f) v = -127.0f;
    return (int)__builtin_roundevenf(v);
}

void elmo_int8_pack(const float *src, size_t ld_row, size_t ld_col, size_t rows, size_t cols,
                    int8_t *data, float *scales, int32_t *column_sums) {
    const size_t panels = elmo_panel_count(cols), quads = (rows + 3) / 4;
    for (size_t p = 0; p < panels; p++) {
        int8_t *panel = data + p * quads * ELMO_QUAD_BYTES;
        for (size_t j = 0; j < ELMO_PANEL; j++) {
            const size_t col = p * ELMO_PANEL + j;
            float amax = 0.0f;
            if (col < cols) {
                for (size_t k = 0; k < rows; k++) {
                    float a = fabsf(src[k * ld_row + col * ld_col]);
                    if (a > amax) amax = a;  // NaN never wins
                }
            }
            const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
            int32_t sum = 0;
            for (size_t q = 0; q < quads; q++) {
                for (size_t h = 0; h < 4; h++) {
                    const size_t k = 4 * q + h;
                    int v = col < cols && k < rows ? elmo_int8_quantize_one(src[k * ld_row + col * ld_col], inv) : 0;
                    panel[q * ELMO_QUAD_BYTES + 4 * j + h] = (int8_t)v;
                    sum += v;
                }
            }
            scales[col] = amax / 127.0f;
            column_sums[col] = sum;
        }
    }
}

float elmo_int8_packed_value(const elmo_packed_int8 *w, size_t k, size_t j) {
    const size_t quads = ((size_t)w->rows + 3) / 4, p = j / ELMO_PANEL;
    const int8_t v = w->data[p * quads * ELMO_QUAD_BYTES + (k / 4) * ELMO_QUAD_BYTES + 4 * (j % ELMO_PANEL) + k % 4];
    return w->scales[j] * (float)v;
}

// ---- the variants ---------------------------------------------------------------------
// Each defines tile_<V>(rows, a, lda, panel, quads, column_sums, acc): the exact sums
// S = sum_k (a[k] - 128) * q[k][j] of `rows` (<= its MR) rows and the panel's 64 columns,
// stored as rows x 64 int32 at acc. ELMO_INT8_LOOPS then defines the GEMM and the LSTM step
// around it; the fp32 work (dequantisation, cell update) is the same code in all variants.

/// Quantises rows as elmo_int8_quantize_rows (vectorised by the compiler for the variant).
#define ELMO_INT8_QUANTIZE(V, ATTR)                                                                     \
    ATTR static void quantize_##V(const float *x, size_t ldx, size_t rows, size_t cols, uint8_t *q,       \
                                  size_t ldq, float *scales) {                                          \
        const size_t padded = (cols + 3) & ~(size_t)3;                                                  \
        for (size_t r = 0; r < rows; r++) {                                                             \
            const float *xr = x + r * ldx;                                                              \
            uint8_t *qr = q + r * ldq;                                                                  \
            float amax = 0.0f;                                                                          \
            for (size_t j = 0; j < cols; j++) {                                                         \
                float a = fabsf(xr[j]);                                                                 \
                amax = a > amax ? a : amax;                                                             \
            }                                                                                           \
            const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;                                       \
            for (size_t j = 0; j < cols; j++) qr[j] = (uint8_t)(128 + elmo_int8_quantize_one(xr[j], inv)); \
            for (size_t j = cols; j < padded; j++) qr[j] = 128;                                         \
            scales[r] = amax / 127.0f;                                                                  \
        }                                                                                               \
    }

/// out[j] = init + (float)S[j] * (row_scale * scale[j]) for the valid columns.
#define ELMO_INT8_DEQUANT(acc, row_scale, scales, init, bias, out, valid)                       \
    do {                                                                                        \
        for (size_t j_ = 0; j_ < (valid); j_++) {                                               \
            const float s_ = (row_scale) * (scales)[j_];                                        \
            const float v_ = (float)(acc)[j_] * s_;                                             \
            (out)[j_] = (init) == ELMO_GEMM_ZERO ? v_ : (init) == ELMO_GEMM_BIAS ? (bias)[j_] + v_ : (out)[j_] + v_; \
        }                                                                                       \
    } while (0)

#define ELMO_INT8_LOOPS(V, ATTR, MR)                                                                     \
    ATTR static void gemm_##V(const uint8_t *a, size_t lda, const float *a_scales, size_t m,              \
                              const elmo_packed_int8 *w, elmo_gemm_init init, const float *bias, float *c, \
                              size_t ldc, size_t panel_begin, size_t panel_end) {                        \
        const size_t K = (size_t)w->rows, N = (size_t)w->cols, quads = (K + 3) / 4;                      \
        int32_t acc[(MR) * ELMO_PANEL] __attribute__((aligned(64)));                                     \
        for (size_t p = panel_begin; p < panel_end; p++) {                                               \
            const int8_t *panel = w->data + p * quads * ELMO_QUAD_BYTES;                                 \
            const size_t col0 = p * ELMO_PANEL;                                                          \
            const size_t valid = N - col0 < ELMO_PANEL ? N - col0 : ELMO_PANEL;                          \
            for (size_t r0 = 0; r0 < m; r0 += (MR)) {                                                    \
                const int rows = m - r0 < (MR) ? (int)(m - r0) : (MR);                                   \
                tile_##V(rows, a + r0 * lda, lda, panel, quads, w->column_sums + col0, acc);             \
                for (int i = 0; i < rows; i++) {                                                         \
                    float *out = c + (r0 + (size_t)i) * ldc + col0;                                      \
                    ELMO_INT8_DEQUANT(acc + i * ELMO_PANEL, a_scales[r0 + (size_t)i], w->scales + col0,   \
                                      init, bias ? bias + col0 : NULL, out, valid);                      \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
    ATTR static void step_##V(const float *gates, size_t ld_gates, const uint8_t *h, size_t ld_h,          \
                              const float *h_scales, const elmo_packed_int8 *u, float *cell, float *hidden, \
                              size_t ld_cell, size_t m, float cell_clip, size_t panel_begin,             \
                              size_t panel_end) {                                                        \
        const size_t K = (size_t)u->rows, quads = (K + 3) / 4;                                           \
        int32_t acc[(MR) * ELMO_PANEL] __attribute__((aligned(64)));                                     \
        float pre[(MR) * ELMO_PANEL] __attribute__((aligned(64)));                                       \
        for (size_t q = panel_begin; q < panel_end; q++) {                                               \
            const int8_t *panel = u->data + q * quads * ELMO_QUAD_BYTES;                                 \
            const float *scales = u->scales + q * ELMO_PANEL;                                            \
            for (size_t r0 = 0; r0 < m; r0 += (MR)) {                                                    \
                const int rows = m - r0 < (MR) ? (int)(m - r0) : (MR);                                   \
                tile_##V(rows, h + r0 * ld_h, ld_h, panel, quads, u->column_sums + q * ELMO_PANEL, acc); \
                for (int i = 0; i < rows; i++) {                                                         \
                    const float *g = gates + (r0 + (size_t)i) * ld_gates + q * ELMO_PANEL;               \
                    float *out = pre + i * ELMO_PANEL;                                                   \
                    memcpy(out, g, ELMO_PANEL * sizeof(float));                                          \
                    ELMO_INT8_DEQUANT(acc + i * ELMO_PANEL, h_scales[r0 + (size_t)i], scales,             \
                                      ELMO_GEMM_ACCUMULATE, (const float *)NULL, out, (size_t)ELMO_PANEL); \
                }                                                                                        \
                const size_t at = r0 * ld_cell + q * ELMO_PANEL_CELLS;                                   \
                cell_update_##V(pre, rows, cell + at, hidden + at, NULL, ld_cell, cell_clip);            \
            }                                                                                            \
        }                                                                                                \
    }

// Portable C: the definition, plain integer loops.
#define ELMO_PORTABLE_MR 4
static void tile_portable(int rows, const uint8_t *a, size_t lda, const int8_t *w, size_t quads,
                          const int32_t *column_sums, int32_t *acc) {
    (void)column_sums;
    for (int r = 0; r < rows; r++) {
        int32_t *s = acc + r * ELMO_PANEL;
        for (int j = 0; j < ELMO_PANEL; j++) s[j] = 0;
        const uint8_t *ar = a + (size_t)r * lda;
        for (size_t q = 0; q < quads; q++) {
            const int32_t a0 = (int32_t)ar[4 * q] - 128, a1 = (int32_t)ar[4 * q + 1] - 128;
            const int32_t a2 = (int32_t)ar[4 * q + 2] - 128, a3 = (int32_t)ar[4 * q + 3] - 128;
            const int8_t *wq = w + q * ELMO_QUAD_BYTES;
            for (int j = 0; j < ELMO_PANEL; j++) {
                s[j] += a0 * wq[4 * j] + a1 * wq[4 * j + 1] + a2 * wq[4 * j + 2] + a3 * wq[4 * j + 3];
            }
        }
    }
}

#define ELMO_SUFFIX portable
#define ELMO_ATTR
#define ELMO_VW 4
#include "vec_math.h"
ELMO_INT8_QUANTIZE(portable, )
ELMO_INT8_LOOPS(portable, , ELMO_PORTABLE_MR)
#include "vec_math_end.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW

#ifdef ELMO_HAVE_X86_VARIANTS
// AVX2 without VNNI: vpmaddubsw(|a|, sign(w, a)) gives pairs of products without saturation
// (|a|, |w| <= 127, so a pair is at most 32258), vpmaddwd with ones adds the pairs into int32.
// Tile: up to 4 rows x 16 columns (8 accumulators), the panel's four column groups in turn.
#define ELMO_AVX2_MR 4
ELMO_TARGET_AVX2 static inline __attribute__((always_inline)) void tile_avx2_rows(
    const int rows, const uint8_t *a, size_t lda, const int8_t *w, size_t quads, int32_t *acc) {
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8((char)0x80);
    for (int g = 0; g < 4; g++) {
        __m256i s[ELMO_AVX2_MR][2];
        for (int r = 0; r < rows; r++) s[r][0] = s[r][1] = _mm256_setzero_si256();
        for (size_t q = 0; q < quads; q++) {
            const int8_t *wq = w + q * ELMO_QUAD_BYTES + g * 64;
            const __m256i w0 = _mm256_load_si256((const __m256i *)wq), w1 = _mm256_load_si256((const __m256i *)(wq + 32));
            for (int r = 0; r < rows; r++) {
                int32_t word;
                memcpy(&word, a + (size_t)r * lda + 4 * q, 4);
                const __m256i x = _mm256_xor_si256(_mm256_set1_epi32(word), flip);  // a - 128 as int8
                const __m256i ax = _mm256_abs_epi8(x);
                s[r][0] = _mm256_add_epi32(s[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w0, x)), ones));
                s[r][1] = _mm256_add_epi32(s[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(w1, x)), ones));
            }
        }
        for (int r = 0; r < rows; r++) {
            _mm256_store_si256((__m256i *)(acc + r * ELMO_PANEL + g * 16), s[r][0]);
            _mm256_store_si256((__m256i *)(acc + r * ELMO_PANEL + g * 16 + 8), s[r][1]);
        }
    }
}

ELMO_TARGET_AVX2 static void tile_avx2(int rows, const uint8_t *a, size_t lda, const int8_t *w, size_t quads,
                                       const int32_t *column_sums, int32_t *acc) {
    (void)column_sums;
    switch (rows) {
    case 1: tile_avx2_rows(1, a, lda, w, quads, acc); break;
    case 2: tile_avx2_rows(2, a, lda, w, quads, acc); break;
    case 3: tile_avx2_rows(3, a, lda, w, quads, acc); break;
    default: tile_avx2_rows(4, a, lda, w, quads, acc); break;
    }
}

#define ELMO_SUFFIX avx2
#define ELMO_ATTR ELMO_TARGET_AVX2
#define ELMO_VW 8
#include "vec_math.h"
ELMO_INT8_QUANTIZE(avx2, ELMO_TARGET_AVX2)
ELMO_INT8_LOOPS(avx2, ELMO_TARGET_AVX2, ELMO_AVX2_MR)
#include "vec_math_end.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW

// AVX-VNNI (ymm vpdpbusd): up to 6 rows x 16 columns (12 accumulators), groups in turn.
// vpdpbusd multiplies the unsigned bytes a by the signed weights: S = that sum - 128 * colsum.
#define ELMO_AVX_VNNI_MR 6
ELMO_TARGET_AVX_VNNI static inline __attribute__((always_inline)) void tile_avx_vnni_rows(
    const int rows, const uint8_t *a, size_t lda, const int8_t *w, size_t quads, const int32_t *column_sums,
    int32_t *acc) {
    for (int g = 0; g < 4; g++) {
        __m256i s[ELMO_AVX_VNNI_MR][2];
        for (int r = 0; r < rows; r++) s[r][0] = s[r][1] = _mm256_setzero_si256();
        for (size_t q = 0; q < quads; q++) {
            const int8_t *wq = w + q * ELMO_QUAD_BYTES + g * 64;
            const __m256i w0 = _mm256_load_si256((const __m256i *)wq), w1 = _mm256_load_si256((const __m256i *)(wq + 32));
            for (int r = 0; r < rows; r++) {
                int32_t word;
                memcpy(&word, a + (size_t)r * lda + 4 * q, 4);
                const __m256i x = _mm256_set1_epi32(word);
                s[r][0] = _mm256_dpbusd_avx_epi32(s[r][0], x, w0);
                s[r][1] = _mm256_dpbusd_avx_epi32(s[r][1], x, w1);
            }
        }
        const __m256i c0 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(column_sums + g * 16)), 7);
        const __m256i c1 = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(column_sums + g * 16 + 8)), 7);
        for (int r = 0; r < rows; r++) {
            _mm256_store_si256((__m256i *)(acc + r * ELMO_PANEL + g * 16), _mm256_sub_epi32(s[r][0], c0));
            _mm256_store_si256((__m256i *)(acc + r * ELMO_PANEL + g * 16 + 8), _mm256_sub_epi32(s[r][1], c1));
        }
    }
}

ELMO_TARGET_AVX_VNNI static void tile_avx_vnni(int rows, const uint8_t *a, size_t lda, const int8_t *w, size_t quads,
                                               const int32_t *column_sums, int32_t *acc) {
    switch (rows) {
    case 1: tile_avx_vnni_rows(1, a, lda, w, quads, column_sums, acc); break;
    case 2: tile_avx_vnni_rows(2, a, lda, w, quads, column_sums, acc); break;
    case 3: tile_avx_vnni_rows(3, a, lda, w, quads, column_sums, acc); break;
    case 4: tile_avx_vnni_rows(4, a, lda, w, quads, column_sums, acc); break;
    case 5: tile_avx_vnni_rows(5, a, lda, w, quads, column_sums, acc); break;
    default: tile_avx_vnni_rows(6, a, lda, w, quads, column_sums, acc); break;
    }
}

#define ELMO_SUFFIX avx_vnni
#define ELMO_ATTR ELMO_TARGET_AVX_VNNI
#define ELMO_VW 8
#include "vec_math.h"
ELMO_INT8_LOOPS(avx_vnni, ELMO_TARGET_AVX_VNNI, ELMO_AVX_VNNI_MR)
#include "vec_math_end.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW

// AVX-512 VNNI (zmm vpdpbusd): up to 6 rows x the whole 64-column panel (24 accumulators,
// 4 weight registers, the activation broadcast).
#define ELMO_VNNI512_MR 6
ELMO_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void tile_avx512_vnni_rows(
    const int rows, const uint8_t *a, size_t lda, const int8_t *w, size_t quads, const int32_t *column_sums,
    int32_t *acc) {
    __m512i s[ELMO_VNNI512_MR][4];
    for (int r = 0; r < rows; r++)
        for (int v = 0; v < 4; v++) s[r][v] = _mm512_setzero_si512();
    for (size_t q = 0; q < quads; q++) {
        const int8_t *wq = w + q * ELMO_QUAD_BYTES;
        __m512i wv[4];
        for (int v = 0; v < 4; v++) wv[v] = _mm512_load_si512((const void *)(wq + 64 * v));
        for (int r = 0; r < rows; r++) {
            int32_t word;
            memcpy(&word, a + (size_t)r * lda + 4 * q, 4);
            const __m512i x = _mm512_set1_epi32(word);
            for (int v = 0; v < 4; v++) s[r][v] = _mm512_dpbusd_epi32(s[r][v], x, wv[v]);
        }
    }
    for (int v = 0; v < 4; v++) {
        const __m512i cs = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(column_sums + 16 * v)), 7);
        for (int r = 0; r < rows; r++) _mm512_store_si512((void *)(acc + r * ELMO_PANEL + 16 * v), _mm512_sub_epi32(s[r][v], cs));
    }
}

ELMO_TARGET_AVX512_VNNI static void tile_avx512_vnni(int rows, const uint8_t *a, size_t lda, const int8_t *w,
                                                     size_t quads, const int32_t *column_sums, int32_t *acc) {
    switch (rows) {
    case 1: tile_avx512_vnni_rows(1, a, lda, w, quads, column_sums, acc); break;
    case 2: tile_avx512_vnni_rows(2, a, lda, w, quads, column_sums, acc); break;
    case 3: tile_avx512_vnni_rows(3, a, lda, w, quads, column_sums, acc); break;
    case 4: tile_avx512_vnni_rows(4, a, lda, w, quads, column_sums, acc); break;
    case 5: tile_avx512_vnni_rows(5, a, lda, w, quads, column_sums, acc); break;
    default: tile_avx512_vnni_rows(6, a, lda, w, quads, column_sums, acc); break;
    }
}

#define ELMO_SUFFIX avx512_vnni
#define ELMO_ATTR ELMO_TARGET_AVX512_VNNI
#define ELMO_VW 16
#include "vec_math.h"
ELMO_INT8_LOOPS(avx512_vnni, ELMO_TARGET_AVX512_VNNI, ELMO_VNNI512_MR)
#include "vec_math_end.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW
#endif

// ---- dispatch (dispatch.h): one table entry per level of ELMO_KERNELS_INT8 --------------

typedef struct {
    void (*quantize)(const float *, size_t, size_t, size_t, uint8_t *, size_t, float *);
    void (*gemm)(const uint8_t *, size_t, const float *, size_t, const elmo_packed_int8 *, elmo_gemm_init,
                 const float *, float *, size_t, size_t, size_t);
    void (*lstm_step)(const float *, size_t, const uint8_t *, size_t, const float *, const elmo_packed_int8 *,
                      float *, float *, size_t, size_t, float, size_t, size_t);
} int8_kernels;

static const int8_kernels variants[ELMO_MAX_VARIANTS] = {
    [ELMO_INT8_PORTABLE] = {quantize_portable, gemm_portable, step_portable},
#ifdef ELMO_HAVE_X86_VARIANTS
    // Quantisation is plain fp32 code: the VNNI variants use AVX2's.
    [ELMO_INT8_AVX2] = {quantize_avx2, gemm_avx2, step_avx2},
    [ELMO_INT8_AVX_VNNI] = {quantize_avx2, gemm_avx_vnni, step_avx_vnni},
    [ELMO_INT8_AVX512_VNNI] = {quantize_avx2, gemm_avx512_vnni, step_avx512_vnni},
#endif
};

static const int8_kernels *kernels(void) { return &variants[elmo_variant_level(ELMO_KERNELS_INT8)]; }

void elmo_int8_quantize_rows(const float *x, size_t ldx, size_t rows, size_t cols, uint8_t *q, size_t ldq,
                             float *scales) {
    kernels()->quantize(x, ldx, rows, cols, q, ldq, scales);
}

void elmo_gemm_int8(const uint8_t *a, size_t lda, const float *a_scales, size_t m, const elmo_packed_int8 *w,
                    elmo_gemm_init init, const float *bias, float *c, size_t ldc, size_t panel_begin,
                    size_t panel_end) {
    if (m == 0) return;
    if (!elmo_clamp_panels(elmo_panel_count((size_t)w->cols), &panel_begin, &panel_end)) return;
    kernels()->gemm(a, lda, a_scales, m, w, init, bias, c, ldc, panel_begin, panel_end);
}

void elmo_lstm_step_int8(const float *gates, size_t ld_gates, const uint8_t *h_prev, size_t ld_h,
                         const float *h_scales, const elmo_packed_int8 *u, float *cell, float *hidden,
                         size_t ld_cell, size_t m, float cell_clip, size_t panel_begin, size_t panel_end) {
    if (m == 0) return;
    if (!elmo_clamp_panels(elmo_panel_count((size_t)u->cols), &panel_begin, &panel_end)) return;
    kernels()->lstm_step(gates, ld_gates, h_prev, ld_h, h_scales, u, cell, hidden, ld_cell, m, cell_clip, panel_begin,
                         panel_end);
}
