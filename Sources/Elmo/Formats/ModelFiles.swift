/// One file that a model is loaded from.
package struct ModelFile: Equatable, Sendable {
    /// What the file holds.
    package enum Role: String, Sendable {
        /// options.json: the configuration.
        case options
        /// The weights (an HDF5 file, a native model file, or a TF Hub checkpoint's data shard).
        case weights
        /// A TF Hub checkpoint's index of its data shards.
        case index
        /// A TF Hub module archive (.tar.gz or .tar) holding everything.
        case module
        /// An ELMoForManyLangs vocabulary (`char.dic`, `word.dic`).
        case vocabulary
    }

    package let role: Role
    package let path: String
    /// Size in bytes.
    package let size: Int
    /// The file's format, e.g. "JSON" or "HDF5".
    package let format: String
}

extension ElmoModel {
    /// The files that `ElmoModel(path:optionsFile:)` loads for `path`, found the same way but
    /// without reading them (for tools that describe a model, such as `elmo info`), and a
    /// description of the model's format.
    package static func files(forPath path: String, optionsFile: String? = nil) throws -> (format: String, files: [ModelFile]) {
        func file(_ role: ModelFile.Role, _ p: String, _ format: String, _ what: String) throws -> ModelFile {
            ModelFile(role: role, path: p, size: try requireRegularFile(p, what: what), format: format)
        }
        let options = try optionsFile.map { [try file(.options, $0, "JSON", "options file")] } ?? []
        switch try ModelLocator.locate(path: path, optionsFile: optionsFile) {
        case .official(let optionsPath, let weights):
            return ("official bilm-tf / AllenNLP files (options JSON + HDF5 weights)", [
                try file(.options, optionsPath, "JSON", "options file"),
                try file(.weights, weights, "HDF5", "weight file"),
            ])
        case .manyLangs(let dir):
            let m = try ManyLangsDirectory(path: dir)
            var files = [try file(.options, joinPath(dir, "config.json"), "JSON", "config.json")]
            if let c = m.configFile { files.append(try file(.options, c, "JSON", "model configuration")) }
            files.append(try file(.vocabulary, joinPath(dir, "char.dic"), "text", "char.dic"))
            if (m.options.manyLangs?.wordDim ?? 0) > 0 {
                files.append(try file(.vocabulary, joinPath(dir, "word.dic"), "text", "word.dic"))
            }
            for name in ["token_embedder.pkl", "encoder.pkl"] {
                files.append(try file(.weights, joinPath(dir, name), "PyTorch state dict", name))
            }
            return ("ELMoForManyLangs model directory (PyTorch state dicts, read without PyTorch)"
                    + (m.configFile == nil ? "; built-in network configuration" : ""), files)
        case .native(let native):
            return ("libelmo native model (safetensors, memory-mapped; options inside)",
                    [try file(.weights, native, "safetensors", "model file")])
        case .tfHub(.archive(let archive)):
            return ("TF Hub google/elmo module archive (read without TensorFlow)",
                    [try file(.module, archive, "tar", "module archive")] + options)
        case .tfHub(.directory(_, let prefix)):
            // The checkpoint: <prefix>.index and its data shards <prefix>.data-NNNNN-of-NNNNN.
            let dir = parentDirectory(prefix)
            let stem = String(prefix.split(separator: "/").last ?? "") + ".data-"
            let shards = try ModelLocator.listDirectory(dir).filter { $0.hasPrefix(stem) }.map {
                try file(.weights, joinPath(dir, $0), "TensorFlow checkpoint data", "checkpoint shard")
            }
            return ("TF Hub google/elmo module directory (TensorFlow checkpoint, read without TensorFlow)",
                    [try file(.index, prefix + ".index", "TensorFlow checkpoint index", "checkpoint index")] + shards + options)
        }
    }
}
