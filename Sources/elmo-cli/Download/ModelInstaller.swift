import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Puts a catalog model's files into a directory (by default its cache directory), as
/// notes/download-spec.md prescribes:
/// - each file streams to `<file>.part`, resuming a `.part` left by an interrupted run
///   (`Range: bytes=<size>-`; a 200 answer restarts from zero);
/// - the result must have the size the server announced, and the MD5 of a plain-MD5 ETag
///   (single-part S3 upload) and any pinned SHA-256 must match; otherwise the `.part` is
///   removed and nothing gets the final name;
/// - `<file>.sha256` (hex SHA-256, written first) then `fsync` and `rename` put it in place;
/// - a file already present is verified against its `.sha256` before reuse, and fetched
///   again when it does not match.
struct ModelInstaller {
    let model: CatalogModel
    let directory: String
    let quiet: Bool

    /// Makes sure every file is present and verified; returns whether anything was fetched.
    @discardableResult
    func install() throws -> Bool {
        try makeDirectories(directory)
        var fetched = false
        for file in model.files {
            let local = joinedPath(directory, file.local)
            if try isVerified(local) { continue }
            try fetch(remote: file.remote, to: local)
            fetched = true
        }
        return fetched
    }

    /// Whether `path` exists and matches its sidecar. A file without a sidecar, or one that
    /// does not match it, is reported and removed (it is fetched again).
    private func isVerified(_ path: String) throws -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        let sidecar = path + ".sha256"
        guard let recorded = readSidecar(sidecar) else {
            say("\(path): no recorded SHA-256 (\(sidecar)); fetching it again")
            try removeFile(path)
            return false
        }
        let actual = try sha256(ofFile: path)
        guard actual == recorded else {
            Terminal.warning("\(path) is corrupt: its SHA-256 \(actual) does not match the recorded \(recorded); fetching it again")
            try removeFile(path)
            return false
        }
        return true
    }

    private func fetch(remote: String, to path: String) throws {
        let urlString = ModelCatalog.baseURL + remote
        guard let url = URL(string: urlString) else { throw CLIFailure("\(urlString): not a valid URL") }
        let part = path + ".part"
        let lock = try PartFileLock(path: part)
        defer { lock.release() }
        // Another process may have finished this file while we waited for the lock.
        if lock.waited, try isVerified(path) { return }

        var restarted = false
        while true {
            let existing = lock.size()
            if existing > 0 { say("resuming \(urlString) at \(HumanFormat.bytes(existing))") }
            else { say("downloading \(urlString)") }
            let bar = DownloadProgress(enabled: !quiet && Terminal.isTerminal(2), label: String(remote.split(separator: "/").last ?? ""))
            let result: HTTPDownload.Result
            do {
                let download = try HTTPDownload(url: url, fd: lock.fd, path: part, existing: existing) { have, total in
                    bar.update(have: have, total: total)
                }
                result = try download.run()
                bar.finish()
            } catch let failure as HTTPDownload.Failure {
                bar.finish()
                if case .rangeNotSatisfiable = failure, !restarted {
                    // The partial file is not a prefix the server can continue: start over once.
                    restarted = true
                    _ = ftruncate(lock.fd, 0)
                    continue
                }
                throw message(for: failure, url: urlString, part: part, lock: lock)
            }
            try verify(result, remote: remote, url: urlString, part: part, lock: lock)
            try place(part: part, final: path, sha256: result.sha256, lock: lock)
            say("\(path): \(HumanFormat.bytes(result.size)), SHA-256 \(result.sha256)")
            return
        }
    }

    private func verify(_ r: HTTPDownload.Result, remote: String, url: String, part: String, lock: PartFileLock) throws {
        func reject(_ why: String) -> CLIFailure {
            lock.removeFile()
            return CLIFailure("\(url): \(why); the partial file was removed and nothing was installed")
        }
        guard let total = r.totalSize else { throw reject("the server did not say how large the file is") }
        guard r.size == total else {
            throw reject("size mismatch: received \(r.size) bytes, the server announced \(total)")
        }
        let pinned = ModelCatalog.pinned[remote]
        if let size = pinned?.size, size != r.size {
            throw reject("size mismatch: \(r.size) bytes, expected \(size)")
        }
        if let etag = r.etag?.lowercased(), etag.count == 32, etag.allSatisfy(\.isHexDigit), etag != r.md5 {
            throw reject("checksum mismatch: MD5 \(r.md5), the server's ETag says \(etag)")
        }
        if let sha = pinned?.sha256, sha != r.sha256 {
            throw reject("checksum mismatch: SHA-256 \(r.sha256), expected \(sha)")
        }
    }

    /// Sidecar first (atomically), then the data file: a file under its final name always
    /// has its digest beside it.
    private func place(part: String, final: String, sha256: String, lock: PartFileLock) throws {
        let sidecar = final + ".sha256"
        let tmp = sidecar + ".part"
        do {
            try (sha256 + "\n").write(toFile: tmp, atomically: false, encoding: .utf8)
        } catch {
            throw CLIFailure("\(sidecar): cannot write: \(error.localizedDescription)")
        }
        try syncFile(tmp)
        guard rename(tmp, sidecar) == 0 else { throw CLIFailure("\(sidecar): cannot rename into place: \(describeErrno())") }
        guard fsync(lock.fd) == 0 else { throw CLIFailure("\(part): fsync failed: \(describeErrno())") }
        guard rename(part, final) == 0 else { throw CLIFailure("\(final): cannot rename into place: \(describeErrno())") }
        try syncFile(directoryOf(final))
    }

    private func message(for failure: HTTPDownload.Failure, url: String, part: String, lock: PartFileLock) -> CLIFailure {
        switch failure {
        case .unreachable(let e):
            if lock.size() == 0 { lock.removeFile() }  // nothing to resume
            return CLIFailure("cannot download \(url): \(e.localizedDescription). This machine seems to be offline "
                              + "(or the server cannot be reached). A local path to the model files always works: "
                              + "--model DIR, where DIR holds the options JSON and the weights HDF5 file.")
        case .interrupted(let e, let received):
            let have = lock.size()
            return CLIFailure("download of \(url) interrupted after \(HumanFormat.bytes(received)) (\(e.localizedDescription)); "
                              + "\(HumanFormat.bytes(have)) kept in \(part): run the command again to resume")
        case .status(let code):
            return CLIFailure("cannot download \(url): the server answered HTTP \(code)")
        case .rangeNotSatisfiable:
            lock.removeFile()
            return CLIFailure("cannot download \(url): the server refuses to resume (HTTP 416) or to restart")
        case .wrongRange(let range):
            lock.removeFile()
            return CLIFailure("cannot resume \(url): the server sent the range '\(range)'; the partial file was removed, run the command again")
        case .write(let why):
            return CLIFailure(why)
        }
    }

    private func say(_ text: String) {
        if !quiet { Terminal.line("elmo download: " + text) }
    }
}

/// The `.part` file of one download, opened and locked (flock) so that two processes never
/// write the same file; released (unlocked and closed) at the end.
final class PartFileLock {
    let path: String
    private(set) var fd: Int32
    /// Whether another process held the lock when we asked for it.
    private(set) var waited = false

    init(path: String) throws {
        self.path = path
        fd = -1
        while true {
            let f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard f >= 0 else { throw CLIFailure("\(path): cannot create: \(describeErrno())") }
            if flock(f, LOCK_EX | LOCK_NB) != 0 {
                Terminal.line("elmo download: waiting for another download of \(path)")
                waited = true
                guard flock(f, LOCK_EX) == 0 else {
                    close(f)
                    throw CLIFailure("\(path): cannot lock: \(describeErrno())")
                }
            }
            // The holder may have renamed the file into place meanwhile: lock the file that
            // has the name now.
            var a = stat(), b = stat()
            if fstat(f, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev {
                fd = f
                return
            }
            close(f)
        }
    }

    func size() -> Int {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Removes the partial file (its contents cannot be trusted).
    func removeFile() {
        unlink(path)
    }

    func release() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }
}

/// A progress bar for one file on stderr (terminal only): bytes, rate, ETA.
final class DownloadProgress: @unchecked Sendable {
    private let enabled: Bool
    private let label: String
    private let started = monotonicSeconds()
    private var last = 0.0
    private var startBytes: Int?
    private var drew = false

    init(enabled: Bool, label: String) {
        self.enabled = enabled
        self.label = label
    }

    func update(have: Int, total: Int?) {
        guard enabled else { return }
        let now = monotonicSeconds()
        if startBytes == nil { startBytes = have }
        guard now - last >= 0.1 else { return }
        last = now
        drew = true
        let elapsed = now - started
        let rate = elapsed > 0 ? Double(have - (startBytes ?? 0)) / elapsed : 0
        var line = "\(label): \(HumanFormat.bytes(have))"
        if let total, total > 0 {
            let f = min(1, Double(have) / Double(total))
            let width = 24, filled = Int(f * Double(width))
            line = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + line
            line += " of \(HumanFormat.bytes(total))"
            if rate > 0 { line += ", ETA " + HumanFormat.duration(Double(total - have) / rate) }
        }
        line += ", \(HumanFormat.bytes(Int(rate)))/s"
        Terminal.writeError("\r" + line + "\u{1B}[K")
    }

    func finish() {
        if drew { Terminal.writeError("\r\u{1B}[K") }
    }
}

/// The recorded digest in a `.sha256` sidecar (its first 64 hex characters), or nil.
func readSidecar(_ path: String) -> String? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    let first = text.split(whereSeparator: { $0.isWhitespace }).first.map(String.init)?.lowercased() ?? ""
    guard first.count == 64, first.allSatisfy(\.isHexDigit) else { return nil }
    return first
}

func makeDirectories(_ path: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw CLIFailure("\(path): cannot create the directory: \(error.localizedDescription)")
    }
}

func removeFile(_ path: String) throws {
    guard unlink(path) == 0 || errno == ENOENT else { throw CLIFailure("\(path): cannot remove: \(describeErrno())") }
}

/// fsync of a file or directory by path.
func syncFile(_ path: String) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CLIFailure("\(path): cannot open to sync: \(describeErrno())") }
    defer { close(fd) }
    _ = fsync(fd)
}
