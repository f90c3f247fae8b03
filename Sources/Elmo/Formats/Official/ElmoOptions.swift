/// The configuration of an ELMo model: the contents of bilm-tf's / AllenNLP's `options.json`.
///
/// Field names and defaults follow bilm-tf (`bilm/model.py`): `n_layers` defaults to 1,
/// `n_highway` to 0, `cell_clip` and `proj_clip` are optional (no clipping when absent or
/// null), and the char-CNN projection exists only when the filters' total width differs
/// from `projection_dim`.
public struct ElmoOptions: Equatable, Sendable {
    /// The non-linearity of the character CNN (`char_cnn.activation`).
    public enum Activation: String, Sendable {
        /// `max(0, x)`: bilm-tf's default and that of every released English model.
        case relu
        /// The hyperbolic tangent.
        case tanh
    }

    /// The token layer's character CNN and highway layers (`char_cnn` in `options.json`).
    public struct CharCNN: Equatable, Sendable {
        /// Character embedding width (`char_cnn.embedding.dim`).
        public var embeddingDim: Int
        /// Convolutions as (width, number of filters) pairs (`char_cnn.filters`).
        public var filters: [Filter]
        /// Number of highway layers (`char_cnn.n_highway`).
        public var highwayCount: Int
        /// Rows of the character embedding table including the padding row (`char_cnn.n_characters`: 262
        /// in released models, 261 in training files; both describe the same 261-row `char_embed`).
        public var characterCount: Int
        /// Characters per token including the begin/end-of-word marks (`char_cnn.max_characters_per_token`).
        public var maxCharactersPerToken: Int
        /// Activation after the max-pool (`char_cnn.activation`).
        public var activation: Activation

        /// Sum of the filter counts: the width of the CNN output.
        public var totalFilters: Int { filters.reduce(0) { $0 + $1.count } }

        package init(embeddingDim: Int, filters: [Filter], highwayCount: Int, characterCount: Int,
                     maxCharactersPerToken: Int, activation: Activation) {
            self.embeddingDim = embeddingDim
            self.filters = filters
            self.highwayCount = highwayCount
            self.characterCount = characterCount
            self.maxCharactersPerToken = maxCharactersPerToken
            self.activation = activation
        }
    }

    /// One convolution of the character CNN: an entry `[width, count]` of `char_cnn.filters`.
    public struct Filter: Equatable, Sendable {
        /// Characters the filters span.
        public var width: Int
        /// Number of filters of this width (their max-pooled outputs are concatenated).
        public var count: Int
        package init(width: Int, count: Int) {
            self.width = width
            self.count = count
        }
    }

    /// The biLM's stacked LSTMs (`lstm` in `options.json`), the same for both directions.
    public struct LSTM: Equatable, Sendable {
        /// LSTM cell size (`lstm.dim`).
        public var dim: Int
        /// Output size of each LSTM after projection (`lstm.projection_dim`); also the token layer's width.
        public var projectionDim: Int
        /// Number of stacked layers per direction (`lstm.n_layers`).
        public var layerCount: Int
        /// Cell state clip, if any (`lstm.cell_clip`).
        public var cellClip: Float?
        /// Projection (output) clip, if any (`lstm.proj_clip`).
        public var projectionClip: Float?
        /// Residual connections around every layer but the first (`lstm.use_skip_connections`).
        public var useSkipConnections: Bool

        /// bilm-tf builds the LSTM with a projection only when `projection_dim < dim`.
        public var hasProjection: Bool { projectionDim < dim }

        package init(dim: Int, projectionDim: Int, layerCount: Int, cellClip: Float? = nil, projectionClip: Float? = nil,
                     useSkipConnections: Bool) {
            self.dim = dim
            self.projectionDim = projectionDim
            self.layerCount = layerCount
            self.cellClip = cellClip
            self.projectionClip = projectionClip
            self.useSkipConnections = useSkipConnections
        }
    }

    /// What an ELMoForManyLangs model adds (nil for bilm-tf / AllenNLP / TF Hub models):
    /// learned character and word vocabularies and a word embedding.
    public struct ManyLangs: Equatable, Sendable {
        /// Entries of `char.dic`: the rows of the character embedding (instead of 262 byte ids).
        public var characterCount: Int
        /// Entries of `word.dic` (0 without a word embedding).
        public var wordCount: Int
        /// Width of the word embedding, concatenated before the char-CNN output ahead of the
        /// projection (0: none).
        public var wordDim: Int
        /// How the character CNN is computed: from per-character response tables (true, as
        /// for the English models: fastest, 4 x sum(width x count) bytes per character), or by
        /// convolving the character embeddings (false: for vocabularies whose tables would be
        /// too large, such as those of Chinese or Japanese). Results agree within float32 rounding.
        public var characterTables: Bool

        package init(characterCount: Int, wordCount: Int, wordDim: Int, characterTables: Bool = true) {
            self.characterCount = characterCount
            self.wordCount = wordCount
            self.wordDim = wordDim
            self.characterTables = characterTables
        }
    }

    /// The token layer: character CNN and highway layers.
    public var charCNN: CharCNN
    /// The biLSTM layers.
    public var lstm: LSTM
    /// Set for ELMoForManyLangs models only.
    public var manyLangs: ManyLangs?

    package init(charCNN: CharCNN, lstm: LSTM, manyLangs: ManyLangs? = nil) {
        self.charCNN = charCNN
        self.lstm = lstm
        self.manyLangs = manyLangs
    }

    // MARK: derived sizes

    /// Width of the token layer (`word_emb`): the LSTM projection dimension.
    public var tokenDim: Int { lstm.projectionDim }
    /// Width of each contextual layer: forward and backward concatenated.
    public var outputDim: Int { 2 * lstm.projectionDim }
    /// Layers in the "all layers" output: the token layer plus one per LSTM layer.
    public var outputLayerCount: Int { lstm.layerCount + 1 }
    /// Whether the char-CNN output is projected down to `projection_dim` (always in an
    /// ELMoForManyLangs model, whose projection also takes the word embedding).
    package var hasCNNProjection: Bool { manyLangs != nil || charCNN.totalFilters != lstm.projectionDim }
    /// Rows of the character tables: 262 shifted byte ids, or an ELMoForManyLangs `char.dic`.
    var characterTableRows: Int { manyLangs?.characterCount ?? CharacterIds.embeddingRows }
    /// Ids per token row (`TokenRows.width`): an ELMoForManyLangs row also holds the word id.
    var tokenRowWidth: Int { charCNN.maxCharactersPerToken + (manyLangs == nil ? 0 : 2) }

    /// Sanity bounds: far above every published model, low enough that no derived size overflows.
    package static let maxDimension = 1 << 16
    package static let maxLayers = 64
    package static let maxFilters = 64
    package static let maxCharactersPerTokenLimit = 1024
}

extension ElmoOptions {
    /// Parses and validates an options.json document. `file` names the source in errors.
    package static func parse<Bytes: Collection>(json bytes: Bytes, file: String = "options.json") throws -> ElmoOptions
    where Bytes.Element == UInt8 {
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes, maxBytes: 1 << 20)
        } catch let e as JSONError {
            throw ElmoError.invalidOptions(file, "not valid JSON (\(e))")
        }
        return try ElmoOptions(json: root, file: file)
    }

    /// Reads and validates an options.json file.
    package init(contentsOfFile path: String) throws {
        let bytes = try readSmallFile(path, limit: 1 << 20)
        self = try ElmoOptions.parse(json: bytes, file: path)
    }

    /// Builds options from parsed JSON, validating every field.
    package init(json root: JSONValue, file: String = "options.json") throws {
        let reader = OptionsReader(file: file)
        guard let top = root.objectValue else { throw ElmoError.invalidOptions(file, "top level is not an object") }
        let cnn = try reader.object(top, "char_cnn", path: "")
        let lstm = try reader.object(top, "lstm", path: "")

        let embedding = try reader.object(cnn, "embedding", path: "char_cnn.")
        let embeddingDim = try reader.int(embedding, "dim", path: "char_cnn.embedding.", range: 1...4096)
        guard let filterList = cnn["filters"]?.arrayValue else {
            throw reader.error("char_cnn.filters is missing or not a list")
        }
        guard !filterList.isEmpty, filterList.count <= ElmoOptions.maxFilters else {
            throw reader.error("char_cnn.filters must hold 1 to \(ElmoOptions.maxFilters) filters, not \(filterList.count)")
        }
        let maxChars = try reader.int(cnn, "max_characters_per_token", path: "char_cnn.",
                                      range: 3...ElmoOptions.maxCharactersPerTokenLimit)
        var filters: [Filter] = []
        for (i, f) in filterList.enumerated() {
            guard let pair = f.arrayValue, pair.count == 2, let width = pair[0].intValue, let count = pair[1].intValue else {
                throw reader.error("char_cnn.filters[\(i)] must be a [width, count] pair of integers")
            }
            guard (1...maxChars).contains(width) else {
                throw reader.error("char_cnn.filters[\(i)] width \(width) must be between 1 and max_characters_per_token (\(maxChars))")
            }
            guard (1...ElmoOptions.maxDimension).contains(count) else {
                throw reader.error("char_cnn.filters[\(i)] count \(count) must be between 1 and \(ElmoOptions.maxDimension)")
            }
            filters.append(Filter(width: width, count: count))
        }
        let highway = try reader.optionalInt(cnn, "n_highway", path: "char_cnn.", range: 0...ElmoOptions.maxLayers) ?? 0
        let nChars = try reader.int(cnn, "n_characters", path: "char_cnn.", range: 261...262)
        guard let actName = cnn["activation"]?.stringValue else {
            throw reader.error("char_cnn.activation is missing or not a string")
        }
        guard let activation = Activation(rawValue: actName) else {
            throw reader.error("char_cnn.activation '\(actName)' is not supported (expected 'relu' or 'tanh')")
        }

        let dim = try reader.int(lstm, "dim", path: "lstm.", range: 1...ElmoOptions.maxDimension)
        let proj = try reader.int(lstm, "projection_dim", path: "lstm.", range: 1...ElmoOptions.maxDimension)
        let layers = try reader.optionalInt(lstm, "n_layers", path: "lstm.", range: 1...ElmoOptions.maxLayers) ?? 1
        let cellClip = try reader.optionalClip(lstm, "cell_clip", path: "lstm.")
        let projClip = try reader.optionalClip(lstm, "proj_clip", path: "lstm.")
        guard let skip = lstm["use_skip_connections"]?.boolValue else {
            throw reader.error("lstm.use_skip_connections is missing or not a boolean")
        }

        var manyLangs: ManyLangs? = nil
        if top["manylangs"] != nil {
            let m = try reader.object(top, "manylangs", path: "")
            manyLangs = ManyLangs(
                characterCount: try reader.int(m, "n_characters", path: "manylangs.", range: 6...ManyLangsVocabulary.maxCharacterCount),
                wordCount: try reader.int(m, "n_words", path: "manylangs.", range: 0...ManyLangsVocabulary.maxWordCount),
                wordDim: try reader.int(m, "word_dim", path: "manylangs.", range: 0...ElmoOptions.maxDimension),
                characterTables: m["char_tables"]?.boolValue ?? true)
        }
        let options = ElmoOptions(
            charCNN: CharCNN(embeddingDim: embeddingDim, filters: filters, highwayCount: highway,
                             characterCount: nChars, maxCharactersPerToken: maxChars, activation: activation),
            lstm: LSTM(dim: dim, projectionDim: proj, layerCount: layers, cellClip: cellClip,
                       projectionClip: projClip, useSkipConnections: skip),
            manyLangs: manyLangs)
        try options.validate(file: file)
        self = options
    }

    /// Cross-field consistency checks (bilm-tf asserts the same or fails later with less clarity).
    package func validate(file: String = "options") throws {
        let total = charCNN.totalFilters
        guard total <= ElmoOptions.maxDimension else {
            throw ElmoError.invalidOptions(file, "char_cnn.filters total \(total) filters, more than \(ElmoOptions.maxDimension)")
        }
        if let m = manyLangs {
            guard (m.wordDim == 0) == (m.wordCount == 0) else {
                throw ElmoError.invalidOptions(file, "a word embedding needs both a vocabulary and a width (n_words \(m.wordCount), word_dim \(m.wordDim))")
            }
            guard lstm.projectionDim < lstm.dim else {
                throw ElmoError.invalidOptions(file, "an ELMoForManyLangs encoder always projects: projection_dim \(lstm.projectionDim) must be below dim \(lstm.dim)")
            }
        }
        guard total >= lstm.projectionDim || manyLangs != nil else {
            throw ElmoError.invalidOptions(file, "char_cnn filters total \(total), fewer than lstm.projection_dim \(lstm.projectionDim): the CNN cannot be projected up")
        }
        guard lstm.projectionDim <= lstm.dim else {
            throw ElmoError.invalidOptions(file, "lstm.projection_dim \(lstm.projectionDim) exceeds lstm.dim \(lstm.dim)")
        }
        for f in charCNN.filters where f.width > charCNN.maxCharactersPerToken {
            throw ElmoError.invalidOptions(file, "filter width \(f.width) exceeds max_characters_per_token \(charCNN.maxCharactersPerToken)")
        }
    }

    /// The options as options.json text (bilm-tf field names), for writing native model files.
    package var json: JSONValue {
        var lstmObj: [String: JSONValue] = [
            "dim": .number(Double(lstm.dim)),
            "projection_dim": .number(Double(lstm.projectionDim)),
            "n_layers": .number(Double(lstm.layerCount)),
            "use_skip_connections": .bool(lstm.useSkipConnections),
        ]
        lstmObj["cell_clip"] = lstm.cellClip.map { .number(Double($0)) } ?? .null
        lstmObj["proj_clip"] = lstm.projectionClip.map { .number(Double($0)) } ?? .null
        let cnnObj: [String: JSONValue] = [
            "embedding": .object(["dim": .number(Double(charCNN.embeddingDim))]),
            "filters": .array(charCNN.filters.map { .array([.number(Double($0.width)), .number(Double($0.count))]) }),
            "n_highway": .number(Double(charCNN.highwayCount)),
            "n_characters": .number(Double(charCNN.characterCount)),
            "max_characters_per_token": .number(Double(charCNN.maxCharactersPerToken)),
            "activation": .string(charCNN.activation.rawValue),
        ]
        var top: [String: JSONValue] = ["lstm": .object(lstmObj), "char_cnn": .object(cnnObj)]
        if let m = manyLangs {
            top["manylangs"] = .object(["n_characters": .number(Double(m.characterCount)),
                                        "n_words": .number(Double(m.wordCount)), "word_dim": .number(Double(m.wordDim)),
                                        "char_tables": .bool(m.characterTables)])
        }
        return .object(top)
    }
}

/// Field access with errors that say which field is wrong and why.
private struct OptionsReader {
    let file: String

    func error(_ detail: String) -> ElmoError { ElmoError.invalidOptions(file, detail) }

    func object(_ obj: [String: JSONValue], _ key: String, path: String) throws -> [String: JSONValue] {
        guard let v = obj[key] else { throw error("\(path)\(key) is missing") }
        guard let o = v.objectValue else { throw error("\(path)\(key) is not an object") }
        return o
    }

    func int(_ obj: [String: JSONValue], _ key: String, path: String, range: ClosedRange<Int>) throws -> Int {
        guard let v = obj[key], !v.isNull else { throw error("\(path)\(key) is missing") }
        return try checkedInt(v, key, path: path, range: range)
    }

    func optionalInt(_ obj: [String: JSONValue], _ key: String, path: String, range: ClosedRange<Int>) throws -> Int? {
        guard let v = obj[key], !v.isNull else { return nil }
        return try checkedInt(v, key, path: path, range: range)
    }

    private func checkedInt(_ v: JSONValue, _ key: String, path: String, range: ClosedRange<Int>) throws -> Int {
        guard let i = v.intValue else { throw error("\(path)\(key) must be an integer, not \(v.serialized)") }
        guard range.contains(i) else {
            throw error("\(path)\(key) = \(i) is outside the supported range \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    func optionalClip(_ obj: [String: JSONValue], _ key: String, path: String) throws -> Float? {
        guard let v = obj[key], !v.isNull else { return nil }
        guard let d = v.doubleValue, d.isFinite, d > 0, d < 1e30 else {
            throw error("\(path)\(key) must be a positive number or null, not \(v.serialized)")
        }
        return Float(d)
    }
}
