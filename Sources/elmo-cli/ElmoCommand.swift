import ArgumentParser
import CElmoABI
import Elmo
#if canImport(Glibc)
import Glibc
#endif

/// `elmo`: ELMo embeddings for whole files, model inspection and download.
///
/// Exit status: 0 on success, 1 when the command failed (the message names the file, and the
/// line where there is one), 2 for a usage error (bad or missing arguments).
@main
struct ElmoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elmo",
        abstract: "ELMo embeddings from the command line (libelmo).",
        discussion: """
        Exit status: 0 success, 1 failure (the message names the file and line), 2 usage error.
        Models: a directory holding options.json and the weights HDF5 file, the weights file itself, or one of \
        the names \(ModelResolver.publishedNames.joined(separator: ", ")), fetched once into the cache directory \
        ($ELMO_CACHE_DIR, else $XDG_CACHE_HOME/elmo, else ~/.cache/elmo) and used offline after that \
        (by the libelmo Python package: python3 -m elmo.resolve, or $ELMO_PYTHON).
        """,
        version: ElmoCommand.versionText,
        subcommands: [EmbedCommand.self, ConvertCommand.self, InfoCommand.self, DownloadCommand.self, DemoCommand.self])

    /// One version for everything, ELMO_VERSION_STRING of include/elmo.h; the library is built
    /// into this binary, so its version is the same header's (stated for bug reports).
    static let versionText = "elmo \(ELMO_VERSION_STRING) (libelmo \(ELMO_VERSION_STRING), C ABI \(ELMO_VERSION_MAJOR), built in)"

    /// `elmo` alone is a usage error (status 2), not a request for help.
    func run() throws {
        throw ValidationError("missing subcommand: embed, convert, info, download or demo (elmo --help tells more)")
    }

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CLIFailure {
            Terminal.line("elmo: error: \(failure.message)")
            Glibc.exit(1)
        } catch let failure as ResolverFailed {
            Glibc.exit(failure.status)  // the resolver said why on stderr
        } catch let failure as ElmoError {
            Terminal.line("elmo: error: \(failure.message)")
            Glibc.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and friends: the text goes to stdout.
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            Terminal.line(fullMessage(for: error))
            Glibc.exit(code == .validationFailure ? 2 : 1)
        }
    }
}
