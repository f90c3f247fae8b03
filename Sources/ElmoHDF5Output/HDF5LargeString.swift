import Elmo
#if canImport(Glibc)
import Glibc
#endif

/// Appends variable-length strings of any size (up to the format's 4 GiB - 1) to a closed
/// HDF5 file without holding them in memory: `HDF5OutputFile.writeString(_:contentsOfFile:)`
/// creates the dataset with its one 16-byte element allocated, and at close this streams
/// the string into a global heap collection ("GCOL") after the end of the file, points the
/// element at it and moves the superblock's end-of-file address past it.
///
/// Formats (HDF5 File Format Specification, version 2/3 superblocks and global heaps,
/// 8-byte offsets and lengths, little-endian):
/// - variable-length element: sequence length (4 bytes), collection address (8), object
///   index (4);
/// - collection: "GCOL", version 1, 3 reserved bytes, collection size (8, at least 4096,
///   which libhdf5 reads speculatively), then objects: index (2), reference count (2),
///   reserved (4), size (8), data padded to 8 bytes; the rest is the free-space object
///   (index 0) whose size counts its own header;
/// - superblock v2/v3: end-of-file address at byte 28, Jenkins lookup3 checksum of bytes
///   0..<44 at byte 44; superblock v0: end-of-file address at byte 40, no checksum.
enum HDF5LargeString {
    struct Pending {
        var elementOffset: UInt64
        var sourcePath: String
        var length: Int
    }

    /// Bytes of one variable-length element with 8-byte addresses.
    static let elementSize: UInt64 = 16
    static let collectionHeaderSize = 16
    static let objectHeaderSize = 16
    static let minimumCollectionSize = 4096
    static let copyChunk = 1 << 20

    static func append(_ strings: [Pending], toClosedFile path: String) throws {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot reopen to append strings: \(systemErrorMessage())") }
        defer { close(fd) }
        var superblock = [UInt8](repeating: 0, count: 48)
        try readExactly(fd, &superblock, at: 0, path: path)
        let layout = try SuperblockLayout(superblock, path: path)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ElmoError(.io, "\(path): cannot stat: \(systemErrorMessage())") }
        var end = max(layout.endOfFile(superblock), UInt64(st.st_size))
        for s in strings {
            let address = (end + 7) & ~7
            end = address + UInt64(try writeCollection(fd, at: address, from: s, path: path))
            var element = [UInt8]()
            appendLE(&element, UInt64(s.length), bytes: 4)
            appendLE(&element, address, bytes: 8)
            appendLE(&element, 1, bytes: 4)  // object index 1
            try writeExactly(fd, element, at: s.elementOffset, path: path)
        }
        layout.setEndOfFile(&superblock, end)
        try writeExactly(fd, Array(superblock[0..<layout.byteCount]), at: 0, path: path)
        guard fsync(fd) == 0 else { throw ElmoError(.io, "\(path): fsync failed: \(systemErrorMessage())") }
    }

    /// Writes one collection holding the source file's bytes as object 1; returns its size.
    private static func writeCollection(_ fd: Int32, at address: UInt64, from s: Pending, path: String) throws -> Int {
        let padded = (s.length + 7) & ~7
        let used = collectionHeaderSize + objectHeaderSize + padded
        let size = max(minimumCollectionSize, used + objectHeaderSize)  // room for the free-space object
        var header = [UInt8]()
        header += Array("GCOL".utf8) + [1, 0, 0, 0]
        appendLE(&header, UInt64(size), bytes: 8)
        appendLE(&header, 1, bytes: 2)  // index
        appendLE(&header, 0, bytes: 2)  // reference count: 0, as libhdf5 writes for variable-length data
        appendLE(&header, 0, bytes: 4)
        appendLE(&header, UInt64(s.length), bytes: 8)
        try writeExactly(fd, header, at: address, path: path)

        let src = open(s.sourcePath, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else { throw ElmoError(.io, "\(s.sourcePath): cannot open: \(systemErrorMessage())") }
        defer { close(src) }
        var buffer = [UInt8](repeating: 0, count: copyChunk)
        var copied = 0
        var position = address + UInt64(header.count)
        while copied < s.length {
            let want = min(copyChunk, s.length - copied)
            try readExactly(src, &buffer, count: want, at: UInt64(copied), path: s.sourcePath)
            try writeExactly(fd, Array(buffer[0..<want]), at: position, path: path)
            copied += want
            position += UInt64(want)
        }
        var tail = [UInt8](repeating: 0, count: padded - s.length)
        let free = size - used
        appendLE(&tail, 0, bytes: 2)  // free-space object: index 0
        appendLE(&tail, 0, bytes: 2)
        appendLE(&tail, 0, bytes: 4)
        appendLE(&tail, UInt64(free), bytes: 8)
        tail += [UInt8](repeating: 0, count: free - objectHeaderSize)
        try writeExactly(fd, tail, at: position, path: path)
        return size
    }

    /// Where a superblock keeps the end-of-file address, and how it is checksummed.
    struct SuperblockLayout {
        let version: UInt8
        let endOfFileOffset: Int
        let byteCount: Int  // bytes rewritten when the address changes

        static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

        init(_ sb: [UInt8], path: String) throws {
            guard Array(sb[0..<8]) == SuperblockLayout.signature else {
                throw ElmoError(.io, "\(path): no HDF5 superblock at offset 0")
            }
            version = sb[8]
            switch version {
            case 0:
                // sizes of offsets and lengths at bytes 13 and 14; base address at 24.
                guard sb[13] == 8, sb[14] == 8 else { throw ElmoError(.io, "\(path): unsupported HDF5 address size") }
                guard littleEndianInteger(sb, at: 24, width: 8) == 0 else { throw ElmoError(.io, "\(path): HDF5 file has a user block") }
                endOfFileOffset = 40
                byteCount = 48
            case 2, 3:
                guard sb[9] == 8, sb[10] == 8 else { throw ElmoError(.io, "\(path): unsupported HDF5 address size") }
                guard littleEndianInteger(sb, at: 12, width: 8) == 0 else { throw ElmoError(.io, "\(path): HDF5 file has a user block") }
                // Our checksum must reproduce libhdf5's before we rewrite it.
                guard lookup3(sb[0..<44]) == UInt32(littleEndianInteger(sb, at: 44, width: 4)) else {
                    throw ElmoError(.io, "\(path): HDF5 superblock checksum does not verify")
                }
                endOfFileOffset = 28
                byteCount = 48
            default:
                throw ElmoError(.io, "\(path): HDF5 superblock version \(version) is not supported")
            }
        }

        func endOfFile(_ sb: [UInt8]) -> UInt64 { littleEndianInteger(sb, at: endOfFileOffset, width: 8) }

        func setEndOfFile(_ sb: inout [UInt8], _ value: UInt64) {
            for i in 0..<8 { sb[endOfFileOffset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            if version >= 2 {
                let sum = lookup3(sb[0..<44])
                for i in 0..<4 { sb[44 + i] = UInt8(truncatingIfNeeded: sum >> (8 * UInt32(i))) }
            }
        }
    }

    /// libhdf5's metadata checksum (H5_checksum_lookup3) of `bytes`: see `Lookup3`.
    static func lookup3(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { Lookup3.hashLittle($0) }
    }

    // MARK: little-endian bytes and positioned I/O

    static func appendLE(_ out: inout [UInt8], _ value: UInt64, bytes: Int) {
        for i in 0..<bytes { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    static func readExactly(_ fd: Int32, _ buffer: inout [UInt8], count: Int? = nil, at offset: UInt64, path: String) throws {
        let n = count ?? buffer.count
        let done = try buffer.withUnsafeMutableBytes { try preadFully(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<n]), at: Int(offset), path: path) }
        guard done == n else { throw ElmoError(.io, "\(path): read failed: unexpected end of file") }
    }

    static func writeExactly(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64, path: String) throws {
        var done = 0
        while done < bytes.count {
            let r = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { throw ElmoError(.io, "\(path): write failed: \(systemErrorMessage())") }
            done += r
        }
    }
}
