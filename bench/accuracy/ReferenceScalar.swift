// The arithmetic of a dense reference evaluation: matrix products through OpenBLAS (what numpy
// and PyTorch call) and the C library's exp and tanh, in the type's own precision.
import COpenBLAS
import Glibc

public protocol ReferenceScalar: BinaryFloatingPoint {
    /// c (m x n, row stride ldc) = a (m x k, stride lda) * b (k x n, stride ldb) + beta * c.
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    static func exponential(_ x: Self) -> Self
    static func hyperbolicTangent(_ x: Self) -> Self
}

extension ReferenceScalar {
    static func sigmoid(_ x: Self) -> Self { 1 / (1 + exponential(-x)) }
}

extension Float: ReferenceScalar {
    public static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b,
                    Int32(ldb), beta, c, Int32(ldc))
    }
    public static func exponential(_ x: Float) -> Float { expf(x) }
    public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
}

extension Double: ReferenceScalar {
    public static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b,
                    Int32(ldb), beta, c, Int32(ldc))
    }
    public static func exponential(_ x: Double) -> Double { exp(x) }
    public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
}
