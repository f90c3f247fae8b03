import Elmo
#if canImport(Glibc)
import Glibc
#endif

/// What `--model` (and `elmo info MODEL`, `elmo download NAME`) accept: a path (a model
/// directory, or a weights file with its options beside it: anything `ElmoModel(path:)`
/// loads), or the name (or TF Hub address) of a published model, found in the cache directory
/// and downloaded there on first use. An existing path wins over a name.
///
/// Names are resolved by the Python package's resolver (`python -m elmo.resolve`, the one
/// download/verify/cache code path of libelmo: resumable transfers, size and ETag MD5 checks,
/// SHA-256 sidecars), run as a child process: this binary carries no HTTP or TLS code, so it
/// needs neither libcurl nor its dependency chain. The Python is `$ELMO_PYTHON` (the wheel's
/// `elmo` command sets it to its own interpreter), else `python3` from PATH.
enum ModelResolver {
    /// The published model names, for help texts (the catalog itself is the Python package's).
    static let publishedNames = ["small", "medium", "original", "original5.5B"]

    /// What the resolver answered.
    struct Resolved {
        /// What `ElmoModel(path:optionsFile:)` loads.
        let path: String
        /// The options file to load it with (nil: beside the weights, or none needed).
        let optionsFile: String?
        /// "path", "cache", "download", ...: where it came from.
        let source: String
        /// One sentence saying why this path.
        let why: String
    }

    /// The path to load for `spec`. With `download`, a published model missing from the cache
    /// is fetched; without, its absence is an error naming `elmo download`.
    static func resolve(_ spec: String, quiet: Bool, download: Bool) throws -> Resolved {
        if pathExists(spec) { return Resolved(path: spec, optionsFile: nil, source: "path", why: "an existing path") }
        return try run(spec, flags: [download ? "--download" : "--no-download"] + (quiet ? ["-q"] : []))
    }

    /// `elmo download NAME [--dir D]`: the model's files fetched (or found verified).
    static func download(_ name: String, into directory: String?, quiet: Bool) throws -> Resolved {
        try run(name, flags: ["--download"] + (directory.map { ["--dir", $0] } ?? []) + (quiet ? ["-q"] : []))
    }

    /// The interpreter that runs the resolver.
    static var python: String {
        if let p = getenv("ELMO_PYTHON"), p.pointee != 0 { return String(cString: p) }
        return "python3"
    }

    /// What the interpreter runs: `elmo.resolve`'s `main`, as `python -m elmo.resolve` would,
    /// except that a Python without the libelmo package (or without numpy, which it imports)
    /// gets a message saying what to install instead of Python's bare "No module named ...".
    static let bootstrap = """
        import sys
        try:
            from elmo.resolve import main
        except ImportError as error:
            sys.stderr.write("elmo: error: the model is not a local path, and resolving its name needs the libelmo "
                             "Python package, which " + sys.executable + " cannot import (" + str(error) + "): "
                             "pip install libelmo, or set $ELMO_PYTHON to a Python that has it\\n")
            sys.exit(1)
        sys.exit(main(sys.argv[1:]))
        """

    /// Runs `python -c BOOTSTRAP FLAGS --json SPEC` (`elmo.resolve`'s command line). Its stderr
    /// is ours (progress and its error message go straight to the user); its stdout is the JSON
    /// answer. A failure it reported (status 1, or 2 for usage) ends this command with the
    /// same status and no second message.
    private static func run(_ spec: String, flags: [String]) throws -> Resolved {
        let interpreter = python
        let argv = [interpreter, "-c", bootstrap] + flags + ["--json"] + (spec.hasPrefix("-") ? ["--", spec] : [spec])
        let (status, output) = try runCapturingStdout(argv)
        switch status {
        case 0:
            break
        case 1, 2:
            throw ResolverFailed(status: status)
        default:
            throw CLIFailure("\(spec): resolving the model with \(interpreter) -m elmo.resolve failed (\(status < 0 ? "signal \(-status)" : "status \(status)"))")
        }
        let answer: JSONValue
        do {
            answer = try JSONValue.parse(output)
        } catch {
            throw CLIFailure("\(spec): \(interpreter) -m elmo.resolve printed no JSON answer (\(error))")
        }
        guard let path = answer["path"]?.stringValue else {
            throw CLIFailure("\(spec): \(interpreter) -m elmo.resolve answered without a path")
        }
        return Resolved(path: path, optionsFile: answer["options"]?.stringValue, source: answer["source"]?.stringValue ?? "",
                        why: answer["why"]?.stringValue ?? "")
    }

    /// Spawns `argv` (looked up in PATH) with stdout into a pipe; returns its exit status
    /// (minus the signal number if a signal ended it) and everything it printed on stdout.
    private static func runCapturingStdout(_ argv: [String]) throws -> (Int32, [UInt8]) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CLIFailure("cannot create a pipe: \(describeErrno())") }
        // Neither end leaks into the child beyond its dup2'd stdout.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(fds[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
        close(fds[1])
        guard spawned == 0 else {
            throw CLIFailure("the model is not a local path, and resolving its name needs Python with the libelmo "
                             + "package (pip install libelmo): cannot run \(argv[0]) (\(describeErrno(spawned)); "
                             + "$ELMO_PYTHON names the interpreter)")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw CLIFailure("waiting for \(argv[0]) failed: \(describeErrno())") }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (macros).
        let signal = status & 0x7f
        return (signal == 0 ? (status >> 8) & 0xff : -signal, output)
    }

    private static func pathExists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }
}

/// The resolver failed and already said why on stderr: the command ends with its status.
struct ResolverFailed: Error {
    let status: Int32
}
