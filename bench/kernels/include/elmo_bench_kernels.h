// Register-only instruction rates for the benchmark's context columns (bench/elmo-bench:
// BF16Rate.swift, Int8Bench.swift): what one thread's vdpbf16ps / vpdpbusd can do with no
// memory traffic at all, the ceiling the library's kernels are compared with.
#ifndef ELMO_BENCH_KERNELS_H
#define ELMO_BENCH_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// The peak vdpbf16ps rate of one thread for `seconds` (register-only, no memory traffic):
/// multiply-adds x 2 per second, or 0 when the CPU lacks AVX512_BF16.
double bench_bf16_peak_flops(double seconds);

/// The register-only vpdpbusd rate of one thread for `seconds`: int8 multiply-adds x 2 per
/// second (zmm where the CPU has AVX-512 VNNI, else ymm with AVX-VNNI), 0 without VNNI.
double bench_int8_peak_ops(double seconds);

#ifdef __cplusplus
}
#endif
#endif
