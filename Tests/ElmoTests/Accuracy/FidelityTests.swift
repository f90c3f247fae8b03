import XCTest
import Elmo
import ElmoHDF5
import ElmoAccuracy

/// libelmo against a float64 evaluation of the full-size original configuration with
/// non-contractive random LSTM weights (issue 14): libelmo fp32 is at least as close to
/// float64 as a plain fp32 evaluation (BLAS products, libm exp/tanh) on every output layer,
/// and bf16 stays within cosine 0.999 of fp32 on every token. The full table (20 to 2,000
/// tokens) is `make accuracy`.
///
/// 20 tokens, not 120: this model is chaotic (errors double about every 10 tokens along the
/// recurrence, BENCHMARKS.md), so beyond a few dozen tokens the largest error of an fp32
/// evaluation is its injected error times one random draw of the amplification, and which
/// of two fp32 evaluations ends closer to float64 on one sentence is partly chance. At 20
/// tokens the comparison measures the implementations (libelmo 0.5-0.6x plain fp32 here;
/// 3.4-4.3x with the previous activations and accumulation).
final class FidelityTests: XCTestCase {
    /// The model is written once (about 375 MB in a temporary directory) for both cases.
    nonisolated(unsafe) static var generated: (model: GeneratedModel, fp32: ElmoModel, bf16: ElmoModel)?

    static func model() throws -> (model: GeneratedModel, fp32: ElmoModel, bf16: ElmoModel) {
        if let generated { return generated }
        guard let options = ElmoRandomModel.publishedOptions("original") else { throw XCTSkip("no original options") }
        let model = try GeneratedModel(options: options, seed: 2018, lstmScale: .nonContractive, directory: try temporaryDirectory())
        let fp32 = try ElmoModel(path: model.weightsPath)
        let bf16 = try ElmoModel(path: model.weightsPath, loadOptions: ElmoLoadOptions(precision: .bf16))
        try? FileManager.default.removeItem(atPath: model.weightsPath)  // loaded: the weights live in memory
        generated = (model, fp32, bf16)
        return (model, fp32, bf16)
    }

    func testFP32IsAtLeastAsCloseToFloat64AsPlainFP32() throws {
        let (model, fp32, _) = try Self.model()
        let row = try Fidelity.measure(model, fp32: fp32, bf16: nil, tokens: AccuracySentences.make(count: 20))
        let names = ["token layer", "LSTM 1", "LSTM 2"]
        for (l, name) in names.enumerated() {
            print(String(format: "%@, 20 tokens: libelmo fp32 %.3g, plain fp32 %.3g from float64", name, row.libelmoFP32[l], row.plainFP32[l]))
            XCTAssertLessThanOrEqual(row.libelmoFP32[l], row.plainFP32[l], name)
        }
    }

    func testBF16StaysWithinCosine0999OfFP32() throws {
        let (model, fp32, bf16) = try Self.model()
        let tokens = AccuracySentences.make(count: 20)
        let a = try Fidelity.layers(fp32, tokens), b = try Fidelity.layers(bf16, tokens)
        for l in 0..<a.count {
            let smallest = Fidelity.smallestCosine(b[l], a[l], width: 2 * model.options.lstm.projectionDim)
            print(String(format: "layer %d, 20 tokens: smallest token cosine bf16 vs fp32 %.6f", l, smallest))
            XCTAssertGreaterThanOrEqual(smallest, 0.999, "layer \(l)")
        }
    }
}
