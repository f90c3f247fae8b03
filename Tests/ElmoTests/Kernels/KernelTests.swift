import XCTest
import CElmoKernels
@testable import Elmo
@testable import ElmoHDF5

/// The packed-weight kernels against plain scalar code doing the same arithmetic: every
/// output element is its start value plus, in order, the partial sums of 64 consecutive k
/// (each an in-order fused multiply-add chain from zero), so results must be equal bit for
/// bit, for every instruction-set variant the CPU has, any row count and position.
final class KernelTests: XCTestCase {
    /// start + sum over k of x(k) * y(k), in the kernels' order (split accumulation, elmo_gemm.h).
    static func splitDot(_ start: Float, count: Int, _ x: (Int) -> Float, _ y: (Int) -> Float) -> Float {
        var total = start
        for k0 in stride(from: 0, to: count, by: 64) {
            var part: Float = 0
            for k in k0..<min(k0 + 64, count) { part = fmaf(x(k), y(k), part) }
            total = total + part
        }
        return total
    }

    override func tearDown() {
        KernelVariants.restore()
    }

    /// The variants this CPU can run: 0 portable, 1 AVX2, 2 AVX-512.
    var variants: [Int32] { KernelVariants.available(ELMO_KERNELS_GEMM) }

    func randomMatrix(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in rng.nextUniform() }
    }

    func packed(_ w: [Float], rows: Int, cols: Int) throws -> PackedMatrix {
        try w.withUnsafeBufferPointer { try PackedMatrix.pack(rows: rows, cols: cols, sourceRows: rows, matrix: $0.baseAddress!, stride: cols) }
    }

    func testGemmEqualsInOrderFMAChainsForEveryVariantAndShape() throws {
        var rng = SplitMix64(seed: 1)
        // Shapes cover partial panels, several panels, K above one K block (512), 1 row,
        // and row counts that are and are not multiples of the tile height.
        for (m, k, n) in [(1, 7, 5), (13, 100, 150), (6, 64, 64), (7, 513, 130), (20, 1030, 64), (3, 1, 200), (5, 1030, 70)] {
            let a = randomMatrix(m * k, &rng), w = randomMatrix(k * n, &rng), bias = randomMatrix(n, &rng)
            let c0 = randomMatrix(m * n, &rng)
            let pw = try packed(w, rows: k, cols: n)
            for (mode, name) in [(ELMO_GEMM_ZERO, "zero"), (ELMO_GEMM_BIAS, "bias"), (ELMO_GEMM_ACCUMULATE, "accumulate")] {
                var expected = [Float](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        let start: Float = mode == ELMO_GEMM_BIAS ? bias[j] : mode == ELMO_GEMM_ACCUMULATE ? c0[i * n + j] : 0
                        expected[i * n + j] = KernelTests.splitDot(start, count: k, { a[i * k + $0] }, { w[$0 * n + j] })
                    }
                }
                for v in variants {
                    KernelVariants.forceFloat(atMost: v)
                    // Extra columns after each row (ldc > n) must stay untouched.
                    let ldc = n + 3
                    var c = [Float](repeating: -7, count: m * ldc)
                    for i in 0..<m { for j in 0..<n { c[i * ldc + j] = c0[i * n + j] } }
                    var desc = pw.descriptor
                    elmo_gemm(a, k, m, &desc, mode, bias, &c, ldc, 0, pw.panelCount)
                    for i in 0..<m {
                        XCTAssertEqual(Array(c[(i * ldc)..<(i * ldc + n)]), Array(expected[(i * n)..<(i * n + n)]),
                                       "m=\(m) k=\(k) n=\(n) \(name) variant \(v) row \(i)")
                        XCTAssertEqual(Array(c[(i * ldc + n)..<(i * ldc + ldc)]), [-7, -7, -7])
                    }
                }
            }
        }
    }

    func testGemmPanelRangesComposeToTheWholeProduct() throws {
        var rng = SplitMix64(seed: 2)
        let (m, k, n) = (9, 40, 300)
        let a = randomMatrix(m * k, &rng), w = randomMatrix(k * n, &rng)
        let pw = try packed(w, rows: k, cols: n)
        var desc = pw.descriptor
        var whole = [Float](repeating: 0, count: m * n), split = whole
        elmo_gemm(a, k, m, &desc, ELMO_GEMM_ZERO, nil, &whole, n, 0, pw.panelCount)
        for p in 0..<pw.panelCount { elmo_gemm(a, k, m, &desc, ELMO_GEMM_ZERO, nil, &split, n, p, p + 1) }
        XCTAssertEqual(whole, split)
    }

    /// The fused step against the same arithmetic spelled out with the scalar reference
    /// sigmoid and tanh of the element-wise kernels.
    func testLSTMStepEqualsScalarCellForEveryVariant() throws {
        var rng = SplitMix64(seed: 3)
        for (m, P, D, clip) in [(1, 8, 16, 3.0 as Float), (4, 600, 24, 1), (7, 20, 20, 0.5), (13, 33, 40, 0)] {
            let Dp = (D + 15) / 16 * 16, G = 4 * Dp
            let u = randomMatrix(P * 4 * D, &rng).map { $0 * 0.5 }  // TensorFlow layout [i|j|f|o]
            let h = randomMatrix(m * P, &rng)
            let inputTF = randomMatrix(m * 4 * D, &rng)  // input contribution + bias, TF layout
            let cell0 = randomMatrix(m * D, &rng)
            let pu = try u.withUnsafeBufferPointer { ub in
                try PackedMatrix.pack(rows: P, cols: G, sourceRows: P) { c in
                    PreparedLayout.gateSourceColumn(c, dim: D).map { (ub.baseAddress! + $0, 4 * D) }
                }
            }
            var gates = [Float](repeating: 0, count: m * G)
            for i in 0..<m {
                for c in 0..<G { if let s = PreparedLayout.gateSourceColumn(c, dim: D) { gates[i * G + c] = inputTF[i * 4 * D + s] } }
            }
            // Scalar expectation.
            var expCell = [Float](repeating: 0, count: m * D), expHidden = expCell
            for i in 0..<m {
                for d in 0..<D {
                    var pre = [Float](repeating: 0, count: 4)
                    for g in 0..<4 {
                        let acc = KernelTests.splitDot(inputTF[i * 4 * D + g * D + d], count: P, { h[i * P + $0] },
                                                       { u[$0 * 4 * D + g * D + d] })
                        pre[g] = acc
                    }
                    let ig = elmo_kernel_sigmoid(pre[0]), jg = elmo_kernel_tanh(pre[1])
                    let fg = elmo_kernel_sigmoid(pre[2]), og = elmo_kernel_sigmoid(pre[3])
                    var cn = fg * cell0[i * D + d] + ig * jg
                    if clip > 0 { cn = min(max(cn, -clip), clip) }
                    expCell[i * D + d] = cn
                    expHidden[i * D + d] = og * elmo_kernel_tanh(cn)
                }
            }
            for v in variants {
                KernelVariants.forceFloat(atMost: v)
                var cell = [Float](repeating: 0, count: m * Dp), hidden = [Float](repeating: 9, count: m * Dp)
                for i in 0..<m { for d in 0..<D { cell[i * Dp + d] = cell0[i * D + d] } }
                var desc = pu.descriptor
                elmo_lstm_step(gates, G, h, P, &desc, &cell, &hidden, Dp, m, clip, 0, pu.panelCount)
                for i in 0..<m {
                    XCTAssertEqual(Array(cell[(i * Dp)..<(i * Dp + D)]), Array(expCell[(i * D)..<(i * D + D)]), "cell m=\(m) D=\(D) variant \(v)")
                    XCTAssertEqual(Array(hidden[(i * Dp)..<(i * Dp + D)]), Array(expHidden[(i * D)..<(i * D + D)]), "hidden m=\(m) D=\(D) variant \(v)")
                    // Padding cells (zero weights, input and state) stay exactly zero.
                    XCTAssertEqual(Array(cell[(i * Dp + D)..<(i * Dp + Dp)]), [Float](repeating: 0, count: Dp - D))
                    XCTAssertEqual(Array(hidden[(i * Dp + D)..<(i * Dp + Dp)]), [Float](repeating: 0, count: Dp - D))
                }
            }
        }
    }

    /// The whole encoder gives the same bits with every kernel variant and thread count.
    func testEncoderIsBitIdenticalAcrossVariantsAndThreadCounts() throws {
        let model = try Fixtures.model()
        let batch = try Fixtures.sentences()[1]
        KernelVariants.restore()
        let reference = try ElmoSession(model: model, threads: 1).embed(batch).allLayers
        for v in variants {
            KernelVariants.forceFloat(atMost: v)
            for threads in [1, 2, 3] {
                XCTAssertEqual(try ElmoSession(model: model, threads: threads).embed(batch).allLayers, reference,
                               "variant \(v), \(threads) threads")
            }
        }
    }
}

/// Sessions start helper threads lazily and end them when they go away.
final class SessionThreadTests: XCTestCase {
    func threadCount() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    func testHelperThreadsEndWithTheirSession() throws {
        let model = try Fixtures.model()
        let before = threadCount()
        for _ in 0..<5 {
            let session = ElmoSession(model: model, threads: 3)
            XCTAssertEqual(session.threadCount, 3)
            _ = try session.embed([["helpers", "start", "now"]])
            XCTAssertEqual(threadCount(), before + 2)
        }
        XCTAssertEqual(threadCount(), before)
    }

    func testDefaultThreadCountIsTheAvailableProcessors() throws {
        let session = ElmoSession(model: try Fixtures.model())
        XCTAssertEqual(session.threadCount, availableProcessors())
        XCTAssertEqual(ElmoSession(model: session.model, threads: 0).threadCount, 1)
        XCTAssertEqual(ElmoSession(model: session.model, threads: 1_000_000).threadCount, Encoder.maxThreads)
    }
}

/// A session used before fork() works in the child, which has none of its helper threads.
final class ForkTests: XCTestCase {
    func testSessionWorksInAForkedChild() throws {
        if dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_init") != nil {
            throw XCTSkip("ThreadSanitizer cannot start threads in a child of a multi-threaded fork")
        }
        let model = try Fixtures.model()
        // Three threads: the forward direction's team of two waits at barriers for a helper.
        let session = ElmoSession(model: model, threads: 3)
        let expected = try session.embed([["before", "the", "fork"]]).allLayers
        let pid = fork()
        if pid == 0 {
            // Child: exit 0 only if the session still embeds, and the same bits; a deadlock
            // is caught by the parent's timeout.
            let ok = (try? session.embed([["before", "the", "fork"]]).allLayers) == expected
            _exit(ok ? 0 : 1)
        }
        XCTAssertGreaterThan(pid, 0)
        var status: Int32 = 0
        var waited: Int32 = 0
        for _ in 0..<200 {
            waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            usleep(50_000)
        }
        if waited != pid {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            return XCTFail("the forked child did not finish within 10 s (deadlock)")
        }
        XCTAssertEqual((status >> 8) & 0xFF, 0, "the child's embedding failed or differed")
    }
}
