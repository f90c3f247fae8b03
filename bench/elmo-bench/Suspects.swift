// `elmo-bench fidelity --suspects`: each candidate source of fp32 error measured alone against
// float64 (issue 14): the kernels' activations over a sweep of their whole range, and the
// packed GEMM's accumulation at the model's inner dimensions, beside OpenBLAS sgemm (what
// numpy and PyTorch call) and one in-order FMA chain over all of K (libelmo's GEMM before
// split accumulation).
import CElmoKernels
import COpenBLAS
import Foundation

func printActivationSuspects() {
    func ulps(_ y: Float, _ exact: Double) -> Double {
        abs(Double(y) - exact) / Double(sign: .plus, exponent: max(Int(exact.exponent), -126) - 23, significand: 1)
    }
    let functions: [(String, (Float) -> Float, (Double) -> Double)] = [
        ("libelmo sigmoid", { elmo_kernel_sigmoid($0) }, { 1 / (1 + exp(-$0)) }),
        ("libm 1/(1+expf(-x))", { 1 / (1 + expf(-$0)) }, { 1 / (1 + exp(-$0)) }),
        ("libelmo tanh", { elmo_kernel_tanh($0) }, { tanh($0) }),
        ("libm tanhf", { tanhf($0) }, { tanh($0) }),
    ]
    print("activations: max error in ulp against float64 (every 61st float of |x| <= 100, every float of |x| < 1e-3 in steps of 7)")
    for (name, f, exact) in functions {
        var worst = 0.0, worstAt: Float = 0, small = 0.0, saturated = 0.0, absolute = 0.0
        func check(_ x: Float) {
            let r = exact(Double(x))
            guard abs(r) >= 0x1p-126 else { return }
            let y = f(x), e = ulps(y, r)
            if e > worst { worst = e; worstAt = x }
            if abs(x) < 1e-3 { small = max(small, e) }
            if abs(x) > 8 { saturated = max(saturated, e) }
            absolute = max(absolute, abs(Double(y) - r))
        }
        for bits in stride(from: UInt32(0), to: Float(100).bitPattern, by: 61) {
            check(Float(bitPattern: bits)); check(-Float(bitPattern: bits))
        }
        for bits in stride(from: UInt32(1), to: Float(1e-3).bitPattern, by: 7) {
            check(Float(bitPattern: bits)); check(-Float(bitPattern: bits))
        }
        print(String(format: "  %-22@ max %7.3g ulp (at %g); |x| < 1e-3: %7.3g; |x| > 8: %5.3g; max absolute error %.2e",
                     name, worst, Double(worstAt), small, saturated, absolute))
    }
}

func printGemmSuspects() {
    print("matrix products: error against float64 of c = a w (64 rows, 512 columns; a and w as in the model's products)")
    print("  K       libelmo packed GEMM      OpenBLAS sgemm          one FMA chain over K      (rms / max, in units of 1e-7 x rms(c))")
    var rng = SplitMix(state: 99)
    for K in [512, 2048, 4096] {
        let M = 64, N = 512
        let a = (0..<(M * K)).map { _ in rng.uniform() }
        let w = (0..<(K * N)).map { _ in rng.uniform() / Float(K).squareRoot() }
        // float64 reference
        var exact = [Double](repeating: 0, count: M * N)
        let ad = a.map(Double.init), wd = w.map(Double.init)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(M), Int32(N), Int32(K), 1, ad, Int32(K), wd, Int32(N), 0, &exact, Int32(N))
        // OpenBLAS sgemm
        var blas = [Float](repeating: 0, count: M * N)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(M), Int32(N), Int32(K), 1, a, Int32(K), w, Int32(N), 0, &blas, Int32(N))
        // libelmo: pack into 64-column panels (K rows each, 64-byte aligned) and multiply
        let panels = elmo_panel_count(N)
        let packed = UnsafeMutableRawPointer.allocate(byteCount: panels * K * 64 * 4, alignment: 64).bindMemory(to: Float.self, capacity: panels * K * 64)
        defer { packed.deallocate() }
        for p in 0..<panels { for k in 0..<K { for j in 0..<64 { packed[(p * K + k) * 64 + j] = w[k * N + p * 64 + j] } } }
        var descriptor = elmo_packed(data: UnsafeRawPointer(packed), rows: Int64(K), cols: Int64(N), type: Int32(ELMO_WEIGHTS_F32.rawValue))
        var lib = [Float](repeating: 0, count: M * N)
        a.withUnsafeBufferPointer { ab in lib.withUnsafeMutableBufferPointer { cb in
            elmo_gemm(ab.baseAddress!, K, M, &descriptor, ELMO_GEMM_ZERO, nil, cb.baseAddress!, N, 0, panels)
        } }
        // One in-order FMA chain per output over all of K.
        var chain = [Float](repeating: 0, count: M * N)
        for i in 0..<M {
            for j in 0..<N {
                var acc: Float = 0
                for k in 0..<K { acc = acc.addingProduct(a[i * K + k], w[k * N + j]) }
                chain[i * N + j] = acc
            }
        }
        let scale = (exact.reduce(0) { $0 + $1 * $1 } / Double(exact.count)).squareRoot() * 1e-7
        func stats(_ c: [Float]) -> String {
            var sum = 0.0, worst = 0.0
            for i in 0..<c.count { let e = abs(Double(c[i]) - exact[i]); sum += e * e; worst = max(worst, e) }
            return String(format: "%6.2f / %6.2f", (sum / Double(c.count)).squareRoot() / scale, worst / scale)
        }
        print(String(format: "  %-6d  %@          %@         %@", K, stats(lib), stats(blas), stats(chain)))
    }
}

struct SplitMix {
    var state: UInt64
    mutating func uniform() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 23) - 1
    }
}
