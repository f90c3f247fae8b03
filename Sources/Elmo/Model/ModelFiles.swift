/// One file that a model is loaded from.
public struct ModelFile: Equatable, Sendable {
    /// What the file holds.
    public enum Role: String, Sendable {
        case options
        case weights
    }

    public let role: Role
    public let path: String
    /// Size in bytes.
    public let size: Int
    /// The file's format, e.g. "JSON" or "HDF5".
    public let format: String
}

extension ElmoModel {
    /// The files that `ElmoModel(path:optionsFile:)` loads for `path`, found the same way but
    /// without reading them (for tools that describe a model, such as `elmo info`).
    public static func files(forPath path: String, optionsFile: String? = nil) throws -> (format: String, files: [ModelFile]) {
        switch try ModelLocator.locate(path: path, optionsFile: optionsFile) {
        case .official(let options, let weights):
            return ("official bilm-tf / AllenNLP files (options JSON + HDF5 weights)", [
                ModelFile(role: .options, path: options, size: try requireRegularFile(options, what: "options file"), format: "JSON"),
                ModelFile(role: .weights, path: weights, size: try requireRegularFile(weights, what: "weight file"), format: "HDF5"),
            ])
        }
    }
}
