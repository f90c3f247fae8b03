// The reference rate: OpenBLAS sgemm at the shape the issue names (M=864, K=512, N=16384),
// measured in the same run as everything else, so the roofline fraction compares like with like.
import COpenBLAS
import CElmoKernels
import Elmo

struct GemmRate {
    let best: Double    // GFLOP/s
    let median: Double
}

/// OpenBLAS sgemm rate with its current thread count (its default: all cores).
func measureSgemm(m: Int = 864, k: Int = 512, n: Int = 16384, repetitions: Int = 12) -> GemmRate {
    var rng: UInt64 = 12345
    func next() -> Float {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: rng >> 11) % 2001) / 1000 - 1
    }
    let a = (0..<(m * k)).map { _ in next() }
    let b = (0..<(k * n)).map { _ in next() }
    var c = [Float](repeating: 0, count: m * n)
    var times: [Double] = []
    for _ in 0..<repetitions {
        let t = now()
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
        times.append(now() - t)
    }
    let flops = 2.0 * Double(m) * Double(n) * Double(k)
    let sorted = times.sorted()
    return GemmRate(best: flops / sorted[0] * 1e-9, median: flops / percentile(sorted, 50) * 1e-9)
}

/// OpenBLAS's threads and configuration, for the record.
func openBLASDescription() -> String {
    let config = openblas_get_config().map { String(cString: $0) } ?? "?"
    return "\(config), \(openblas_get_num_threads()) threads"
}
