import ArgumentParser

/// `elmo download NAME [--dir D]`: fetch a published model once, verified, resumable.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a published ELMo model into the cache (or a directory).",
        discussion: """
        NAME is one of: small (2x1024_128_2048cnn_1xhighway), medium (2x2048_256_2048cnn_1xhighway), original \
        (2x4096_512_2048cnn_2xhighway), original5.5B (2x4096_512_2048cnn_2xhighway_5.5B), AllenNLP's published files \
        under \(ModelCatalog.defaultBaseURL) ($ELMO_DOWNLOAD_BASE_URL overrides the base URL).
        The files go to <cache>/NAME/ (cache: $ELMO_CACHE_DIR, else $XDG_CACHE_HOME/elmo, else ~/.cache/elmo), or \
        into --dir, as options.json and weights.hdf5 with their SHA-256 in options.json.sha256 and weights.hdf5.sha256. \
        An interrupted download resumes where it stopped when run again; a file whose size or checksum is wrong is \
        removed, never left under its final name. Files already present are verified and kept.
        """)

    @Argument(help: ArgumentHelp("Model name: \(ModelCatalog.names.joined(separator: ", ")).", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Put the files in this directory instead of the cache (then use --model DIR).", valueName: "dir"))
    var dir: String?

    @Flag(name: .shortAndLong, help: "Only errors on stderr.")
    var quiet = false

    func validate() throws {
        guard ModelCatalog.model(named: name) != nil else {
            throw ValidationError("unknown model '\(name)': use one of \(ModelCatalog.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        let model = ModelCatalog.model(named: name)!  // validate() checked it
        let directory = try dir ?? ModelCatalog.cacheDirectory(for: model)
        let fetched = try ModelInstaller(model: model, directory: directory, quiet: quiet).install()
        if !quiet {
            Terminal.line("elmo download: \(name) \(fetched ? "is" : "was already") in \(directory)"
                          + (dir == nil ? " (use --model \(name))" : " (use --model \(directory))"))
        }
    }
}
