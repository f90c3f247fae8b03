// The bf16 reference rate, analogous to the sgemm reference: libelmo's own vdpbf16ps GEMM
// (elmo_gemm_bf16) at the same shape (M=864, K=512, N=16384), with the benchmark's thread
// count splitting the column panels, measured in the same run. Also the instruction's
// register-only peak, for context.
import CElmoKernels
import ElmoBenchKernels
import Foundation

/// bf16 GEMM rate (GFLOP/s) with `threads` threads, best and median of `repetitions`.
func measureBF16Gemm(m: Int = 864, k: Int = 512, n: Int = 16384, threads: Int, repetitions: Int = 12) -> GemmRate {
    var rng: UInt64 = 54321
    func next() -> Float {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: rng >> 11) % 2001) / 1000 - 1
    }
    let w = (0..<(k * n)).map { _ in next() }
    let a = (0..<(m * k)).map { _ in elmo_bf16_round(next()) }
    let packedCount = elmo_bf16_packed_size(k, n)
    let packed = UnsafeMutableRawPointer.allocate(byteCount: packedCount * 2, alignment: 64).bindMemory(to: UInt16.self, capacity: packedCount)
    defer { packed.deallocate() }
    w.withUnsafeBufferPointer { elmo_bf16_pack($0.baseAddress!, n, 1, k, n, packed) }
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer { c.deallocate() }
    let panels = elmo_panel_count(n)
    let descriptor = elmo_packed(data: UnsafeRawPointer(packed), rows: Int64(k), cols: Int64(n), type: Int32(ELMO_WEIGHTS_BF16.rawValue))
    /// The operands, shared read-only by the threads (each writes its own columns of c).
    struct Operands: @unchecked Sendable {
        let a: UnsafePointer<UInt16>, c: UnsafeMutablePointer<Float>, w: elmo_packed
    }
    var times: [Double] = []
    a.withUnsafeBufferPointer { ab in
        let operands = Operands(a: ab.baseAddress!, c: c, w: descriptor)
        for _ in 0..<repetitions {
            let t = now()
            DispatchQueue.concurrentPerform(iterations: threads) { i in
                var d = operands.w
                elmo_gemm_bf16(operands.a, k, m, &d, ELMO_GEMM_ZERO, nil, operands.c, n, panels * i / threads, panels * (i + 1) / threads)
            }
            times.append(now() - t)
        }
    }
    let flops = 2.0 * Double(m) * Double(n) * Double(k)
    let sorted = times.sorted()
    return GemmRate(best: flops / sorted[0] * 1e-9, median: flops / percentile(sorted, 50) * 1e-9)
}

/// The register-only vdpbf16ps peak of `threads` threads at once (GFLOP/s), 0 without AVX512_BF16.
func measureBF16Peak(threads: Int) -> Double {
    struct Rates: @unchecked Sendable { let p: UnsafeMutablePointer<Double> }
    let rates = Rates(p: UnsafeMutablePointer<Double>.allocate(capacity: threads))
    defer { rates.p.deallocate() }
    DispatchQueue.concurrentPerform(iterations: threads) { i in rates.p[i] = bench_bf16_peak_flops(0.3) }
    return (0..<threads).reduce(0) { $0 + rates.p[$1] } * 1e-9
}
