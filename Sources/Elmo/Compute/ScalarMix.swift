#if canImport(Glibc)
import Glibc
#endif

/// The learned layer combination of the paper (AllenNLP's `ScalarMix`, TF Hub's `elmo`
/// output): gamma * sum_k softmax(weights)_k * layer_k.
public struct ScalarMix: Equatable, Sendable {
    /// Unnormalised layer weights, one per output layer (token layer first); softmax-normalised
    /// when applied. Equal weights (all zero) give the plain average.
    public var weights: [Float]
    /// Overall scale.
    public var gamma: Float
    /// Normalise each layer to zero mean and unit variance before mixing. Statistics are
    /// computed per sentence over its own tokens, so a sentence's vectors never depend on
    /// the rest of its batch. (AllenNLP pools them over the whole padded batch, which makes a
    /// sentence's result depend on its neighbours; results therefore differ from AllenNLP's
    /// `do_layer_norm=True` for batches of more than one sentence.)
    public var layerNorm: Bool

    /// A mix of the given unnormalised `weights` (one per output layer: `ElmoModel.layerCount`),
    /// scaled by `gamma`, optionally layer-normalised. A mix whose weight count differs from the
    /// model's layer count, or with a non-finite number, is refused with `.invalidArgument` when used.
    public init(weights: [Float], gamma: Float = 1, layerNorm: Bool = false) {
        self.weights = weights
        self.gamma = gamma
        self.layerNorm = layerNorm
    }

    /// Equal weights and gamma 1: the average of the layers.
    public static func average(layerCount: Int) -> ScalarMix {
        ScalarMix(weights: [Float](repeating: 0, count: layerCount), gamma: 1)
    }

    /// The softmax of `weights`, computed stably in Double.
    public var normalizedWeights: [Float] {
        let maxW = weights.map(Double.init).max() ?? 0
        let exps = weights.map { exp(Double($0) - maxW) }
        let sum = exps.reduce(0, +)
        return exps.map { Float($0 / sum) }
    }

    func validate(layerCount: Int) throws {
        guard weights.count == layerCount else {
            throw ElmoError(.invalidArgument, "scalar mix has \(weights.count) weights but the model has \(layerCount) output layers")
        }
        guard weights.allSatisfy({ $0.isFinite }), gamma.isFinite else {
            throw ElmoError(.invalidArgument, "scalar mix weights and gamma must be finite numbers")
        }
    }
}
