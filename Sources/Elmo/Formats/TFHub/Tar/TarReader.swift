#if canImport(Glibc)
import Glibc
#endif

/// Walks the members of a tar archive (POSIX ustar, with GNU long names and pax extended
/// headers) as a stream: each member's data is read or skipped before the next header.
///
/// Header fields are never trusted beyond what is there: a checksum guards each header, sizes
/// are parsed strictly and bounded, and member data is only ever held in buffers that grow as
/// bytes actually arrive, so a lying size ends in a "truncated" error, not a huge allocation.
final class TarReader {
    /// One member's header, after any long-name or pax header that applies to it.
    struct Member {
        let name: String
        let size: Int
        let isRegularFile: Bool
    }

    static let blockSize = 512
    /// Largest member size accepted from a header (1 TiB): far above any module, and small
    /// enough that no offset arithmetic can overflow.
    static let maxMemberSize = 1 << 40
    /// Bounds on metadata members, which are read into memory whole.
    static let maxLongNameBytes = 1 << 16
    static let maxPaxBytes = 1 << 20

    private let input: ArchiveInput
    private var archiveOffset = 0
    /// Data bytes of the current member not yet read, then its padding to the block size.
    private var remainingData = 0
    private var remainingPadding = 0
    private var currentName = ""

    init(input: ArchiveInput) {
        self.input = input
    }

    private var path: String { input.path }

    private func truncated(_ what: String) -> ElmoError {
        ElmoError(.invalidModel, "\(path): the archive is truncated (it ends inside \(what))")
    }

    /// The next member, or nil at the end of the archive. Skips whatever is left of the
    /// previous member first.
    func next() throws -> Member? {
        try skipRest()
        var longName: String?
        var paxPath: String?
        var paxSize: Int?
        while true {
            var header = [UInt8](repeating: 0, count: TarReader.blockSize)
            let (complete, got) = try header.withUnsafeMutableBytes {
                try input.readFully(into: $0.baseAddress!, count: TarReader.blockSize)
            }
            if !complete {
                // The end of the data at a header boundary: accept an archive whose end-of-archive
                // blocks are missing, as tar does.
                if got == 0 && longName == nil && paxPath == nil { return nil }
                throw truncated("a member header at offset \(archiveOffset)")
            }
            let headerOffset = archiveOffset
            archiveOffset += TarReader.blockSize
            if header.allSatisfy({ $0 == 0 }) { return nil }
            try verifyChecksum(header, at: headerOffset)

            let type = header[156]
            let headerSize = try parseNumber(header, 124, 12, field: "size", at: headerOffset)
            guard headerSize <= TarReader.maxMemberSize else {
                throw ElmoError(.invalidModel, "\(path): member header at offset \(headerOffset) gives a size of \(headerSize) bytes, beyond the \(TarReader.maxMemberSize)-byte limit")
            }
            var size = headerSize
            switch type {
            case UInt8(ascii: "L"):  // GNU long name: the next member's name is this member's data
                longName = String(decoding: try readMetadata(size, limit: TarReader.maxLongNameBytes, what: "a GNU long name", at: headerOffset).prefix { $0 != 0 }, as: UTF8.self)
                continue
            case UInt8(ascii: "x"):  // pax extended header for the next member
                let records = try parsePax(try readMetadata(size, limit: TarReader.maxPaxBytes, what: "a pax header", at: headerOffset), at: headerOffset)
                if let p = records["path"] { paxPath = p }
                if let s = records["size"] {
                    guard let v = Int(s), v >= 0, v <= TarReader.maxMemberSize else {
                        throw ElmoError(.invalidModel, "\(path): pax header at offset \(headerOffset) gives an invalid size '\(s)'")
                    }
                    paxSize = v
                }
                continue
            case UInt8(ascii: "g"), UInt8(ascii: "K"):  // global pax header, GNU long link name: not needed
                _ = try readMetadata(size, limit: TarReader.maxPaxBytes, what: "a metadata member", at: headerOffset)
                continue
            default:
                break
            }
            // An ordinary member: the names and size of preceding metadata members apply to it.
            let name = longName ?? paxPath ?? headerName(header)
            if let s = paxSize { size = s }
            // Links, directories, devices and fifos carry no data (as Python's tarfile reads them).
            let hasData = !(UInt8(ascii: "1")...UInt8(ascii: "6")).contains(type)
            let regular = type == 0 || type == UInt8(ascii: "0") || type == UInt8(ascii: "7")
            remainingData = hasData ? size : 0
            remainingPadding = hasData ? (TarReader.blockSize - size % TarReader.blockSize) % TarReader.blockSize : 0
            currentName = name
            return Member(name: name, size: remainingData, isRegularFile: regular)
        }
    }

    /// Reads the current member's data into memory: at most `limit` bytes, else an
    /// `.invalidModel` error (one of the load errors the C API documents). The buffer grows
    /// with the data that really arrives, never to a size a header merely claims.
    func readData(limit: Int) throws -> MemoryStorage {
        let size = remainingData
        guard size <= limit else {
            throw ElmoError(.invalidModel, "\(path): member '\(currentName)' is \(size) bytes, more than the \(limit)-byte limit")
        }
        var capacity = max(1, min(size, 1 << 20))
        guard var buffer = malloc(capacity) else {
            throw ElmoError(.outOfMemory, "\(path): cannot allocate \(capacity) bytes for '\(currentName)'")
        }
        var filled = 0
        while filled < size {
            if filled == capacity {
                let newCapacity = min(size, capacity * 2)
                guard let grown = realloc(buffer, newCapacity) else {
                    free(buffer)
                    throw ElmoError(.outOfMemory, "\(path): cannot allocate \(newCapacity) bytes for '\(currentName)'")
                }
                buffer = grown
                capacity = newCapacity
            }
            let n: Int
            do {
                n = try input.read(into: buffer + filled, count: min(capacity, size) - filled)
            } catch {
                free(buffer)
                throw error
            }
            if n == 0 {
                free(buffer)
                throw truncated("member '\(currentName)' (\(filled) of its \(size) bytes are there)")
            }
            filled += n
        }
        archiveOffset += size
        remainingData = 0
        return MemoryStorage(adopting: buffer, byteCount: size) { p, _ in free(p) }
    }

    /// Reads whatever follows the end of the archive, so the compressed stream is checked whole.
    func finish() throws {
        try input.drain()
    }

    /// Reads and discards the rest of the current member and its padding.
    func skipRest() throws {
        let chunk = 1 << 16
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { scratch.deallocate() }
        while remainingData + remainingPadding > 0 {
            let want = min(chunk, remainingData + remainingPadding)
            let n = try input.read(into: scratch, count: want)
            if n == 0 {
                throw truncated(remainingData > 0 ? "member '\(currentName)'" : "the padding after member '\(currentName)'")
            }
            let fromData = min(n, remainingData)
            remainingData -= fromData
            remainingPadding -= n - fromData
            archiveOffset += n
        }
    }

    /// A metadata member's data (long name, pax records), bounded by `limit`.
    private func readMetadata(_ size: Int, limit: Int, what: String, at offset: Int) throws -> [UInt8] {
        guard size <= limit else {
            throw ElmoError(.invalidModel, "\(path): \(what) at offset \(offset) is \(size) bytes, more than the \(limit)-byte limit")
        }
        currentName = what
        remainingData = size
        remainingPadding = (TarReader.blockSize - size % TarReader.blockSize) % TarReader.blockSize
        let storage = try readData(limit: limit)
        let bytes = [UInt8](UnsafeRawBufferPointer(start: storage.base, count: size))
        try skipRest()
        return bytes
    }

    /// The header checksum: the sum of all 512 bytes with the checksum field read as spaces
    /// (unsigned, as POSIX says; some old tars summed signed bytes, also accepted).
    private func verifyChecksum(_ h: [UInt8], at offset: Int) throws {
        let stored = try parseNumber(h, 148, 8, field: "checksum", at: offset)
        var unsigned = 0, signed = 0
        for i in 0..<TarReader.blockSize {
            let b = (148..<156).contains(i) ? UInt8(ascii: " ") : h[i]
            unsigned += Int(b)
            signed += Int(Int8(bitPattern: b))
        }
        guard stored == unsigned || stored == signed else {
            throw ElmoError(.invalidModel, "\(path): bad tar header checksum at offset \(offset): not a tar archive, or corrupt")
        }
    }

    /// A numeric header field: octal digits (surrounded by spaces or NULs), or GNU's base-256
    /// form (high bit of the first byte set) for large values.
    private func parseNumber(_ h: [UInt8], _ start: Int, _ length: Int, field: String, at offset: Int) throws -> Int {
        let bytes = h[start..<(start + length)]
        func bad() -> ElmoError {
            ElmoError(.invalidModel, "\(path): tar header at offset \(offset) has an invalid \(field) field: not a tar archive, or corrupt")
        }
        if let first = bytes.first, first & 0x80 != 0 {
            guard first == 0x80 else { throw bad() }  // negative or beyond 2^(8*11): never a valid size
            var v = 0
            for b in bytes.dropFirst() {
                guard v <= Int.max >> 8 else { throw bad() }
                v = v << 8 | Int(b)
            }
            return v
        }
        var v = 0
        var seenDigit = false, ended = false
        for b in bytes {
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard !ended, v <= Int.max >> 4 else { throw bad() }
                v = v * 8 + Int(b - UInt8(ascii: "0"))
                seenDigit = true
            case UInt8(ascii: " "), 0:
                if seenDigit { ended = true }
            default:
                throw bad()
            }
        }
        return v
    }

    /// name (100 bytes), preceded by the ustar prefix field (155 bytes) in POSIX archives.
    private func headerName(_ h: [UInt8]) -> String {
        func cString(_ range: Range<Int>) -> String {
            String(decoding: h[range].prefix { $0 != 0 }, as: UTF8.self)
        }
        let name = cString(0..<100)
        let posix = Array(h[257..<263]) == Array("ustar\0".utf8)
        let prefix = posix ? cString(345..<500) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// pax records: "<length> <key>=<value>\n", the length counting the whole record.
    private func parsePax(_ data: [UInt8], at offset: Int) throws -> [String: String] {
        var records: [String: String] = [:]
        var i = 0
        func bad() -> ElmoError { ElmoError(.invalidModel, "\(path): malformed pax header at offset \(offset)") }
        while i < data.count {
            if data[i] == 0 { break }  // padding
            var length = 0, j = i
            while j < data.count, data[j] != UInt8(ascii: " ") {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(data[j]), length < data.count else { throw bad() }
                length = length * 10 + Int(data[j] - UInt8(ascii: "0"))
                j += 1
            }
            guard j < data.count, length > j - i + 1, length <= data.count - i, data[i + length - 1] == UInt8(ascii: "\n") else {
                throw bad()
            }
            let record = data[(j + 1)..<(i + length - 1)]
            guard let eq = record.firstIndex(of: UInt8(ascii: "=")) else { throw bad() }
            let key = String(decoding: record[record.startIndex..<eq], as: UTF8.self)
            records[key] = String(decoding: record[(eq + 1)...], as: UTF8.self)
            i += length
        }
        return records
    }
}
