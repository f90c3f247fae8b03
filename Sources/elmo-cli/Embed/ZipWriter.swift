/// A zip archive written front to back with constant memory: entries are stored
/// (uncompressed), each entry's size is declared before its data and its CRC-32 is patched
/// into the local header afterwards, and the central directory is spooled to a scratch file
/// and appended at the end. Zip64 records are used where sizes, offsets or the number of
/// entries need them (any archive of more than 65,535 entries). This is the container of
/// numpy's .npz files.
final class ZipWriter {
    private let file: BufferedFile
    private let directoryPath: String
    private let directory: BufferedFile
    private var entries: UInt64 = 0

    private var current: (name: [UInt8], headerOffset: UInt64, size: UInt64, crcOffset: UInt64)?
    private var written: UInt64 = 0
    private var crc = CRC32()

    private static let max32: UInt64 = 0xFFFF_FFFF
    /// DOS date 1980-01-01, time 00:00: a fixed timestamp keeps archives reproducible.
    private static let dosDate: UInt16 = 0x21, dosTime: UInt16 = 0

    /// `path` is written (created or truncated); messages name `displayPath`.
    init(path: String, displayPath: String) throws {
        file = try BufferedFile(path: path, displayPath: displayPath)
        directoryPath = scratchPath(beside: displayPath, purpose: "zipdir")
        TemporaryFiles.register(directoryPath)
        directory = try BufferedFile(path: directoryPath)
    }

    /// Starts an entry of exactly `size` bytes.
    func beginEntry(name: String, size: UInt64) throws {
        precondition(current == nil, "ZipWriter: entry already open")
        let nameBytes = Array(name.utf8)
        let offset = file.offset
        let zip64 = size >= ZipWriter.max32
        var h = [UInt8]()
        le32(&h, 0x0403_4B50)
        le16(&h, zip64 ? 45 : 20)  // version needed
        le16(&h, flags(nameBytes))
        le16(&h, 0)  // stored
        le16(&h, ZipWriter.dosTime)
        le16(&h, ZipWriter.dosDate)
        let crcOffset = offset + UInt64(h.count)
        le32(&h, 0)  // CRC-32, patched by endEntry
        le32(&h, zip64 ? UInt32(ZipWriter.max32) : UInt32(size))
        le32(&h, zip64 ? UInt32(ZipWriter.max32) : UInt32(size))
        le16(&h, UInt16(nameBytes.count))
        le16(&h, zip64 ? 20 : 0)
        h += nameBytes
        if zip64 {
            le16(&h, 0x0001)
            le16(&h, 16)
            le64(&h, size)
            le64(&h, size)
        }
        try file.append(h)
        current = (nameBytes, offset, size, crcOffset)
        written = 0
        crc = CRC32()
    }

    /// Appends data to the open entry.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        crc.update(bytes)
        written += UInt64(bytes.count)
        try file.append(bytes)
    }

    /// Completes the open entry: checks its size, patches its CRC, records it in the
    /// central directory.
    func endEntry() throws {
        guard let e = current else { return }
        current = nil
        guard written == e.size else {
            throw CLIFailure("\(file.path): zip entry \(String(decoding: e.name, as: UTF8.self)) got \(written) bytes, \(e.size) declared")
        }
        var c = [UInt8]()
        le32(&c, crc.value)
        try file.patch(c, at: e.crcOffset)

        let bigSize = e.size >= ZipWriter.max32
        let bigOffset = e.headerOffset >= ZipWriter.max32
        var extra = [UInt8]()
        if bigSize || bigOffset {
            le16(&extra, 0x0001)
            le16(&extra, UInt16((bigSize ? 16 : 0) + (bigOffset ? 8 : 0)))
            if bigSize { le64(&extra, e.size); le64(&extra, e.size) }
            if bigOffset { le64(&extra, e.headerOffset) }
        }
        var d = [UInt8]()
        le32(&d, 0x0201_4B50)
        le16(&d, 3 << 8 | 45)  // made by: Unix, zip 4.5
        le16(&d, bigSize || bigOffset ? 45 : 20)
        le16(&d, flags(e.name))
        le16(&d, 0)
        le16(&d, ZipWriter.dosTime)
        le16(&d, ZipWriter.dosDate)
        le32(&d, crc.value)
        le32(&d, bigSize ? UInt32(ZipWriter.max32) : UInt32(e.size))
        le32(&d, bigSize ? UInt32(ZipWriter.max32) : UInt32(e.size))
        le16(&d, UInt16(e.name.count))
        le16(&d, UInt16(extra.count))
        le16(&d, 0)  // comment
        le16(&d, 0)  // disk
        le16(&d, 0)  // internal attributes
        le32(&d, 0o100644 << 16)  // external attributes: a regular file, rw-r--r--
        le32(&d, bigOffset ? UInt32(ZipWriter.max32) : UInt32(e.headerOffset))
        d += e.name
        d += extra
        try directory.append(d)
        entries += 1
    }

    /// Writes the central directory and the end records, then syncs the archive.
    func finish() throws {
        try endEntry()
        try directory.flush()
        let directoryOffset = file.offset
        try forEachChunk(ofFile: directoryPath) { try file.append($0) }
        let directorySize = file.offset - directoryOffset
        TemporaryFiles.remove(directoryPath)

        let needs64 = entries >= 0xFFFF || directorySize >= ZipWriter.max32 || directoryOffset >= ZipWriter.max32
        var end = [UInt8]()
        if needs64 {
            let record64Offset = file.offset
            le32(&end, 0x0606_4B50)
            le64(&end, 44)  // size of the rest of this record
            le16(&end, 3 << 8 | 45)
            le16(&end, 45)
            le32(&end, 0)
            le32(&end, 0)
            le64(&end, entries)
            le64(&end, entries)
            le64(&end, directorySize)
            le64(&end, directoryOffset)
            le32(&end, 0x0706_4B50)  // locator
            le32(&end, 0)
            le64(&end, record64Offset)
            le32(&end, 1)
        }
        le32(&end, 0x0605_4B50)
        le16(&end, 0)
        le16(&end, 0)
        le16(&end, UInt16(min(entries, 0xFFFF)))
        le16(&end, UInt16(min(entries, 0xFFFF)))
        le32(&end, UInt32(min(directorySize, ZipWriter.max32)))
        le32(&end, UInt32(min(directoryOffset, ZipWriter.max32)))
        le16(&end, 0)
        try file.append(end)
        try file.sync()
    }

    /// Removes the central directory spool (the archive itself is the caller's).
    func abandon() {
        TemporaryFiles.remove(directoryPath)
    }

    private func flags(_ name: [UInt8]) -> UInt16 {
        name.contains { $0 >= 0x80 } ? 0x0800 : 0  // bit 11: the name is UTF-8
    }
}

func le16(_ out: inout [UInt8], _ v: UInt16) {
    out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8))
}

func le32(_ out: inout [UInt8], _ v: UInt32) {
    for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
}

func le64(_ out: inout [UInt8], _ v: UInt64) {
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
}

/// The header of a numpy .npy file (format 1.0), padded as numpy pads it so that the data
/// starts at a multiple of 64 bytes.
func npyHeader(descr: String, shape: [Int]) -> [UInt8] {
    let dims: String
    switch shape.count {
    case 0: dims = "()"
    case 1: dims = "(\(shape[0]),)"
    default: dims = "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
    var dict = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }".utf8)
    let prefix = 10  // magic (6), version (2), header length (2)
    let total = (prefix + dict.count + 1 + 63) / 64 * 64
    dict += [UInt8](repeating: UInt8(ascii: " "), count: total - prefix - dict.count - 1)
    dict.append(UInt8(ascii: "\n"))
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    le16(&out, UInt16(dict.count))
    return out + dict
}
