#if canImport(Glibc)
import Glibc
#endif

/// The published ELMo models that `elmo download` and `--model NAME` know, where they come
/// from and where they are kept. Shared with the Python binding (notes/download-spec.md):
/// a model fetched by one is found by the other.
struct CatalogModel {
    let name: String
    /// Directory below the base URL and file stem: `<base><directory>/<stem>_options.json`.
    let directory: String
    let stem: String

    /// Remote path (below the base URL) and local file name of each file, options first.
    var files: [(remote: String, local: String)] {
        [("\(directory)/\(stem)_options.json", "options.json"),
         ("\(directory)/\(stem)_weights.hdf5", "weights.hdf5")]
    }
}

enum ModelCatalog {
    static let defaultBaseURL = "https://allennlp.s3.amazonaws.com/models/elmo/"

    static let models: [CatalogModel] = [
        CatalogModel(name: "small", directory: "2x1024_128_2048cnn_1xhighway", stem: "elmo_2x1024_128_2048cnn_1xhighway"),
        CatalogModel(name: "medium", directory: "2x2048_256_2048cnn_1xhighway", stem: "elmo_2x2048_256_2048cnn_1xhighway"),
        CatalogModel(name: "original", directory: "2x4096_512_2048cnn_2xhighway", stem: "elmo_2x4096_512_2048cnn_2xhighway"),
        CatalogModel(name: "original5.5B", directory: "2x4096_512_2048cnn_2xhighway_5.5B", stem: "elmo_2x4096_512_2048cnn_2xhighway_5.5B"),
    ]

    /// Known sizes and SHA-256 digests of remote files (by remote path). None is known
    /// offline for the released files; downloads are then checked against the server's size
    /// and, when its ETag is a plain MD5, against that.
    static let pinned: [String: (size: Int?, sha256: String?)] = [:]

    static var names: [String] { models.map(\.name) }

    static func model(named name: String) -> CatalogModel? {
        models.first { $0.name == name }
    }

    /// `$ELMO_DOWNLOAD_BASE_URL` (tests point it at a local server) or AllenNLP's location,
    /// with a trailing slash.
    static var baseURL: String {
        var base = environment("ELMO_DOWNLOAD_BASE_URL") ?? defaultBaseURL
        if !base.hasSuffix("/") { base += "/" }
        return base
    }

    /// The cache directory: `$ELMO_CACHE_DIR`, else `$XDG_CACHE_HOME/elmo`, else
    /// `~/.cache/elmo`. A model NAME lives in `<cache>/<NAME>/`.
    static func cacheDirectory() throws -> String {
        if let d = environment("ELMO_CACHE_DIR") { return d }
        if let x = environment("XDG_CACHE_HOME") { return joinedPath(x, "elmo") }
        guard let home = environment("HOME") else {
            throw CLIFailure("no cache directory: set ELMO_CACHE_DIR (or XDG_CACHE_HOME or HOME)")
        }
        return joinedPath(home, ".cache/elmo")
    }

    static func cacheDirectory(for model: CatalogModel) throws -> String {
        joinedPath(try cacheDirectory(), model.name)
    }
}

/// An environment variable, nil when unset or empty.
func environment(_ name: String) -> String? {
    guard let v = getenv(name) else { return nil }
    let s = String(cString: v)
    return s.isEmpty ? nil : s
}
