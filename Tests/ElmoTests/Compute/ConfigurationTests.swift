import XCTest
@testable import Elmo
@testable import ElmoHDF5

/// The encoder against the plain reference implementation on random models of many
/// configurations, including ones no published model has.
final class ConfigurationTests: XCTestCase {
    func makeOptions(dim: Int = 12, proj: Int = 6, layers: Int = 2, filters: [(Int, Int)] = [(1, 3), (2, 4), (3, 5)],
                     highway: Int = 1, activation: ElmoOptions.Activation = .relu, cellClip: Float? = 3,
                     projClip: Float? = 3, skip: Bool = true, maxChars: Int = 50) -> ElmoOptions {
        ElmoOptions(
            charCNN: .init(embeddingDim: 4, filters: filters.map { .init(width: $0.0, count: $0.1) }, highwayCount: highway,
                           characterCount: 262, maxCharactersPerToken: maxChars, activation: activation),
            lstm: .init(dim: dim, projectionDim: proj, layerCount: layers, cellClip: cellClip, projectionClip: projClip,
                        useSkipConnections: skip))
    }

    func check(_ options: ElmoOptions, seed: UInt64 = 7, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try temporaryDirectory()
        let paths = try ElmoRandomModel.write(options: options, seed: seed, directory: dir)
        let model = try ElmoModel(optionsFile: paths.options, weightsFile: paths.weights)
        let reference = try ReferenceELMo(optionsFile: paths.options, weightsFile: paths.weights)
        let sentences = [["The", "bank", "of", "the", "river", "."], ["Café", "naïve", "über", "日本語"],
                         ["x"], [String(repeating: "long", count: 20), "<S>", "</S>"]]
        let result = try ElmoSession(model: model).embed(sentences)
        for (s, sentence) in sentences.enumerated() {
            let expected = try reference.embed(sentence)
            let got = result.layers(sentence: s)
            var worst = 0.0
            for l in 0..<expected.count {
                for t in 0..<sentence.count {
                    for d in 0..<options.outputDim {
                        worst = max(worst, abs(expected[l][t][d] - Double(got[l, t, d])))
                    }
                }
            }
            XCTAssertLessThan(worst, 2e-5, "sentence \(s) of \(options)", file: file, line: line)
        }
    }

    func testFixtureLikeConfiguration() throws { try check(makeOptions()) }
    func testTanhActivation() throws { try check(makeOptions(activation: .tanh)) }
    func testNoHighway() throws { try check(makeOptions(highway: 0)) }
    func testThreeHighways() throws { try check(makeOptions(highway: 3)) }
    func testNoCNNProjectionWhenFiltersEqualProjection() throws { try check(makeOptions(proj: 12, filters: [(1, 4), (2, 8)])) }
    func testNoLSTMProjectionWhenProjectionEqualsDim() throws { try check(makeOptions(dim: 6, proj: 6)) }
    func testNoClipping() throws { try check(makeOptions(cellClip: nil, projClip: nil)) }
    func testOneLayer() throws { try check(makeOptions(layers: 1)) }
    func testThreeLayersWithoutSkipConnections() throws { try check(makeOptions(layers: 3, skip: false)) }
    func testShortMaxCharacters() throws { try check(makeOptions(maxChars: 7)) }

    /// The fixture through the reference: proves the reference reads bilm-tf's conventions
    /// as the fixture does, so agreement on random models means agreement with bilm-tf.
    func testReferenceMatchesFixtureFirstBatch() throws {
        let dir = try Fixtures.require()
        let reference = try ReferenceELMo(optionsFile: dir + "/options.json", weightsFile: dir + "/lm_weights.hdf5")
        let sentences = try Fixtures.sentences()
        let sentence = sentences[2][0]
        let layers = try reference.embed(sentence)
        let expected = try Fixtures.expectedTopLayer(k: 2, i: 0, tokens: sentence.count, projectionDim: 16)
        let top = ElmoArray(shape: [sentence.count, 32], values: layers[2].flatMap { $0.map(Float.init) })
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(expected: expected, top: top), 1e-5)
    }

    /// The published configurations request exactly the tensors of the released files.
    func testPublishedConfigurationsRequestReleasedShapes() throws {
        let released: [String: [String: [Int]]] = [
            "small": ["char_embed": [261, 16], "CNN/W_cnn_6": [1, 7, 16, 1024], "CNN_high_0/W_carry": [2048, 2048],
                      "CNN_proj/W_proj": [2048, 128], "RNN_0/RNN/MultiRNNCell/Cell1/LSTMCell/W_0": [256, 4096],
                      "RNN_1/RNN/MultiRNNCell/Cell0/LSTMCell/W_P_0": [1024, 128]],
            "medium": ["CNN_proj/W_proj": [2048, 256], "RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0": [512, 8192],
                       "RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_P_0": [2048, 256]],
            "original": ["CNN_high_1/W_transform": [2048, 2048], "CNN_proj/W_proj": [2048, 512],
                         "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_0": [1024, 16384],
                         "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/B": [16384],
                         "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0": [4096, 512]],
        ]
        for (name, shapes) in released {
            let options = try XCTUnwrap(ElmoRandomModel.publishedOptions(name))
            let requested = Dictionary(uniqueKeysWithValues: ReferenceELMo.officialShapes(options).map { ($0.0, $0.1) })
            let recorder = RecordingSource()
            _ = try ElmoWeights.prepare(options: options, source: recorder)
            XCTAssertEqual(Set(recorder.requested.keys), Set(requested.keys), name)
            for (tensor, shape) in shapes {
                XCTAssertEqual(recorder.requested[tensor], shape, "\(name): \(tensor)")
            }
        }
    }
}

/// A tensor source that hands out zero tensors and records what was asked for.
final class RecordingSource: OfficialTensorSource {
    var requested: [String: [Int]] = [:]
    var sourceName: String { "recording" }
    func tensor(_ name: String, expected: [Int]) throws -> Tensor {
        requested[name] = expected
        return try Tensor.allocate(shape: expected).0
    }
}
