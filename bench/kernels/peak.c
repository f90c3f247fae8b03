// Register-only vdpbf16ps and vpdpbusd loops (elmo_bench_kernels.h), moved here from the
// library's bf16.c and int8.c: the library never runs them.
#include "elmo_bench_kernels.h"
#include "elmo_kernel_variants.h"

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

#define TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2,fma")))
#define TARGET_AVX512_VNNI __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")))
#define TARGET_AVX_VNNI __attribute__((target("avxvnni,avx2,fma")))

/// vdpbf16ps throughput: 24 independent accumulators.
TARGET_AVX512_BF16 __attribute__((noinline)) static double peak_bf16(long iterations) {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_setzero_ps();
    __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x3c003c00);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
        __asm__ volatile("" : "+v"(x));
    }
    __m512 s = acc[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_ps(s, acc[i]);
    return (double)_mm512_reduce_add_ps(s);
}

/// vpdpbusd throughput (zmm): 24 independent accumulators.
TARGET_AVX512_VNNI __attribute__((noinline)) static double peak_avx512_vnni(long iterations) {
    __m512i acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_setzero_si512();
    __m512i x = _mm512_set1_epi32(0x01010101), y = _mm512_set1_epi32(0x01020304);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_dpbusd_epi32(acc[i], x, y);
        __asm__ volatile("" : "+v"(x));
    }
    __m512i s = acc[0];
    for (int i = 1; i < 24; i++) s = _mm512_add_epi32(s, acc[i]);
    return (double)_mm512_reduce_add_epi32(s);
}

/// The same with ymm vpdpbusd (AVX-VNNI): 12 accumulators.
TARGET_AVX_VNNI __attribute__((noinline)) static double peak_avx_vnni(long iterations) {
    __m256i acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_setzero_si256();
    __m256i x = _mm256_set1_epi32(0x01010101), y = _mm256_set1_epi32(0x01020304);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm256_dpbusd_avx_epi32(acc[i], x, y);
        __asm__ volatile("" : "+x"(x));
    }
    __m256i s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_epi32(s, acc[i]);
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, s);
    return (double)(lanes[0] + lanes[7]);
}

/// Best rate of `loop` over `seconds`: `ops` operations per iteration.
static double best_rate(double (*loop)(long), double ops, double seconds) {
    struct timespec t0, t1;
    long iterations = 1 << 16;
    double best = 0, sink = 0, elapsed_total = 0;
    while (elapsed_total < seconds) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        sink += loop(iterations);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double dt = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        elapsed_total += dt;
        if (dt > 0 && (double)iterations * ops / dt > best) best = (double)iterations * ops / dt;
        if (dt < 1e-3) iterations *= 2;
    }
    return sink == 12345.0 ? best + 1 : best;  // keeps the accumulators alive
}

double bench_bf16_peak_flops(double seconds) {
    if (!elmo_kernel_variant_available(ELMO_KERNELS_BF16, 3)) return 0;
    // 24 instructions x 16 lanes x 2 pairs x 2 flops per iteration.
    return best_rate(peak_bf16, 24.0 * 16 * 2 * 2, seconds);
}

double bench_int8_peak_ops(double seconds) {
    // Per iteration: zmm 24 instructions x 16 lanes x 4 products, ymm 12 x 8 x 4; 2 ops each.
    if (elmo_kernel_variant_available(ELMO_KERNELS_INT8, 3)) return best_rate(peak_avx512_vnni, 24.0 * 16 * 4 * 2, seconds);
    if (elmo_kernel_variant_available(ELMO_KERNELS_INT8, 2)) return best_rate(peak_avx_vnni, 12.0 * 8 * 4 * 2, seconds);
    return 0;
}
#else
double bench_bf16_peak_flops(double seconds) { (void)seconds; return 0; }
double bench_int8_peak_ops(double seconds) { (void)seconds; return 0; }
#endif
