// Kernel bodies, included once per instruction-set variant by kernels.c.
// Every function here is `static inline` and always inlined into a variant wrapper
// that carries a target attribute, so clang vectorises it for that instruction set.
// Contraction into FMA is off (see kernels.c), so all variants round identically.
#ifndef ELMO_KERNELS_BODY_H
#define ELMO_KERNELS_BODY_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <math.h>
#include "elmo_kernels.h"

#define ELMO_INLINE static inline __attribute__((always_inline))

// exp(x) for float, Cephes-style: range reduction by ln 2, degree-6 polynomial,
// scaling by 2^n through the exponent bits. Below 0.94 ulp from exp (float64) wherever the
// result is a normal float (x >= -87.34); branch-free so that it vectorises. Rounding to
// nearest integer uses the 1.5 * 2^23 trick (exact under strict IEEE arithmetic, no SSE4.1
// needed). The lower clamp keeps n >= -126, so that 2^n is a normal float.
ELMO_INLINE float elmo_exp_body(float x) {
    x = x < -87.6f ? -87.6f : x;
    x = x > 88.0f ? 88.0f : x;
    const float shifter = 12582912.0f;
    float t = x * 1.44269504088896341f;
    float n = (t + shifter) - shifter;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return p * scale;
}

// tanh(x) for |x| < 0.625: x + x^3 P(x^2), Cephes's tanhf polynomial. Written through exp,
// tanh loses its relative accuracy near 0 ((1 - e) / (1 + e) cancels: 1.7e7 ulp at 1e-9),
// which is where most LSTM gate inputs are.
ELMO_INLINE float elmo_tanh_small_body(float x) {
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    return p * z * x + x;
}

// sigmoid(x): near 0 (|x| < 1.25) 1/2 + tanh(x/2)/2, correctly rounded to within 0.5 ulp
// there; elsewhere from e = exp(-|x|) as e / (1 + e) for x < 0 and 1 - e / (1 + e) for
// x > 0, so that neither side divides by a rounded large number. Max 2.1 ulp from float64
// (at x = -1.96), max absolute error 5.4e-8 (the exp form: 2.1 ulp, 8.9e-8).
ELMO_INLINE float elmo_sigmoid_body(float x) {
    float a = x < 0.0f ? -x : x;
    float e = elmo_exp_body(-a);
    float q = e / (1.0f + e);
    float far = x < 0.0f ? q : 1.0f - q;
    float near = 0.5f + 0.5f * elmo_tanh_small_body(0.5f * x);
    return a < 1.25f ? near : far;
}

// tanh(x) = sign(x) * (1 - 2e / (1 + e)) with e = exp(-2|x|) for |x| >= 0.625, the
// polynomial below: max 1.34 ulp from float64 over the whole range, 0.5 ulp for |x| < 1e-3.
ELMO_INLINE float elmo_tanh_body(float x) {
    float a = x < 0.0f ? -x : x;
    float e = elmo_exp_body(-2.0f * a);
    float large = 1.0f - (e + e) / (1.0f + e);
    float r = a < 0.625f ? elmo_tanh_small_body(a) : large;
    return x < 0.0f ? -r : r;
}

ELMO_INLINE void elmo_char_cnn_body(const uint16_t *ids, size_t n_tokens, size_t max_chars,
                                    size_t n_chars, const elmo_char_filter *filters,
                                    size_t n_filters, elmo_kernel_activation act,
                                    float *out, size_t out_stride) {
    for (size_t tok = 0; tok < n_tokens; tok++) {
        const uint16_t *tid = ids + tok * max_chars;
        // The padding id is the value of the last position (bilm-tf pads every token to
        // max_chars with it); windows starting after the last non-padding id all see the
        // same characters, so the first such window stands for all of them.
        uint16_t pad = tid[max_chars - 1];
        size_t last = 0;
        for (size_t p = 0; p < max_chars; p++) {
            if (tid[p] != pad) last = p;
        }
        float *row = out + tok * out_stride;
        for (size_t fi = 0; fi < n_filters; fi++) {
            const elmo_char_filter *f = &filters[fi];
            size_t width = (size_t)f->width, count = (size_t)f->count, stride = (size_t)f->stride;
            size_t windows = max_chars - width + 1;
            size_t limit = last + 2 < windows ? last + 2 : windows;
            for (size_t c = 0; c < count; c++) row[c] = -INFINITY;
            for (size_t pos = 0; pos < limit; pos++) {
                const float *t0 = f->table + ((size_t)tid[pos] % n_chars) * stride;
                // Sum of the width table rows for this window, then running max.
                for (size_t c = 0; c < count; c++) {
                    float acc = t0[c];
                    for (size_t k = 1; k < width; k++) {
                        const float *tk = f->table + (k * n_chars + (size_t)tid[pos + k] % n_chars) * stride;
                        acc += tk[c];
                    }
                    row[c] = acc > row[c] ? acc : row[c];
                }
            }
            for (size_t c = 0; c < count; c++) {
                float v = row[c] + f->bias[c];
                if (act == ELMO_KERNEL_ACT_RELU) v = v > 0.0f ? v : 0.0f;
                else v = elmo_tanh_body(v);
                row[c] = v;
            }
            row += count;
        }
    }
}

ELMO_INLINE void elmo_highway_combine_body(const float *pre, const float *bias, float *x,
                                           size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++) {
        const float *carry = pre + r * 2 * n;
        const float *transform = carry + n;
        float *xr = x + r * n;
        for (size_t i = 0; i < n; i++) {
            float g = elmo_sigmoid_body(carry[i] + bias[i]);
            float t = transform[i] + bias[n + i];
            t = t > 0.0f ? t : 0.0f;
            xr[i] = g * t + (1.0f - g) * xr[i];
        }
    }
}

ELMO_INLINE void elmo_clip_body(float *x, size_t n, float clip) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        v = v > clip ? clip : v;
        v = v < -clip ? -clip : v;
        x[i] = v;
    }
}

ELMO_INLINE void elmo_add_inplace_body(float *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

#endif
