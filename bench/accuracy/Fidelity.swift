// Distances of libelmo's outputs (fp32, bf16) and of a plain fp32 evaluation to the float64
// reference, per output layer: what `make accuracy` prints and the CI cases assert.
import Elmo
import ElmoHDF5

/// A random model written to a directory, with its tensors kept in memory for the references.
public struct GeneratedModel {
    public let options: ElmoOptions
    public var tensors: [String: [Float]]
    public let weightsPath: String

    public init(options: ElmoOptions, seed: UInt64, lstmScale: ElmoRandomModel.LSTMScale, directory: String) throws {
        var tensors: [String: [Float]] = [:]
        weightsPath = try ElmoRandomModel.write(options: options, seed: seed, directory: directory, lstmScale: lstmScale) {
            name, _, values in tensors[name] = values
        }.weights
        self.options = options
        self.tensors = tensors
    }
}

/// Deterministic test sentences of any length: words drawn from a fixed English vocabulary
/// (with punctuation and a few accented words), so no corpus file is needed.
public enum AccuracySentences {
    static let vocabulary = """
    the of and to in a is that for it as was with be by on not he this are or his from at which but have an \
    they you were her she there been one all we their has would when if so no will more can out up who them \
    river bank money loan interest water flows quietly under old stone bridge , . ; : ( ) " ' - ? ! 1984 3.14 \
    café naïve über Zürich résumé ELMo language model character convolution highway projection representation \
    unbelievably internationalization long-term state-of-the-art e-mail U.S. Dr. 42nd
    """.split(separator: " ").map(String.init)

    public static func make(count: Int, seed: UInt64 = 14) -> [String] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return vocabulary[Int((state >> 33) % UInt64(vocabulary.count))]
        }
    }
}

/// Per output layer distances for one sentence.
public struct FidelityRow {
    public let tokens: Int
    /// max |x - float64| per layer (token layer, LSTM 1, LSTM 2, ...).
    public let libelmoFP32: [Double]
    public let plainFP32: [Double]
    public let libelmoBF16: [Double]?
    /// Smallest cosine, over tokens, of libelmo bf16 against libelmo fp32, per layer.
    public let bf16Cosine: [Double]?
    /// Per layer, per token: max |x - float64| over the token's vector (libelmo fp32, plain fp32).
    public let libelmoFP32PerToken: [[Double]]
    public let plainFP32PerToken: [[Double]]
}

public enum Fidelity {
    /// libelmo's all-layers output of one sentence, split by layer (tokens x 2P each).
    public static func layers(_ model: ElmoModel, _ tokens: [String]) throws -> [[Float]] {
        let session = ElmoSession(model: model)
        let all = try session.embed([tokens]).layers(sentence: 0)
        let perLayer = all.values.count / all.shape[0]
        return (0..<all.shape[0]).map { Array(all.values[($0 * perLayer)..<(($0 + 1) * perLayer)]) }
    }

    public static func maxAbsDifference<A: BinaryFloatingPoint>(_ a: [A], _ reference: [Double]) -> Double {
        precondition(a.count == reference.count)
        var worst = 0.0
        for i in 0..<a.count { worst = max(worst, abs(Double(a[i]) - reference[i])) }
        return worst
    }

    /// Per token: max |a - reference| over its `width` values.
    public static func perTokenMaxDifference(_ a: [Float], _ reference: [Double], width: Int) -> [Double] {
        stride(from: 0, to: a.count, by: width).map { start in
            var worst = 0.0
            for i in start..<(start + width) { worst = max(worst, abs(Double(a[i]) - reference[i])) }
            return worst
        }
    }

    /// Smallest cosine similarity of corresponding `width`-value token vectors.
    public static func smallestCosine(_ a: [Float], _ b: [Float], width: Int) -> Double {
        var smallest = 1.0
        for start in stride(from: 0, to: a.count, by: width) {
            var dot = 0.0, na = 0.0, nb = 0.0
            for i in start..<(start + width) {
                dot += Double(a[i]) * Double(b[i])
                na += Double(a[i]) * Double(a[i])
                nb += Double(b[i]) * Double(b[i])
            }
            smallest = min(smallest, na == 0 && nb == 0 ? 1 : dot / (na.squareRoot() * nb.squareRoot()))
        }
        return smallest
    }

    /// Measures one sentence: the float64 reference, the plain fp32 evaluation and libelmo.
    public static func measure(_ model: GeneratedModel, fp32: ElmoModel, bf16: ElmoModel?, tokens: [String]) throws -> FidelityRow {
        let exact = try DenseReference<Double>(options: model.options, tensors: model.tensors).embed(tokens)
        let plain = try DenseReference<Float>(options: model.options, tensors: model.tensors).embed(tokens)
        let lib = try layers(fp32, tokens)
        let libBF16 = try bf16.map { try layers($0, tokens) }
        let width = 2 * model.options.lstm.projectionDim
        return FidelityRow(tokens: tokens.count,
                           libelmoFP32: zip(lib, exact).map { maxAbsDifference($0, $1) },
                           plainFP32: zip(plain, exact).map { maxAbsDifference($0, $1) },
                           libelmoBF16: libBF16.map { zip($0, exact).map { maxAbsDifference($0, $1) } },
                           bf16Cosine: libBF16.map { zip($0, lib).map { smallestCosine($0, $1, width: width) } },
                           libelmoFP32PerToken: zip(lib, exact).map { perTokenMaxDifference($0, $1, width: width) },
                           plainFP32PerToken: zip(plain, exact).map { perTokenMaxDifference($0, $1, width: width) })
    }
}
