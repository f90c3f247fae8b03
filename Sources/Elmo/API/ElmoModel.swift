/// A loaded ELMo model: immutable weights, safe to share between any number of threads and
/// sessions. Embedding happens in an `ElmoSession`, which holds one thread's scratch memory.
///
/// ```swift
/// let model = try ElmoModel(path: "elmo_2x4096_512_2048cnn_2xhighway_weights.hdf5")
/// let session = ElmoSession(model: model)
/// let result = try session.embed([["The", "bank", "of", "the", "river"]])
/// let vectors = result.output(.elmo(nil), sentence: 0)   // shape (5, 1024)
/// ```
public final class ElmoModel: @unchecked Sendable {
    /// The model's configuration.
    public let options: ElmoOptions
    /// Where the weights came from (paths and format), for display.
    public let sourceDescription: String
    /// The mix used by the `elmo` and `default` outputs when the caller gives none: equal
    /// weights and gamma 1, unless the model file carries its own (TF Hub modules do).
    public let defaultMix: ScalarMix

    /// The token-layer cache shared by every session of this model (see `ElmoLoadOptions`).
    public let tokenCache: TokenVectorCache

    /// The number format the model computes with (`ElmoLoadOptions.precision`).
    public var precision: ElmoPrecision { weights.precision }

    let weights: ElmoWeights
    let tokenLayer: TokenLayer

    /// `weights` are converted to `loadOptions.precision` when they differ (fp32 to bf16 by
    /// rounding to nearest even, bf16 to fp32 exactly).
    init(weights: ElmoWeights, sourceDescription: String, defaultMix: ScalarMix? = nil,
         loadOptions: ElmoLoadOptions = ElmoLoadOptions()) throws {
        let weights = try weights.converted(to: loadOptions.precision)
        self.options = weights.options
        self.weights = weights
        self.sourceDescription = sourceDescription
        self.defaultMix = defaultMix ?? .average(layerCount: weights.options.outputLayerCount)
        self.tokenLayer = TokenLayer(weights: weights)
        self.tokenCache = TokenVectorCache(capacityBytes: loadOptions.tokenCacheBytes,
                                           width: weights.options.lstm.projectionDim,
                                           keyLength: weights.options.tokenRowWidth)
    }

    /// Loads the official AllenNLP / bilm-tf files: `options.json` and the weights HDF5.
    public convenience init(optionsFile: String, weightsFile: String, loadOptions: ElmoLoadOptions = ElmoLoadOptions()) throws {
        let options = try ElmoOptions(contentsOfFile: optionsFile)
        let file = try HDF5WeightFile(path: weightsFile)
        let weights = try ElmoWeights.prepare(options: options, source: file)
        try self.init(weights: weights, sourceDescription: "HDF5 weights \(weightsFile) with options \(optionsFile)",
                  loadOptions: loadOptions)
    }

    /// Loads a native model file (written by `writeNative(to:)`): the file is memory-mapped
    /// and used in place, so this takes milliseconds, memory is committed only as the
    /// weights are first used, and processes that load the same file share one copy.
    /// The file must not be modified or truncated while a model uses it. A file stored in
    /// another precision than `loadOptions.precision` is converted at load instead (into
    /// memory of the process's own; see `ElmoModel.storedPrecision(path:)`).
    public convenience init(nativeFile: String, loadOptions: ElmoLoadOptions = ElmoLoadOptions()) throws {
        let contents = try NativeModelFile.read(path: nativeFile)
        let weights = try ElmoWeights(options: contents.options, precision: contents.precision,
                                      tensors: contents.tensors, source: nativeFile, vocabulary: contents.vocabulary)
        try self.init(weights: weights, sourceDescription: "native model \(nativeFile)", defaultMix: contents.defaultMix,
                  loadOptions: loadOptions)
    }

    /// Loads a model from whatever `path` names: a native model file, an official weights
    /// HDF5 file (its options given as `optionsFile`, or found beside it), a directory holding
    /// the options and weights files, or a TF Hub module directory or tarball (see
    /// `init(tfHubModule:optionsFile:)`). Files are recognised by their content.
    public convenience init(path: String, optionsFile: String? = nil, loadOptions: ElmoLoadOptions = ElmoLoadOptions()) throws {
        let located = try ModelLocator.locate(path: path, optionsFile: optionsFile)
        switch located {
        case .official(let options, let weights):
            try self.init(optionsFile: options, weightsFile: weights, loadOptions: loadOptions)
        case .native(let file):
            try self.init(nativeFile: file, loadOptions: loadOptions)
        case .tfHub(let location):
            try self.init(tfHub: location, optionsFile: optionsFile, loadOptions: loadOptions)
        case .manyLangs(let directory):
            try self.init(manyLangsDirectory: directory, loadOptions: loadOptions)
        }
    }

    /// The precision of the weights a model path holds, from the files alone (a native
    /// file's header; official and TF Hub files are always fp32). Loading with this
    /// precision uses the stored weights as they are.
    public static func storedPrecision(path: String, optionsFile: String? = nil) throws -> ElmoPrecision {
        switch try ModelLocator.locate(path: path, optionsFile: optionsFile) {
        case .native(let file): return try NativeModelFile.readPrecision(path: file)
        case .official, .tfHub, .manyLangs: return .fp32
        }
    }

    /// Writes this model as a native model file at `path` (replaced atomically if it
    /// exists): the prepared weights in this model's precision (a bf16 file is about half
    /// the size), the options and the default scalar mix. Loading it with
    /// `init(nativeFile:)` at the same precision gives a model whose embeddings are
    /// bit-identical to this one's, with no conversion.
    public func writeNative(to path: String) throws {
        try NativeModelFile.write(weights: weights, defaultMix: defaultMix, to: path)
    }

    /// Bytes of prepared weights (the size of the native file's data section).
    public var weightBytes: Int { weights.layout.entries.reduce(0) { $0 + $1.byteCount } }

    // MARK: dimensions

    /// Width of the token layer (`word_emb`).
    public var tokenDim: Int { options.tokenDim }
    /// Width of every contextual output (`lstm_outputsK`, `elmo`, `default`).
    public var outputDim: Int { options.outputDim }
    /// Layers in the all-layers output (token layer + LSTM layers).
    public var layerCount: Int { options.outputLayerCount }
    /// Number of biLSTM layers (`lstm_outputs1` ... `lstm_outputsN`).
    public var lstmLayerCount: Int { options.lstm.layerCount }

    /// Floats that `output` takes for a batch of sentences with these token counts (boundaries
    /// not counted), all sentences together: what `ElmoSession.embed(_:output:into:)` writes.
    /// Throws `.invalidArgument` for an output the model does not have, `.invalidInput` for an
    /// empty batch or sentence, `.limitExceeded` for a negative count or a size that overflows.
    package func requiredFloats<C: Collection<Int>>(_ output: ElmoOutput, tokenCounts: C) throws -> Int {
        try requiredFloats(output, tokenCounts: tokenCounts, sentenceBoundaries: false)
    }

    /// Number of weight parameters as the official files count them.
    public var parameterCount: Int {
        let o = options, E = o.charCNN.embeddingDim, F = o.charCNN.totalFilters
        let P = o.lstm.projectionDim, D = o.lstm.dim
        var n = (o.manyLangs?.characterCount ?? CharacterIds.storedCharacterRows) * E
        if let m = o.manyLangs { n += m.wordCount * m.wordDim + m.wordDim * P }
        for f in o.charCNN.filters { n += f.width * E * f.count + f.count }
        n += o.charCNN.highwayCount * 2 * (F * F + F)
        if o.hasCNNProjection { n += F * P + P }
        let perLSTM = 2 * P * 4 * D + 4 * D + (o.lstm.hasProjection ? D * P : 0)
        return n + 2 * o.lstm.layerCount * perLSTM
    }
}
