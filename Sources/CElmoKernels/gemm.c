// The packed-weight GEMM and fused LSTM step (elmo_gemm.h) in each instruction-set variant,
// and the table the GEMM family dispatches through (dispatch.h).
#ifdef __clang__
#pragma clang fp contract(off)
#else
#pragma STDC FP_CONTRACT OFF
#endif

#include "elmo_gemm.h"
#include "dispatch.h"
#include "panels.h"

/// K values per block: one block of a panel (ELMO_GEMM_KC x 64 floats, 128 KB) stays in
/// L2 while every row tile streams through it.
#define ELMO_GEMM_KC 512
/// K values per partial sum: every output is init + B0 + B1 + ..., each B an in-order FMA
/// chain over ELMO_GEMM_SPLIT consecutive values of k starting from zero (a multiple of
/// ELMO_GEMM_SPLIT divides ELMO_GEMM_KC, so the blocks are the same however K is blocked).
#define ELMO_GEMM_SPLIT 64

// Portable: 4-float vectors, 2 per group (8 columns), 4-row tiles (8 accumulators fit
// the 16 registers of SSE2 or NEON).
#define ELMO_SUFFIX baseline
#define ELMO_ATTR
#define ELMO_VW 4
#define ELMO_NV 2
#define ELMO_MR 4
#define ELMO_WIDE_SINGLE_ROW 0
#include "gemm_body.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW
#undef ELMO_NV
#undef ELMO_MR
#undef ELMO_WIDE_SINGLE_ROW

#ifdef ELMO_HAVE_X86_VARIANTS
// AVX2: the classic 6 x 16 tile (12 ymm accumulators + 2 weights + 1 broadcast); a lone
// row takes the whole 64-column panel at once (8 accumulators, weights as memory operands).
#define ELMO_SUFFIX avx2
#define ELMO_ATTR ELMO_TARGET_AVX2
#define ELMO_VW 8
#define ELMO_NV 2
#define ELMO_MR 6
#define ELMO_WIDE_SINGLE_ROW 1
#include "gemm_body.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW
#undef ELMO_NV
#undef ELMO_MR
#undef ELMO_WIDE_SINGLE_ROW

// AVX-512: 6 rows x a whole 64-column panel (24 zmm accumulators + 4 weights + 1 broadcast).
#define ELMO_SUFFIX avx512
#define ELMO_ATTR ELMO_TARGET_AVX512
#define ELMO_VW 16
#define ELMO_NV 4
#define ELMO_MR 6
#define ELMO_WIDE_SINGLE_ROW 0
#include "gemm_body.h"
#undef ELMO_SUFFIX
#undef ELMO_ATTR
#undef ELMO_VW
#undef ELMO_NV
#undef ELMO_MR
#undef ELMO_WIDE_SINGLE_ROW
#endif

// ---- dispatch (dispatch.h): one table entry per level of ELMO_KERNELS_GEMM --------------

typedef struct {
    void (*gemm)(const float *, size_t, size_t, const elmo_packed *, elmo_gemm_init, const float *, float *, size_t,
                 size_t, size_t);
    void (*lstm_step)(const float *, size_t, const float *, size_t, const elmo_packed *, float *, float *, size_t,
                      size_t, float, size_t, size_t);
} gemm_kernels;

static const gemm_kernels variants[ELMO_MAX_VARIANTS] = {
    [ELMO_VARIANT_BASELINE] = {gemm_baseline, lstm_step_baseline},
#ifdef ELMO_HAVE_X86_VARIANTS
    [ELMO_VARIANT_AVX2] = {gemm_avx2, lstm_step_avx2},
    [ELMO_VARIANT_AVX512] = {gemm_avx512, lstm_step_avx512},
#endif
};

static const gemm_kernels *kernels(void) { return &variants[elmo_variant_level(ELMO_KERNELS_GEMM)]; }

void elmo_gemm(const float *a, size_t lda, size_t m, const elmo_packed *w,
               elmo_gemm_init init, const float *bias, float *c, size_t ldc,
               size_t panel_begin, size_t panel_end) {
    if (m == 0 || w->type != ELMO_WEIGHTS_F32) return;
    if (!elmo_clamp_panels(elmo_panel_count((size_t)w->cols), &panel_begin, &panel_end)) return;
    kernels()->gemm(a, lda, m, w, init, bias, c, ldc, panel_begin, panel_end);
}

void elmo_lstm_step(const float *gates, size_t ld_gates, const float *h_prev, size_t ld_h,
                    const elmo_packed *u, float *cell, float *hidden, size_t ld_cell,
                    size_t m, float cell_clip, size_t panel_begin, size_t panel_end) {
    if (m == 0 || u->type != ELMO_WEIGHTS_F32) return;
    if (!elmo_clamp_panels(elmo_panel_count((size_t)u->cols), &panel_begin, &panel_end)) return;
    kernels()->lstm_step(gates, ld_gates, h_prev, ld_h, u, cell, hidden, ld_cell, m, cell_clip, panel_begin, panel_end);
}
