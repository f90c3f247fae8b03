import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// A stateless session: a sentence's vectors depend on nothing but the sentence.
final class StatelessTests: XCTestCase {
    func maxDiff(_ a: ElmoArray, _ b: ElmoArray) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.values, b.values).map { abs($0 - $1) }.max() ?? 0
    }

    func testEachSentenceAloneInAnyBatchAndOrderGivesTheSameVectors() throws {
        let model = try Fixtures.model()
        let all = try Fixtures.sentences().flatMap { $0 }
        let session = ElmoSession(model: model)
        let alone = try all.map { try session.embed([$0]).layers(sentence: 0) }
        var rng = SplitMix64(seed: 42)
        var worst: Float = 0
        for trial in 0..<6 {
            // Random batch sizes and orders, including the whole set reversed.
            var indices = Array(all.indices)
            for i in stride(from: indices.count - 1, to: 0, by: -1) { indices.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            let size = trial == 0 ? all.count : 1 + Int(rng.next() % 12)
            let chosen = trial == 1 ? Array(all.indices.reversed()) : Array(indices.prefix(size))
            let result = try session.embed(chosen.map { all[$0] })
            for (k, i) in chosen.enumerated() { worst = max(worst, maxDiff(result.layers(sentence: k), alone[i])) }
        }
        print("stateless batch independence: max |diff| = \(worst)")
        // Every kernel computes each row on its own, in a fixed order: bit-identical.
        XCTAssertEqual(worst, 0)
    }

    func testRepeatedCallIsBitIdentical() throws {
        let model = try Fixtures.model()
        let batch = try Fixtures.sentences()[0]
        let session = ElmoSession(model: model)
        let first = try session.embed(batch)
        _ = try session.embed([["something", "else", "in", "between"]])
        let second = try session.embed(batch)
        XCTAssertEqual(first.allLayers, second.allLayers)
        let other = try ElmoSession(model: model).embed(batch)
        XCTAssertEqual(first.allLayers, other.allLayers)
    }

    func testRawTextEqualsPreTokenized() throws {
        let model = try Fixtures.model()
        let session = ElmoSession(model: model)
        let a = try session.embed(texts: ["The bank of the river .", "  Money\tin the bank "])
        let b = try session.embed([["The", "bank", "of", "the", "river", "."], ["Money", "in", "the", "bank"]])
        XCTAssertEqual(a.allLayers, b.allLayers)
        XCTAssertEqual(a.tokenCounts, [6, 4])
    }

    func testTooLongAndEmptyInputsAreRefusedAndSessionStaysUsable() throws {
        let model = try Fixtures.model()
        let session = ElmoSession(model: model, limits: ElmoLimits(maxSentences: 4, maxTokensPerSentence: 10, maxTokensPerCall: 20))
        XCTAssertThrowsError(try session.embed([[String]]())) { XCTAssertEqual(($0 as? ElmoError)?.kind, .invalidInput) }
        XCTAssertThrowsError(try session.embed(Array(repeating: ["a"], count: 5))) { XCTAssertEqual(($0 as? ElmoError)?.kind, .limitExceeded) }
        XCTAssertThrowsError(try session.embed([Array(repeating: "a", count: 11)])) { XCTAssertEqual(($0 as? ElmoError)?.kind, .limitExceeded) }
        XCTAssertThrowsError(try session.embed(Array(repeating: Array(repeating: "a", count: 7), count: 3))) {
            XCTAssertEqual(($0 as? ElmoError)?.kind, .limitExceeded)
        }
        XCTAssertEqual(try session.embed([["still", "works"]]).tokenCounts, [2])
    }

    func testLongSentenceSpanningSeveralGateChunks() throws {
        // More rows than one input-projection chunk: the chunked path must equal one-by-one.
        let model = try Fixtures.model()
        let words = try Fixtures.sentences().flatMap { $0 }.flatMap { $0 }
        let long = Array((words + words + words).prefix(1500))
        XCTAssertGreaterThan(long.count + 2, LSTMLayer.gateChunkRows)
        let session = ElmoSession(model: model)
        let together = try session.embed([long, ["short", "one"]])
        let reference = try ReferenceELMo(optionsFile: try Fixtures.require() + "/options.json",
                                          weightsFile: try Fixtures.require() + "/lm_weights.hdf5")
        let expected = try reference.embed(Array(long.prefix(40)) )
        // The first 40 tokens' forward states do not depend on later tokens.
        let got = together.layers(sentence: 0)
        var worst: Float = 0
        for t in 0..<40 {
            for d in 0..<16 { worst = max(worst, abs(Float(expected[2][t][d]) - got[2, t, d])) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5)
        XCTAssertEqual(try session.embed([long]).layers(sentence: 0).values.count, got.values.count)
    }
}

/// Stateful sessions: row i carries on from row i of the previous call.
final class StatefulTests: XCTestCase {
    func testRowsBeyondASmallerBatchKeepTheirStateAndResetForgets() throws {
        let model = try Fixtures.model()
        let s = try Fixtures.sentences()
        let stateful = ElmoSession(model: model, stateful: true)
        _ = try stateful.embed([s[0][0], s[1][0], s[2][0]])
        _ = try stateful.embed([s[0][1]])                        // only row 0 advances
        let third = try stateful.embed([s[0][2], s[1][1], s[2][1]])
        // Rows 1 and 2 continued from batch 0, exactly as in the fixture's batch 1.
        for k in 1...2 {
            let expected = try Fixtures.expectedTopLayer(k: k, i: 1, tokens: s[k][1].count, projectionDim: 16)
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(expected: expected, top: try third.output(.lstm(2), sentence: k)), 1e-5)
        }
        try stateful.reset()
        let fresh = try stateful.embed([s[0][0]])
        let stateless = try ElmoSession(model: model).embed([s[0][0]])
        XCTAssertEqual(fresh.allLayers, stateless.allLayers)
    }

    func testStateDependsOnHistory() throws {
        let model = try Fixtures.model()
        let s = try Fixtures.sentences()
        let stateful = ElmoSession(model: model, stateful: true)
        let first = try stateful.embed([s[0][3]])
        let second = try stateful.embed([s[0][3]])
        XCTAssertNotEqual(first.allLayers, second.allLayers)
        // The token layer is context-free and never changes.
        XCTAssertEqual(try first.output(.wordEmbedding, sentence: 0), try second.output(.wordEmbedding, sentence: 0))
    }
}
