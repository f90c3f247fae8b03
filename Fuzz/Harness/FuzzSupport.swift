// What every fuzz harness needs: a private scratch directory for the files an input becomes,
// the rule that only documented errors may escape, and a short embedding run on any model
// that loads.
import Elmo
#if canImport(Glibc)
import Glibc
#endif

/// A harness found a broken invariant: the fuzzer reports the crash and keeps the input.
public func fuzzFailure(_ message: String, file: StaticString = #file, line: UInt = #line) -> Never {
    fatalError("fuzz invariant broken: \(message)", file: file, line: line)
}

/// Runs `body`; an `ElmoError` is an accepted outcome (hostile input refused), any other error
/// breaks the API's contract (everything the library throws is an `ElmoError`).
@discardableResult
public func expectingElmoErrors<T>(_ what: String, _ body: () throws -> T) -> T? {
    do {
        return try body()
    } catch is ElmoError {
        return nil
    } catch {
        fuzzFailure("\(what) threw \(type(of: error)), not ElmoError: \(error)")
    }
}

/// This process's scratch directory (in /dev/shm when there is one, so that writing an input
/// costs no disk I/O), removed at exit.
public enum FuzzScratch {
    nonisolated(unsafe) private static var created: String?

    public static var directory: String {
        if let d = created { return d }
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        let d = "\(base)/elmo-fuzz-\(getpid())"
        mkdir(d, 0o700)
        created = d
        atexit { FuzzScratch.removeAll() }
        return d
    }

    public static func path(_ name: String) -> String { directory + "/" + name }

    /// Writes `bytes` as a NEW file at path(name): the old file is unlinked first, so a model
    /// still mapping the previous input never sees its file change or shrink.
    @discardableResult
    public static func write(_ name: String, _ bytes: UnsafeRawBufferPointer) -> String {
        let p = path(name)
        unlink(p)
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fuzzFailure("cannot create \(p): errno \(errno)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            guard n > 0 else { fuzzFailure("cannot write \(p): errno \(errno)") }
            done += n
        }
        return p
    }

    @discardableResult
    public static func write(_ name: String, _ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { write(name, $0) }
    }

    /// Creates a directory below the scratch directory (and its parents).
    @discardableResult
    public static func makeDirectory(_ name: String) -> String {
        var p = directory
        for part in name.split(separator: "/") {
            p += "/" + part
            mkdir(p, 0o700)
        }
        return p
    }

    static func removeAll() {
        guard let d = created else { return }
        removeTree(d)
    }

    private static func removeTree(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                removeTree(path + "/" + name)
            }
            closedir(dir)
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// Bytes of a file (seed writing reads committed fixtures with it); nil if unreadable.
public func readWholeFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    return bytes
}

/// A model that loaded from hostile bytes must also embed without crashing (NaN or Inf
/// weights give NaN or Inf vectors, which is allowed; a crash or a wrong size is not).
public func exerciseLoadedModel(_ model: ElmoModel) {
    let session = ElmoSession(model: model, threads: 1)
    let sentences = [["The", "bank", "<S>", "\u{00E9}l\u{00E8}ve"], ["x"]]
    guard let all = expectingElmoErrors("embedding with a loaded model", { try session.embed(sentences) }) else {
        fuzzFailure("a model that loaded cannot embed two short sentences")
    }
    for (i, s) in sentences.enumerated() {
        let layers = all.layers(sentence: i)
        guard layers.shape == [model.layerCount, s.count, model.outputDim] else {
            fuzzFailure("all-layers output of sentence \(i) has shape \(layers.shape)")
        }
    }
    let batch = expectingElmoErrors("a token batch") { try TokenBatch(sentences: sentences) }!
    for output in [ElmoOutput.wordEmbedding, .lstm(model.lstmLayerCount), .elmo(nil), .sentenceMean(nil)] {
        guard let n = expectingElmoErrors("the size query", { try session.requiredFloats(batch, output: output) }) else {
            fuzzFailure("size query for \(output) failed")
        }
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { buf in
            if expectingElmoErrors("embed into a buffer", { try session.embed(batch, output: output, into: buf) }) == nil {
                fuzzFailure("embedding \(output) into a buffer of the queried size failed")
            }
        }
    }
}

/// Load options for fuzzing: a small token cache, so that it is exercised but costs little.
public let fuzzLoadOptions = ElmoLoadOptions(tokenCacheBytes: 1 << 16)
