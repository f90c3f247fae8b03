import ArgumentParser

/// `elmo download NAME [--dir D]`: fetch a published model once, verified, resumable (by the
/// Python package's resolver: see `ModelResolver`).
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a published ELMo model into the cache (or a directory).",
        discussion: """
        NAME is one of: small (2x1024_128_2048cnn_1xhighway), medium (2x2048_256_2048cnn_1xhighway), original \
        (2x4096_512_2048cnn_2xhighway), original5.5B (2x4096_512_2048cnn_2xhighway_5.5B), AllenNLP's published files \
        ($ELMO_DOWNLOAD_BASE_URL overrides the base URL), the TF Hub address of google/elmo/2 or /3, or \
        manylangs:<code> for one of ELMoForManyLangs' 44 models (e.g. manylangs:fr; unpacked into \
        <cache>/manylangs-<code>/model/; $ELMO_MANYLANGS_BASE_URL overrides the address).
        The files go to <cache>/NAME/ (cache: $ELMO_CACHE_DIR, else $XDG_CACHE_HOME/elmo, else ~/.cache/elmo), or \
        into --dir, as options.json and weights.hdf5 with their SHA-256 in options.json.sha256 and weights.hdf5.sha256. \
        An interrupted download resumes where it stopped when run again; a file whose size or checksum is wrong is \
        removed, never left under its final name. Files already present are verified and kept.
        Downloads are done by the libelmo Python package (python3 -m elmo.resolve; $ELMO_PYTHON names the \
        interpreter), which `pip install libelmo` installs together with this command.
        """)

    @Argument(help: ArgumentHelp("Model name: \(ModelResolver.publishedNames.joined(separator: ", ")), or manylangs:<code>.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Put the files in this directory instead of the cache (then use --model DIR).", valueName: "dir"))
    var dir: String?

    @Flag(name: .shortAndLong, help: "Only errors on stderr.")
    var quiet = false

    func run() throws {
        let resolved = try ModelResolver.download(name, into: dir, quiet: quiet)
        if !quiet {
            Terminal.line("elmo download: \(name) \(resolved.source == "download" ? "is" : "was already") in \(resolved.path)"
                          + (dir == nil ? " (use --model \(name))" : " (use --model \(resolved.path))"))
        }
    }
}
