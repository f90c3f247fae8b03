#if canImport(Glibc)
import Glibc
#endif

/// The central directory of a zip archive whose members are stored uncompressed, as
/// `torch.save` writes them (PyTorch's zip container, torch >= 1.6), ZIP64 included. Only
/// the directory is read here; members are read by offset with `pread`. Every offset and
/// size is checked against the file's size, and compressed or encrypted members are refused
/// by name.
struct StoredZipReader {
    struct Member {
        let name: String
        /// Offset of the member's data in the file.
        let dataOffset: Int
        let size: Int
    }

    let path: String
    let fileSize: Int
    private(set) var members: [String: Member] = [:]

    static let maxMembers = 1 << 20

    static func looksLikeZip(_ prefix: [UInt8]) -> Bool {
        prefix.count >= 4 && prefix[0] == 0x50 && prefix[1] == 0x4B && prefix[2] == 0x03 && prefix[3] == 0x04
    }

    init(fd: Int32, path: String, fileSize: Int) throws {
        self.path = path
        self.fileSize = fileSize
        func bad(_ what: String) -> ElmoError { ElmoError(.invalidModel, "\(path): zip archive: \(what)") }
        func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
            guard offset >= 0, count >= 0, offset <= fileSize, count <= fileSize - offset else {
                throw bad("bytes \(offset)..<\(offset &+ count) lie outside the \(fileSize)-byte file")
            }
            var b = [UInt8](repeating: 0, count: count)
            let got = try b.withUnsafeMutableBytes { try preadFully(fd, into: $0, at: offset, path: path) }
            guard got == count else { throw bad("file ends at byte \(offset + got) while reading \(count) bytes at \(offset)") }
            return b
        }
        func le(_ b: [UInt8], _ at: Int, _ w: Int) -> Int { Int(littleEndianInteger(b, at: at, width: w)) }

        // End of central directory: the last "PK\5\6" within the final 64 KiB + 22 bytes.
        let tailCount = min(fileSize, 65_557)
        let tail = try read(fileSize - tailCount, tailCount)
        var eocd: Int? = nil
        var i = tailCount - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard let e = eocd else { throw bad("no end-of-central-directory record (not a zip file, or truncated)") }
        var count = le(tail, e + 10, 2)
        var directorySize = le(tail, e + 12, 4)
        var directoryOffset = le(tail, e + 16, 4)
        // ZIP64: a locator right before the record points at the ZIP64 end record.
        let eocdInFile = fileSize - tailCount + e
        if eocdInFile >= 20 {
            let locator = try read(eocdInFile - 20, 20)
            if le(locator, 0, 4) == 0x0706_4B50 {
                let recordOffset = le(locator, 8, 8)
                let record = try read(recordOffset, 56)
                guard le(record, 0, 4) == 0x0606_4B50 else { throw bad("ZIP64 end record missing at byte \(recordOffset)") }
                count = le(record, 32, 8)
                directorySize = le(record, 40, 8)
                directoryOffset = le(record, 48, 8)
            }
        }
        guard count <= StoredZipReader.maxMembers else { throw bad("\(count) members, more than \(StoredZipReader.maxMembers)") }
        guard directorySize <= 64 << 20 else { throw bad("central directory of \(directorySize) bytes is too large") }
        let dir = try read(directoryOffset, directorySize)
        var p = 0
        for n in 0..<count {
            guard p + 46 <= dir.count, le(dir, p, 4) == 0x0201_4B50 else { throw bad("central directory entry \(n) is malformed") }
            let flags = le(dir, p + 8, 2), method = le(dir, p + 10, 2)
            var size = le(dir, p + 24, 4)
            let uncompressed = le(dir, p + 24, 4)
            var compressed = le(dir, p + 20, 4)
            let nameLength = le(dir, p + 28, 2), extraLength = le(dir, p + 30, 2), commentLength = le(dir, p + 32, 2)
            var localOffset = le(dir, p + 42, 4)
            guard p + 46 + nameLength + extraLength + commentLength <= dir.count else { throw bad("central directory entry \(n) runs past the directory") }
            guard let name = String(validating: dir[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self) else {
                throw bad("member \(n) has a name that is not UTF-8")
            }
            // ZIP64 extra field (id 1): the 0xFFFFFFFF fields in order: size, compressed size, offset.
            var x = p + 46 + nameLength
            let xEnd = x + extraLength
            while x + 4 <= xEnd {
                let id = le(dir, x, 2), len = le(dir, x + 2, 2)
                guard x + 4 + len <= xEnd else { throw bad("member '\(name)' has a malformed extra field") }
                if id == 1 {
                    var q = x + 4
                    func next() throws -> Int {
                        guard q + 8 <= x + 4 + len else { throw bad("member '\(name)' has a short ZIP64 field") }
                        defer { q += 8 }
                        let v = littleEndianInteger(dir, at: q, width: 8)
                        guard v <= UInt64(Int.max) else { throw bad("member '\(name)' has a size beyond any file") }
                        return Int(v)
                    }
                    if uncompressed == 0xFFFF_FFFF { size = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                x += 4 + len
            }
            guard flags & 1 == 0 else { throw bad("member '\(name)' is encrypted") }
            guard method == 0, compressed == size else {
                throw bad("member '\(name)' is compressed (method \(method)); only stored members are read (as torch.save writes them)")
            }
            // The local header repeats the name and has its own extra field (torch pads it to align the data).
            let local = try read(localOffset, 30)
            guard le(local, 0, 4) == 0x0403_4B50 else { throw bad("member '\(name)': no local header at byte \(localOffset)") }
            let dataOffset = localOffset + 30 + le(local, 26, 2) + le(local, 28, 2)
            guard dataOffset <= fileSize, size <= fileSize - dataOffset else {
                throw bad("member '\(name)' (\(size) bytes at \(dataOffset)) runs past the end of the \(fileSize)-byte file")
            }
            members[name] = Member(name: name, dataOffset: dataOffset, size: size)
            p += 46 + nameLength + extraLength + commentLength
        }
    }
}
