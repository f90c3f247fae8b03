// Scalar definitions of the bfloat16 arithmetic, shared by every kernel variant: the
// fp32 -> bf16 conversion, and one lane of one `vdpbf16ps` step spelled out exactly.
//
// The portable variants compute with fp32 fused multiply-adds, which agree with
// `vdpbf16ps` except when a value gets tiny (|x| <= 2^-126), is a NaN, or the accumulator
// starts denormal; they detect those (rare) tiles and recompute them here, so every
// variant gives the bits the instruction gives.
#ifndef ELMO_BF16_SCALAR_H
#define ELMO_BF16_SCALAR_H

#include <stdint.h>
#include <string.h>
#include <math.h>

#define ELMO_BF16_INLINE static inline __attribute__((always_inline))

ELMO_BF16_INLINE uint32_t elmo_f32_bits(float x) { uint32_t u; memcpy(&u, &x, sizeof u); return u; }
ELMO_BF16_INLINE float elmo_f32_from_bits(uint32_t u) { float x; memcpy(&x, &u, sizeof x); return x; }

/// fp32 -> bf16 as `vcvtneps2bf16` does: round to nearest, ties to even; fp32 denormals
/// become zero of the same sign; a NaN stays a NaN of the same sign and upper payload,
/// made quiet; values that round beyond the largest bf16 become infinity.
ELMO_BF16_INLINE uint16_t elmo_bf16_round_scalar(float x) {
    uint32_t u = elmo_f32_bits(x);
    if ((u & 0x7f800000u) == 0) u &= 0x80000000u;                  // denormal -> signed zero
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);                               // round to nearest even
    return (uint16_t)(u >> 16);
}

/// bf16 -> fp32 (exact).
ELMO_BF16_INLINE float elmo_bf16_widen_scalar(uint16_t b) { return elmo_f32_from_bits((uint32_t)b << 16); }

/// Denormals are read as zero of the same sign (`vdpbf16ps` ignores MXCSR and always does this).
ELMO_BF16_INLINE float elmo_bf16_daz(float x) {
    uint32_t u = elmo_f32_bits(x);
    return (u & 0x7f800000u) ? x : elmo_f32_from_bits(u & 0x80000000u);
}

ELMO_BF16_INLINE int elmo_bf16_isnan(float x) { return (elmo_f32_bits(x) & 0x7fffffffu) > 0x7f800000u; }
ELMO_BF16_INLINE int elmo_bf16_isinf(float x) { return (elmo_f32_bits(x) & 0x7fffffffu) == 0x7f800000u; }
ELMO_BF16_INLINE float elmo_bf16_quiet(float x) { return elmo_f32_from_bits(elmo_f32_bits(x) | 0x00400000u); }

/// acc + w * a, as one half of a `vdpbf16ps` lane computes it (w the first source operand,
/// a the second, both bf16 values widened to fp32):
/// - inputs (acc included) denormal -> zero; the product is exact; one rounding to nearest
///   even of acc + w * a as if the exponent were unbounded; a result below 2^-126 in
///   magnitude is flushed to zero of its sign (tininess is decided after that rounding);
/// - NaN operands propagate quieted, the first of w, a, acc winning; an invalid operation
///   (0 * inf, inf - inf) gives the x86 default NaN (0xffc00000).
ELMO_BF16_INLINE float elmo_bf16_fma_step(float acc, float w, float a) {
    w = elmo_bf16_daz(w);
    a = elmo_bf16_daz(a);
    acc = elmo_bf16_daz(acc);
    if (elmo_bf16_isnan(w)) return elmo_bf16_quiet(w);
    if (elmo_bf16_isnan(a)) return elmo_bf16_quiet(a);
    if (elmo_bf16_isnan(acc)) return elmo_bf16_quiet(acc);
    const float default_nan = elmo_f32_from_bits(0xffc00000u);
    int w_inf = elmo_bf16_isinf(w), a_inf = elmo_bf16_isinf(a);
    if ((w_inf && a == 0.0f) || (a_inf && w == 0.0f)) return default_nan;
    if ((w_inf || a_inf) && elmo_bf16_isinf(acc)) {
        int product_negative = (elmo_f32_bits(w) ^ elmo_f32_bits(a)) >> 31;
        if ((int)(elmo_f32_bits(acc) >> 31) != product_negative) return default_nan;
    }
    float r = fmaf(w, a, acc);  // one rounding, gradual underflow
    uint32_t mag = elmo_f32_bits(r) & 0x7fffffffu;
    if (mag < 0x00800000u) return elmo_f32_from_bits(elmo_f32_bits(r) & 0x80000000u);
    if (mag == 0x00800000u && w != 0.0f && a != 0.0f && fabsf(w) < 0x1p64f && fabsf(acc) < 0x1p64f) {
        // r = +-2^-126 can come from an exact value just below it that the unbounded-exponent
        // rounding keeps tiny. Redo the sum scaled by 2^32, where it is a normal number. (A
        // nonzero product and an accumulator can only cancel down to about 2^-126 when both
        // are below about 2^-60, so with |w| < 2^64 the scaling is exact and cannot overflow;
        // larger operands never get here.)
        float scaled = fmaf(w * 0x1p32f, a, acc * 0x1p32f);
        if ((elmo_f32_bits(scaled) & 0x7fffffffu) < 0x10800000u /* 2^-94 = 2^-126 * 2^32 */)
            return elmo_f32_from_bits(elmo_f32_bits(r) & 0x80000000u);
    }
    return r;
}

#endif
