/// A TF Hub `google/elmo` module (TF1 Hub format: `tfhub_module.pb`, `saved_model.pb`,
/// `variables/`) read as the official bilm-tf tensors, without TensorFlow.
///
/// **Names.** The module's variables are bilm-tf's graph variables under a `bilm/` scope
/// (`module/bilm/...` when the checkpoint was saved from a graph that instantiated the module
/// under the default name), with TensorFlow's `LSTMCell` names in place of the release files':
///
/// | official (HDF5)                                    | module checkpoint                                           |
/// |----------------------------------------------------|-------------------------------------------------------------|
/// | `char_embed` (261, E)                              | `bilm/char_embed` (262, E), row 0 the padding id (261 also read) |
/// | `CNN/W_cnn_i`, `CNN/b_cnn_i`                       | `bilm/CNN/W_cnn_i`, `bilm/CNN/b_cnn_i`                      |
/// | `CNN_high_i/{W,b}_{carry,transform}`               | `bilm/CNN_high_i/...`                                       |
/// | `CNN_proj/{W,b}_proj`                              | `bilm/CNN_proj/...`                                         |
/// | `RNN_d/RNN/MultiRNNCell/Cellk/LSTMCell/W_0, B, W_P_0` | `bilm/RNN_d/RNN/MultiRNNCell/Cellk/rnn/lstm_cell/kernel, bias, projection/kernel` |
///
/// plus the `elmo` output's mix, `aggregation/weights` (layers,) and `aggregation/scaling`
/// (a scalar or (1,)). Shapes are identical to the official files' apart from `char_embed`.
/// Other variables are ignored.
///
/// **Configuration.** A module has no options.json; `inferredOptions()` reads it off the shapes:
/// the character embedding width from `char_embed`, the filters (width, count) from
/// `CNN/W_cnn_0, 1, ...` (1, width, E, count), the highway count from `CNN_high_0, 1, ...`, the
/// projection dimension from `CNN_proj/W_proj` (F, P) (without it, P is the filter total F),
/// the LSTM layers from `Cell0, Cell1, ...`, and the cell size from the kernel (2P, 4D).
/// What shapes cannot tell is set to the values of every published ELMo (bilm-tf's
/// `elmo_2x4096_512_2048cnn_2xhighway`, which google/elmo/1-3 are): 262 characters,
/// `max_characters_per_token` 50, relu activation, `cell_clip` and `proj_clip` 3, and skip
/// connections. A module trained otherwise needs its options file passed explicitly.
final class TFHubModule: OfficialTensorSource {
    let sourceName: String
    let bundle: TensorBundle
    /// What precedes the official names: "bilm/" or "module/bilm/".
    let bilmPrefix: String

    /// Published values of the settings tensor shapes do not reveal.
    static let maxCharactersPerToken = 50
    static let clip: Float = 3

    init(bundle: TensorBundle, sourceName: String) throws {
        self.bundle = bundle
        self.sourceName = sourceName
        let marker = "bilm/" + OfficialNames.charEmbedding
        let found = bundle.tensorNames.filter { $0 == marker || $0.hasSuffix("/" + marker) }
        guard let first = found.first else {
            throw ElmoError(.invalidModel, "\(sourceName): no ELMo variables in the checkpoint (looked for 'bilm/char_embed' or 'module/bilm/char_embed'; it holds \(TFHubModule.sample(bundle.tensorNames)))")
        }
        guard found.count == 1 else {
            throw ElmoError(.invalidModel, "\(sourceName): several ELMo models in one checkpoint (\(found.joined(separator: ", "))); libelmo reads one")
        }
        bilmPrefix = String(first.dropLast(OfficialNames.charEmbedding.count))
    }

    /// The first few names of a list, for error messages.
    static func sample(_ names: [String]) -> String {
        if names.isEmpty { return "no tensors" }
        let shown = names.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
        return names.count > 8 ? "\(shown), ... (\(names.count) tensors)" : shown
    }

    /// The module's name for an official tensor name.
    func moduleName(_ official: String) -> String {
        // "RNN_d/RNN/MultiRNNCell/Cellk/LSTMCell/<field>": TensorFlow's LSTMCell scope and names.
        var parts = official.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[4] == "LSTMCell" else { return bilmPrefix + official }
        let renamed: String
        switch parts[5] {
        case "W_0": renamed = "kernel"
        case "B": renamed = "bias"
        case "W_P_0": renamed = "projection/kernel"
        default: renamed = parts[5]
        }
        parts.removeLast(2)
        return bilmPrefix + parts.joined(separator: "/") + "/rnn/lstm_cell/" + renamed
    }

    /// The stored shape of an official tensor, nil when the module lacks it.
    func shape(_ official: String) -> [Int]? {
        bundle.entry(moduleName(official))?.shape
    }

    func tensor(_ name: String, expected: [Int]) throws -> Tensor {
        let stored = moduleName(name)
        guard let entry = bundle.entry(stored) else { throw ElmoError.missingTensor(sourceName, stored) }
        if let s = entry.shape, s != expected {
            throw ElmoError.shapeMismatch(sourceName, stored, expected: expected, actual: s)
        }
        return try bundle.floats(stored)
    }

    /// bilm-tf builds `char_embed` with 262 rows, the first for the padding id, so that is what a
    /// module holds; a 261-row table (the release files' form) gets its padding row here.
    func characterEmbedding(embeddingDim: Int) throws -> Tensor {
        let stored = moduleName(OfficialNames.charEmbedding)
        let rows = CharacterIds.embeddingRows
        guard let entry = bundle.entry(stored) else { throw ElmoError.missingTensor(sourceName, stored) }
        switch entry.shape {
        case [rows, embeddingDim]?:
            return try bundle.floats(stored)
        case [rows - 1, embeddingDim]?:
            let t = try bundle.floats(stored)
            let (padded, p) = try Tensor.allocate(shape: [rows, embeddingDim])
            (p + embeddingDim).update(from: t.pointer, count: t.count)
            return padded
        default:
            throw ElmoError(.shapeMismatch, "\(sourceName): tensor '\(stored)' has shape \(entry.shape.map(formatShape) ?? "of unknown rank") but the options require (\(rows), \(embeddingDim)) or (\(rows - 1), \(embeddingDim))")
        }
    }

    // MARK: configuration

    /// The configuration, read off the tensor shapes (see the type's documentation).
    func inferredOptions() throws -> ElmoOptions {
        func fail(_ official: String, _ detail: String) -> ElmoError {
            ElmoError(.invalidModel, "\(sourceName): cannot infer the model configuration: tensor '\(moduleName(official))' \(detail)")
        }
        func require(_ official: String) throws -> [Int] {
            guard let entry = bundle.entry(moduleName(official)) else { throw ElmoError.missingTensor(sourceName, moduleName(official)) }
            guard let s = entry.shape else { throw fail(official, "has an unknown rank") }
            return s
        }
        let maxDim = ElmoOptions.maxDimension

        let embed = try require(OfficialNames.charEmbedding)
        guard embed.count == 2, [261, 262].contains(embed[0]), (1...4096).contains(embed[1]) else {
            throw fail(OfficialNames.charEmbedding, "has shape \(formatShape(embed)), expected (262, dim) or (261, dim)")
        }
        let E = embed[1]

        var filters: [ElmoOptions.Filter] = []
        while shape(OfficialNames.convWeight(filters.count)) != nil {
            let name = OfficialNames.convWeight(filters.count)
            guard filters.count < ElmoOptions.maxFilters else { throw fail(name, "is one filter too many (at most \(ElmoOptions.maxFilters))") }
            let s = try require(name)
            guard s.count == 4, s[0] == 1, s[2] == E,
                  (1...TFHubModule.maxCharactersPerToken).contains(s[1]), (1...maxDim).contains(s[3]) else {
                throw fail(name, "has shape \(formatShape(s)), expected (1, width, \(E), count) with width 1...\(TFHubModule.maxCharactersPerToken)")
            }
            filters.append(.init(width: s[1], count: s[3]))
        }
        guard !filters.isEmpty else { throw ElmoError.missingTensor(sourceName, moduleName(OfficialNames.convWeight(0))) }
        let F = filters.reduce(0) { $0 + $1.count }

        var highways = 0
        while shape(OfficialNames.highway(highways, "W_carry")) != nil {
            guard highways < ElmoOptions.maxLayers else {
                throw fail(OfficialNames.highway(highways, "W_carry"), "is one highway layer too many (at most \(ElmoOptions.maxLayers))")
            }
            highways += 1
        }

        var P = F
        if shape(OfficialNames.projectionWeight) != nil {
            let s = try require(OfficialNames.projectionWeight)
            guard s.count == 2, s[0] == F, (1...maxDim).contains(s[1]) else {
                throw fail(OfficialNames.projectionWeight, "has shape \(formatShape(s)), expected (\(F), projection_dim): the filters total \(F)")
            }
            P = s[1]
        }

        var layers = 0
        while shape(OfficialNames.lstm(0, layers, "W_0")) != nil {
            guard layers < ElmoOptions.maxLayers else {
                throw fail(OfficialNames.lstm(0, layers, "W_0"), "is one LSTM layer too many (at most \(ElmoOptions.maxLayers))")
            }
            layers += 1
        }
        guard layers > 0 else { throw ElmoError.missingTensor(sourceName, moduleName(OfficialNames.lstm(0, 0, "W_0"))) }
        let kernelName = OfficialNames.lstm(0, 0, "W_0")
        let kernel = try require(kernelName)
        guard kernel.count == 2, kernel[1] % 4 == 0, (1...maxDim).contains(kernel[1] / 4) else {
            throw fail(kernelName, "has shape \(formatShape(kernel)), expected (input + output, 4 * cell size)")
        }
        let D = kernel[1] / 4

        let options = ElmoOptions(
            charCNN: .init(embeddingDim: E, filters: filters, highwayCount: highways,
                           characterCount: CharacterIds.embeddingRows,
                           maxCharactersPerToken: TFHubModule.maxCharactersPerToken, activation: .relu),
            lstm: .init(dim: D, projectionDim: P, layerCount: layers, cellClip: TFHubModule.clip,
                        projectionClip: TFHubModule.clip, useSkipConnections: true))
        do {
            try options.validate(file: sourceName)
        } catch let e as ElmoError {
            throw ElmoError(.invalidModel, "\(sourceName): the tensor shapes describe no valid ELMo (\(e.message))")
        }
        return options
    }

    // MARK: scalar mix

    /// The names tried for an aggregation variable, most specific first.
    func aggregationNames(_ field: String) -> [String] {
        let outer = String(bilmPrefix.dropLast("bilm/".count))
        var names: [String] = []
        for prefix in [outer, "module/", ""] where !names.contains(prefix + "aggregation/" + field) {
            names.append(prefix + "aggregation/" + field)
        }
        return names
    }

    /// The module's mix of the layers for its `elmo` output: softmax(`aggregation/weights`)
    /// scaled by `aggregation/scaling`, no layer normalisation (bilm-tf's `weight_layers`;
    /// adding 1/layers to every weight, as it does, leaves the softmax unchanged).
    func scalarMix(layerCount: Int) throws -> ScalarMix {
        func find(_ field: String) throws -> String {
            let names = aggregationNames(field)
            guard let name = names.first(where: { bundle.entry($0) != nil }) else {
                throw ElmoError(.invalidModel, "\(sourceName): missing weight tensor '\(names[0])' (the elmo output's layer mix; also looked for \(names.dropFirst().map { "'\($0)'" }.joined(separator: ", ")))")
            }
            return name
        }
        let weightsName = try find("weights")
        let scalingName = try find("scaling")
        let weightsShape = bundle.entry(weightsName)?.shape ?? []
        guard weightsShape == [layerCount] else {
            throw ElmoError.shapeMismatch(sourceName, weightsName, expected: [layerCount], actual: weightsShape)
        }
        let scalingShape = bundle.entry(scalingName)?.shape
        guard scalingShape == [] || scalingShape == [1] else {
            throw ElmoError(.shapeMismatch, "\(sourceName): tensor '\(scalingName)' has shape \(scalingShape.map(formatShape) ?? "of unknown rank") but a scalar or (1,) is required")
        }
        let weights = try bundle.floats(weightsName).values
        let gamma = try bundle.floats(scalingName)[0]
        guard weights.allSatisfy(\.isFinite), gamma.isFinite else {
            throw ElmoError(.invalidModel, "\(sourceName): the layer mix ('\(weightsName)', '\(scalingName)') holds a non-finite value")
        }
        return ScalarMix(weights: weights, gamma: gamma)
    }
}
