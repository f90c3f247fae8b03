import XCTest
@testable import Elmo

/// The encoder against the embeddings bilm-tf itself produced for the fixture model.
final class FixtureParityTests: XCTestCase {
    let tolerance: Float = 1e-5

    /// All 30 sentences through one stateful session in the fixture's batches of 3:
    /// batch i = (sentences[0][i], sentences[1][i], sentences[2][i]), i = 0..9 in order.
    func testStatefulSessionReproducesAllThirtySentences() throws {
        let model = try Fixtures.model()
        let sentences = try Fixtures.sentences()
        let session = ElmoSession(model: model, stateful: true)
        var worst: Float = 0
        for i in 0..<10 {
            let batch = (0..<3).map { sentences[$0][i] }
            let result = try session.embed(batch)
            for k in 0..<3 {
                let top = try result.output(.lstm(model.options.lstm.layerCount), sentence: k)
                let expected = try Fixtures.expectedTopLayer(k: k, i: i, tokens: batch[k].count, projectionDim: model.tokenDim)
                let diff = Fixtures.maxDifference(expected: expected, top: top)
                XCTAssertLessThanOrEqual(diff, tolerance, "batch \(i) row \(k)")
                worst = max(worst, diff)
            }
        }
        print("stateful parity over 30 sentences: max |diff| = \(worst)")
    }

    /// Batch 0 starts from zero state, so a stateless session must match it.
    func testStatelessSessionMatchesFirstBatch() throws {
        let model = try Fixtures.model()
        let sentences = try Fixtures.sentences()
        let session = ElmoSession(model: model)
        let batch = (0..<3).map { sentences[$0][0] }
        let result = try session.embed(batch)
        var worst: Float = 0
        for k in 0..<3 {
            let top = try result.output(.lstm(2), sentence: k)
            let expected = try Fixtures.expectedTopLayer(k: k, i: 0, tokens: batch[k].count, projectionDim: model.tokenDim)
            worst = max(worst, Fixtures.maxDifference(expected: expected, top: top))
        }
        print("stateless parity, batch 0: max |diff| = \(worst)")
        XCTAssertLessThanOrEqual(worst, tolerance)
    }
}
