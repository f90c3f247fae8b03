// CPU dispatch: how every kernel family picks the variant it runs.
//
// Why variants: the kernels are the encoder's hot path and their speed depends on the
// vector width and on a few instructions (FMA, vdpbf16ps, vpdpbusd). Libraries built for
// a generic x86-64 must still use them where the CPU has them, so each kernel is compiled
// several times with clang target attributes (no -march for the whole target) and one
// variant is chosen at run time. Floating-point contraction is off everywhere and every
// variant computes each output element with the same operations in the same order (or, for
// int8, the same exact integer sums), so variants differ in speed only: tests force each
// one the CPU has and compare bits (elmo_kernel_force_variant).
//
// How it works, in one place for all families (dispatch.c):
// 1. The CPU's features are detected once (elmo_cpu_features).
// 2. dispatch.c lists each family's variants in order, best last, each with the features it
//    needs (and why it exists). A family's level is chosen at its first use: the best
//    variant the CPU has, capped by ELMO_<FAMILY>_KERNELS; it is stored, so later calls
//    read one atomic (elmo_variant_level). elmo_kernel_force_variant overwrites it for tests.
// 3. Each family's source file has one table of function pointers per level, in the same
//    order, and its entry points call table[elmo_variant_level(family)].fn(...). Levels the
//    build cannot compile (not x86-64 clang) are left out of the table and never chosen,
//    because no CPU feature is reported there.
#ifndef ELMO_DISPATCH_H
#define ELMO_DISPATCH_H

#include "elmo_kernel_variants.h"

// The target attributes of the x86-64 variants (built by clang on x86-64; elsewhere only
// the portable variants exist).
#if defined(__x86_64__) && defined(__clang__)
#define ELMO_HAVE_X86_VARIANTS 1
#define ELMO_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define ELMO_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define ELMO_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,avx2,fma")))
#define ELMO_TARGET_AVX512_VNNI __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,avx2,fma")))
#define ELMO_TARGET_AVX_VNNI __attribute__((target("avxvnni,avx2,fma")))
#endif

/// CPU features the variants need (bits of elmo_cpu_features).
enum {
    ELMO_CPU_AVX2 = 1 << 0,         ///< AVX2 and FMA
    ELMO_CPU_AVX512 = 1 << 1,       ///< AVX-512 F, VL, BW and DQ
    ELMO_CPU_AVX512_BF16 = 1 << 2,  ///< AVX512_BF16 (vdpbf16ps)
    ELMO_CPU_AVX512_VNNI = 1 << 3,  ///< AVX512_VNNI (vpdpbusd on zmm)
    ELMO_CPU_AVX_VNNI = 1 << 4,     ///< AVX-VNNI (vpdpbusd on ymm, VEX-encoded)
};

/// The running CPU's features (detected once).
unsigned elmo_cpu_features(void);

/// Variant levels (the indices of each family's table; names and needs in dispatch.c).
enum { ELMO_VARIANT_BASELINE = 0, ELMO_VARIANT_AVX2 = 1, ELMO_VARIANT_AVX512 = 2, ELMO_VARIANT_AVX512_BF16 = 3 };
enum { ELMO_INT8_PORTABLE = 0, ELMO_INT8_AVX2 = 1, ELMO_INT8_AVX_VNNI = 2, ELMO_INT8_AVX512_VNNI = 3 };
/// The most levels a family has (table size).
#define ELMO_MAX_VARIANTS 4

/// Each family's level + 1, 0 until chosen (read through elmo_variant_level).
extern int elmo_variant_chosen[ELMO_KERNEL_FAMILIES];

/// Chooses a family's default level, stores it and returns it (first use).
int elmo_variant_choose(elmo_kernel_family family);

/// The level `family` runs: one atomic load after the first call. (The choice is a pure
/// function of the CPU and the environment, so two threads racing on the first call store
/// the same value; the atomic keeps the compiler and the sanitizers honest about it.)
static inline int elmo_variant_level(elmo_kernel_family family) {
    int v = __atomic_load_n(&elmo_variant_chosen[family], __ATOMIC_ACQUIRE);
    return v ? v - 1 : elmo_variant_choose(family);
}

#endif
