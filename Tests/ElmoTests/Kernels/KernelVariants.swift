import CElmoKernels

/// Forcing kernel variants in tests (elmo_kernel_variants.h): every family's variants give
/// the same bits, so the tests run each one the CPU has and compare.
enum KernelVariants {
    static let families = [ELMO_KERNELS_FP32, ELMO_KERNELS_GEMM, ELMO_KERNELS_BF16, ELMO_KERNELS_INT8]

    /// The levels of `family` this CPU can run, lowest first (level 0 always).
    static func available(_ family: elmo_kernel_family) -> [Int32] {
        (0..<elmo_kernel_variant_count(family)).filter { elmo_kernel_variant_available(family, $0) != 0 }
    }

    /// Name of the variant `family` runs now.
    static func name(_ family: elmo_kernel_family) -> String {
        String(cString: elmo_kernel_variant_name(family, elmo_kernel_variant(family)))
    }

    /// The floating-point families (FP32, GEMM, BF16: same level numbers) each at the best
    /// variant it has at or below `level`: fp32 and the GEMM stop at avx512 (2) where bf16
    /// goes on to avx512_bf16 (3).
    static func forceFloat(atMost level: Int32) {
        for f in [ELMO_KERNELS_FP32, ELMO_KERNELS_GEMM, ELMO_KERNELS_BF16] { _ = elmo_kernel_force_variant(f, level) }
    }

    /// Every family back to its default choice.
    static func restore() { for f in families { _ = elmo_kernel_force_variant(f, -1) } }
}
