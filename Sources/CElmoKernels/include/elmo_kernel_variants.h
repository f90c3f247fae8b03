// Which instruction-set variant each kernel family runs, and how tests force one.
//
// Every kernel exists in several variants (portable C, AVX2+FMA, AVX-512, and for bf16 and
// int8 the instructions made for them). All variants of a family give identical bits, so
// the choice changes speed, never results. By default a family runs the best variant the
// CPU has, chosen once at the family's first use (dispatch.h says how). The environment
// variable ELMO_<FAMILY>_KERNELS=<variant name> caps that choice (ELMO_FP32_KERNELS,
// ELMO_GEMM_KERNELS, ELMO_BF16_KERNELS, ELMO_INT8_KERNELS; an unknown name is ignored), and
// elmo_kernel_force_variant lets tests run each variant in turn.
#ifndef ELMO_KERNEL_VARIANTS_H
#define ELMO_KERNEL_VARIANTS_H

#ifdef __cplusplus
extern "C" {
#endif

/// The kernel families; each chooses its variant on its own.
/// Variant levels, best last (a variant needs what the ones below it need, and more):
/// - FP32 (elmo_kernels.h: char-CNN, highway, clip, add) and GEMM (elmo_gemm.h: fp32 packed
///   GEMM, fused LSTM step): 0 "baseline", 1 "avx2", 2 "avx512".
/// - BF16 (elmo_bf16.h): 0 "baseline", 1 "avx2", 2 "avx512", 3 "avx512_bf16" (vdpbf16ps).
/// - INT8 (elmo_int8.h): 0 "portable", 1 "avx2", 2 "avx_vnni", 3 "avx512_vnni" (vpdpbusd).
typedef enum {
    ELMO_KERNELS_FP32 = 0,
    ELMO_KERNELS_GEMM = 1,
    ELMO_KERNELS_BF16 = 2,
    ELMO_KERNELS_INT8 = 3,
} elmo_kernel_family;

/// Number of kernel families.
#define ELMO_KERNEL_FAMILIES 4

/// Number of variant levels of a family (whether or not the CPU has them).
int elmo_kernel_variant_count(elmo_kernel_family family);

/// Name of variant `level` of a family, NULL for a level out of range.
const char *elmo_kernel_variant_name(elmo_kernel_family family, int level);

/// Whether the running CPU can run variant `level` of a family.
int elmo_kernel_variant_available(elmo_kernel_family family, int level);

/// The variant level a family uses now (chosen at its first use).
int elmo_kernel_variant(elmo_kernel_family family);

/// Tests and comparisons: makes a family use the best variant the CPU has at or below
/// `level`; -1 restores the default choice (the best the CPU has, capped by the family's
/// environment variable, read again now). Returns the level now in use.
/// Process-global: never call it while another thread is computing.
int elmo_kernel_force_variant(elmo_kernel_family family, int level);

#ifdef __cplusplus
}
#endif
#endif
