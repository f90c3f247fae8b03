// The one place that decides which variant each kernel family runs (dispatch.h says how).
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>

// ---- the CPU ---------------------------------------------------------------------------

static unsigned detect_features(void) {
    unsigned f = 0;
#ifdef ELMO_HAVE_X86_VARIANTS
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= ELMO_CPU_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        f |= ELMO_CPU_AVX512;
    if (__builtin_cpu_supports("avx512bf16")) f |= ELMO_CPU_AVX512_BF16;
    if (__builtin_cpu_supports("avx512vnni")) f |= ELMO_CPU_AVX512_VNNI;
    if (__builtin_cpu_supports("avxvnni")) f |= ELMO_CPU_AVX_VNNI;
#endif
    return f;
}

// Stored + 1 so that 0 means "not yet detected" (a benign race stores the same value).
static unsigned detected_features;

unsigned elmo_cpu_features(void) {
    unsigned v = __atomic_load_n(&detected_features, __ATOMIC_ACQUIRE);
    if (!v) {
        v = detect_features() + 1;
        __atomic_store_n(&detected_features, v, __ATOMIC_RELEASE);
    }
    return v - 1;
}

// ---- the families' variants, best last ----------------------------------------------------

typedef struct {
    const char *name;
    unsigned needs;  ///< ELMO_CPU_* bits
} variant;

typedef struct {
    const char *environment;  ///< the variable that caps the choice
    int count;
    variant variants[ELMO_MAX_VARIANTS];
} family;

static const family families[ELMO_KERNEL_FAMILIES] = {
    // Elementwise kernels: plain loops that clang vectorises for each target. "baseline"
    // (SSE2, 4 floats) runs anywhere; "avx2" and "avx512" only widen the vectors.
    [ELMO_KERNELS_FP32] = {"ELMO_FP32_KERNELS", 3, {
        [ELMO_VARIANT_BASELINE] = {"baseline", 0},
        [ELMO_VARIANT_AVX2] = {"avx2", ELMO_CPU_AVX2},
        [ELMO_VARIANT_AVX512] = {"avx512", ELMO_CPU_AVX2 | ELMO_CPU_AVX512},
    }},
    // fp32 packed GEMM and LSTM step: the register tile grows with the registers: 4 x 8
    // (portable), 6 x 16 (AVX2's 16 ymm, FMA), 6 x 64 (AVX-512's 32 zmm).
    [ELMO_KERNELS_GEMM] = {"ELMO_GEMM_KERNELS", 3, {
        [ELMO_VARIANT_BASELINE] = {"baseline", 0},
        [ELMO_VARIANT_AVX2] = {"avx2", ELMO_CPU_AVX2},
        [ELMO_VARIANT_AVX512] = {"avx512", ELMO_CPU_AVX2 | ELMO_CPU_AVX512},
    }},
    // bf16: "avx512_bf16" executes vdpbf16ps, which defines the arithmetic; the others widen
    // bf16 to fp32 and reproduce it with FMAs, for CPUs without the instruction.
    [ELMO_KERNELS_BF16] = {"ELMO_BF16_KERNELS", 4, {
        [ELMO_VARIANT_BASELINE] = {"baseline", 0},
        [ELMO_VARIANT_AVX2] = {"avx2", ELMO_CPU_AVX2},
        [ELMO_VARIANT_AVX512] = {"avx512", ELMO_CPU_AVX2 | ELMO_CPU_AVX512},
        [ELMO_VARIANT_AVX512_BF16] = {"avx512_bf16", ELMO_CPU_AVX2 | ELMO_CPU_AVX512 | ELMO_CPU_AVX512_BF16},
    }},
    // int8: vpdpbusd on zmm (AVX-512 VNNI) or on ymm (AVX-VNNI: CPUs without AVX-512 such as
    // Alder Lake); without VNNI, AVX2's vpmaddubsw; portable C anywhere. (A CPU with AVX-512
    // VNNI but no AVX-VNNI, capped at avx_vnni, runs avx2.)
    [ELMO_KERNELS_INT8] = {"ELMO_INT8_KERNELS", 4, {
        [ELMO_INT8_PORTABLE] = {"portable", 0},
        [ELMO_INT8_AVX2] = {"avx2", ELMO_CPU_AVX2},
        [ELMO_INT8_AVX_VNNI] = {"avx_vnni", ELMO_CPU_AVX2 | ELMO_CPU_AVX_VNNI},
        [ELMO_INT8_AVX512_VNNI] = {"avx512_vnni", ELMO_CPU_AVX2 | ELMO_CPU_AVX512 | ELMO_CPU_AVX512_VNNI},
    }},
};

static int valid_family(elmo_kernel_family f) { return (unsigned)f < ELMO_KERNEL_FAMILIES; }

int elmo_kernel_variant_count(elmo_kernel_family f) { return valid_family(f) ? families[f].count : 0; }

const char *elmo_kernel_variant_name(elmo_kernel_family f, int level) {
    return valid_family(f) && level >= 0 && level < families[f].count ? families[f].variants[level].name : NULL;
}

int elmo_kernel_variant_available(elmo_kernel_family f, int level) {
    if (!valid_family(f) || level < 0 || level >= families[f].count) return 0;
    const unsigned needs = families[f].variants[level].needs;
    return (elmo_cpu_features() & needs) == needs;
}

/// The best level the CPU has at or below `level` (level 0 needs nothing).
static int best_available_at_most(elmo_kernel_family f, int level) {
    while (level > 0 && !elmo_kernel_variant_available(f, level)) level--;
    return level;
}

/// The default: the best the CPU has, capped by the family's environment variable.
static int default_level(elmo_kernel_family f) {
    int cap = families[f].count - 1;
    const char *env = getenv(families[f].environment);
    if (env != NULL) {
        for (int i = 0; i < families[f].count; i++) {
            if (strcmp(env, families[f].variants[i].name) == 0) cap = i;
        }
    }
    return best_available_at_most(f, cap);
}

int elmo_variant_chosen[ELMO_KERNEL_FAMILIES];

int elmo_variant_choose(elmo_kernel_family f) {
    const int level = default_level(f);
    __atomic_store_n(&elmo_variant_chosen[f], level + 1, __ATOMIC_RELEASE);
    return level;
}

int elmo_kernel_variant(elmo_kernel_family f) { return valid_family(f) ? elmo_variant_level(f) : 0; }

int elmo_kernel_force_variant(elmo_kernel_family f, int level) {
    if (!valid_family(f)) return 0;
    if (level < 0) return elmo_variant_choose(f);
    const int chosen = best_available_at_most(f, level < families[f].count ? level : families[f].count - 1);
    __atomic_store_n(&elmo_variant_chosen[f], chosen + 1, __ATOMIC_RELEASE);
    return chosen;
}
