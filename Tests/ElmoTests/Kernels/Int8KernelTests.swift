import XCTest
import CElmoKernels
@testable import Elmo
@testable import ElmoHDF5

/// The int8 kernels (`elmo_int8.h`): every variant the CPU has (portable, AVX2, AVX-VNNI,
/// AVX-512 VNNI) gives the same bits, and those bits are the documented arithmetic: the
/// exact integer sum of the quantised values, dequantised in fp32.
final class Int8KernelTests: XCTestCase {
    override func tearDown() { KernelVariants.restore() }

    /// The variant levels this CPU can run (portable is always there).
    var levels: [Int32] { KernelVariants.available(ELMO_KERNELS_INT8) }

    struct Problem {
        var k: Int, n: Int, m: Int
        var weights: [Float], inputs: [Float], bias: [Float]
    }

    func problem(k: Int, n: Int, m: Int, seed: UInt64) -> Problem {
        var rng = SplitMix64(seed: seed)
        var inputs = (0..<(m * k)).map { _ in rng.nextUniform() * 3 }
        if m > 1 { for j in 0..<k { inputs[k + j] = 0 } }  // an all-zero row: scale 0
        return Problem(k: k, n: n, m: m, weights: (0..<(k * n)).map { _ in rng.nextUniform() },
                       inputs: inputs, bias: (0..<n).map { _ in rng.nextUniform() })
    }

    struct Packed {
        let data: UnsafeMutableRawPointer, scales: [Float], sums: [Int32], k: Int, n: Int
        var descriptor: elmo_packed_int8 {
            scales.withUnsafeBufferPointer { s in
                sums.withUnsafeBufferPointer { c in
                    elmo_packed_int8(data: UnsafePointer(data.assumingMemoryBound(to: Int8.self)), scales: s.baseAddress,
                                     column_sums: c.baseAddress, rows: Int64(k), cols: Int64(n))
                }
            }
        }
    }

    func pack(_ p: Problem) -> Packed {
        let panels = elmo_panel_count(p.n)
        let data = UnsafeMutableRawPointer.allocate(byteCount: max(elmo_int8_packed_size(p.k, p.n), 64), alignment: 64)
        var scales = [Float](repeating: 0, count: panels * 64), sums = [Int32](repeating: 0, count: panels * 64)
        p.weights.withUnsafeBufferPointer { w in
            elmo_int8_pack(w.baseAddress!, p.n, 1, p.k, p.n, data.assumingMemoryBound(to: Int8.self), &scales, &sums)
        }
        return Packed(data: data, scales: scales, sums: sums, k: p.k, n: p.n)
    }

    func quantize(_ p: Problem) -> (bytes: [UInt8], scales: [Float], stride: Int) {
        let stride = (p.k + 3) / 4 * 4
        var q = [UInt8](repeating: 0, count: p.m * stride), s = [Float](repeating: 0, count: p.m)
        p.inputs.withUnsafeBufferPointer { elmo_int8_quantize_rows($0.baseAddress!, p.k, p.m, p.k, &q, stride, &s) }
        return (q, s, stride)
    }

    /// Quantisation as documented: scale amax / 127, values round(x * 127 / amax) + 128.
    func testQuantisationFollowsItsDefinition() {
        let p = problem(k: 37, n: 1, m: 3, seed: 1)
        let (q, s, stride) = quantize(p)
        for r in 0..<p.m {
            let row = Array(p.inputs[(r * p.k)..<((r + 1) * p.k)])
            let amax = row.map(abs).max()!
            XCTAssertEqual(s[r], amax / 127)
            let inv: Float = amax > 0 ? 127 / amax : 0
            for j in 0..<p.k { XCTAssertEqual(Int(q[r * stride + j]), 128 + Int((row[j] * inv).rounded(.toNearestOrEven))) }
            for j in p.k..<stride { XCTAssertEqual(q[r * stride + j], 128) }
        }
        XCTAssertEqual(s[1], 0, "an all-zero row")
    }

    /// GEMM (zero, bias and accumulate starts; partial last panel; K not a multiple of 4;
    /// panel ranges) against the integer definition, identical for every variant.
    func testGemmIsTheExactIntegerSumInEveryVariant() {
        for (k, n, m) in [(70, 150, 13), (512, 64, 1), (16, 16, 7), (5, 200, 6)] {
            let p = problem(k: k, n: n, m: m, seed: UInt64(k * n + m))
            let packed = pack(p)
            defer { packed.data.deallocate() }
            let (q, s, stride) = quantize(p)
            var w = packed.descriptor
            // The definition: S = sum (a - 128) * q exactly, then init + Float(S) * (as * ws).
            var quantised = [[Int]](repeating: [Int](repeating: 0, count: n), count: k)
            for kk in 0..<k {
                for j in 0..<n {
                    let v = elmo_int8_packed_value(&w, kk, j)
                    quantised[kk][j] = packed.scales[j] == 0 ? 0 : Int((v / packed.scales[j]).rounded())
                }
            }
            let start = (0..<(m * n)).map { Float($0 % 7) - 3 }
            for initMode in [ELMO_GEMM_ZERO, ELMO_GEMM_BIAS, ELMO_GEMM_ACCUMULATE] {
                var expected = start
                for r in 0..<m {
                    for j in 0..<n {
                        var sum = 0
                        for kk in 0..<k { sum += (Int(q[r * stride + kk]) - 128) * quantised[kk][j] }
                        let v = Float(sum) * (s[r] * packed.scales[j])
                        expected[r * n + j] = initMode == ELMO_GEMM_ZERO ? v : initMode == ELMO_GEMM_BIAS ? p.bias[j] + v : start[r * n + j] + v
                    }
                }
                for level in levels {
                    XCTAssertEqual(elmo_kernel_force_variant(ELMO_KERNELS_INT8, level), level)
                    var c = start
                    // Two panel ranges, as two threads would split them.
                    let panels = elmo_panel_count(n)
                    for (b, e) in [(0, panels / 2), (panels / 2, panels)] {
                        elmo_gemm_int8(q, stride, s, m, &w, initMode, p.bias, &c, n, b, e)
                    }
                    XCTAssertEqual(c.map(\.bitPattern), expected.map(\.bitPattern),
                                   "\(KernelVariants.name(ELMO_KERNELS_INT8)) K=\(k) N=\(n) M=\(m) init \(initMode.rawValue)")
                }
            }
            // Close to the float product (a sanity check of the scales, not of the bits).
            var c = [Float](repeating: 0, count: m * n)
            elmo_gemm_int8(q, stride, s, m, &w, ELMO_GEMM_ZERO, nil, &c, n, 0, elmo_panel_count(n))
            for r in 0..<m {
                for j in 0..<n {
                    var exact = 0.0, size = 0.0
                    for kk in 0..<k {
                        exact += Double(p.inputs[r * k + kk]) * Double(p.weights[kk * n + j])
                        size += abs(Double(p.inputs[r * k + kk]) * Double(p.weights[kk * n + j]))
                    }
                    XCTAssertLessThanOrEqual(abs(Double(c[r * n + j]) - exact), 0.02 * size + 1e-6)
                }
            }
        }
    }

    /// The fused LSTM step: identical in every variant, and equal to the int8 GEMM
    /// accumulated onto the gates followed by the fp32 step's cell update (checked through
    /// elmo_lstm_step with a zero recurrent matrix, which adds exactly nothing).
    func testLSTMStepMatchesGemmPlusFP32CellUpdateInEveryVariant() throws {
        let cells = 32, k = 24, m = 5, G = 4 * cells
        let p = problem(k: k, n: G, m: m, seed: 77)
        let packed = pack(p)
        defer { packed.data.deallocate() }
        var w = packed.descriptor
        let (q, s, stride) = quantize(p)
        var rng = SplitMix64(seed: 5)
        let gates = (0..<(m * G)).map { _ in rng.nextUniform() }
        let cell0 = (0..<(m * cells)).map { _ in rng.nextUniform() * 2 }
        // Reference: pre = gates + product (the GEMM, accumulate), then elmo_lstm_step with
        // zero recurrent weights on pre.
        var pre = gates
        elmo_gemm_int8(q, stride, s, m, &w, ELMO_GEMM_ACCUMULATE, nil, &pre, G, 0, elmo_panel_count(G))
        let zero = try PackedMatrix.pack(rows: 1, cols: G, sourceRows: 0) { _ in nil }
        var zd = zero.descriptor
        var refCell = cell0, refHidden = [Float](repeating: 0, count: m * cells)
        let h0 = [Float](repeating: 0, count: m)
        elmo_lstm_step(pre, G, h0, 1, &zd, &refCell, &refHidden, cells, m, 3, 0, elmo_panel_count(G))
        for level in levels {
            _ = elmo_kernel_force_variant(ELMO_KERNELS_INT8, level)
            var cell = cell0, hidden = [Float](repeating: 0, count: m * cells)
            elmo_lstm_step_int8(gates, G, q, stride, s, &w, &cell, &hidden, cells, m, 3, 0, elmo_panel_count(G))
            XCTAssertEqual(cell.map(\.bitPattern), refCell.map(\.bitPattern), KernelVariants.name(ELMO_KERNELS_INT8))
            XCTAssertEqual(hidden.map(\.bitPattern), refHidden.map(\.bitPattern), KernelVariants.name(ELMO_KERNELS_INT8))
        }
    }

    /// The environment variable and the hook choose the variant; VNNI where the CPU has it.
    func testVariantSelection() {
        XCTAssertEqual(elmo_kernel_force_variant(ELMO_KERNELS_INT8, 0), 0)
        XCTAssertEqual(KernelVariants.name(ELMO_KERNELS_INT8), "portable")
        let best = elmo_kernel_force_variant(ELMO_KERNELS_INT8, 3)
        XCTAssertEqual(best, levels.last!)
        print("int8 kernels: best variant here \(KernelVariants.name(ELMO_KERNELS_INT8)); available levels \(levels)")
    }
}
