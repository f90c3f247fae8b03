import Elmo
#if canImport(Glibc)
import Glibc
#endif

/// Writes the HDF5 files `elmo embed` produces (allennlp's layout: one float32 dataset per
/// input line, and `sentence_to_index`, a variable-length string) without libhdf5, so that the
/// command needs only the C runtime. Memory stays flat however many datasets the file gets.
///
/// The file is what h5py writes by default (libver "earliest", readable by every libhdf5
/// since 1.6): a version 0 superblock, version 1 object headers, and groups stored as a
/// symbol table (a local heap of names, symbol table nodes, a version 1 B-tree over them).
/// Data and object headers are written as datasets come; the groups' tables, which must be
/// sorted by name, are written at `close()`. Datasets named "0", "1", "2", ... in that order
/// (the default keys) cost 8 bytes each in an unlinked scratch file, not memory, because
/// their sorted order can be generated (`DecimalNames`); other names (sentence keys) are
/// kept in memory, as allennlp keeps them. A name with '/' creates the groups on its path,
/// as libhdf5's intermediate-group option does.
///
/// Formats: HDF5 File Format Specification 3.0 (superblock v0, object header v1, dataspace v1,
/// datatype v1, fill value v2, data layout v3, symbol table message, local heap, symbol table
/// node, B-tree v1 node type 0). `HDF5LargeString` writes the variable-length strings.
public final class HDF5OutputFile {
    public let path: String
    private let fd: Int32
    /// The next free address (everything before it is written or reserved).
    private var end: UInt64 = HDF5OutputFile.superblockSize
    /// Object header addresses of the datasets "0" ..< "numberedCount", 8 bytes each.
    private let numbered: AddressSpool
    private var numberedCount = 0
    /// Every other member of the root group, and the groups below it.
    private let root = Group()
    private var pendingStrings: [HDF5LargeString.Pending] = []
    private var closed = false

    /// Symbol table node capacity (2K entries) and B-tree fan-out (2K children): libhdf5's
    /// defaults are 4 and 16; larger nodes make a smaller tree for many datasets.
    static let leafK = 32
    static let internalK = 32
    static let superblockSize: UInt64 = 96
    static let undefined = UInt64.max
    static let entrySize = 40
    static var symbolNodeSize: Int { 8 + 2 * leafK * entrySize }
    static var treeNodeSize: Int { 24 + 2 * internalK * 8 + (2 * internalK + 1) * 8 }

    /// Creates (or truncates) the file at `path`.
    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot create HDF5 file: \(systemErrorMessage())") }
        do {
            numbered = try AddressSpool(beside: path)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    deinit {
        if !closed { Glibc.close(fd) }
    }

    /// Whether a dataset or group exists at `name` (a slash-separated path).
    public func contains(_ name: String) -> Bool {
        let parts = HDF5OutputFile.components(name)
        if parts.count == 1, let k = DecimalNames.value(parts[0]), k < numberedCount { return true }
        return root.member(at: parts[...]) != nil
    }

    /// Writes a float32 dataset (little-endian, contiguous) of `shape` holding `values`.
    public func write(_ name: String, shape: [Int], values: UnsafeBufferPointer<Float>) throws {
        guard values.count == shape.reduce(1, *) else {
            throw ElmoError(.invalidArgument, "\(values.count) values do not fill shape \(formatShape(shape)) for '\(name)'")
        }
        let parts = try checkedComponents(name)
        let byteCount = UInt64(values.count) * 4
        let dataAddress = byteCount == 0 ? HDF5OutputFile.undefined : try allocate(byteCount)
        if byteCount > 0 {
            try HDF5LargeString.writeExactly(fd, UnsafeRawBufferPointer(values), at: dataAddress, path: path)
        }
        let header = ObjectHeader.dataset(shape: shape.map(UInt64.init), type: ObjectHeader.float32LE,
                                          dataAddress: dataAddress, dataSize: byteCount)
        try link(parts, to: try writeObject(header))
    }

    public func write(_ name: String, shape: [Int], values: [Float]) throws {
        try values.withUnsafeBufferPointer { try write(name, shape: shape, values: $0) }
    }

    /// Creates `name` as a shape-(1,) variable-length UTF-8 string dataset (h5py's
    /// `create_dataset(name, (1,), dtype=h5py.string_dtype())`) whose element is the contents
    /// of the file at `sourcePath` (at most 4 GiB - 1 bytes), streamed into the file at
    /// `close()`; the source must stay unchanged until then.
    public func writeString(_ name: String, contentsOfFile sourcePath: String) throws {
        let length = try requireRegularFile(sourcePath, what: "string source")
        guard length <= Int(UInt32.max) else {
            throw ElmoError(.limitExceeded, "\(sourcePath): \(length) bytes is more than one HDF5 string can hold (4 GiB - 1)")
        }
        let parts = try checkedComponents(name)
        let element = try allocate(HDF5LargeString.elementSize)
        try HDF5LargeString.writeExactly(fd, [UInt8](repeating: 0, count: Int(HDF5LargeString.elementSize)), at: element, path: path)
        let header = ObjectHeader.dataset(shape: [1], type: ObjectHeader.variableLengthUTF8, dataAddress: element,
                                          dataSize: HDF5LargeString.elementSize)
        try link(parts, to: try writeObject(header))
        pendingStrings.append(.init(elementOffset: element, sourcePath: sourcePath, length: length))
    }

    /// Writes the groups' tables and the superblock, closes the file, then appends the strings
    /// given to `writeString(_:contentsOfFile:)`. Further writes fail.
    public func close() throws {
        guard !closed else { return }
        closed = true
        defer { Glibc.close(fd) }
        let rootHeader = try writeGroup(root, numberedCount: numberedCount)
        numbered.discard()
        try HDF5LargeString.writeExactly(fd, superblock(root: rootHeader), at: 0, path: path)
        guard fsync(fd) == 0 else { throw ElmoError(.io, "\(path): fsync failed: \(systemErrorMessage())") }
        if !pendingStrings.isEmpty {
            try HDF5LargeString.append(pendingStrings, toClosedFile: path)
        }
    }

    // MARK: members

    /// A group's members other than the numbered datasets: name -> dataset header or group.
    final class Group {
        enum Member {
            case object(UInt64)
            case group(Group)
        }
        var members: [String: Member] = [:]
        /// Object header address and table addresses, once written.
        var written: (header: UInt64, tree: UInt64, heap: UInt64)?

        func member(at parts: ArraySlice<String>) -> Member? {
            guard let first = parts.first, let m = members[first] else { return nil }
            if parts.count == 1 { return m }
            if case .group(let g) = m { return g.member(at: parts.dropFirst()) }
            return nil
        }
    }

    /// The components of a slash-separated name, as libhdf5 reads them ("a//b" is "a/b",
    /// "." is the group itself).
    static func components(_ name: String) -> [String] {
        name.split(separator: "/", omittingEmptySubsequences: true).map(String.init).filter { $0 != "." }
    }

    private func checkedComponents(_ name: String) throws -> [String] {
        guard !closed else { throw ElmoError(.io, "\(path): file is closed") }
        let parts = HDF5OutputFile.components(name)
        guard !parts.isEmpty, !name.utf8.contains(0) else {
            throw ElmoError(.invalidArgument, "\(path): '\(name)' cannot be an HDF5 dataset name")
        }
        guard !contains(name) else { throw ElmoError(.invalidArgument, "\(path): '\(name)' already exists") }
        return parts
    }

    private func link(_ parts: [String], to header: UInt64) throws {
        if parts.count == 1, DecimalNames.value(parts[0]) == numberedCount, root.members[parts[0]] == nil {
            try numbered.append(header)
            numberedCount += 1
            return
        }
        var group = root
        for part in parts.dropLast() {
            switch group.members[part] {
            case nil:
                if group === root, let k = DecimalNames.value(part), k < numberedCount {
                    throw ElmoError(.invalidArgument, "\(path): '\(part)' is a dataset, not a group")
                }
                let g = Group()
                group.members[part] = .group(g)
                group = g
            case .group(let g):
                group = g
            case .object:
                throw ElmoError(.invalidArgument, "\(path): '\(part)' is a dataset, not a group")
            }
        }
        group.members[parts[parts.count - 1]] = .object(header)
    }

    // MARK: writing

    /// Reserves `size` bytes at the next 8-byte aligned address.
    private func allocate(_ size: UInt64) throws -> UInt64 {
        let address = (end + 7) & ~7
        end = address + size
        return address
    }

    private func writeObject(_ header: ObjectHeader) throws -> UInt64 {
        let bytes = header.encoded()
        let address = try allocate(UInt64(bytes.count))
        try HDF5LargeString.writeExactly(fd, bytes, at: address, path: path)
        return address
    }

    /// Writes a group's symbol table (local heap of names, symbol table nodes, B-tree) and
    /// object header, its subgroups first; returns the object header's address.
    private func writeGroup(_ group: Group, numberedCount: Int) throws -> UInt64 {
        var named: [(name: [UInt8], address: UInt64)] = []
        named.reserveCapacity(group.members.count)
        for (name, member) in group.members {
            switch member {
            case .object(let address): named.append((Array(name.utf8), address))
            case .group(let g): named.append((Array(name.utf8), try writeGroup(g, numberedCount: 0)))
            }
        }
        named.sort { $0.name.lexicographicallyPrecedes($1.name) }
        let count = named.count + numberedCount
        let perNode = 2 * HDF5OutputFile.leafK
        let nodeCount = (count + perNode - 1) / perNode

        // Local heap header, the symbol table nodes, then the heap's names (streamed).
        let heap = try allocate(32)
        let nodesStart = try allocate(UInt64(nodeCount * HDF5OutputFile.symbolNodeSize))
        let names = PositionedWriter(fd: fd, path: path, at: (end + 7) & ~7)
        try names.append([UInt8](repeating: 0, count: 8))  // offset 0: the empty name
        var node = SymbolNode()
        var leaves: [(address: UInt64, lastKey: UInt64)] = []
        var numberedNames = DecimalNames(count: numberedCount)
        var nextNumbered = numberedNames.next()
        var nextNamed = 0
        for _ in 0..<count {
            let name: [UInt8], address: UInt64
            if let n = nextNumbered, nextNamed == named.count || n.lexicographicallyPrecedes(named[nextNamed].name) {
                name = n
                address = try numbered.address(Int(DecimalNames.value(n)!))
                nextNumbered = numberedNames.next()
            } else {
                (name, address) = named[nextNamed]
                nextNamed += 1
            }
            let offset = names.offset
            try names.append(name + [UInt8](repeating: 0, count: 8 - name.count % 8))  // NUL-terminated, padded to 8
            node.add(nameOffset: offset, header: address)
            if node.count == perNode || leaves.count * perNode + node.count == count {
                let at = nodesStart + UInt64(leaves.count * HDF5OutputFile.symbolNodeSize)
                try HDF5LargeString.writeExactly(fd, node.encoded(), at: at, path: path)
                leaves.append((at, offset))
                node = SymbolNode()
            }
        }
        try names.flush()
        let namesStart = names.start
        end = names.position
        var heapHeader = Array("HEAP".utf8) + [0, 0, 0, 0]
        HDF5LargeString.appendLE(&heapHeader, names.offset, bytes: 8)  // data segment size
        HDF5LargeString.appendLE(&heapHeader, 1, bytes: 8)  // free list: none (libhdf5's H5HL_FREE_NULL)
        HDF5LargeString.appendLE(&heapHeader, namesStart, bytes: 8)
        try HDF5LargeString.writeExactly(fd, heapHeader, at: heap, path: path)

        let tree = try writeTree(leaves)
        let header = try writeObject(ObjectHeader(messages: [.init(type: 0x11, flags: 0, body: le(tree, 8) + le(heap, 8))]))
        group.written = (header, tree, heap)
        return header
    }

    /// Writes the B-tree over the symbol table nodes, level by level; returns the root's address.
    private func writeTree(_ leaves: [(address: UInt64, lastKey: UInt64)]) throws -> UInt64 {
        var children = leaves
        var level = 0
        let fanOut = 2 * HDF5OutputFile.internalK
        while true {
            let nodes = max(1, (children.count + fanOut - 1) / fanOut)
            let first = try allocate(UInt64(nodes * HDF5OutputFile.treeNodeSize))
            var parents: [(address: UInt64, lastKey: UInt64)] = []
            var leftKey: UInt64 = 0  // the empty name: below every name
            for n in 0..<nodes {
                let slice = children[min(children.count, n * fanOut)..<min(children.count, (n + 1) * fanOut)]
                let address = first + UInt64(n * HDF5OutputFile.treeNodeSize)
                var bytes = Array("TREE".utf8) + [0, UInt8(level)] + le(UInt64(slice.count), 2)
                bytes += le(n == 0 ? HDF5OutputFile.undefined : address - UInt64(HDF5OutputFile.treeNodeSize), 8)
                bytes += le(n == nodes - 1 ? HDF5OutputFile.undefined : address + UInt64(HDF5OutputFile.treeNodeSize), 8)
                bytes += le(leftKey, 8)
                for child in slice {
                    bytes += le(child.address, 8) + le(child.lastKey, 8)
                }
                bytes += [UInt8](repeating: 0, count: HDF5OutputFile.treeNodeSize - bytes.count)
                try HDF5LargeString.writeExactly(fd, bytes, at: address, path: path)
                leftKey = slice.last?.lastKey ?? leftKey
                parents.append((address, leftKey))
            }
            if nodes == 1 { return first }
            children = parents
            level += 1
        }
    }

    private func superblock(root header: UInt64) -> [UInt8] {
        guard let written = root.written else { return [] }
        var sb: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        sb += [0, 0, 0, 0, 0, 8, 8, 0]  // versions: superblock, free space, root symbol table, shared headers; sizes
        sb += le(UInt64(HDF5OutputFile.leafK), 2) + le(UInt64(HDF5OutputFile.internalK), 2) + le(0, 4)
        sb += le(0, 8) + le(HDF5OutputFile.undefined, 8) + le(end, 8) + le(HDF5OutputFile.undefined, 8)
        // The root group's symbol table entry, with its tables cached in the scratch pad.
        sb += le(0, 8) + le(header, 8) + le(1, 4) + le(0, 4) + le(written.tree, 8) + le(written.heap, 8)
        return sb
    }
}

extension HDF5LargeString {
    static func writeExactly(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws {
        var done = 0
        while done < bytes.count {
            let r = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { throw ElmoError(.io, "\(path): write failed: \(systemErrorMessage())") }
            done += r
        }
    }
}

/// Little-endian bytes of `value`.
func le(_ value: UInt64, _ bytes: Int) -> [UInt8] {
    var out: [UInt8] = []
    HDF5LargeString.appendLE(&out, value, bytes: bytes)
    return out
}

/// A version 1 object header.
struct ObjectHeader {
    struct Message {
        var type: UInt16
        /// Bit 0: constant (libhdf5 marks datatypes and fill values so).
        var flags: UInt8
        var body: [UInt8]
    }
    var messages: [Message]

    func encoded() -> [UInt8] {
        var body: [UInt8] = []
        for m in messages {
            let padded = m.body + [UInt8](repeating: 0, count: (8 - m.body.count % 8) % 8)
            body += le(UInt64(m.type), 2) + le(UInt64(padded.count), 2) + [m.flags, 0, 0, 0] + padded
        }
        // version 1, reserved, message count, reference count, header size, then 4 bytes of
        // padding so that messages start 8-byte aligned.
        return [1, 0] + le(UInt64(messages.count), 2) + le(1, 4) + le(UInt64(body.count), 4) + [0, 0, 0, 0] + body
    }

    /// IEEE float32, little-endian (H5T_IEEE_F32LE).
    static let float32LE: [UInt8] = [0x11, 0x20, 0x1F, 0x00] + le(4, 4) + le(0, 2) + le(32, 2) + [23, 8, 0, 23] + le(127, 4)
    /// Variable-length UTF-8 string, NUL-terminated, of unsigned bytes (what h5py.string_dtype() is).
    static let variableLengthUTF8: [UInt8] = [0x19, 0x01, 0x01, 0x00] + le(16, 4) + [0x10, 0x00, 0x00, 0x00] + le(1, 4) + le(0, 2) + le(8, 2)

    /// A dataset: simple dataspace, datatype, fill value (none), contiguous layout.
    static func dataset(shape: [UInt64], type: [UInt8], dataAddress: UInt64, dataSize: UInt64) -> ObjectHeader {
        var space: [UInt8] = [1, UInt8(shape.count), 0, 0, 0, 0, 0, 0]
        for d in shape { space += le(d, 8) }
        return ObjectHeader(messages: [
            Message(type: 0x01, flags: 0, body: space),
            Message(type: 0x03, flags: 1, body: type),
            Message(type: 0x05, flags: 1, body: [2, 2, 2, 0]),  // v2: allocation late, write if set, undefined
            Message(type: 0x08, flags: 0, body: [3, 1] + le(dataAddress, 8) + le(dataSize, 8)),
        ])
    }
}

/// A symbol table node ("SNOD") being filled.
struct SymbolNode {
    private var entries: [UInt8] = []
    private(set) var count = 0

    mutating func add(nameOffset: UInt64, header: UInt64) {
        entries += le(nameOffset, 8) + le(header, 8) + [UInt8](repeating: 0, count: 24)  // cache type 0: nothing cached
        count += 1
    }

    func encoded() -> [UInt8] {
        var bytes = Array("SNOD".utf8) + [1, 0] + le(UInt64(count), 2) + entries
        bytes += [UInt8](repeating: 0, count: HDF5OutputFile.symbolNodeSize - bytes.count)
        return bytes
    }
}

/// "0", "1", ..., String(count - 1) in byte order (strcmp's: "0", "1", "10", "100", "11", ...,
/// "2", ...), generated without storing them: a depth-first walk of the decimal digit tree.
struct DecimalNames: IteratorProtocol {
    let count: Int
    private var emitted = 0
    private var current = 0

    init(count: Int) {
        self.count = count
    }

    mutating func next() -> [UInt8]? {
        guard emitted < count else { return nil }
        defer { emitted += 1 }
        let last = count - 1
        if emitted == 0 { return Array("0".utf8) }  // "0" sorts first and has no children (no leading zeros)
        if emitted == 1 {
            current = 1
        } else if current <= last / 10 {
            current *= 10  // down to the first child
        } else {
            if current >= last { current /= 10 }  // the last number: back up
            current += 1  // the next sibling, up while a digit rolled over
            while current % 10 == 0 { current /= 10 }
        }
        return Array(String(current).utf8)
    }

    /// The number a canonical decimal name stands for ("7", not "07" or "+7"), else nil.
    static func value<S: StringProtocol>(_ name: S) -> Int? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              bytes.count == 1 || bytes[0] != 0x30 else { return nil }
        return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    static func value(_ bytes: [UInt8]) -> Int? { value(String(decoding: bytes, as: UTF8.self)) }
}

/// Addresses kept in an unlinked scratch file (8 bytes each, appended, read back by index).
final class AddressSpool {
    private let fd: Int32
    private let writer: PositionedWriter
    private let path: String

    init(beside output: String) throws {
        path = output + ".addresses"
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ElmoError(.io, "\(path): cannot create: \(systemErrorMessage())") }
        unlink(path)  // gone with the process, whatever happens to it
        writer = PositionedWriter(fd: fd, path: path, at: 0)
    }

    deinit { Glibc.close(fd) }

    func append(_ address: UInt64) throws { try writer.append(le(address, 8)) }

    func address(_ index: Int) throws -> UInt64 {
        try writer.flush()
        var bytes = [UInt8](repeating: 0, count: 8)
        try HDF5LargeString.readExactly(fd, &bytes, at: UInt64(index * 8), path: path)
        return littleEndianInteger(bytes, at: 0, width: 8)
    }

    func discard() { _ = ftruncate(fd, 0) }
}

/// Sequential writes from a start address through a 1 MiB buffer.
final class PositionedWriter {
    let fd: Int32
    let path: String
    let start: UInt64
    private var buffer: [UInt8] = []
    private var flushed: UInt64 = 0
    private static let capacity = 1 << 20

    init(fd: Int32, path: String, at start: UInt64) {
        self.fd = fd
        self.path = path
        self.start = start
        buffer.reserveCapacity(PositionedWriter.capacity)
    }

    /// Bytes appended so far.
    var offset: UInt64 { flushed + UInt64(buffer.count) }
    /// The address after the last byte appended.
    var position: UInt64 { start + offset }

    func append(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= PositionedWriter.capacity { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try HDF5LargeString.writeExactly(fd, buffer, at: start + flushed, path: path)
        flushed += UInt64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}
