#if canImport(Glibc)
import Glibc
#endif

/// What a path names, as far as model loading cares.
package enum PathKind {
    case missing
    case regularFile(size: Int)
    case directory
    case other  // device, socket, fifo: never read (a model path of /dev/zero must not hang or eat memory)
}

package func pathKind(_ path: String) -> PathKind {
    var st = stat()
    guard stat(path, &st) == 0 else { return .missing }
    switch st.st_mode & S_IFMT {
    case S_IFREG: return .regularFile(size: Int(st.st_size))
    case S_IFDIR: return .directory
    default: return .other
    }
}

package func systemErrorMessage(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// Checks that `path` is a readable regular file and returns its size.
package func requireRegularFile(_ path: String, what: String) throws -> Int {
    switch pathKind(path) {
    case .missing:
        throw ElmoError(.io, "\(path): \(what) not found")
    case .directory:
        throw ElmoError(.io, "\(path): \(what) is a directory, not a file")
    case .other:
        throw ElmoError(.io, "\(path): \(what) is not a regular file")
    case .regularFile(let size):
        guard access(path, R_OK) == 0 else {
            throw ElmoError(.io, "\(path): cannot read \(what): \(systemErrorMessage())")
        }
        return size
    }
}

/// Reads a whole regular file of at most `limit` bytes.
func readSmallFile(_ path: String, limit: Int, what: String = "file") throws -> [UInt8] {
    let size = try requireRegularFile(path, what: what)
    guard size <= limit else {
        throw ElmoError(.invalidModel, "\(path): \(what) is \(size) bytes, larger than the \(limit)-byte limit")
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot open \(what): \(systemErrorMessage())") }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: size)
    var done = 0
    while done < size {
        let n = bytes.withUnsafeMutableBytes { buf in
            read(fd, buf.baseAddress! + done, size - done)
        }
        if n < 0 {
            if errno == EINTR { continue }
            throw ElmoError(.io, "\(path): read failed: \(systemErrorMessage())")
        }
        if n == 0 { break }
        done += n
    }
    return Array(bytes[0..<done])
}

/// The first `count` bytes of a file (fewer if it is shorter).
func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot open: \(systemErrorMessage())") }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: count)
    var done = 0
    while done < count {
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, count - done) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ElmoError(.io, "\(path): read failed: \(systemErrorMessage())")
        }
        if n == 0 { break }
        done += n
    }
    return Array(bytes[0..<done])
}

/// Fills `buffer` from file offset `offset` with `pread`, retrying short reads and EINTR, and
/// returns how many bytes it read: fewer than `buffer.count` only when the file ends first
/// (each caller words that error for what it was reading). A failed read throws `.io`.
package func preadFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws -> Int {
    var done = 0
    while done < buffer.count {
        let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
        if n < 0 {
            if errno == EINTR { continue }
            throw ElmoError(.io, "\(path): read failed: \(systemErrorMessage())")
        }
        if n == 0 { break }
        done += n
    }
    return done
}

/// Joins path components with exactly one slash between them.
package func joinPath(_ dir: String, _ name: String) -> String {
    if dir.isEmpty { return name }
    return dir.hasSuffix("/") ? dir + name : dir + "/" + name
}

/// The directory part of a path ("." when there is none).
package func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

/// Writes text to a file, replacing it.
package func writeText(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot create file: \(systemErrorMessage())") }
    defer { close(fd) }
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ElmoError(.io, "\(path): write failed: \(systemErrorMessage())")
        }
        done += n
    }
}
