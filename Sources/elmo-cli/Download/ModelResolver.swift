#if canImport(Glibc)
import Glibc
#endif

/// What `--model` (and `elmo info MODEL`) accept: a path (a model directory, or a weights
/// file with its options beside it: anything `ElmoModel(path:)` loads), or the name of a
/// published model, found in the cache directory and downloaded there on first use. An
/// existing path wins over a name.
enum ModelResolver {
    static func resolve(_ spec: String, quiet: Bool, download: Bool) throws -> String {
        if FileManagerLite.exists(spec) { return spec }
        guard let model = ModelCatalog.model(named: spec) else {
            throw CLIFailure("\(spec): model not found: no such file or directory, and not one of the model names "
                             + ModelCatalog.names.joined(separator: ", "))
        }
        let directory = try ModelCatalog.cacheDirectory(for: model)
        let installer = ModelInstaller(model: model, directory: directory, quiet: quiet)
        if !download {
            guard model.files.allSatisfy({ FileManagerLite.exists(joinedPath(directory, $0.local)) }) else {
                throw CLIFailure("\(spec): not downloaded yet (looked in \(directory)); run: elmo download \(spec)")
            }
        }
        try installer.install()
        return directory
    }
}

enum FileManagerLite {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }
}
