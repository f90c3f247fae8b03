import XCTest
@testable import Elmo

/// Request planning: `word_emb` runs no LSTM, `lstm_outputsK` only the first K layers of each
/// direction, and what they return is bit-identical to the same layers of the all-layers output.
final class RequestedLayersTests: XCTestCase {
    func sentences() throws -> [[String]] {
        [["The", "bank", "of", "the", "river", "."], ["A", "loan", "from", "the", "bank", "."], ["Hi"]]
            + (try Fixtures.sentences().first ?? [])
    }

    /// Each output written alone, for the fixture model in fp32 and bf16 and for 1 and 2 threads.
    func testRequestedLayersAreBitIdenticalToAllLayersAndSkipTheOthers() throws {
        let d = try Fixtures.require()
        for precision in ElmoPrecision.allCases {
            let model = try ElmoModel(optionsFile: d + "/options.json", weightsFile: d + "/lm_weights.hdf5",
                                      loadOptions: ElmoLoadOptions(precision: precision))
            let batch = try TokenBatch(sentences: try sentences())
            let P = model.tokenDim, W = model.outputDim, layers = model.layerCount
            for threads in [1, 2] {
                let reference = ElmoSession(model: model, threads: threads)
                let all = try reference.embed(batch)
                XCTAssertEqual(reference.lstmRunCount, 2 * model.lstmLayerCount)
                for (output, lstms) in [(ElmoOutput.wordEmbedding, 0)] + (1...model.lstmLayerCount).map({ (ElmoOutput.lstm($0), $0) }) {
                    // A fresh session whose scratch holds no earlier result: nothing can be left over.
                    let session = ElmoSession(model: model, threads: threads)
                    var values = [Float](repeating: .nan, count: try session.requiredFloats(batch, output: output))
                    try values.withUnsafeMutableBufferPointer { try session.embed(batch, output: output, into: $0) }
                    XCTAssertEqual(session.lstmRunCount, 2 * lstms, "\(precision) \(output): LSTMs run")
                    var offset = 0
                    for (i, tokens) in batch.sentenceLengths.enumerated() {
                        let layer = all.layers(sentence: i)  // (layers, tokens, W)
                        XCTAssertEqual(layer.shape, [layers, tokens, W])
                        switch output {
                        case .wordEmbedding:
                            for t in 0..<tokens {
                                for j in 0..<P {
                                    XCTAssertEqual(values[offset + t * P + j].bitPattern, layer[0, t, j].bitPattern)
                                }
                            }
                            offset += tokens * P
                        case .lstm(let k):
                            for t in 0..<tokens {
                                for j in 0..<W {
                                    XCTAssertEqual(values[offset + t * W + j].bitPattern, layer[k, t, j].bitPattern,
                                                   "\(precision) lstm_outputs\(k) sentence \(i) token \(t) column \(j)")
                                }
                            }
                            offset += tokens * W
                        default: XCTFail()
                        }
                    }
                    XCTAssertEqual(offset, values.count)
                }
            }
        }
    }

    /// A stateful session runs every layer whatever is asked (its carried states advance with
    /// every call), so the next call's result is that of a session that asked for everything.
    func testStatefulSessionsStillRunEveryLayer() throws {
        let model = try Fixtures.model()
        let batch = try TokenBatch(sentences: try sentences())
        let a = ElmoSession(model: model, stateful: true, threads: 1)
        let b = ElmoSession(model: model, stateful: true, threads: 1)
        var buffer = [Float](repeating: 0, count: try a.requiredFloats(batch, output: .wordEmbedding))
        try buffer.withUnsafeMutableBufferPointer { try a.embed(batch, output: .wordEmbedding, into: $0) }
        XCTAssertEqual(a.lstmRunCount, 2 * model.lstmLayerCount)
        _ = try b.embed(batch)
        XCTAssertEqual(try a.embed(batch).allLayers, try b.embed(batch).allLayers)
    }
}
