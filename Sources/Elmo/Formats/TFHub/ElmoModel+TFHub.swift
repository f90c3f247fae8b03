/// Where a TF Hub module is: a directory on disk (TF Hub's cache, `$TFHUB_CACHE_DIR/<hash>`,
/// or an unpacked download) or a downloaded tarball.
enum TFHubLocation: Equatable {
    /// A module directory and its checkpoint prefix (`<dir>/variables/variables`).
    case directory(String, variablesPrefix: String)
    /// A `.tar.gz` (or plain `.tar`) of a module.
    case archive(String)

    var path: String {
        switch self {
        case .directory(let d, _): return d
        case .archive(let a): return a
        }
    }

    /// The module directory `dir` names, if it is one: it holds `variables/variables.index`
    /// (beside `saved_model.pb` and `tfhub_module.pb`, which libelmo does not need), or is
    /// itself the `variables` directory.
    static func directory(_ dir: String) -> TFHubLocation? {
        let nested = joinPath(joinPath(dir, "variables"), "variables")
        if case .regularFile = pathKind(nested + ".index") { return .directory(dir, variablesPrefix: nested) }
        let flat = joinPath(dir, "variables")
        if case .regularFile = pathKind(flat + ".index") { return .directory(dir, variablesPrefix: flat) }
        return nil
    }

    /// Whether the file at `path` is a tar archive, by name (`.tar.gz`, `.tgz`, `.tar`) or by
    /// content (gzip magic, or the ustar magic of a tar header).
    static func isArchive(_ path: String) -> Bool {
        let lower = path.lowercased()
        if lower.hasSuffix(".tar.gz") || lower.hasSuffix(".tgz") || lower.hasSuffix(".tar") { return true }
        guard let head = try? readPrefix(path, count: 263) else { return false }
        if head.count >= 2, head[0] == 0x1F, head[1] == 0x8B { return true }
        return head.count == 263 && Array(head[257..<262]) == Array("ustar".utf8)
    }
}

extension TFHubModule {
    /// Opens the module's checkpoint and finds its ELMo variables.
    convenience init(location: TFHubLocation) throws {
        switch location {
        case .directory(let dir, let prefix):
            try self.init(bundle: try TensorBundle(prefix: prefix), sourceName: dir)
        case .archive(let path):
            try self.init(bundle: try TFHubArchive.bundle(path: path), sourceName: path)
        }
    }
}

extension ElmoModel {
    /// Loads a TF Hub `google/elmo` module (TF1 Hub format) without TensorFlow: a module
    /// directory (`tfhub_module.pb`, `saved_model.pb`, `variables/`), such as TF Hub's cache
    /// entry `$TFHUB_CACHE_DIR/<hash>` (by default `/tmp/tfhub_modules/<hash>`), or the
    /// tarball of `https://tfhub.dev/google/elmo/3?tf-hub-format=compressed`.
    ///
    /// The configuration is inferred from the tensor shapes (the module carries no
    /// `options.json`; cell and projection clips are those of the released modules) unless
    /// `optionsFile` is given; the module's learned layer mix (`aggregation/weights` and
    /// `aggregation/scaling`) becomes `defaultMix`, so the `elmo` and `default` outputs are
    /// the module's.
    public convenience init(tfHubModule path: String, optionsFile: String? = nil,
                            loadOptions: ElmoLoadOptions = ElmoLoadOptions()) throws {
        let location: TFHubLocation
        switch pathKind(path) {
        case .directory:
            guard let l = TFHubLocation.directory(path) else {
                throw ElmoError(.io, "\(path): not a TF Hub module directory (no variables/variables.index)")
            }
            location = l
        case .regularFile:
            location = .archive(path)
        case .missing:
            throw ElmoError(.io, "\(path): model not found")
        case .other:
            throw ElmoError(.io, "\(path): not a regular file or directory")
        }
        try self.init(tfHub: location, optionsFile: optionsFile, loadOptions: loadOptions)
    }

    convenience init(tfHub location: TFHubLocation, optionsFile: String?,
                     loadOptions: ElmoLoadOptions = ElmoLoadOptions()) throws {
        let module = try TFHubModule(location: location)
        let options = try optionsFile.map { try ElmoOptions(contentsOfFile: $0) } ?? module.inferredOptions()
        let weights = try ElmoWeights.prepare(options: options, source: module)
        let mix = try module.scalarMix(layerCount: options.outputLayerCount)
        let kind: String
        switch location {
        case .directory: kind = "TF Hub module"
        case .archive: kind = "TF Hub module archive"
        }
        let config = optionsFile.map { "with options \($0)" } ?? "(configuration inferred from the tensor shapes)"
        try self.init(weights: weights, sourceDescription: "\(kind) \(location.path) \(config)", defaultMix: mix,
                  loadOptions: loadOptions)
    }
}
