// Vector helpers shared by the packed-weight kernels (gemm_body.h, bf16_body.h), written
// over clang vector types and included once per instruction-set variant, after the
// variant's macros are defined (see gemm.c):
//   ELMO_SUFFIX  name suffix of the variant (baseline, avx2, avx512)
//   ELMO_ATTR    the variant's target attribute (may be empty)
//   ELMO_VW      floats per vector register
// vec_math_end.h undefines what this defines.

#include <stdint.h>
#include <stddef.h>

#define ELMO_CAT2(a, b) a##_##b
#define ELMO_CAT(a, b) ELMO_CAT2(a, b)
#define ELMO_FN(name) ELMO_CAT(name, ELMO_SUFFIX)
#define ELMO_ALWAYS static inline __attribute__((always_inline)) ELMO_ATTR

typedef float ELMO_FN(vec) __attribute__((ext_vector_type(ELMO_VW)));
typedef int32_t ELMO_FN(ivec) __attribute__((ext_vector_type(ELMO_VW)));
// Unaligned access to activations and outputs (the packed weights are 64-byte aligned).
typedef float ELMO_FN(uvec) __attribute__((ext_vector_type(ELMO_VW), aligned(4)));
#define VEC ELMO_FN(vec)
#define IVEC ELMO_FN(ivec)
#define UVEC ELMO_FN(uvec)

ELMO_ALWAYS VEC ELMO_FN(loadu)(const float *p) { return (VEC)(*(const UVEC *)p); }
ELMO_ALWAYS void ELMO_FN(storeu)(float *p, VEC v) { *(UVEC *)p = (UVEC)v; }
ELMO_ALWAYS VEC ELMO_FN(splat)(float x) { return (VEC)x; }
ELMO_ALWAYS VEC ELMO_FN(select)(IVEC mask, VEC a, VEC b) {
    return (VEC)((mask & (IVEC)a) | (~mask & (IVEC)b));
}

// Vector forms of elmo_exp_body, elmo_tanh_small_body, elmo_sigmoid_body and elmo_tanh_body
// (kernels_body.h): the same operations in the same order, hence the same bits as the
// scalar versions.
ELMO_ALWAYS VEC ELMO_FN(vexp)(VEC x) {
    x = ELMO_FN(select)(x < -87.6f, ELMO_FN(splat)(-87.6f), x);
    x = ELMO_FN(select)(x > 88.0f, ELMO_FN(splat)(88.0f), x);
    const VEC shifter = ELMO_FN(splat)(12582912.0f);
    VEC t = x * 1.44269504088896341f;
    VEC n = (t + shifter) - shifter;
    VEC r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    VEC p = ELMO_FN(splat)(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    IVEC e = (__builtin_convertvector(n, IVEC) + 127) << 23;
    return p * (VEC)e;
}

ELMO_ALWAYS VEC ELMO_FN(vtanh_small)(VEC x) {
    VEC z = x * x;
    VEC p = ELMO_FN(splat)(-5.70498872745e-3f);
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    return p * z * x + x;
}

ELMO_ALWAYS VEC ELMO_FN(vsigmoid)(VEC x) {
    IVEC negative = x < 0.0f;
    VEC a = ELMO_FN(select)(negative, -x, x);
    VEC e = ELMO_FN(vexp)(-a);
    VEC q = e / (1.0f + e);
    VEC far = ELMO_FN(select)(negative, q, 1.0f - q);
    VEC near = 0.5f + 0.5f * ELMO_FN(vtanh_small)(0.5f * x);
    return ELMO_FN(select)(a < 1.25f, near, far);
}

ELMO_ALWAYS VEC ELMO_FN(vtanh)(VEC x) {
    IVEC negative = x < 0.0f;
    VEC a = ELMO_FN(select)(negative, -x, x);
    VEC e = ELMO_FN(vexp)(-2.0f * a);
    VEC large = 1.0f - (e + e) / (1.0f + e);
    VEC r = ELMO_FN(select)(a < 0.625f, ELMO_FN(vtanh_small)(a), large);
    return ELMO_FN(select)(negative, -r, r);
}

// fp32 -> bf16 of a vector, the arithmetic of elmo_bf16_round_scalar (bf16_scalar.h):
// denormals to signed zero, NaN quieted, round to nearest even.
typedef uint32_t ELMO_FN(uvec32) __attribute__((ext_vector_type(ELMO_VW)));
typedef uint16_t ELMO_FN(uvec16) __attribute__((ext_vector_type(ELMO_VW)));
typedef uint16_t ELMO_FN(uvec16u) __attribute__((ext_vector_type(ELMO_VW), aligned(2)));
ELMO_ALWAYS void ELMO_FN(store_bf16)(uint16_t *p, VEC x) {
    typedef ELMO_FN(uvec32) U32;
    U32 u = (U32)x;
    U32 is_denormal = (U32)((u & 0x7f800000u) == 0);
    u = (is_denormal & (u & 0x80000000u)) | (~is_denormal & u);
    U32 is_nan = (U32)((u & 0x7fffffffu) > 0x7f800000u);
    U32 rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    U32 quiet = (u >> 16) | 0x0040u;
    U32 r = (is_nan & quiet) | (~is_nan & rounded);
    *(ELMO_FN(uvec16u) *)p = (ELMO_FN(uvec16u))__builtin_convertvector(r, ELMO_FN(uvec16));
}

// Cell update of one register tile's ELMO_PANEL_CELLS cells for `rows` rows: `pre` holds
// each row's gate pre-activations in the panel's gate-interleaved order (ELMO_PANEL
// floats per row: 16 i, 16 j, 16 f, 16 o). cell (in and out), hidden and hidden_bf16
// (either may be NULL) have row stride ld_cell and point at the tile's first cell.
// c = sigmoid(f) * c_prev + sigmoid(i) * tanh(j), clipped to +-cell_clip when cell_clip > 0;
// h = sigmoid(o) * tanh(c).
ELMO_ALWAYS void ELMO_FN(cell_update)(const float *pre, int rows, float *cell, float *hidden,
                                      uint16_t *hidden_bf16, size_t ld_cell, float cell_clip) {
    const int clip = cell_clip > 0.0f;
    const VEC hi = ELMO_FN(splat)(cell_clip), lo = ELMO_FN(splat)(-cell_clip);
    for (int i = 0; i < rows; i++) {
        const float *t = pre + (size_t)i * ELMO_PANEL;
        float *cr = cell + (size_t)i * ld_cell;
        for (int s = 0; s < ELMO_PANEL_CELLS; s += ELMO_VW) {
            VEC ig = ELMO_FN(vsigmoid)(*(const VEC *)(t + s));
            VEC jg = ELMO_FN(vtanh)(*(const VEC *)(t + ELMO_PANEL_CELLS + s));
            VEC fg = ELMO_FN(vsigmoid)(*(const VEC *)(t + 2 * ELMO_PANEL_CELLS + s));
            VEC og = ELMO_FN(vsigmoid)(*(const VEC *)(t + 3 * ELMO_PANEL_CELLS + s));
            VEC cn = fg * ELMO_FN(loadu)(cr + s) + ig * jg;
            if (clip) {
                cn = ELMO_FN(select)(cn > hi, hi, cn);
                cn = ELMO_FN(select)(cn < lo, lo, cn);
            }
            ELMO_FN(storeu)(cr + s, cn);
            VEC h = og * ELMO_FN(vtanh)(cn);
            if (hidden) ELMO_FN(storeu)(hidden + (size_t)i * ld_cell + s, h);
            if (hidden_bf16) ELMO_FN(store_bf16)(hidden_bf16 + (size_t)i * ld_cell + s, h);
        }
    }
}
