import COpenBLAS

/// C = A * B + beta * C for row-major matrices (A: m x k, B: k x n, C: m x n), through
/// OpenBLAS. Sizes are validated by the callers (they come from checked options and plans),
/// and every one of them fits in Int32 by the limits in `ElmoOptions` and `ElmoLimits`.
@inline(__always)
func gemm(m: Int, n: Int, k: Int,
          a: UnsafePointer<Float>, lda: Int,
          b: UnsafePointer<Float>, ldb: Int,
          c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float = 0) {
    guard m > 0, n > 0 else { return }
    if m == 1 {
        // OpenBLAS 0.3.21 does not route M = 1 GEMMs to GEMV and is several times slower:
        // y = B^T x with B row-major k x n is GEMV with Trans on a k x n row-major matrix.
        cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), 1.0, b, Int32(ldb), a, 1, beta, c, 1)
        return
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                1.0, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
