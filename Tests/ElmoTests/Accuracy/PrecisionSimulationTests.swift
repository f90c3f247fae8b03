import XCTest
import CElmoKernels
import Elmo
import ElmoHDF5
import ElmoAccuracy

/// The simulated precisions of `elmo-bench fidelity --products` (bench/accuracy/
/// PrecisionSimulation.swift) round as libelmo's kernels do, and the side-by-side evaluation
/// of several sentences gives each sentence's own evaluation.
final class PrecisionSimulationTests: XCTestCase {
    /// Values around 1 with every low-half pattern that decides a rounding (ties included),
    /// both signs, tiny and large magnitudes.
    private static let sweep: [Float] = {
        var v: [Float] = []
        for high: UInt32 in [0x3f80, 0x3f81, 0x3fff, 0x0080, 0x7f00, 0x3a12] {
            for low: UInt32 in [0, 1, 0x7fff, 0x8000, 0x8001, 0xffff, 0x4000, 0xc000] {
                let x = Float(bitPattern: high << 16 | low)
                v += [x, -x]
            }
        }
        return v
    }()

    func testBF16RoundingIsTheKernelsConversion() {
        let x = Self.sweep
        var bits = [UInt16](repeating: 0, count: x.count)
        elmo_bf16_convert_rows(x, x.count, 1, x.count, &bits, x.count)
        var simulated = x
        PrecisionSimulation.round(&simulated, rows: 1, k: x.count, as: .bf16, perColumn: false)
        for i in x.indices {
            XCTAssertEqual(simulated[i].bitPattern, UInt32(bits[i]) << 16, "x = \(x[i])")
        }
    }

    func testInt8RoundingIsTheKernelsQuantisationPerRow() {
        // Two rows of 40 values of different sizes: one scale per row, from its largest magnitude.
        let rows = 2, k = 40
        var x = [Float](repeating: 0, count: rows * k)
        for i in x.indices { x[i] = Float((i * 37) % 101 - 50) / (i < k ? 7 : 0.3) }
        var q = [UInt8](repeating: 0, count: rows * k), scales = [Float](repeating: 0, count: rows)
        elmo_int8_quantize_rows(x, k, rows, k, &q, k, &scales)
        var simulated = x
        PrecisionSimulation.round(&simulated, rows: rows, k: k, as: .int8, perColumn: false)
        for i in x.indices {
            XCTAssertEqual(simulated[i], Float(Int(q[i]) - 128) * scales[i / k], "value \(i)")
        }
    }

    func testSentencesSideBySideGiveEachSentencesOwnEvaluation() throws {
        let options = ElmoOptions(
            charCNN: .init(embeddingDim: 4, filters: [.init(width: 1, count: 4), .init(width: 2, count: 8)], highwayCount: 1,
                           characterCount: 262, maxCharactersPerToken: 50, activation: .relu),
            lstm: .init(dim: 16, projectionDim: 8, layerCount: 2, cellClip: 3, projectionClip: 3, useSkipConnections: true))
        let model = try GeneratedModel(options: options, seed: 7, lstmScale: .nonContractive, directory: try temporaryDirectory())
        let sentences = [AccuracySentences.make(count: 5, seed: 1), AccuracySentences.make(count: 9, seed: 2),
                         AccuracySentences.make(count: 1, seed: 3), AccuracySentences.make(count: 9, seed: 4)]
        for precision in ["fp32", "bf16", "int8,recurrent=bf16"] {
            let reference = PrecisionSimulation.reference(model, try XCTUnwrap(SimulatedPrecision.parse(precision)))
            let together = try reference.embed(sentences: sentences)
            for (s, tokens) in sentences.enumerated() {
                let alone = try reference.embed(tokens)
                XCTAssertEqual(together[s].count, alone.count)
                for l in alone.indices {
                    XCTAssertEqual(together[s][l].count, tokens.count * 16)
                    XCTAssertEqual(Fidelity.maxAbsDifference(together[s][l], alone[l].map(Double.init)), 0, accuracy: 1e-6,
                                   "\(precision), sentence \(s), layer \(l)")
                }
            }
        }
    }
}
