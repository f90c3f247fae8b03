import Foundation
import XCTest
@testable import Elmo

/// Every output kind, recomputed independently from the all-layers output.
final class OutputTests: XCTestCase {
    func testOutputsFromAllLayers() throws {
        let model = try Fixtures.model()
        let sentences = try Fixtures.sentences()[1].prefix(4).map { $0 }
        let result = try ElmoSession(model: model).embed(sentences)
        let P = model.tokenDim, W = model.outputDim, Lc = model.layerCount
        XCTAssertEqual(P, 16)
        XCTAssertEqual(W, 32)
        XCTAssertEqual(Lc, 3)
        for s in 0..<sentences.count {
            let all = result.layers(sentence: s)
            let T = sentences[s].count
            XCTAssertEqual(all.shape, [3, T, 32])
            // Layer 0 is the token layer twice; word_emb is that token layer once.
            let word = try result.output(.wordEmbedding, sentence: s)
            XCTAssertEqual(word.shape, [T, 16])
            for t in 0..<T {
                XCTAssertEqual(Array(all.row(0, t).prefix(16)), Array(word.row(t)))
                XCTAssertEqual(Array(all.row(0, t).suffix(16)), Array(word.row(t)))
            }
            for k in 1...2 {
                let lstm = try result.output(.lstm(k), sentence: s)
                XCTAssertEqual(lstm.shape, [T, 32])
                XCTAssertEqual(lstm.values, Array(all.values[(k * T * 32)..<((k + 1) * T * 32)]))
            }
            // elmo with explicit weights and gamma, recomputed here in Double.
            let mix = ScalarMix(weights: [0.5, -1, 2], gamma: 1.7)
            let e = [0.5, -1.0, 2.0].map { Foundation.exp($0) }, z = e.reduce(0, +)
            let elmo = try result.output(.elmo(mix), sentence: s)
            XCTAssertEqual(elmo.shape, [T, 32])
            var meanExpected = [Double](repeating: 0, count: 32)
            for t in 0..<T {
                for d in 0..<32 {
                    let v = 1.7 * (0..<3).reduce(0.0) { $0 + e[$1] / z * Double(all[$1, t, d]) }
                    XCTAssertEqual(Double(elmo[t, d]), v, accuracy: 1e-5)
                    meanExpected[d] += v / Double(T)
                }
            }
            let mean = try result.output(.sentenceMean(mix), sentence: s)
            XCTAssertEqual(mean.shape, [32])
            for d in 0..<32 { XCTAssertEqual(Double(mean[d]), meanExpected[d], accuracy: 1e-5) }
            // Defaults: equal weights, gamma 1.
            let avg = try result.output(.elmo(nil), sentence: s)
            for t in 0..<T {
                for d in 0..<32 {
                    XCTAssertEqual(avg[t, d], (all[0, t, d] + all[1, t, d] + all[2, t, d]) / 3, accuracy: 1e-6)
                }
            }
        }
    }

    func testLayerNormIsPerSentence() throws {
        let model = try Fixtures.model()
        let sentences = try Fixtures.sentences()[2].prefix(3).map { $0 }
        let mix = ScalarMix(weights: [0, 1, 0], gamma: 2, layerNorm: true)
        let together = try ElmoSession(model: model).embed(sentences)
        for s in 0..<3 {
            let all = together.layers(sentence: s)
            let T = sentences[s].count
            let n = Double(T * 32)
            var expected = [Double](repeating: 0, count: T * 32)
            let e = [0.0, 1.0, 0.0].map { Foundation.exp($0) }, z = e.reduce(0, +)
            for k in 0..<3 {
                let v = (0..<(T * 32)).map { Double(all.values[k * T * 32 + $0]) }
                let mean = v.reduce(0, +) / n
                let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
                let scale: Double = 2 * e[k] / z / (variance + 1e-12).squareRoot()
                for i in 0..<(T * 32) { expected[i] += scale * (v[i] - mean) }
            }
            let got = try together.output(.elmo(mix), sentence: s)
            for i in 0..<(T * 32) { XCTAssertEqual(Double(got.values[i]), expected[i], accuracy: 1e-4) }
            // Alone, the sentence gets the same normalised mix: no dependence on the batch.
            let alone = try ElmoSession(model: model).embed([sentences[s]]).output(.elmo(mix), sentence: 0)
            XCTAssertEqual(zip(alone.values, got.values).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-5)
        }
    }

    func testBufferAPIMatchesArraysAndChecksSizes() throws {
        let model = try Fixtures.model()
        let sentences = try Fixtures.sentences()[0].prefix(3).map { $0 }
        let batch = try TokenBatch(sentences: sentences)
        let session = ElmoSession(model: model)
        let arrays = try session.embed(batch)
        for output in [ElmoOutput.allLayers, .wordEmbedding, .lstm(1), .lstm(2), .elmo(nil), .sentenceMean(nil),
                       .elmo(ScalarMix(weights: [1, 2, 3], gamma: 0.5))] {
            let n = try session.requiredFloats(batch, output: output)
            var buffer = [Float](repeating: .nan, count: n)
            try buffer.withUnsafeMutableBufferPointer { try session.embed(batch, output: output, into: $0) }
            let expected = try arrays.outputs(output).flatMap { $0.values }
            XCTAssertEqual(buffer, expected, "\(output)")
            var small = [Float](repeating: 0, count: n - 1)
            XCTAssertThrowsError(try small.withUnsafeMutableBufferPointer { try session.embed(batch, output: output, into: $0) }) {
                XCTAssertEqual(($0 as? ElmoError)?.kind, .bufferTooSmall)
            }
        }
        XCTAssertThrowsError(try session.requiredFloats(batch, output: .lstm(3))) { XCTAssertEqual(($0 as? ElmoError)?.kind, .invalidArgument) }
        XCTAssertThrowsError(try session.requiredFloats(batch, output: .elmo(ScalarMix(weights: [1, 2])))) {
            XCTAssertEqual(($0 as? ElmoError)?.kind, .invalidArgument)
        }
        XCTAssertEqual(ElmoOutput(name: "lstm_outputs2"), .lstm(2))
        XCTAssertEqual(ElmoOutput(name: "default"), .sentenceMean(nil))
        XCTAssertNil(ElmoOutput(name: "lstm_outputs0"))
        XCTAssertNil(ElmoOutput(name: "bogus"))
    }
}
