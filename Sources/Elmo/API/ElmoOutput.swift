/// Which representation to return, named as TF Hub's `google/elmo` module names its outputs.
public enum ElmoOutput: Equatable, Sendable {
    /// Every layer: (layers, tokens, 2P); layer 0 is the token layer repeated twice, layer k
    /// the k-th biLSTM layer as [forward; backward].
    case allLayers
    /// `word_emb`: the context-independent token layer, (tokens, P).
    case wordEmbedding
    /// `lstm_outputs1`, `lstm_outputs2`, ...: biLSTM layer k (1-based), (tokens, 2P).
    case lstm(Int)
    /// `elmo`: the scalar mix of all layers, (tokens, 2P). nil means the model's default mix.
    case elmo(ScalarMix?)
    /// `default`: the mean of the `elmo` mix over the sentence's tokens, (2P).
    case sentenceMean(ScalarMix?)

    /// Parses TF Hub's names: "word_emb", "lstm_outputs1", "lstm_outputs2", "elmo",
    /// "default", and "all" for every layer.
    public init?(name: String) {
        switch name {
        case "all": self = .allLayers
        case "word_emb": self = .wordEmbedding
        case "elmo": self = .elmo(nil)
        case "default": self = .sentenceMean(nil)
        default:
            guard name.hasPrefix("lstm_outputs"), let k = Int(name.dropFirst("lstm_outputs".count)), k >= 1 else { return nil }
            self = .lstm(k)
        }
    }

    /// The shape of one sentence's output, `tokens` being its rows (its tokens, plus 2 when
    /// the sentence boundary rows are returned). The one statement of the output shapes: the
    /// float counts below, the size queries of the C API and its `elmo_output_shape` (which
    /// the Python binding and the CLI ask) are all derived from it.
    public func shape(tokens: Int, options: ElmoOptions) -> [Int] {
        switch self {
        case .allLayers: return [options.outputLayerCount, tokens, options.outputDim]
        case .wordEmbedding: return [tokens, options.tokenDim]
        case .lstm, .elmo: return [tokens, options.outputDim]
        case .sentenceMean: return [options.outputDim]
        }
    }

    /// Whether the output has a row per token: every kind but the pooled `sentenceMean`,
    /// whose shape does not depend on the sentence's length.
    var isPerToken: Bool {
        if case .sentenceMean = self { return false }
        return true
    }

    /// Floats per sentence of `tokens` tokens for a model with these options.
    package func floats(tokens: Int, options: ElmoOptions) -> Int {
        shape(tokens: tokens, options: options).reduce(1, *)
    }

    /// Floats per token, or nil for `sentenceMean` (outputDim floats per sentence whatever
    /// its length).
    func floatsPerToken(options: ElmoOptions) -> Int? {
        isPerToken ? floats(tokens: 1, options: options) : nil
    }

    /// How many biLSTM layers (from the bottom) this output reads: none for `word_emb`, k
    /// for `lstm_outputsk` (each layer reads the one below it), all for the mixes.
    func lstmLayersNeeded(options: ElmoOptions) -> Int {
        switch self {
        case .wordEmbedding: return 0
        case .lstm(let k): return min(k, options.lstm.layerCount)
        case .allLayers, .elmo, .sentenceMean: return options.lstm.layerCount
        }
    }

    func validate(options: ElmoOptions) throws {
        switch self {
        case .lstm(let k):
            guard (1...options.lstm.layerCount).contains(k) else {
                throw ElmoError(.invalidArgument, "lstm_outputs\(k) does not exist: the model has \(options.lstm.layerCount) LSTM layers")
            }
        case .elmo(let mix?), .sentenceMean(let mix?):
            try mix.validate(layerCount: options.outputLayerCount)
        default:
            break
        }
    }
}
