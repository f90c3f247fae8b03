#if canImport(Glibc)
import Glibc
#endif

/// An ELMo weights file in HDF5 format (the official AllenNLP / bilm-tf release files), read
/// by libelmo's own bounded parser rather than by libhdf5.
///
/// Why not libhdf5: a model file is untrusted input, and libhdf5 1.10 trusts its files. Fed
/// mutated weight files (`make fuzz`, target hdf5; FUZZING.md), it leaks memory on every
/// malformed file, allocates gigabytes because a corrupt header says so, and has a long record
/// of crashes on malformed input (out-of-bounds reads and writes in its header decoders);
/// none of that may happen inside a host process. This reader understands exactly what weight
/// files use, checks every field against the file before using it, bounds every loop, and
/// maps the float data in place (no copy) as the native format does.
///
/// Understood: superblock versions 0-3 (with a user block), object header versions 1 and 2
/// (checksums verified) with continuation chunks, "old-style" groups (symbol table: v1 B-tree,
/// symbol table nodes, local heap) and compact "new-style" groups (link messages), and datasets
/// of IEEE float32 or float64 (either byte order) stored contiguously or compactly. That is
/// every file h5py and libhdf5 write with their default settings, which includes every
/// released ELMo weights file. Refused with an error naming the object and the feature (a
/// file can be rewritten without them, e.g. `h5repack -l CONTI -f NONE in.hdf5 out.hdf5`):
/// chunked or filtered (compressed) datasets, external storage, committed datatypes, groups
/// in "dense" storage (a fractal heap: more than 8 links written with libver='latest').
///
/// Why refuse rather than fall back to libhdf5 for those: a fallback would hand any file that
/// claims one of these features (one flipped byte) to the very parser this one replaces, so
/// the guarantee "a hostile file cannot crash, leak or exhaust memory" would stop holding.
/// No released ELMo file uses them; a user who repacked one gets the command that undoes it.
final class HDF5WeightFile: OfficialTensorSource {
    let path: String
    var sourceName: String { path }

    /// The whole file, mapped read-only; tensors of float32 little-endian datasets are views
    /// into it.
    private let mapping: MemoryStorage
    private let bytes: UnsafeRawBufferPointer
    /// Where the superblock is (the end of the user block): addresses count from here.
    private let base: Int
    private let offsetSize: Int
    private let lengthSize: Int
    private let rootAddress: UInt64
    /// Members (name -> object header address) of the groups read so far, by address.
    private var groups: [UInt64: [String: UInt64]] = [:]

    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    init(path: String) throws {
        let size = try requireRegularFile(path, what: "weight file")
        self.path = path
        guard size >= 48 else { throw ElmoError(.invalidModel, "\(path): not an HDF5 file (\(size) bytes is too short for one)") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot open weight file: \(systemErrorMessage())") }
        defer { close(fd) }
        guard let base = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw ElmoError(.io, "\(path): cannot map weight file: \(systemErrorMessage())")
        }
        mapping = MemoryStorage(adopting: base, byteCount: size) { p, n in _ = munmap(p, n) }
        let bytes = UnsafeRawBufferPointer(start: base, count: size)
        self.bytes = bytes

        // The superblock is at 0 or, after a user block, at 512, 1024, 2048, ...
        var at = 0
        while !(at + 8 <= size && (0..<8).allSatisfy({ bytes[at + $0] == HDF5WeightFile.signature[$0] })) {
            at = at == 0 ? 512 : at * 2
            guard at < size else { throw ElmoError(.invalidModel, "\(path): not an HDF5 file (no HDF5 signature)") }
        }
        self.base = at
        let sb = try HDF5WeightFile.superblock(bytes, at: at, path: path)
        offsetSize = sb.offsetSize
        lengthSize = sb.lengthSize
        rootAddress = sb.root
    }

    // MARK: superblock

    private static func superblock(_ bytes: UnsafeRawBufferPointer, at start: Int, path: String)
        throws -> (offsetSize: Int, lengthSize: Int, root: UInt64) {
        try decoding("\(path): superblock") {
            guard start + 11 <= bytes.count else { throw WireError("truncated") }
            let version = bytes[start + 8]
            switch version {
            case 0, 1:
                let offsetSize = Int(bytes[start + 13]), lengthSize = Int(bytes[start + 14])
                try checkSizes(offsetSize, lengthSize)
                var c = try HDF5Cursor(bytes, start: start + 24 + (version == 1 ? 4 : 0), end: bytes.count,
                                       offsetSize: offsetSize, lengthSize: lengthSize)
                _ = try c.address()  // base address: the superblock's position is used
                _ = try c.address()  // free-space info
                _ = try c.address()  // end of file
                _ = try c.address()  // driver info
                _ = try c.address()  // root symbol table entry: link name offset
                let root = try c.address()
                return (offsetSize, lengthSize, root)
            case 2, 3:
                let offsetSize = Int(bytes[start + 9]), lengthSize = Int(bytes[start + 10])
                try checkSizes(offsetSize, lengthSize)
                var c = try HDF5Cursor(bytes, start: start + 12, end: bytes.count, offsetSize: offsetSize, lengthSize: lengthSize)
                _ = try c.address()  // base address
                _ = try c.address()  // superblock extension
                _ = try c.address()  // end of file
                let root = try c.address()
                let checked = c.position
                let stored = UInt32(try c.unsigned(4))
                let actual = Lookup3.hashLittle(UnsafeRawBufferPointer(rebasing: bytes[start..<checked]))
                guard stored == actual else { throw WireError("checksum mismatch: the superblock is corrupt") }
                return (offsetSize, lengthSize, root)
            default:
                throw WireError("version \(version) is unknown")
            }
        }
    }

    private static func checkSizes(_ offsetSize: Int, _ lengthSize: Int) throws {
        guard [2, 4, 8].contains(offsetSize), [2, 4, 8].contains(lengthSize) else {
            throw WireError("offset size \(offsetSize) / length size \(lengthSize) are not 2, 4 or 8")
        }
    }

    // MARK: addresses and cursors

    /// The file position of `address`, checking that `length` bytes from there lie inside the file.
    private func position(_ address: UInt64, length: Int) throws -> Int {
        guard address != HDF5Cursor.undefined else { throw WireError("an undefined address is used") }
        let (p, overflow) = UInt64(base).addingReportingOverflow(address)
        guard !overflow, length >= 0, p <= UInt64(bytes.count), UInt64(length) <= UInt64(bytes.count) - p else {
            throw WireError("\(length) bytes at address \(address) lie beyond the end of the \(bytes.count)-byte file (truncated?)")
        }
        return Int(p)
    }

    /// A cursor over `length` bytes at `address` (or to the end of the file when nil).
    private func cursor(_ address: UInt64, length: Int? = nil) throws -> HDF5Cursor {
        let start = try position(address, length: length ?? 0)
        return try HDF5Cursor(bytes, start: start, end: length.map { start + $0 } ?? bytes.count,
                              offsetSize: offsetSize, lengthSize: lengthSize)
    }

    private func cursor(_ range: Range<Int>) throws -> HDF5Cursor {
        try HDF5Cursor(bytes, start: range.lowerBound, end: range.upperBound, offsetSize: offsetSize, lengthSize: lengthSize)
    }

    // MARK: object headers

    /// Every message of the object header at `address`, continuation chunks followed.
    func messages(at address: UInt64) throws -> [HDF5Message] {
        var c = try cursor(address)
        return c.startsWith("OHDR") ? try messagesVersion2(&c) : try messagesVersion1(&c)
    }

    private func messagesVersion1(_ c: inout HDF5Cursor) throws -> [HDF5Message] {
        let version = try c.u8()
        guard version == 1 else { throw WireError("object header version \(version) is unknown (or the address is wrong)") }
        try c.skip(3)              // reserved, number of messages
        _ = try c.u32()            // reference count
        let size = try c.u32()
        try c.skip(4)              // alignment padding
        var chunks = [(c.position, size)]
        var seen: Set<Int> = []
        var messages: [HDF5Message] = []
        var index = 0
        while index < chunks.count {
            let (start, size) = chunks[index]
            index += 1
            guard seen.insert(start).inserted, chunks.count <= HDF5Decode.maxHeaderChunks else {
                throw WireError("object header continuation chunks loop or exceed \(HDF5Decode.maxHeaderChunks)")
            }
            guard start <= bytes.count, size <= bytes.count - start else { throw WireError("object header chunk runs past the end of the file") }
            var m = try cursor(start..<(start + size))
            while m.remaining >= 8 {
                let type = try m.u16(), length = try m.u16(), flags = try m.u8()
                try m.skip(3)
                let data = try m.take(length)
                try append(type: type, flags: flags, data: data..<(data + length), to: &messages, chunks: &chunks)
            }
        }
        return messages
    }

    private func messagesVersion2(_ c: inout HDF5Cursor) throws -> [HDF5Message] {
        let start = c.position
        try c.expect("OHDR", "object header")
        let version = try c.u8()
        guard version == 2 else { throw WireError("object header version \(version) is unknown") }
        let flags = try c.u8()
        if flags & 0x20 != 0 { try c.skip(16) }  // times
        if flags & 0x10 != 0 { try c.skip(4) }   // attribute storage phase change
        let size64 = try c.unsigned(1 << Int(flags & 0x03))
        guard size64 <= UInt64(bytes.count) else { throw WireError("object header chunk of \(size64) bytes") }
        let dataStart = c.position
        let dataEnd = dataStart + Int(size64)
        try verifyChecksum(start..<dataEnd, "object header")
        var chunks = [(dataStart, Int(size64))]
        var seen: Set<Int> = []
        var messages: [HDF5Message] = []
        var index = 0
        let headerBytes = flags & 0x04 != 0 ? 6 : 4
        while index < chunks.count {
            let (chunkStart, size) = chunks[index]
            index += 1
            guard seen.insert(chunkStart).inserted, chunks.count <= HDF5Decode.maxHeaderChunks else {
                throw WireError("object header continuation chunks loop or exceed \(HDF5Decode.maxHeaderChunks)")
            }
            var m = try cursor(chunkStart..<(chunkStart + size))
            while m.remaining >= headerBytes {
                let type = Int(try m.u8()), length = try m.u16(), messageFlags = try m.u8()
                if headerBytes == 6 { try m.skip(2) }
                let data = try m.take(length)
                try append(type: type, flags: messageFlags, data: data..<(data + length), to: &messages, chunks: &chunks,
                           version2: true)
            }
        }
        return messages
    }

    /// Adds a message, or for a continuation message the chunk it points to.
    private func append(type: Int, flags: UInt8, data: Range<Int>, to messages: inout [HDF5Message],
                        chunks: inout [(Int, Int)], version2: Bool = false) throws {
        guard messages.count < HDF5Decode.maxMessages else { throw WireError("more than \(HDF5Decode.maxMessages) header messages") }
        guard type == HDF5Message.continuation else {
            if type != 0 { messages.append(HDF5Message(type: type, flags: flags, data: data)) }
            return
        }
        var c = try cursor(data)
        let address = try c.address()
        let length64 = try c.length()
        guard length64 <= UInt64(bytes.count) else { throw WireError("continuation chunk of \(length64) bytes") }
        let length = Int(length64)
        let start = try position(address, length: length)
        if version2 {
            guard length >= 8 else { throw WireError("continuation chunk of \(length) bytes") }
            var k = try cursor(start..<(start + length))
            try k.expect("OCHK", "object header continuation chunk")
            try verifyChecksum(start..<(start + length - 4), "object header continuation chunk")
            chunks.append((start + 4, length - 8))
        } else {
            chunks.append((start, length))
        }
    }

    /// Checks the lookup3 checksum stored in the 4 bytes after `range`.
    private func verifyChecksum(_ range: Range<Int>, _ what: String) throws {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count - 4 else { throw WireError("\(what) runs past the end of the file") }
        var c = try cursor(range.upperBound..<(range.upperBound + 4))
        let stored = UInt32(try c.unsigned(4))
        guard stored == Lookup3.hashLittle(UnsafeRawBufferPointer(rebasing: bytes[range])) else {
            throw WireError("\(what) at byte \(range.lowerBound) fails its checksum: the file is corrupt")
        }
    }

    // MARK: groups

    /// The members of the group whose object header is at `address`: name -> object address.
    func members(ofGroupAt address: UInt64) throws -> [String: UInt64] {
        if let known = groups[address] { return known }
        let messages = try messages(at: address)
        var members: [String: UInt64] = [:]
        if let table = messages.first(where: { $0.type == HDF5Message.symbolTable }) {
            var c = try cursor(table.data)
            let btree = try c.address()
            let heap = try c.address()
            members = try symbolTableMembers(btree: btree, heap: heap)
        } else if messages.contains(where: { $0.type == HDF5Message.linkInfo || $0.type == HDF5Message.link }) {
            for m in messages where m.type == HDF5Message.linkInfo {
                var c = try cursor(m.data)
                if try HDF5Decode.usesDenseLinkStorage(&c) {
                    throw WireError.unsupportedHDF5("the group stores its links in a fractal heap (\"dense\" storage, written with libver='latest')")
                }
            }
            for m in messages where m.type == HDF5Message.link {
                var c = try cursor(m.data)
                let link = try HDF5Decode.link(&c)
                guard let target = link.address else { continue }
                members[String(decoding: link.name, as: UTF8.self)] = target
                guard members.count <= HDF5Decode.maxGroupMembers else { throw WireError("too many links") }
            }
        } else {
            throw WireError("is not a group")
        }
        groups[address] = members
        return members
    }

    /// Members of an "old-style" group: a version 1 B-tree of symbol table nodes whose entries
    /// name their members by offsets into a local heap.
    private func symbolTableMembers(btree: UInt64, heap: UInt64) throws -> [String: UInt64] {
        // The local heap: its data segment holds the NUL-terminated names.
        var h = try cursor(heap)
        try h.expect("HEAP", "local heap")
        let heapVersion = try h.u8()
        guard heapVersion == 0 else { throw WireError("local heap version \(heapVersion) is unknown") }
        try h.skip(3)
        let segmentSize = try h.length()
        _ = try h.length()  // free list
        let segmentAddress = try h.address()
        guard segmentSize <= UInt64(bytes.count) else { throw WireError("local heap of \(segmentSize) bytes") }
        let segmentStart = try position(segmentAddress, length: Int(segmentSize))
        let segment = segmentStart..<(segmentStart + Int(segmentSize))

        var members: [String: UInt64] = [:]
        var pending: [(address: UInt64, level: Int?)] = [(btree, nil)]
        var visited: Set<UInt64> = []
        while let (address, expectedLevel) = pending.popLast() {
            guard visited.insert(address).inserted else { throw WireError("the group's B-tree has a cycle") }
            guard visited.count <= HDF5Decode.maxBTreeNodes else { throw WireError("the group's B-tree has more than \(HDF5Decode.maxBTreeNodes) nodes") }
            var c = try cursor(address)
            try c.expect("TREE", "B-tree node")
            let type = try c.u8(), level = Int(try c.u8()), entries = try c.u16()
            guard type == 0 else { throw WireError("B-tree node of type \(type) in a group") }
            if let expectedLevel, level != expectedLevel { throw WireError("B-tree node at level \(level), expected \(expectedLevel)") }
            _ = try c.address()  // left sibling
            _ = try c.address()  // right sibling
            for _ in 0..<entries {
                _ = try c.length()  // key: heap offset of the largest name to the left
                let child = try c.address()
                if level > 0 {
                    pending.append((child, level - 1))
                } else {
                    try readSymbolNode(child, segment: segment, into: &members)
                }
            }
        }
        return members
    }

    /// A symbol table node ("SNOD"): its entries' names (heap offsets) and object addresses.
    private func readSymbolNode(_ address: UInt64, segment: Range<Int>, into members: inout [String: UInt64]) throws {
        var c = try cursor(address)
        try c.expect("SNOD", "symbol table node")
        let version = try c.u8()
        guard version == 1 else { throw WireError("symbol table node version \(version) is unknown") }
        try c.skip(1)
        let count = try c.u16()
        for _ in 0..<count {
            let nameOffset = try c.length()
            let object = try c.address()
            try c.skip(24)  // cache type, reserved, scratch pad
            guard nameOffset < UInt64(segment.count) else { throw WireError("a name offset \(nameOffset) lies outside the local heap") }
            let start = segment.lowerBound + Int(nameOffset)
            let limit = min(segment.upperBound, start + HDF5Decode.maxNameBytes)
            guard let end = (start..<limit).first(where: { bytes[$0] == 0 }) else {
                throw WireError("a name in the local heap is not NUL-terminated")
            }
            members[String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)] = object
            guard members.count <= HDF5Decode.maxGroupMembers else { throw WireError("too many members") }
        }
    }

    /// The object header address of a slash-separated path from the root group.
    func objectAddress(_ name: String) throws -> UInt64? {
        var address = rootAddress
        var walked = ""
        for part in name.split(separator: "/") {
            let members = try decoding("\(path): group '/\(walked)'") { try self.members(ofGroupAt: address) }
            guard let next = members[String(part)] else { return nil }
            address = next
            walked += walked.isEmpty ? String(part) : "/" + part
        }
        return walked.isEmpty ? nil : address
    }

    // MARK: datasets

    /// What a dataset is: its shape, element type and storage.
    struct Dataset {
        let shape: [Int]
        let type: HDF5FloatType
        let storage: HDF5Storage
    }

    func dataset(_ name: String) throws -> Dataset? {
        guard let address = try objectAddress(name) else { return nil }
        return try decoding("\(path): dataset '\(name)'") { () throws -> Dataset in
            let messages = try self.messages(at: address)
            func one(_ type: Int, _ what: String) throws -> HDF5Message {
                guard let m = messages.first(where: { $0.type == type }) else { throw WireError("has no \(what) message: not a dataset") }
                guard !m.isShared else { throw WireError.unsupportedHDF5("its \(what) is shared (a committed type)") }
                return m
            }
            if messages.contains(where: { $0.type == HDF5Message.filterPipeline }) {
                throw WireError.unsupportedHDF5("is stored through filters (compressed)")
            }
            if messages.contains(where: { $0.type == HDF5Message.externalFiles }) {
                throw WireError.unsupportedHDF5("is stored in external files")
            }
            var space = try cursor(try one(HDF5Message.dataspace, "dataspace").data)
            let dims = try HDF5Decode.dataspace(&space)
            let shape = try dims.map { d -> Int in
                guard d <= UInt64(Int32.max) else { throw WireError("has a dimension of \(d)") }
                return Int(d)
            }
            var typeCursor = try cursor(try one(HDF5Message.datatype, "datatype").data)
            let type = try HDF5Decode.datatype(&typeCursor)
            let count = try checkedElementCount(shape)
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: type.size)
            guard !overflow else { throw WireError("is too large") }
            var layout = try cursor(try one(HDF5Message.layout, "layout").data)
            let storage = try HDF5Decode.layout(&layout, filePosition: { try self.position($0, length: $1) }, bytes: byteCount)
            return Dataset(shape: shape, type: type, storage: storage)
        }
    }

    func tensor(_ name: String, expected: [Int]) throws -> Tensor {
        guard let dataset = try dataset(name) else { throw ElmoError.missingTensor(path, name) }
        guard dataset.shape == expected else {
            throw ElmoError.shapeMismatch(path, name, expected: expected, actual: dataset.shape)
        }
        let count = try checkedElementCount(expected)
        let byteCount = count * dataset.type.size
        let source: Int
        switch dataset.storage {
        case .contiguous(nil, _):
            guard count == 0 else {
                throw ElmoError(.invalidModel, "\(path): dataset '\(name)' has no data (it was created but never written)")
            }
            return try Tensor.allocate(shape: expected).0
        case .contiguous(let position?, let size):
            guard size == nil || size == byteCount else {
                throw ElmoError(.invalidModel, "\(path): dataset '\(name)' stores \(size ?? 0) bytes for \(count) elements of \(dataset.type.size) bytes")
            }
            source = position
        case .compact(let range):
            guard range.count == byteCount else {
                throw ElmoError(.invalidModel, "\(path): dataset '\(name)' stores \(range.count) bytes for \(count) elements of \(dataset.type.size) bytes")
            }
            source = range.lowerBound
        }
        // In place when the bytes already are aligned little-endian float32s; otherwise converted.
        if dataset.type == .float32(bigEndian: false), source % MemoryLayout<Float>.alignment == 0, count > 0 {
            return Tensor(shape: expected, storage: mapping, byteOffset: source)
        }
        let (tensor, out) = try Tensor.allocate(shape: expected)
        let raw = bytes.baseAddress! + source
        for i in 0..<count {
            switch dataset.type {
            case .float32(let bigEndian):
                let bits = raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
                out[i] = Float(bitPattern: bigEndian ? UInt32(bigEndian: bits) : UInt32(littleEndian: bits))
            case .float64(let bigEndian):
                let bits = raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                out[i] = Float(Double(bitPattern: bigEndian ? UInt64(bigEndian: bits) : UInt64(littleEndian: bits)))
            }
        }
        return tensor
    }
}
