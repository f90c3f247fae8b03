#if canImport(Glibc)
import Glibc
#endif

/// Works out which files make up a model from the one path a user gives.
enum ModelLocator {
    enum Located: Equatable {
        case official(options: String, weights: String)
        /// A libelmo native model file (recognised by its content, not its name).
        case native(path: String)
        /// A TF Hub module directory or tarball (see `ElmoModel.init(tfHubModule:)`).
        case tfHub(TFHubLocation)
        /// An ELMoForManyLangs model directory (see `ManyLangsDirectory`).
        case manyLangs(directory: String)
    }

    static func locate(path: String, optionsFile: String?) throws -> Located {
        switch pathKind(path) {
        case .missing:
            throw ElmoError(.io, "\(path): model not found")
        case .other:
            throw ElmoError(.io, "\(path): not a regular file or directory")
        case .directory:
            if let module = TFHubLocation.directory(path) { return .tfHub(module) }
            if ManyLangsDirectory.recognises(path) { return .manyLangs(directory: path) }
            return try locateInDirectory(path, optionsFile: optionsFile)
        case .regularFile(let size):
            if isNativeModelFile(path, size: size) { return .native(path: path) }
            if TFHubLocation.isArchive(path) { return .tfHub(.archive(path)) }
            let options = try optionsFile ?? optionsBeside(weights: path)
            return .official(options: options, weights: path)
        }
    }

    /// The options file that belongs to a weights file: `X_options.json` for
    /// `X_weights.hdf5` (the release naming), else `options.json` in the same directory.
    static func optionsBeside(weights: String) throws -> String {
        let dir = parentDirectory(weights)
        let file = String(weights.split(separator: "/").last ?? "")
        var candidates: [String] = []
        let suffix = "_weights.hdf5"
        if file.hasSuffix(suffix) {
            candidates.append(joinPath(dir, String(file.dropLast(suffix.count)) + "_options.json"))
        }
        candidates.append(joinPath(dir, "options.json"))
        for c in candidates {
            if case .regularFile = pathKind(c) { return c }
        }
        throw ElmoError(.io, "\(weights): no options file given and none found beside it (looked for \(candidates.joined(separator: ", ")))")
    }

    static func locateInDirectory(_ dir: String, optionsFile: String?) throws -> Located {
        let names = listDirectory(dir)
        let hdf5 = names.filter { $0.hasSuffix(".hdf5") || $0.hasSuffix(".h5") }
            .filter { !$0.hasPrefix("lm_embeddings") }
        let weightsName: String
        if let w = ["weights.hdf5", "lm_weights.hdf5"].first(where: hdf5.contains) {
            weightsName = w
        } else if hdf5.count == 1 {
            weightsName = hdf5[0]
        } else if hdf5.isEmpty {
            throw ElmoError(.io, "\(dir): no weights file (*.hdf5) in the directory")
        } else {
            throw ElmoError(.io, "\(dir): several weights files (\(hdf5.sorted().joined(separator: ", "))); name one of them")
        }
        let weights = joinPath(dir, weightsName)
        if let o = optionsFile { return .official(options: o, weights: weights) }
        return .official(options: try optionsBeside(weights: weights), weights: weights)
    }

    /// Whether the file starts like a safetensors file (HDF5 files start with a signature
    /// that never does). The native reader validates everything else.
    static func isNativeModelFile(_ path: String, size: Int) -> Bool {
        guard let prefix = try? readPrefix(path, count: 9), prefix.count == 9 else { return false }
        return NativeModelFile.looksNative(prefix: prefix, fileSize: size)
    }

    static func listDirectory(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        // d_name is read in place up to its NUL: readdir's record can be shorter than the
        // declared 256-byte array, so copying the whole array would read bytes that are not
        // part of the entry (valgrind reports them as uninitialised).
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 0
        while let entry = readdir(d) {
            let name = String(cString: (UnsafeRawPointer(entry) + nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
