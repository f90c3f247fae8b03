#if canImport(Glibc)
import Glibc
#endif

/// Where one data shard of a tensor bundle (`variables.data-00000-of-00001`) lives: a file
/// on disk, or bytes already in memory (extracted from a module tarball).
protocol BundleDataSource: AnyObject {
    /// Names the shard in error messages.
    var name: String { get }
    /// The shard's actual size, against which every entry's offset and size are checked.
    var byteCount: Int { get }
    /// The shard's bytes when they are in memory, so aligned float tensors can be views of them.
    var storage: MemoryStorage? { get }
    /// Copies bytes [offset, offset + count) to `destination`. The caller has checked the
    /// range against `byteCount`.
    func read(offset: Int, count: Int, into destination: UnsafeMutableRawPointer) throws
}

/// A data shard read from a file with `pread`: nothing is mapped, so a file truncated while
/// it is read gives an error rather than a SIGBUS.
final class FileDataSource: BundleDataSource {
    let name: String
    let byteCount: Int
    var storage: MemoryStorage? { nil }
    private let fd: Int32

    init(path: String) throws {
        _ = try requireRegularFile(path, what: "checkpoint data file")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot open checkpoint data file: \(systemErrorMessage())") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let message = systemErrorMessage()
            close(fd)
            throw ElmoError(.io, "\(path): cannot stat checkpoint data file: \(message)")
        }
        self.fd = fd
        self.name = path
        self.byteCount = Int(st.st_size)
    }

    deinit { close(fd) }

    func read(offset: Int, count: Int, into destination: UnsafeMutableRawPointer) throws {
        let done = try preadFully(fd, into: UnsafeMutableRawBufferPointer(start: destination, count: count), at: offset, path: name)
        guard done == count else {
            throw ElmoError(.invalidModel, "\(name): the file ended at byte \(offset + done) while reading bytes \(offset)..<\(offset + count) (was it truncated while loading?)")
        }
    }
}

/// A data shard held in memory.
final class MemoryDataSource: BundleDataSource {
    let name: String
    let byteCount: Int
    let storage: MemoryStorage?

    init(name: String, storage: MemoryStorage) {
        self.name = name
        self.byteCount = storage.byteCount
        self.storage = storage
    }

    func read(offset: Int, count: Int, into destination: UnsafeMutableRawPointer) throws {
        guard let s = storage, offset >= 0, count >= 0, offset <= s.byteCount - count else {
            throw ElmoError(.invalidModel, "\(name): bytes \(offset)..<\(offset + count) lie outside the \(byteCount)-byte shard")
        }
        destination.copyMemory(from: s.base + offset, byteCount: count)
    }
}
