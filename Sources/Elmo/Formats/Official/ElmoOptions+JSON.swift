/// options.json read, validated and written (bilm-tf field names and defaults).
extension ElmoOptions {
    /// Parses and validates an options.json document. `file` names the source in errors.
    public static func parse<Bytes: Collection>(json bytes: Bytes, file: String = "options.json") throws -> ElmoOptions
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
    public init(contentsOfFile path: String) throws {
        let bytes = try readSmallFile(path, limit: 1 << 20)
        self = try ElmoOptions.parse(json: bytes, file: path)
    }

    /// Builds options from parsed JSON, validating every field.
    public init(json root: JSONValue, file: String = "options.json") throws {
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

    /// The options as options.json text (bilm-tf field names), for writing native model files.
    public var json: JSONValue {
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
