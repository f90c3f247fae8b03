/// An ELMoForManyLangs (HIT-SCIR) model directory as downloaded and unzipped: `config.json`
/// (the training arguments, of which only `config_path` matters), the network configuration
/// it names, `char.dic`, `word.dic`, `token_embedder.pkl` and `encoder.pkl`.
package struct ManyLangsDirectory: Sendable {
    package let path: String
    /// The network configuration file actually used (see `resolveConfig`), or nil when the
    /// package's built-in configuration was used.
    package let configFile: String?
    package let options: ElmoOptions

    /// Whether `dir` looks like an ELMoForManyLangs model: it holds either state dict (the
    /// loader then names whatever else is missing).
    static func recognises(_ dir: String) -> Bool {
        ["token_embedder.pkl", "encoder.pkl"].contains {
            if case .missing = pathKind(joinPath(dir, $0)) { return false } else { return true }
        }
    }

    /// The configuration the package itself ships (`configs/cnn_50_100_512_4096_sample.json`,
    /// and `cnn_0_100_512_4096_sample.json` with the same content): every released model was
    /// trained with it, and their `config.json` names it by a path on the trainer's machine.
    static let builtInConfigNames = ["cnn_50_100_512_4096_sample.json", "cnn_0_100_512_4096_sample.json"]
    static let builtInConfig = """
    {"encoder": {"name": "elmo", "projection_dim": 512, "cell_clip": 3, "proj_clip": 3, "dim": 4096, "n_layers": 2},
     "token_embedder": {"name": "cnn", "activation": "relu",
       "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]],
       "n_highway": 2, "word_dim": 100, "char_dim": 50, "max_characters_per_token": 50},
     "classifier": {"name": "sampled_softmax", "n_samples": 8192}, "dropout": 0.1}
    """

    /// Reads the directory's configuration and checks that its files exist (the weights are
    /// read by `loadWeights`).
    package init(path: String) throws {
        self.path = path
        let configJSON = joinPath(path, "config.json")
        let top = try Self.parse(try readSmallFile(configJSON, limit: 1 << 20, what: "config.json"), file: configJSON)
        guard let configPath = top["config_path"]?.stringValue, !configPath.isEmpty else {
            throw ElmoError.invalidOptions(configJSON, "config_path is missing or not a string")
        }
        let (file, text) = try Self.resolveConfig(configPath, modelDirectory: path)
        configFile = file
        options = try Self.options(fromConfig: Self.parse(text, file: file ?? "built-in " + configPath), file: file ?? configPath,
                                   directory: path)
    }

    private static func parse(_ bytes: [UInt8], file: String) throws -> [String: JSONValue] {
        let v: JSONValue
        do { v = try JSONValue.parse(bytes, maxBytes: 1 << 20) } catch let e as JSONError {
            throw ElmoError.invalidOptions(file, "not valid JSON (\(e))")
        }
        guard let o = v.objectValue else { throw ElmoError.invalidOptions(file, "top level is not an object") }
        return o
    }

    /// The network configuration named by `config_path`, found as the package finds it
    /// (`elmo.py`): the path itself (relative to the model directory), else the file of that
    /// name in the model directory, else the package's own configuration of that name.
    static func resolveConfig(_ configPath: String, modelDirectory: String) throws -> (file: String?, text: [UInt8]) {
        let direct = configPath.hasPrefix("/") ? configPath : joinPath(modelDirectory, configPath)
        let name = String(configPath.split(separator: "/").last ?? "")
        let beside = joinPath(modelDirectory, name)
        for candidate in [direct, beside] {
            if case .regularFile = pathKind(candidate) {
                return (candidate, try readSmallFile(candidate, limit: 1 << 20, what: "model configuration"))
            }
        }
        if builtInConfigNames.contains(name) { return (nil, Array(builtInConfig.utf8)) }
        throw ElmoError(.io, "\(joinPath(modelDirectory, "config.json")): config_path '\(configPath)' not found (looked for \(direct) and \(beside); the built-in configurations are \(builtInConfigNames.joined(separator: ", ")))")
    }

    /// The libelmo options of a network configuration; the vocabulary sizes come from the
    /// `.dic` files (counted here, parsed fully by `loadVocabulary`).
    static func options(fromConfig c: [String: JSONValue], file: String, directory: String) throws -> ElmoOptions {
        func bad(_ what: String) -> ElmoError { ElmoError.invalidOptions(file, what) }
        guard let enc = c["encoder"]?.objectValue else { throw bad("encoder is missing or not an object") }
        guard let tok = c["token_embedder"]?.objectValue else { throw bad("token_embedder is missing or not an object") }
        guard enc["name"]?.stringValue == "elmo" else {
            throw bad("encoder.name must be \"elmo\" (the package compares case-sensitively; other encoders are not supported)")
        }
        guard tok["name"]?.stringValue == "cnn" else {
            throw bad("token_embedder.name must be \"cnn\" (the lstm token embedder is not supported)")
        }
        func int(_ o: [String: JSONValue], _ key: String, _ path: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let i = o[key]?.intValue else { throw bad("\(path).\(key) is missing or not an integer") }
            guard range.contains(i) else { throw bad("\(path).\(key) = \(i) is outside \(range.lowerBound)...\(range.upperBound)") }
            return i
        }
        func clip(_ key: String) throws -> Float? {
            // The package clips only when the value is truthy: 0 or null means no clip.
            guard let v = enc[key], !v.isNull else { return nil }
            guard let d = v.doubleValue, d.isFinite, d >= 0, d < 1e30 else { throw bad("encoder.\(key) must be a non-negative number or null") }
            return d == 0 ? nil : Float(d)
        }
        let maxChars = try int(tok, "max_characters_per_token", "token_embedder", 3...ElmoOptions.maxCharactersPerTokenLimit)
        guard let list = tok["filters"]?.arrayValue, !list.isEmpty, list.count <= ElmoOptions.maxFilters else {
            throw bad("token_embedder.filters must be a list of 1 to \(ElmoOptions.maxFilters) [width, count] pairs")
        }
        let filters = try list.enumerated().map { i, f -> ElmoOptions.Filter in
            guard let p = f.arrayValue, p.count == 2, let w = p[0].intValue, let n = p[1].intValue,
                  (1...maxChars).contains(w), (1...ElmoOptions.maxDimension).contains(n) else {
                throw bad("token_embedder.filters[\(i)] must be [width 1...\(maxChars), count 1...\(ElmoOptions.maxDimension)]")
            }
            return ElmoOptions.Filter(width: w, count: n)
        }
        guard let actName = tok["activation"]?.stringValue, let activation = ElmoOptions.Activation(rawValue: actName) else {
            throw bad("token_embedder.activation must be \"relu\" or \"tanh\"")
        }
        let charDim = try int(tok, "char_dim", "token_embedder", 0...4096)
        guard charDim > 0 else { throw bad("token_embedder.char_dim is 0: word-only models are not supported") }
        let wordDim = try int(tok, "word_dim", "token_embedder", 0...ElmoOptions.maxDimension)
        let characters = try countLines(joinPath(directory, "char.dic"))
        let words = wordDim > 0 ? try countLines(joinPath(directory, "word.dic")) : 0
        let options = ElmoOptions(
            charCNN: .init(embeddingDim: charDim, filters: filters,
                           highwayCount: try int(tok, "n_highway", "token_embedder", 0...ElmoOptions.maxLayers),
                           characterCount: 262, maxCharactersPerToken: maxChars, activation: activation),
            lstm: .init(dim: try int(enc, "dim", "encoder", 1...ElmoOptions.maxDimension),
                        projectionDim: try int(enc, "projection_dim", "encoder", 1...ElmoOptions.maxDimension),
                        layerCount: try int(enc, "n_layers", "encoder", 1...ElmoOptions.maxLayers),
                        cellClip: try clip("cell_clip"), projectionClip: try clip("proj_clip"),
                        useSkipConnections: true),
            manyLangs: .init(characterCount: characters, wordCount: words, wordDim: wordDim,
                             characterTables: characters * filters.reduce(0) { $0 + $1.width * $1.count } * 4
                                 <= characterTableLimitBytes))
        try options.validate(file: file)
        return options
    }

    /// Lines of a `.dic` file (its number of entries).
    private static func countLines(_ path: String) throws -> Int {
        try ManyLangsDirectory.readDictionary(path).count
    }

    static let maxDictionaryBytes = 256 << 20

    /// Largest per-character CNN tables built (`ElmoOptions.ManyLangs.characterTables`): about
    /// 2,700 characters with the released configuration; larger vocabularies are convolved.
    /// Tests lower it to exercise the convolution; set it before loading, never during.
    nonisolated(unsafe) static var characterTableLimitBytes = 128 << 20

    /// A `.dic` file: one `TOKEN<TAB>ID` per line, parsed as the package parses it
    /// (`line.strip().split('\t')`; a line whose token is all whitespace is read as U+3000).
    /// Returns the tokens by id; ids must be exactly 0..<n, each once, tokens unique.
    static func readDictionary(_ path: String) throws -> [String] {
        let bytes = try readSmallFile(path, limit: maxDictionaryBytes, what: "vocabulary")
        var byId: [String?] = []
        var seen: [[UInt8]: Int] = [:]
        var lineNumber = 0
        var start = 0
        try bytes.withUnsafeBufferPointer { all in
            if let bad = PythonText.firstInvalidUTF8(all) {
                throw ElmoError(.invalidModel, "\(path): invalid UTF-8 at byte \(bad)")
            }
            while start < all.count {
                // Python's text mode ends lines at \n, \r\n and \r.
                var end = start
                while end < all.count && all[end] != 0x0A && all[end] != 0x0D { end += 1 }
                let next = end < all.count && all[end] == 0x0D && end + 1 < all.count && all[end + 1] == 0x0A ? end + 2 : end + 1
                lineNumber += 1
                let line = UnsafeBufferPointer(rebasing: all[start..<end])
                start = next
                let r = PythonText.strippedRange(line)
                let stripped = UnsafeBufferPointer(rebasing: line[r])
                let fields = stripped.split(separator: 0x09, omittingEmptySubsequences: false)
                let token: [UInt8], idText: Slice<UnsafeBufferPointer<UInt8>>
                switch fields.count {
                case 1: token = Array("\u{3000}".utf8); idText = fields[0]
                case 2: token = Array(fields[0]); idText = fields[1]
                default: throw ElmoError(.invalidModel, "\(path):\(lineNumber): expected TOKEN<TAB>ID, found \(fields.count) tab-separated fields")
                }
                guard !idText.isEmpty, idText.count <= 9, idText.allSatisfy({ (0x30...0x39).contains($0) }) else {
                    throw ElmoError(.invalidModel, "\(path):\(lineNumber): the id '\(String(decoding: idText, as: UTF8.self))' is not a non-negative integer")
                }
                let id = idText.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                if let earlier = seen[token] {
                    throw ElmoError(.invalidModel, "\(path):\(lineNumber): token '\(String(decoding: token, as: UTF8.self))' repeats line \(earlier) (the package would keep only the later id)")
                }
                seen[token] = lineNumber
                guard id < ManyLangsVocabulary.maxWordCount else {
                    throw ElmoError(.invalidModel, "\(path):\(lineNumber): id \(id) is too large")
                }
                if id >= byId.count { byId += [String?](repeating: nil, count: id + 1 - byId.count) }
                guard byId[id] == nil else { throw ElmoError(.invalidModel, "\(path):\(lineNumber): id \(id) is used twice") }
                byId[id] = String(decoding: token, as: UTF8.self)
            }
        }
        if let gap = byId.firstIndex(where: { $0 == nil }) {
            throw ElmoError(.invalidModel, "\(path): ids are not contiguous: id \(gap) is missing (\(byId.count) ids expected from 0)")
        }
        return byId.map { $0! }
    }

    /// The vocabularies, checked against the options.
    func loadVocabulary() throws -> ManyLangsVocabulary {
        let characters = try Self.readDictionary(joinPath(path, "char.dic"))
        let words = options.manyLangs!.wordDim > 0 ? try Self.readDictionary(joinPath(path, "word.dic")) : []
        return try ManyLangsVocabulary(characters: characters, words: words,
                                       maxCharacters: options.charCNN.maxCharactersPerToken, source: path)
    }

    /// Reads the vocabularies and both state dicts and prepares the weights.
    func loadWeights() throws -> ElmoWeights {
        let vocabulary = try loadVocabulary()
        let tePath = joinPath(path, "token_embedder.pkl"), encPath = joinPath(path, "encoder.pkl")
        return try ManyLangsWeights.prepare(options: options, vocabulary: vocabulary,
                                            tokenEmbedder: try TorchCheckpoint.read(path: tePath), tokenEmbedderPath: tePath,
                                            encoder: try TorchCheckpoint.read(path: encPath), encoderPath: encPath)
    }
}

extension ElmoModel {
    /// Loads an ELMoForManyLangs model directory (`config.json`, its network configuration,
    /// `char.dic`, `word.dic`, `token_embedder.pkl`, `encoder.pkl`). The `elmo` output is the
    /// package's `output_layer=-1`: the plain mean of all layers.
    public convenience init(manyLangsDirectory path: String, loadOptions: ElmoLoadOptions = ElmoLoadOptions()) throws {
        let dir = try ManyLangsDirectory(path: path)
        try self.init(weights: try dir.loadWeights(), sourceDescription: "ELMoForManyLangs model \(path)", loadOptions: loadOptions)
    }

    /// For an ELMoForManyLangs model (nil otherwise): the character ids and word id the
    /// package gives `token`.
    package func manyLangsIds(for token: String) -> (characters: [Int], word: Int)? {
        weights.vocabulary?.ids(for: token)
    }
}
