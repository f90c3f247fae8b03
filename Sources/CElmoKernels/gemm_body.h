// Packed-weight GEMM and fused LSTM step, written once over clang vector types and
// included once per instruction-set variant by gemm.c, which defines before inclusion:
//   ELMO_SUFFIX  name suffix of the variant (baseline, avx2, avx512)
//   ELMO_ATTR    the variant's target attribute (may be empty)
//   ELMO_VW      floats per vector register
//   ELMO_NV      vectors per column group (a group is ELMO_VW * ELMO_NV columns)
//   ELMO_MR      rows per register tile (accumulators: ELMO_MR * ELMO_NV vectors)
//   ELMO_WIDE_SINGLE_ROW  1 to compute lone rows, and all rows of products of at most
//                ELMO_MR rows, one at a time across the whole panel (see row_wide)
// The vector helpers and the cell update come from vec_math.h. Only the tile shape differs
// between variants; every output element is the same
// in-order fused multiply-add chain in all of them, so their results are bit-identical.

#include "vec_math.h"

#define GW (ELMO_VW * ELMO_NV)
#define GROUPS (ELMO_PANEL / GW)

// The value a tile output starts from: zero, `src` as a bias row (ELMO_TILE_BIAS), or
// `src` rows of stride lds.
ELMO_ALWAYS VEC ELMO_FN(tile_start)(int init, const float *src, size_t lds, int r, int v) {
    if (init == ELMO_TILE_ZERO) return ELMO_FN(splat)(0.0f);
    if (init == ELMO_TILE_BIAS) return ELMO_FN(loadu)(src + v * ELMO_VW);
    return ELMO_FN(loadu)(src + (size_t)r * lds + v * ELMO_VW);
}

// One register tile: `rows` (a compile-time constant at every call site, <= ELMO_MR) rows
// times one column group of GW columns. dst = init + a * w over kc values of k, where w
// points at the group's first column in row 0 of a packed panel (row stride ELMO_PANEL).
// init: zero, `src` as a bias row (ELMO_TILE_BIAS), or `src` rows of stride lds.
// Split accumulation: each run of ELMO_GEMM_SPLIT values of k is an in-order FMA chain from
// zero, added to the running output when it ends (see elmo_gemm.h).
ELMO_ALWAYS void ELMO_FN(tile)(const int rows, const float *a, size_t lda, const float *w, size_t kc,
                               int init, const float *src, size_t lds, float *dst, size_t ldd) {
    VEC acc[ELMO_MR][ELMO_NV];
    for (size_t k0 = 0; k0 < kc || k0 == 0; k0 += ELMO_GEMM_SPLIT) {
        const size_t k1 = kc - k0 < ELMO_GEMM_SPLIT ? kc : k0 + ELMO_GEMM_SPLIT;
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < ELMO_NV; v++) acc[r][v] = ELMO_FN(splat)(0.0f);
        }
        // Unrolled: without it the exit of every 64-value run costs a mispredicted branch,
        // which made the split accumulation 5-8% slower than one chain; with it, faster.
#pragma clang loop unroll_count(8)
        for (size_t k = k0; k < k1; k++) {
            const float *wk = w + k * ELMO_PANEL;
            VEC b[ELMO_NV];
            for (int v = 0; v < ELMO_NV; v++) b[v] = *(const VEC *)(wk + v * ELMO_VW);
            for (int r = 0; r < rows; r++) {
                VEC x = ELMO_FN(splat)(a[(size_t)r * lda + k]);
                for (int v = 0; v < ELMO_NV; v++) acc[r][v] = __builtin_elementwise_fma(x, b[v], acc[r][v]);
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < ELMO_NV; v++) {
                VEC base = k0 == 0 ? ELMO_FN(tile_start)(init, src, lds, r, v)
                                   : ELMO_FN(loadu)(dst + (size_t)r * ldd + v * ELMO_VW);
                ELMO_FN(storeu)(dst + (size_t)r * ldd + v * ELMO_VW, base + acc[r][v]);
            }
        }
        if (kc == 0) break;
    }
}

// A tile of any row count 1...ELMO_MR: dispatches to the constant-row instances.
ELMO_ALWAYS void ELMO_FN(tile_rows)(int rows, const float *a, size_t lda, const float *w, size_t kc,
                                    int init, const float *src, size_t lds, float *dst, size_t ldd) {
    switch (rows) {
#define ELMO_ROWS_CASE(R) \
    case R: ELMO_FN(tile)(R, a, lda, w, kc, init, src, lds, dst, ldd); break;
    ELMO_ROWS_CASE(1)
    ELMO_ROWS_CASE(2)
    ELMO_ROWS_CASE(3)
    ELMO_ROWS_CASE(4)
#if ELMO_MR > 4
    ELMO_ROWS_CASE(5)
    ELMO_ROWS_CASE(6)
#endif
#if ELMO_MR > 6
#error "ELMO_MR above 6 needs more cases"
#endif
#undef ELMO_ROWS_CASE
    default: break;
    }
}

#if ELMO_WIDE_SINGLE_ROW
// One row times a whole panel (ELMO_PANEL / ELMO_VW accumulators): for variants whose
// register tile covers only part of a panel, a single row would otherwise walk the panel
// once per column group, and a lone row (batch 1, the tail of long sentences) is limited
// by how fast the panel streams in.
ELMO_ALWAYS void ELMO_FN(row_wide)(const float *a, const float *w, size_t kc,
                                   int init, const float *src, float *dst) {
    enum { NW = ELMO_PANEL / ELMO_VW };
    VEC acc[NW];
    for (size_t k0 = 0; k0 < kc || k0 == 0; k0 += ELMO_GEMM_SPLIT) {
        const size_t k1 = kc - k0 < ELMO_GEMM_SPLIT ? kc : k0 + ELMO_GEMM_SPLIT;
        for (int v = 0; v < NW; v++) acc[v] = ELMO_FN(splat)(0.0f);
#pragma clang loop unroll_count(8)
        for (size_t k = k0; k < k1; k++) {
            const float *wk = w + k * ELMO_PANEL;
            VEC x = ELMO_FN(splat)(a[k]);
            for (int v = 0; v < NW; v++) acc[v] = __builtin_elementwise_fma(x, *(const VEC *)(wk + v * ELMO_VW), acc[v]);
        }
        for (int v = 0; v < NW; v++) {
            VEC base = k0 == 0 ? ELMO_FN(tile_start)(init, src, 0, 0, v) : ELMO_FN(loadu)(dst + v * ELMO_VW);
            ELMO_FN(storeu)(dst + v * ELMO_VW, base + acc[v]);
        }
        if (kc == 0) break;
    }
}
#endif

// A whole panel (all GROUPS column groups) for up to ELMO_MR rows and kc values of k.
// `few`: the whole product has at most ELMO_MR rows, so streaming the panel in dominates.
ELMO_ALWAYS void ELMO_FN(panel_rows)(int rows, const float *a, size_t lda, const float *w, size_t kc,
                                     int init, const float *src, size_t lds, float *dst, size_t ldd, int few) {
#if ELMO_WIDE_SINGLE_ROW
    if (few || rows == 1) {
        // Row by row: the first row streams the panel in, the others find it in cache.
        for (int r = 0; r < rows; r++) {
            const float *s = init == ELMO_TILE_LOAD ? src + (size_t)r * lds : src;
            ELMO_FN(row_wide)(a + (size_t)r * lda, w, kc, init, s, dst + (size_t)r * ldd);
        }
        return;
    }
#endif
    for (int g = 0; g < GROUPS; g++) {
        ELMO_FN(tile_rows)(rows, a, lda, w + g * GW, kc, init, src ? src + g * GW : src, lds, dst + g * GW, ldd);
    }
}

ELMO_ATTR static void ELMO_FN(gemm)(const float *a, size_t lda, size_t m, const elmo_packed *w,
                                    elmo_gemm_init init, const float *bias, float *c, size_t ldc,
                                    size_t panel_begin, size_t panel_end) {
    const size_t K = (size_t)w->rows, N = (size_t)w->cols;
    const float *data = (const float *)w->data;
    const int few = m <= ELMO_MR;
    for (size_t p = panel_begin; p < panel_end; p++) {
        const float *panel = data + p * K * ELMO_PANEL;
        const size_t col0 = p * ELMO_PANEL;
        const size_t valid = N - col0 < ELMO_PANEL ? N - col0 : ELMO_PANEL;
        for (size_t k0 = 0; k0 < K || k0 == 0; k0 += ELMO_GEMM_KC) {
            const size_t kc = K - k0 < ELMO_GEMM_KC ? K - k0 : ELMO_GEMM_KC;
            // The first block starts from the requested init, later blocks continue from c.
            int mode = ELMO_TILE_LOAD;
            if (k0 == 0) mode = init == ELMO_GEMM_ZERO ? ELMO_TILE_ZERO : init == ELMO_GEMM_BIAS ? ELMO_TILE_BIAS : ELMO_TILE_LOAD;
            for (size_t r = 0; r < m; r += ELMO_MR) {
                const int rows = m - r < ELMO_MR ? (int)(m - r) : ELMO_MR;
                const float *ar = a + r * lda + k0;
                float *cr = c + r * ldc + col0;
                if (valid == ELMO_PANEL) {
                    const float *src = mode == ELMO_TILE_BIAS ? bias + col0 : cr;
                    ELMO_FN(panel_rows)(rows, ar, lda, panel + k0 * ELMO_PANEL, kc, mode, src, ldc, cr, ldc, few);
                } else {
                    // Last, partial panel: work in a full-width buffer, write the valid columns.
                    float tmp[ELMO_MR * ELMO_PANEL];
                    for (int i = 0; i < rows; i++) {
                        for (size_t j = 0; j < ELMO_PANEL; j++) {
                            float v = 0.0f;
                            if (j < valid) {
                                if (mode == ELMO_TILE_BIAS) v = bias[col0 + j];
                                else if (mode == ELMO_TILE_LOAD) v = cr[(size_t)i * ldc + j];
                            }
                            tmp[(size_t)i * ELMO_PANEL + j] = v;
                        }
                    }
                    ELMO_FN(panel_rows)(rows, ar, lda, panel + k0 * ELMO_PANEL, kc, ELMO_TILE_LOAD, tmp,
                                        ELMO_PANEL, tmp, ELMO_PANEL, few);
                    for (int i = 0; i < rows; i++) {
                        for (size_t j = 0; j < valid; j++) cr[(size_t)i * ldc + j] = tmp[(size_t)i * ELMO_PANEL + j];
                    }
                }
            }
            if (K == 0) break;
        }
    }
}

ELMO_ATTR static void ELMO_FN(lstm_step)(const float *gates, size_t ld_gates, const float *h_prev, size_t ld_h,
                                         const elmo_packed *u, float *cell, float *hidden, size_t ld_cell,
                                         size_t m, float cell_clip, size_t panel_begin, size_t panel_end) {
    const size_t K = (size_t)u->rows;
    const float *data = (const float *)u->data;
    const int few = m <= ELMO_MR;
    float pre[ELMO_MR * ELMO_PANEL] __attribute__((aligned(64)));
    for (size_t q = panel_begin; q < panel_end; q++) {
        const float *panel = data + q * K * ELMO_PANEL;
        for (size_t r = 0; r < m; r += ELMO_MR) {
            const int rows = m - r < ELMO_MR ? (int)(m - r) : ELMO_MR;
            // Gate pre-activations of this tile: input contribution + h_prev * U.
            const float *g = gates + r * ld_gates + q * ELMO_PANEL;
            for (size_t k0 = 0; k0 < K || k0 == 0; k0 += ELMO_GEMM_KC) {
                const size_t kc = K - k0 < ELMO_GEMM_KC ? K - k0 : ELMO_GEMM_KC;
                const float *src = k0 == 0 ? g : pre;
                const size_t lds = k0 == 0 ? ld_gates : ELMO_PANEL;
                ELMO_FN(panel_rows)(rows, h_prev + r * ld_h + k0, ld_h, panel + k0 * ELMO_PANEL, kc,
                                    ELMO_TILE_LOAD, src, lds, pre, ELMO_PANEL, few);
                if (K == 0) break;
            }
            ELMO_FN(cell_update)(pre, rows, cell + r * ld_cell + q * ELMO_PANEL_CELLS,
                                 hidden + r * ld_cell + q * ELMO_PANEL_CELLS, NULL, ld_cell, cell_clip);
        }
    }
}

#include "vec_math_end.h"
