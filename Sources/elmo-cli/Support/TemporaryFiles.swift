#if canImport(Glibc)
import Glibc
#endif

/// Files that must not outlive the command if it is interrupted: partial outputs and
/// spools. SIGINT, SIGTERM and SIGHUP remove them before the process ends with the signal's
/// usual status. The table is fixed-size C memory so that the signal handler only reads
/// pointers and calls unlink (async-signal-safe).
enum TemporaryFiles {
    private static let capacity = 32
    nonisolated(unsafe) private static let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let t = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        t.initialize(repeating: nil, count: capacity)
        return t
    }()
    nonisolated(unsafe) private static var installed = false

    /// Removes `path` if the process is interrupted (until `forget` is called).
    static func register(_ path: String) {
        installHandlers()
        for i in 0..<capacity where table[i] == nil {
            table[i] = strdup(path)
            return
        }
    }

    /// Stops tracking `path` (after it was renamed into place or removed).
    static func forget(_ path: String) {
        for i in 0..<capacity {
            if let p = table[i], String(cString: p) == path {
                table[i] = nil
                free(p)
            }
        }
    }

    /// Removes `path` and stops tracking it.
    static func remove(_ path: String) {
        unlink(path)
        forget(path)
    }

    private static func installHandlers() {
        guard !installed else { return }
        installed = true
        for s in [SIGINT, SIGTERM, SIGHUP] {
            signal(s) { sig in
                for i in 0..<TemporaryFiles.capacity {
                    if let p = TemporaryFiles.table[i] { unlink(p) }
                }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }
}

/// A file written under a temporary name beside its final path and renamed into place only
/// when complete, so that a failed or interrupted run never leaves a truncated file under
/// the final name.
struct AtomicFile {
    let finalPath: String
    let temporaryPath: String

    /// Creates the (empty) temporary file now, so that an unwritable destination is reported
    /// before any work is done. Errors name `finalPath`.
    init(finalPath: String) throws {
        self.finalPath = finalPath
        let dir = directoryOf(finalPath)
        let base = String(finalPath.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        temporaryPath = joinedPath(dir, ".\(base).partial-\(getpid())")
        var st = stat()
        if stat(finalPath, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            throw CLIFailure("\(finalPath): cannot write the output: it is a directory")
        }
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CLIFailure("\(finalPath): cannot create the output file: \(describeErrno()) (in directory \(dir))")
        }
        close(fd)
        TemporaryFiles.register(temporaryPath)
    }

    /// Moves the finished temporary file to the final path.
    func commit() throws {
        // Data on disk before the name: a crash never leaves a short file under finalPath.
        let fd = open(temporaryPath, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(temporaryPath, finalPath) == 0 else {
            let reason = describeErrno()
            TemporaryFiles.remove(temporaryPath)
            throw CLIFailure("\(finalPath): cannot move the finished output into place: \(reason)")
        }
        TemporaryFiles.forget(temporaryPath)
    }

    /// Removes the temporary file.
    func discard() {
        TemporaryFiles.remove(temporaryPath)
    }
}

/// A scratch file beside `finalPath` (spools that grow with the input stay on the output's
/// file system, not in memory or a small /tmp), removed when closed.
func scratchPath(beside finalPath: String, purpose: String) -> String {
    let base = String(finalPath.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
    return joinedPath(directoryOf(finalPath), ".\(base).\(purpose)-\(getpid())")
}

func describeErrno(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

func directoryOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

func joinedPath(_ dir: String, _ name: String) -> String {
    dir.hasSuffix("/") ? dir + name : dir + "/" + name
}

/// A file opened for writing with a buffer, for outputs written in small pieces.
final class BufferedFile {
    let fd: Int32
    let path: String  // for messages
    private var buffer: [UInt8] = []
    private let capacity: Int
    /// Bytes written so far (including what is still buffered).
    private(set) var offset: UInt64 = 0
    private let ownsDescriptor: Bool

    init(path: String, displayPath: String? = nil, capacity: Int = 1 << 20) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIFailure("\(displayPath ?? path): cannot create: \(describeErrno())") }
        self.fd = fd
        self.path = displayPath ?? path
        self.capacity = capacity
        ownsDescriptor = true
        buffer.reserveCapacity(capacity)
    }

    /// Wraps an open descriptor (stdout), which is not closed.
    init(descriptor: Int32, displayPath: String, capacity: Int = 1 << 20) {
        fd = descriptor
        path = displayPath
        self.capacity = capacity
        ownsDescriptor = false
        buffer.reserveCapacity(capacity)
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        offset += UInt64(bytes.count)
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes.bindMemory(to: UInt8.self))
        }
    }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and syncs to disk.
    func sync() throws {
        try flush()
        guard fsync(fd) == 0 || errno == EINVAL || errno == EROFS else {
            throw CLIFailure("\(path): fsync failed: \(describeErrno())")
        }
    }

    /// Overwrites bytes already written (headers patched after their data).
    func patch(_ bytes: [UInt8], at position: UInt64) throws {
        try flush()
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(position) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw CLIFailure("\(path): write failed: \(describeErrno())") }
            done += n
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw CLIFailure("\(path): write failed: \(describeErrno())") }
            done += n
        }
    }
}

/// Reads a whole file sequentially in chunks, calling `body` with each.
func forEachChunk(ofFile path: String, chunk: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CLIFailure("\(path): cannot open: \(describeErrno())") }
    defer { close(fd) }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    while true {
        let n = read(fd, buffer, chunk)
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw CLIFailure("\(path): read failed: \(describeErrno())") }
        if n == 0 { return }
        try body(UnsafeRawBufferPointer(start: buffer, count: n))
    }
}
