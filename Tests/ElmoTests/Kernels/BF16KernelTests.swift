import XCTest
import CElmoKernels
@testable import Elmo
@testable import ElmoHDF5

/// The bf16 conversion and kernels. Expected values are exact: spelled out by hand for the
/// conversion and the single accumulation step (checked against the AVX512_BF16
/// instructions when this CPU has them), and built from that step for the kernels, which
/// every instruction-set variant must reproduce bit for bit.
final class BF16KernelTests: XCTestCase {
    override func tearDown() {
        KernelVariants.restore()
    }

    /// The variants this CPU can run: 0 portable, 1 AVX2, 2 AVX-512F, 3 AVX512_BF16 (vdpbf16ps).
    var variants: [Int32] { KernelVariants.available(ELMO_KERNELS_BF16) }

    func bits(_ x: Float) -> UInt32 { x.bitPattern }
    func float(_ b: UInt32) -> Float { Float(bitPattern: b) }

    // MARK: conversion

    func testRoundingToNearestEvenWithTiesNaNInfinityAndDenormals() {
        let cases: [(UInt32, UInt16, String)] = [
            (0x3f80_0000, 0x3f80, "1.0 exact"),
            (0x3f80_7fff, 0x3f80, "just below half an ulp: down"),
            (0x3f80_8000, 0x3f80, "tie, even below: down"),
            (0x3f81_8000, 0x3f82, "tie, odd below: up to even"),
            (0x3f80_8001, 0x3f81, "just above half an ulp: up"),
            (0xbf81_8000, 0xbf82, "negative tie: up in magnitude to even"),
            (0xbf80_8000, 0xbf80, "negative tie: down in magnitude to even"),
            (0x3fff_8000, 0x4000, "tie carrying into the exponent"),
            (0x7f7f_ffff, 0x7f80, "largest float rounds to infinity"),
            (0x7f7f_7fff, 0x7f7f, "largest bf16 stays"),
            (0x7f80_0000, 0x7f80, "+inf"),
            (0xff80_0000, 0xff80, "-inf"),
            (0x7fc0_0000, 0x7fc0, "quiet NaN"),
            (0x7f80_0001, 0x7fc0, "signalling NaN, payload only in the low half: quieted"),
            (0x7f81_2345, 0x7fc1, "signalling NaN: quieted, upper payload kept"),
            (0xffc1_ffff, 0xffc1, "negative NaN: never rounded into another value"),
            (0x0000_0000, 0x0000, "+0"),
            (0x8000_0000, 0x8000, "-0"),
            (0x0000_0001, 0x0000, "smallest denormal: +0"),
            (0x007f_ffff, 0x0000, "largest denormal: +0 (not rounded up to 2^-126)"),
            (0x8040_0000, 0x8000, "negative denormal: -0"),
            (0x0080_0000, 0x0080, "smallest normal"),
            (0x0080_8000, 0x0080, "smallest normal, tie to even"),
            (0x0081_8000, 0x0082, "near the smallest normal, tie to even (up)"),
        ]
        for (input, expected, what) in cases {
            XCTAssertEqual(elmo_bf16_round(float(input)), expected, what)
        }
        for b: UInt16 in [0x0000, 0x8000, 0x3f80, 0x7f7f, 0x0080, 0xff80, 0x7fc1] {
            XCTAssertEqual(bits(elmo_bf16_widen(b)), UInt32(b) << 16)
        }
    }

    /// Every variant's row conversion equals the scalar one, over every upper half with
    /// several lower halves (ties, just-above, just-below, zero) and rows of odd lengths.
    func testRowConversionEqualsScalarForEveryVariant() {
        var values: [Float] = []
        for hi in 0..<65536 {
            for lo: UInt32 in [0x0000, 0x7fff, 0x8000, 0x8001, 0xffff, 0x1234] {
                values.append(float(UInt32(hi) << 16 | lo))
            }
        }
        let expected = values.map { elmo_bf16_round($0) }
        let cols = 37, rows = values.count / cols
        for v in variants {
            KernelVariants.forceFloat(atMost: v)
            var out = [UInt16](repeating: 0xdead, count: rows * (cols + 3))
            elmo_bf16_convert_rows(values, cols, rows, cols, &out, cols + 3)
            var mismatches = 0
            for r in 0..<rows {
                for c in 0..<cols where out[r * (cols + 3) + c] != expected[r * cols + c] { mismatches += 1 }
                XCTAssertEqual(Array(out[(r * (cols + 3) + cols)..<(r * (cols + 3) + cols + 3)]), [0xdead, 0xdead, 0xdead])
            }
            XCTAssertEqual(mismatches, 0, "variant \(v)")
        }
    }

    // MARK: one accumulation step

    func testReferenceStepMatchesTheInstructionDefinition() {
        func bf(_ x: Float) -> UInt16 { elmo_bf16_round(x) }
        func step(_ acc: Float, _ w: Float, _ a: Float) -> UInt32 { bits(elmo_bf16_fma_reference(acc, bf(w), bf(a))) }
        // Exact product, one rounding to nearest even.
        XCTAssertEqual(step(1, 0x1p-24, 1), bits(1), "1 + 2^-24: tie, stays at the even 1")
        XCTAssertEqual(step(1, 0x1.8p-24, 1), bits(1 + 0x1p-23), "above the tie: up")
        XCTAssertEqual(step(0x1.000002p0, 0x1p-24, 1), bits(0x1.000004p0), "tie with an odd neighbour below: up")
        // Denormal inputs read as zero: the accumulator, the weight, the activation.
        XCTAssertEqual(step(float(0x0000_0100), 0, 0), bits(0), "denormal accumulator is zero")
        XCTAssertEqual(bits(elmo_bf16_fma_reference(0, 0x0001, bf(0x1p100))), bits(0), "denormal weight is zero")
        XCTAssertEqual(bits(elmo_bf16_fma_reference(0, bf(0x1p100), 0x8001)), bits(0), "denormal activation is zero")
        // Results below 2^-126 flush to zero of their sign; tininess is judged after rounding.
        XCTAssertEqual(step(0, 0x1p-70, 0x1p-60), bits(0), "2^-130 flushes to +0")
        XCTAssertEqual(step(0, -0x1p-65, 0x1p-65), bits(-0.0), "-2^-130 flushes to -0")
        XCTAssertEqual(step(0x1p-126, 0x1p-100, -0x1p-100), bits(0x1p-126), "2^-126 - 2^-200 rounds to 2^-126: kept")
        XCTAssertEqual(step(0x1p-126, 0x1p-75, -0x1p-76), bits(0x1p-126), "2^-126 - 2^-151 (tie) rounds up to 2^-126: kept")
        XCTAssertEqual(step(0x1p-126, 0x1p-75, -0x1p-75), bits(0), "2^-126 - 2^-150 is representable below 2^-126: flushed")
        XCTAssertEqual(step(-0x1p-126, 0x1p-75, 0x1p-75), bits(-0.0), "negative side: flushed to -0")
        // Special values.
        XCTAssertEqual(step(0, .infinity, 0), 0xffc0_0000, "inf * 0: the default NaN")
        XCTAssertEqual(step(-.infinity, .infinity, 1), 0xffc0_0000, "inf - inf: the default NaN")
        XCTAssertEqual(step(1, .infinity, 2), bits(.infinity))
        XCTAssertEqual(step(0x1.fffffep127, 0x1p127, 1), bits(.infinity), "overflow rounds to infinity")
        XCTAssertEqual(bits(elmo_bf16_fma_reference(float(0x7fc1_1111), 0x7fc3, 0x7fc2)), 0x7fc3_0000, "weight NaN wins")
        XCTAssertEqual(bits(elmo_bf16_fma_reference(float(0x7fc1_1111), 0x3f80, 0x7fc2)), 0x7fc2_0000, "then activation NaN")
        XCTAssertEqual(bits(elmo_bf16_fma_reference(float(0x7f81_2345), 0x3f80, 0x3f80)), 0x7fc1_2345, "then accumulator NaN, quieted")
        XCTAssertEqual(bits(elmo_bf16_fma_reference(float(0x7fc1_1111), 0x7f80, 0)), 0x7fc1_1111, "a NaN operand beats 0 * inf")
        XCTAssertEqual(step(-0.0, 0, 0), bits(0), "-0 + (+0 * +0) = +0")
        XCTAssertEqual(step(-0.0, -0.0, 0), bits(-0.0), "-0 + (-0 * +0) = -0")
    }

    // MARK: GEMM

    struct Case {
        let m: Int, k: Int, n: Int
        var a: [Float], w: [Float], bias: [Float], c0: [Float]
    }

    func randomCase(_ m: Int, _ k: Int, _ n: Int, special: Bool, _ rng: inout SplitMix64) -> Case {
        var c = Case(m: m, k: k, n: n, a: (0..<(m * k)).map { _ in rng.nextUniform() },
                     w: (0..<(k * n)).map { _ in rng.nextUniform() }, bias: (0..<n).map { _ in rng.nextUniform() },
                     c0: (0..<(m * n)).map { _ in rng.nextUniform() })
        if special {
            // Weights and activations whose products underflow, exact cancellations, ties,
            // denormal and NaN/inf operands and starting values: the tiles where the
            // portable variants must fall back to the scalar definition.
            for i in stride(from: 0, to: c.w.count, by: 97) { c.w[i] = c.w[i] * 0x1p-70 }
            for i in stride(from: 3, to: c.a.count, by: 53) { c.a[i] = c.a[i] * 0x1p-60 }
            for i in stride(from: 5, to: c.w.count, by: 389) { c.w[i] = float(0x0000_1234) }
            if c.w.count > 7 { c.w[7] = .nan }
            if c.a.count > k + 3 { c.a[k + 3] = .infinity }
            if n > 2 { c.bias[1] = float(0x0001_16C2); c.c0[2] = float(0x800A_E398) }  // ≈ 1e-40, -1e-39 (denormals)
            if c.a.count > 1 && c.w.count > n { c.a[0] = 1; c.w[0] = 0x1p-63; c.a[1] = 0x1p-63; c.w[n] = -1 }
        }
        return c
    }

    /// The scalar definition: for each output, the chain of reference steps over the
    /// rounded operands, odd element of each pair first.
    func expectedGemm(_ c: Case, mode: elmo_gemm_init) -> [Float] {
        let ab = c.a.map { elmo_bf16_round($0) }, wb = c.w.map { elmo_bf16_round($0) }
        var out = [Float](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var acc: Float = mode == ELMO_GEMM_BIAS ? c.bias[j] : mode == ELMO_GEMM_ACCUMULATE ? c.c0[i * c.n + j] : 0
                for q in 0..<((c.k + 1) / 2) {
                    let odd = 2 * q + 1 < c.k
                    acc = elmo_bf16_fma_reference(acc, odd ? wb[(2 * q + 1) * c.n + j] : 0, odd ? ab[i * c.k + 2 * q + 1] : 0)
                    acc = elmo_bf16_fma_reference(acc, wb[2 * q * c.n + j], ab[i * c.k + 2 * q])
                }
                out[i * c.n + j] = acc
            }
        }
        return out
    }

    func packBF16(_ w: [Float], rows: Int, cols: Int) throws -> PackedMatrix {
        let f32 = try w.withUnsafeBufferPointer {
            try PackedMatrix.pack(rows: rows, cols: cols, sourceRows: rows, matrix: $0.baseAddress!, stride: cols)
        }
        return try f32.converted(to: .bf16)
    }

    func testGemmEqualsTheScalarDefinitionForEveryVariantShapeAndMode() throws {
        var rng = SplitMix64(seed: 11)
        let shapes = [(1, 7, 5), (13, 100, 150), (6, 64, 64), (7, 513, 130), (20, 1030, 64), (3, 1, 200),
                      (5, 1031, 70), (1, 2, 64), (9, 600, 300)]
        for special in [false, true] {
            for (m, k, n) in shapes {
                let c = randomCase(m, k, n, special: special, &rng)
                let pw = try packBF16(c.w, rows: k, cols: n)
                let ab = c.a.map { elmo_bf16_round($0) }
                for (mode, name) in [(ELMO_GEMM_ZERO, "zero"), (ELMO_GEMM_BIAS, "bias"), (ELMO_GEMM_ACCUMULATE, "accumulate")] {
                    let expected = expectedGemm(c, mode: mode)
                    for v in variants {
                        KernelVariants.forceFloat(atMost: v)
                        let ldc = n + 3
                        var out = [Float](repeating: -7, count: m * ldc)
                        for i in 0..<m { for j in 0..<n { out[i * ldc + j] = c.c0[i * n + j] } }
                        var desc = pw.descriptor
                        elmo_gemm_bf16(ab, k, m, &desc, mode, c.bias, &out, ldc, 0, pw.panelCount)
                        var mismatches = 0
                        for i in 0..<m {
                            for j in 0..<n where bits(out[i * ldc + j]) != bits(expected[i * n + j]) { mismatches += 1 }
                            XCTAssertEqual(Array(out[(i * ldc + n)..<(i * ldc + ldc)]), [-7, -7, -7])
                        }
                        XCTAssertEqual(mismatches, 0, "m=\(m) k=\(k) n=\(n) \(name) special=\(special) variant \(v)")
                    }
                }
            }
        }
    }

    func testGemmPanelRangesComposeToTheWholeProduct() throws {
        var rng = SplitMix64(seed: 12)
        let c = randomCase(9, 41, 300, special: false, &rng)
        let pw = try packBF16(c.w, rows: 41, cols: 300)
        let ab = c.a.map { elmo_bf16_round($0) }
        var desc = pw.descriptor
        var whole = [Float](repeating: 0, count: 9 * 300), split = whole
        elmo_gemm_bf16(ab, 41, 9, &desc, ELMO_GEMM_ZERO, nil, &whole, 300, 0, pw.panelCount)
        for p in 0..<pw.panelCount { elmo_gemm_bf16(ab, 41, 9, &desc, ELMO_GEMM_ZERO, nil, &split, 300, p, p + 1) }
        XCTAssertEqual(whole.map(bits), split.map(bits))
    }

    /// The bf16 packing of an fp32 packed matrix and back: rounding, then exact widening.
    func testPackedConversionRoundsEachWeightAndWidensExactly() throws {
        var rng = SplitMix64(seed: 13)
        let (k, n) = (37, 70)
        let w = (0..<(k * n)).map { _ in rng.nextUniform() }
        let bf = try packBF16(w, rows: k, cols: n)
        XCTAssertEqual(bf.tensor.shape, [2, 19, 128])
        let back = try bf.converted(to: .f32)
        XCTAssertEqual(back.tensor.shape, [2, 37, 64])
        for kk in 0..<k {
            for j in 0..<128 {
                let p = j / 64, col = j % 64
                let value = back.tensor.pointer[(p * k + kk) * 64 + col]
                let expected: Float = j < n ? elmo_bf16_widen(elmo_bf16_round(w[kk * n + j])) : 0
                XCTAssertEqual(bits(value), bits(expected), "k=\(kk) col=\(j)")
            }
        }
        // Row K of an odd K is zero padding.
        for p in 0..<2 {
            for j in 0..<64 { XCTAssertEqual(bf.tensor.bf16Pointer[(p * 19 + 18) * 128 + 2 * j + 1], 0) }
        }
    }

    // MARK: LSTM step

    func testLSTMStepEqualsScalarCellForEveryVariant() throws {
        var rng = SplitMix64(seed: 14)
        for (m, P, D, clip, special) in [(1, 8, 16, 3.0 as Float, false), (4, 600, 24, 1, false), (7, 21, 20, 0.5, true),
                                          (13, 33, 40, 0, false), (6, 512, 32, 3, true)] {
            let Dp = (D + 15) / 16 * 16, G = 4 * Dp
            var u = (0..<(P * 4 * D)).map { _ in rng.nextUniform() * 0.5 }  // TensorFlow layout [i|j|f|o]
            var h = (0..<(m * P)).map { _ in rng.nextUniform() }
            if special {
                for i in stride(from: 0, to: u.count, by: 31) { u[i] *= 0x1p-80 }
                for i in stride(from: 1, to: h.count, by: 17) { h[i] *= 0x1p-50 }
            }
            let inputTF = (0..<(m * 4 * D)).map { _ in rng.nextUniform() }
            let cell0 = (0..<(m * D)).map { _ in rng.nextUniform() }
            let pu = try u.withUnsafeBufferPointer { ub in
                try PackedMatrix.pack(rows: P, cols: G, sourceRows: P) { c in
                    PreparedLayout.gateSourceColumn(c, dim: D).map { (ub.baseAddress! + $0, 4 * D) }
                }
            }.converted(to: .bf16)
            let hb = h.map { elmo_bf16_round($0) }
            let ub = u.map { elmo_bf16_round($0) }
            var gates = [Float](repeating: 0, count: m * G)
            for i in 0..<m {
                for c in 0..<G { if let s = PreparedLayout.gateSourceColumn(c, dim: D) { gates[i * G + c] = inputTF[i * 4 * D + s] } }
            }
            var expCell = [Float](repeating: 0, count: m * D), expHidden = expCell
            for i in 0..<m {
                for d in 0..<D {
                    var pre = [Float](repeating: 0, count: 4)
                    for g in 0..<4 {
                        var acc = inputTF[i * 4 * D + g * D + d]
                        for q in 0..<((P + 1) / 2) {
                            let odd = 2 * q + 1 < P
                            acc = elmo_bf16_fma_reference(acc, odd ? ub[(2 * q + 1) * 4 * D + g * D + d] : 0, odd ? hb[i * P + 2 * q + 1] : 0)
                            acc = elmo_bf16_fma_reference(acc, ub[2 * q * 4 * D + g * D + d], hb[i * P + 2 * q])
                        }
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
                var hiddenBF16 = [UInt16](repeating: 9, count: m * Dp)
                for i in 0..<m { for d in 0..<D { cell[i * Dp + d] = cell0[i * D + d] } }
                var desc = pu.descriptor
                elmo_lstm_step_bf16(gates, G, hb, P, &desc, &cell, &hidden, &hiddenBF16, Dp, m, clip, 0, pu.panelCount)
                for i in 0..<m {
                    let label = "m=\(m) P=\(P) D=\(D) variant \(v) row \(i)"
                    XCTAssertEqual(cell[(i * Dp)..<(i * Dp + D)].map(bits), expCell[(i * D)..<(i * D + D)].map(bits), "cell " + label)
                    XCTAssertEqual(hidden[(i * Dp)..<(i * Dp + D)].map(bits), expHidden[(i * D)..<(i * D + D)].map(bits), "hidden " + label)
                    XCTAssertEqual(Array(hiddenBF16[(i * Dp)..<(i * Dp + D)]), expHidden[(i * D)..<(i * D + D)].map { elmo_bf16_round($0) },
                                   "bf16 hidden " + label)
                    XCTAssertEqual(Array(cell[(i * Dp + D)..<(i * Dp + Dp)]), [Float](repeating: 0, count: Dp - D))
                    XCTAssertEqual(Array(hiddenBF16[(i * Dp + D)..<(i * Dp + Dp)]), [UInt16](repeating: 0, count: Dp - D))
                }
            }
        }
    }

    func testInstructionVariantIsUsedWhereTheCPUHasIt() {
        let best = KernelVariants.available(ELMO_KERNELS_BF16).last!
        XCTAssertEqual(KernelVariants.name(ELMO_KERNELS_BF16), ["baseline", "avx2", "avx512", "avx512_bf16"][Int(best)])
        // The fp32 kernels are the AVX-512 ones where bf16 has vdpbf16ps.
        XCTAssertEqual(KernelVariants.name(ELMO_KERNELS_GEMM), ["baseline", "avx2", "avx512", "avx512"][Int(best)])
        XCTAssertEqual(KernelVariants.name(ELMO_KERNELS_FP32), ["baseline", "avx2", "avx512", "avx512"][Int(best)])
    }
}
