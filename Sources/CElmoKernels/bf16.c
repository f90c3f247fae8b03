// bf16 conversion and the bf16 packed-weight kernels: the vdpbf16ps variant (AVX512_BF16,
// intrinsics) and the variants for CPUs without it (bf16_body.h), and the table the BF16
// family dispatches through (dispatch.h).
#ifdef __clang__
#pragma clang fp contract(off)
#else
#pragma STDC FP_CONTRACT OFF
#endif

#include "elmo_bf16.h"
#include "dispatch.h"
#include "panels.h"
#include "bf16_scalar.h"

#ifdef ELMO_HAVE_X86_VARIANTS
#include <immintrin.h>
#endif

/// Pair rows of k per block: one block of a panel (256 x 128 bf16 values, 64 KB) stays in
/// L2 while every row tile streams through it.
#define ELMO_BF16_KC_PAIRS 256

// ---- scalar conversion ---------------------------------------------------------------

uint16_t elmo_bf16_round(float x) { return elmo_bf16_round_scalar(x); }
float elmo_bf16_widen(uint16_t x) { return elmo_bf16_widen_scalar(x); }

float elmo_bf16_fma_reference(float acc, uint16_t w, uint16_t a) {
    return elmo_bf16_fma_step(acc, elmo_bf16_widen_scalar(w), elmo_bf16_widen_scalar(a));
}

void elmo_bf16_pack(const float *src, size_t ld_row, size_t ld_col, size_t rows, size_t cols, uint16_t *dst) {
    const size_t pair_rows = (rows + 1) / 2, panels = elmo_panel_count(cols);
    for (size_t p = 0; p < panels; p++) {
        uint16_t *panel = dst + p * pair_rows * 2 * ELMO_PANEL;
        for (size_t q = 0; q < pair_rows; q++) {
            uint16_t *out = panel + q * 2 * ELMO_PANEL;
            for (size_t j = 0; j < ELMO_PANEL; j++) {
                const size_t col = p * ELMO_PANEL + j;
                for (size_t h = 0; h < 2; h++) {
                    const size_t k = 2 * q + h;
                    out[2 * j + h] = col < cols && k < rows ? elmo_bf16_round_scalar(src[k * ld_row + col * ld_col]) : 0;
                }
            }
        }
    }
}

/// The scalar definition of one register tile (see bf16_body.h): rows x cols outputs,
/// each the chain of elmo_bf16_fma_step over the block's pairs, odd element first.
/// `a` points at the block's first pair of row 0, `w` at the tile's first column in the
/// block's pair row 0. Reads every initial value before writing (src may equal dst).
__attribute__((noinline)) static void elmo_bf16_tile_exact(int rows, int cols, const uint16_t *a, size_t lda,
                                                           const uint16_t *w, size_t pairs, int odd_tail, int init,
                                                           const float *src, size_t lds, float *dst, size_t ldd) {
    const size_t steps = pairs + (odd_tail ? 1 : 0);
    for (int r = 0; r < rows; r++) {
        const uint16_t *ar = a + (size_t)r * lda;
        for (int j = 0; j < cols; j++) {
            float acc = init == ELMO_TILE_ZERO ? 0.0f : init == ELMO_TILE_BIAS ? src[j] : src[(size_t)r * lds + j];
            for (size_t q = 0; q < steps; q++) {
                const uint16_t *wq = w + q * 2 * ELMO_PANEL + 2 * (size_t)j;
                const uint16_t a_odd = q < pairs ? ar[2 * q + 1] : 0;
                acc = elmo_bf16_fma_step(acc, elmo_bf16_widen_scalar(wq[1]), elmo_bf16_widen_scalar(a_odd));
                acc = elmo_bf16_fma_step(acc, elmo_bf16_widen_scalar(wq[0]), elmo_bf16_widen_scalar(ar[2 * q]));
            }
            dst[(size_t)r * ldd + j] = acc;
        }
    }
}

// ---- loops shared by every variant ---------------------------------------------------
// PANEL_ROWS(rows, a, lda, w, pairs, odd_tail, init, src, lds, dst, ldd) computes a whole
// panel for up to MR rows of one K block.

#define ELMO_BF16_GEMM_LOOP(PANEL_ROWS, MR)                                                        \
    const size_t K = (size_t)w->rows, N = (size_t)w->cols, KP = (K + 1) / 2;                       \
    const uint16_t *data = (const uint16_t *)w->data;                                              \
    for (size_t p = panel_begin; p < panel_end; p++) {                                             \
        const uint16_t *panel = data + p * KP * 2 * ELMO_PANEL;                                    \
        const size_t col0 = p * ELMO_PANEL;                                                        \
        const size_t valid = N - col0 < ELMO_PANEL ? N - col0 : ELMO_PANEL;                        \
        for (size_t q0 = 0; q0 < KP || q0 == 0; q0 += ELMO_BF16_KC_PAIRS) {                        \
            const size_t qc = KP - q0 < ELMO_BF16_KC_PAIRS ? KP - q0 : ELMO_BF16_KC_PAIRS;         \
            const int odd_tail = (K & 1) && q0 + qc == KP;                                         \
            const size_t pairs = qc - (size_t)odd_tail;                                            \
            int mode = ELMO_TILE_LOAD;                                                             \
            if (q0 == 0) mode = init == ELMO_GEMM_ZERO ? ELMO_TILE_ZERO                            \
                              : init == ELMO_GEMM_BIAS ? ELMO_TILE_BIAS : ELMO_TILE_LOAD;          \
            const uint16_t *wb = panel + q0 * 2 * ELMO_PANEL;                                      \
            for (size_t r = 0; r < m; r += (MR)) {                                                 \
                const int rows = m - r < (MR) ? (int)(m - r) : (MR);                               \
                const uint16_t *ar = a + r * lda + 2 * q0;                                         \
                float *cr = c + r * ldc + col0;                                                    \
                if (valid == ELMO_PANEL) {                                                         \
                    const float *src = mode == ELMO_TILE_BIAS ? bias + col0 : cr;                  \
                    PANEL_ROWS(rows, ar, lda, wb, pairs, odd_tail, mode, src, ldc, cr, ldc);       \
                } else {                                                                           \
                    float tmp[(MR) * ELMO_PANEL];                                                  \
                    for (int i = 0; i < rows; i++) {                                               \
                        for (size_t j = 0; j < ELMO_PANEL; j++) {                                  \
                            float v = 0.0f;                                                        \
                            if (j < valid) {                                                       \
                                if (mode == ELMO_TILE_BIAS) v = bias[col0 + j];                    \
                                else if (mode == ELMO_TILE_LOAD) v = cr[(size_t)i * ldc + j];      \
                            }                                                                      \
                            tmp[(size_t)i * ELMO_PANEL + j] = v;                                   \
                        }                                                                          \
                    }                                                                              \
                    /* A zero start must stay a zero start: it is not DAZ-checked. */              \
                    PANEL_ROWS(rows, ar, lda, wb, pairs, odd_tail,                                 \
                               mode == ELMO_TILE_ZERO ? ELMO_TILE_ZERO : ELMO_TILE_LOAD, tmp,      \
                               ELMO_PANEL, tmp, ELMO_PANEL);                                       \
                    for (int i = 0; i < rows; i++) {                                               \
                        for (size_t j = 0; j < valid; j++) cr[(size_t)i * ldc + j] = tmp[(size_t)i * ELMO_PANEL + j]; \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            if (KP == 0) break;                                                                    \
        }                                                                                          \
    }

#define ELMO_BF16_STEP_LOOP(PANEL_ROWS, MR, CELL_UPDATE)                                           \
    const size_t K = (size_t)u->rows, KP = (K + 1) / 2;                                            \
    const uint16_t *data = (const uint16_t *)u->data;                                              \
    float pre[(MR) * ELMO_PANEL] __attribute__((aligned(64)));                                     \
    for (size_t q = panel_begin; q < panel_end; q++) {                                             \
        const uint16_t *panel = data + q * KP * 2 * ELMO_PANEL;                                    \
        for (size_t r = 0; r < m; r += (MR)) {                                                     \
            const int rows = m - r < (MR) ? (int)(m - r) : (MR);                                   \
            const float *g = gates + r * ld_gates + q * ELMO_PANEL;                                \
            for (size_t q0 = 0; q0 < KP || q0 == 0; q0 += ELMO_BF16_KC_PAIRS) {                    \
                const size_t qc = KP - q0 < ELMO_BF16_KC_PAIRS ? KP - q0 : ELMO_BF16_KC_PAIRS;     \
                const int odd_tail = (K & 1) && q0 + qc == KP;                                     \
                const float *src = q0 == 0 ? g : pre;                                              \
                const size_t lds = q0 == 0 ? ld_gates : ELMO_PANEL;                                \
                PANEL_ROWS(rows, h_prev + r * ld_h + 2 * q0, ld_h, panel + q0 * 2 * ELMO_PANEL,    \
                           qc - (size_t)odd_tail, odd_tail, ELMO_TILE_LOAD, src, lds, pre, ELMO_PANEL); \
                if (KP == 0) break;                                                                \
            }                                                                                      \
            const size_t at = r * ld_cell + q * ELMO_PANEL_CELLS;                                  \
            CELL_UPDATE(pre, rows, cell + at, hidden ? hidden + at : NULL,                         \
                        hidden_bf16 ? hidden_bf16 + at : NULL, ld_cell, cell_clip);                \
        }                                                                                          \
    }

// ---- variants without vdpbf16ps ------------------------------------------------------

// Portable: 4-float vectors, 2 per group, 4-row tiles.
#define ELMO_SUFFIX baseline
#define ELMO_ATTR
#define ELMO_VW 4
#define ELMO_NV 2
#define ELMO_MR 4
#include "bf16_body.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW
#undef ELMO_NV
#undef ELMO_MR

#ifdef ELMO_HAVE_X86_VARIANTS
// AVX2: 4 rows x 16 columns (8 accumulators, 4 widened weight vectors, 2 broadcasts).
#define ELMO_SUFFIX avx2
#define ELMO_ATTR ELMO_TARGET_AVX2
#define ELMO_VW 8
#define ELMO_NV 2
#define ELMO_MR 4
#include "bf16_body.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW
#undef ELMO_NV
#undef ELMO_MR

// AVX-512F: 4 rows x a whole panel (16 accumulators, 8 widened weight vectors).
#define ELMO_SUFFIX avx512
#define ELMO_ATTR ELMO_TARGET_AVX512
#define ELMO_VW 16
#define ELMO_NV 4
#define ELMO_MR 4
#include "bf16_body.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW
#undef ELMO_NV
#undef ELMO_MR

// ---- vdpbf16ps (AVX512_BF16) ---------------------------------------------------------
// 6 rows x a whole 64-column panel: 24 zmm accumulators, 4 weight registers, one
// broadcast pair of activations. Each weight register holds 16 columns x one pair of k.

#define ELMO_SUFFIX hw
#define ELMO_ATTR ELMO_TARGET_AVX512_BF16
#define ELMO_VW 16
#include "vec_math.h"

#define ELMO_HW_MR 6

static inline __attribute__((always_inline)) ELMO_TARGET_AVX512_BF16 uint32_t elmo_hw_pair(const uint16_t *p, int whole) {
    uint32_t v = p[0];
    if (whole) memcpy(&v, p, sizeof v);
    return v;
}

ELMO_ALWAYS void hw_tile(const int rows, const uint16_t *a, size_t lda, const uint16_t *w, size_t pairs, int odd_tail,
                         int init, const float *src, size_t lds, float *dst, size_t ldd) {
    __m512 acc[ELMO_HW_MR][4];
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < 4; v++) {
            if (init == ELMO_TILE_ZERO) acc[r][v] = _mm512_setzero_ps();
            else if (init == ELMO_TILE_BIAS) acc[r][v] = _mm512_loadu_ps(src + v * 16);
            else acc[r][v] = _mm512_loadu_ps(src + (size_t)r * lds + v * 16);
        }
    }
    const size_t steps = pairs + (odd_tail ? 1 : 0);
    for (size_t q = 0; q < steps; q++) {
        const uint16_t *wq = w + q * 2 * ELMO_PANEL;
        __m512bh wv[4];
        for (int v = 0; v < 4; v++) wv[v] = (__m512bh)_mm512_load_si512((const void *)(wq + 32 * v));
        const int whole = q < pairs;
        for (int r = 0; r < rows; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)elmo_hw_pair(a + (size_t)r * lda + 2 * q, whole));
            for (int v = 0; v < 4; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], wv[v], x);
        }
    }
    for (int r = 0; r < rows; r++) {
        for (int v = 0; v < 4; v++) _mm512_storeu_ps(dst + (size_t)r * ldd + v * 16, acc[r][v]);
    }
}

ELMO_ALWAYS void hw_panel_rows(int rows, const uint16_t *a, size_t lda, const uint16_t *w, size_t pairs, int odd_tail,
                               int init, const float *src, size_t lds, float *dst, size_t ldd) {
    switch (rows) {
#define ELMO_ROWS_CASE(R) \
    case R: hw_tile(R, a, lda, w, pairs, odd_tail, init, src, lds, dst, ldd); break;
    ELMO_ROWS_CASE(1)
    ELMO_ROWS_CASE(2)
    ELMO_ROWS_CASE(3)
    ELMO_ROWS_CASE(4)
    ELMO_ROWS_CASE(5)
    ELMO_ROWS_CASE(6)
#undef ELMO_ROWS_CASE
    default: break;
    }
}

ELMO_ATTR static void gemm_bf16_hw(const uint16_t *a, size_t lda, size_t m, const elmo_packed *w,
                                   elmo_gemm_init init, const float *bias, float *c, size_t ldc,
                                   size_t panel_begin, size_t panel_end) {
    ELMO_BF16_GEMM_LOOP(hw_panel_rows, ELMO_HW_MR)
}

ELMO_ATTR static void lstm_step_bf16_hw(const float *gates, size_t ld_gates, const uint16_t *h_prev, size_t ld_h,
                                        const elmo_packed *u, float *cell, float *hidden, uint16_t *hidden_bf16,
                                        size_t ld_cell, size_t m, float cell_clip, size_t panel_begin,
                                        size_t panel_end) {
    ELMO_BF16_STEP_LOOP(hw_panel_rows, ELMO_HW_MR, cell_update_hw)
}

#undef ELMO_HW_MR
#include "vec_math_end.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW
#endif

// ---- dispatch (dispatch.h): one table entry per level of ELMO_KERNELS_BF16 --------------

typedef struct {
    void (*gemm)(const uint16_t *, size_t, size_t, const elmo_packed *, elmo_gemm_init, const float *, float *,
                 size_t, size_t, size_t);
    void (*lstm_step)(const float *, size_t, const uint16_t *, size_t, const elmo_packed *, float *, float *,
                      uint16_t *, size_t, size_t, float, size_t, size_t);
    void (*convert_rows)(const float *, size_t, size_t, size_t, uint16_t *, size_t);
} bf16_kernels;

static const bf16_kernels variants[ELMO_MAX_VARIANTS] = {
    [ELMO_VARIANT_BASELINE] = {gemm_bf16_baseline, lstm_step_bf16_baseline, convert_rows_baseline},
#ifdef ELMO_HAVE_X86_VARIANTS
    [ELMO_VARIANT_AVX2] = {gemm_bf16_avx2, lstm_step_bf16_avx2, convert_rows_avx2},
    [ELMO_VARIANT_AVX512] = {gemm_bf16_avx512, lstm_step_bf16_avx512, convert_rows_avx512},
    // The conversion has no AVX512_BF16 form of its own: the AVX-512 one (same bits).
    [ELMO_VARIANT_AVX512_BF16] = {gemm_bf16_hw, lstm_step_bf16_hw, convert_rows_avx512},
#endif
};

static const bf16_kernels *kernels(void) { return &variants[elmo_variant_level(ELMO_KERNELS_BF16)]; }

void elmo_gemm_bf16(const uint16_t *a, size_t lda, size_t m, const elmo_packed *w,
                    elmo_gemm_init init, const float *bias, float *c, size_t ldc,
                    size_t panel_begin, size_t panel_end) {
    if (m == 0 || w->type != ELMO_WEIGHTS_BF16) return;
    if (!elmo_clamp_panels(elmo_panel_count((size_t)w->cols), &panel_begin, &panel_end)) return;
    kernels()->gemm(a, lda, m, w, init, bias, c, ldc, panel_begin, panel_end);
}

void elmo_lstm_step_bf16(const float *gates, size_t ld_gates, const uint16_t *h_prev, size_t ld_h,
                         const elmo_packed *u, float *cell, float *hidden, uint16_t *hidden_bf16,
                         size_t ld_cell, size_t m, float cell_clip, size_t panel_begin, size_t panel_end) {
    if (m == 0 || u->type != ELMO_WEIGHTS_BF16) return;
    if (!elmo_clamp_panels(elmo_panel_count((size_t)u->cols), &panel_begin, &panel_end)) return;
    kernels()->lstm_step(gates, ld_gates, h_prev, ld_h, u, cell, hidden, hidden_bf16, ld_cell, m, cell_clip,
                         panel_begin, panel_end);
}

void elmo_bf16_convert_rows(const float *src, size_t lds, size_t rows, size_t cols, uint16_t *dst, size_t ldd) {
    kernels()->convert_rows(src, lds, rows, cols, dst, ldd);
}
