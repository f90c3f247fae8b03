/// The low-level pieces of the HDF5 file format that `HDF5WeightFile` reads, each bounded:
/// a cursor that never reads past its range, and decoders for the superblock, object headers
/// (versions 1 and 2 with their continuation chunks), version 1 B-trees, symbol table nodes,
/// local heaps and the messages that describe groups and datasets. Names and layouts follow
/// the HDF5 File Format Specification (version 3.0). Every decoder reports a malformed
/// structure as a `WireError`; `HDF5WeightFile` adds the file and the object.

/// Reads little-endian integers from a range of the mapped file.
struct HDF5Cursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int
    let offsetSize: Int
    let lengthSize: Int

    /// The value of an undefined address (all bits set, at any offset width).
    static let undefined = UInt64.max

    /// A cursor over [start, end) of `bytes`, which must lie inside it (checked).
    init(_ bytes: UnsafeRawBufferPointer, start: Int, end: Int, offsetSize: Int, lengthSize: Int) throws {
        guard start >= 0, start <= end, end <= bytes.count else {
            throw WireError("structure at byte \(start) runs past the end of the \(bytes.count)-byte file")
        }
        self.bytes = bytes
        position = start
        self.end = end
        self.offsetSize = offsetSize
        self.lengthSize = lengthSize
    }

    var remaining: Int { end - position }

    /// Steps over `count` bytes and returns where they start.
    @discardableResult
    mutating func take(_ count: Int) throws -> Int {
        guard count >= 0, count <= remaining else {
            throw WireError("a \(count)-byte field at byte \(position) runs past the end of its structure (\(remaining) bytes left)")
        }
        defer { position += count }
        return position
    }

    mutating func skip(_ count: Int) throws { try take(count) }

    /// An unsigned little-endian integer of `width` (1...8) bytes.
    mutating func unsigned(_ width: Int) throws -> UInt64 {
        guard (1...8).contains(width) else { throw WireError("integer width \(width)") }
        return littleEndianInteger(bytes, at: try take(width), width: width)
    }

    mutating func u8() throws -> UInt8 { UInt8(try unsigned(1)) }
    mutating func u16() throws -> Int { Int(try unsigned(2)) }
    mutating func u32() throws -> Int { Int(try unsigned(4)) }

    /// A file address (superblock's "size of offsets" bytes); all bits set is `undefined`.
    mutating func address() throws -> UInt64 {
        let v = try unsigned(offsetSize)
        return v == (offsetSize == 8 ? UInt64.max : (1 << (8 * offsetSize)) - 1) ? HDF5Cursor.undefined : v
    }

    /// A length (superblock's "size of lengths" bytes).
    mutating func length() throws -> UInt64 { try unsigned(lengthSize) }

    /// Whether the next bytes are `signature`, without consuming them.
    func startsWith(_ signature: String) -> Bool {
        let s = Array(signature.utf8)
        guard remaining >= s.count else { return false }
        return (0..<s.count).allSatisfy { bytes[position + $0] == s[$0] }
    }

    mutating func expect(_ signature: String, _ what: String) throws {
        guard startsWith(signature) else { throw WireError("\(what) at byte \(position) lacks its '\(signature)' signature") }
        try skip(signature.utf8.count)
    }
}

/// One header message: its type and where its data lies in the file.
struct HDF5Message {
    let type: Int
    let flags: UInt8
    let data: Range<Int>

    static let dataspace = 0x01
    static let linkInfo = 0x02
    static let datatype = 0x03
    static let link = 0x06
    static let externalFiles = 0x07
    static let layout = 0x08
    static let filterPipeline = 0x0B
    static let continuation = 0x10
    static let symbolTable = 0x11

    /// Message flag bit 1: the message is shared (stored elsewhere, e.g. a committed datatype).
    var isShared: Bool { flags & 0x02 != 0 }
}

/// A dataset's element type, restricted to what weights can be: IEEE floats.
enum HDF5FloatType: Equatable {
    case float32(bigEndian: Bool)
    case float64(bigEndian: Bool)

    var size: Int {
        switch self {
        case .float32: return 4
        case .float64: return 8
        }
    }
}

/// Where a dataset's elements are.
enum HDF5Storage: Equatable {
    /// Contiguous bytes at a file position (nil: never written); `size` as stored.
    case contiguous(position: Int?, size: Int?)
    /// Inside the object header (compact layout).
    case compact(Range<Int>)
}

/// Decoders of the structures, given the file's offset and length widths.
enum HDF5Decode {
    /// Bounds on what a well-formed weights file could need, far above any real one; they
    /// keep a malicious file from making the reader loop or allocate without end.
    static let maxMessages = 1 << 16
    static let maxHeaderChunks = 4096
    static let maxBTreeNodes = 1 << 16
    static let maxGroupMembers = 1 << 20
    static let maxNameBytes = 1 << 16
    static let maxRank = 32

    /// Dataspace (0x01): the dimensions. Versions 1 and 2; a null dataspace is an error.
    static func dataspace(_ c: inout HDF5Cursor) throws -> [UInt64] {
        let version = try c.u8()
        guard version == 1 || version == 2 else { throw WireError("dataspace message version \(version) is unknown") }
        let rank = Int(try c.u8())
        let flags = try c.u8()
        if version == 1 {
            try c.skip(5)
        } else {
            let type = try c.u8()
            guard type != 2 else { throw WireError("the dataset has a null dataspace (no elements)") }
            guard type <= 1 else { throw WireError("dataspace type \(type) is unknown") }
        }
        guard rank <= maxRank else { throw WireError("dataspace rank \(rank) exceeds \(maxRank)") }
        var dims: [UInt64] = []
        for _ in 0..<rank { dims.append(try c.length()) }
        if flags & 1 != 0 { for _ in 0..<rank { _ = try c.length() } }  // maximum dimensions
        return dims
    }

    /// Datatype (0x03): only IEEE binary32 / binary64, either byte order.
    static func datatype(_ c: inout HDF5Cursor) throws -> HDF5FloatType {
        let classAndVersion = try c.u8()
        let typeClass = classAndVersion & 0x0F, version = classAndVersion >> 4
        let b0 = try c.u8(), b1 = try c.u8()
        _ = try c.u8()
        let size = try c.u32()
        guard (1...4).contains(version) else { throw WireError("datatype message version \(version) is unknown") }
        guard typeClass == 1 else {
            throw WireError("the elements are not floating-point numbers (HDF5 datatype class \(typeClass))")
        }
        let offset = try c.u16(), precision = try c.u16()
        let exponentLocation = try c.u8(), exponentSize = try c.u8()
        let mantissaLocation = try c.u8(), mantissaSize = try c.u8()
        let bias = try c.u32()
        let bigEndian = b0 & 0x01 != 0
        guard b0 & 0x40 == 0 else { throw WireError("VAX-order floats are not supported") }
        let fields = [size, offset, precision, Int(exponentLocation), Int(exponentSize), Int(mantissaLocation),
                      Int(mantissaSize), bias, Int(b1), Int(b0 >> 4 & 3)]
        if fields == [4, 0, 32, 23, 8, 0, 23, 127, 31, 2] { return .float32(bigEndian: bigEndian) }
        if fields == [8, 0, 64, 52, 11, 0, 52, 1023, 63, 2] { return .float64(bigEndian: bigEndian) }
        throw WireError("the elements are \(size)-byte floats of a non-IEEE layout (precision \(precision), exponent \(exponentSize) bits at \(exponentLocation), mantissa \(mantissaSize) bits)")
    }

    /// Data layout (0x08), versions 1 to 4: contiguous or compact storage. `elements` and
    /// `elementSize` give the size that versions 1 and 2 do not store.
    static func layout(_ c: inout HDF5Cursor, filePosition: (UInt64, Int) throws -> Int, bytes: Int) throws -> HDF5Storage {
        let version = try c.u8()
        switch version {
        case 1, 2:
            let rank = Int(try c.u8())
            let layoutClass = try c.u8()
            try c.skip(5)
            switch layoutClass {
            case 0:
                try c.skip(4 * rank)
                let size = try c.u32()
                let start = try c.take(size)
                return .compact(start..<(start + size))
            case 1:
                let address = try c.address()
                try c.skip(4 * rank)
                return .contiguous(position: address == HDF5Cursor.undefined ? nil : try filePosition(address, bytes), size: nil)
            case 2: throw WireError.unsupportedHDF5("the dataset is chunked (layout message version \(version))")
            default: throw WireError("layout class \(layoutClass) is unknown")
            }
        case 3, 4:
            let layoutClass = try c.u8()
            switch layoutClass {
            case 0:
                let size = try c.u16()
                let start = try c.take(size)
                return .compact(start..<(start + size))
            case 1:
                let address = try c.address()
                let size = try c.length()
                guard size <= UInt64(Int.max / 2) else { throw WireError("contiguous storage size \(size) is impossible") }
                return .contiguous(position: address == HDF5Cursor.undefined ? nil : try filePosition(address, Int(size)),
                                   size: Int(size))
            case 2: throw WireError.unsupportedHDF5("the dataset is chunked (layout message version \(version))")
            case 3: throw WireError.unsupportedHDF5("the dataset is virtual (it maps other datasets)")
            default: throw WireError("layout class \(layoutClass) is unknown")
            }
        default:
            throw WireError("layout message version \(version) is unknown")
        }
    }

    /// Link (0x06): the name and, for a hard link, the object's address (nil for soft and
    /// external links, which a weights path never needs).
    static func link(_ c: inout HDF5Cursor) throws -> (name: [UInt8], address: UInt64?) {
        let version = try c.u8()
        guard version == 1 else { throw WireError("link message version \(version) is unknown") }
        let flags = try c.u8()
        let linkType = flags & 0x08 != 0 ? try c.u8() : 0
        if flags & 0x04 != 0 { try c.skip(8) }  // creation order
        if flags & 0x10 != 0 { try c.skip(1) }  // character set
        let nameLength = try c.unsigned(1 << Int(flags & 0x03))
        guard nameLength >= 1, nameLength <= UInt64(maxNameBytes) else { throw WireError("link name of \(nameLength) bytes") }
        let start = try c.take(Int(nameLength))
        let name = Array(UnsafeRawBufferPointer(rebasing: c.bytes[start..<(start + Int(nameLength))]))
        guard linkType == 0 else { return (name, nil) }
        return (name, try c.address())
    }

    /// Link info (0x02): whether the group keeps its links in a fractal heap ("dense" storage).
    static func usesDenseLinkStorage(_ c: inout HDF5Cursor) throws -> Bool {
        let version = try c.u8()
        guard version == 0 else { throw WireError("link info message version \(version) is unknown") }
        let flags = try c.u8()
        if flags & 0x01 != 0 { try c.skip(8) }
        return try c.address() != HDF5Cursor.undefined
    }
}

extension WireError {
    /// A valid HDF5 feature the weights reader does not implement: names it and says how to
    /// rewrite the file into the form every released ELMo file has (h5repack is in Debian's
    /// hdf5-tools; it writes contiguous, unfiltered datasets in old-style groups).
    static func unsupportedHDF5(_ feature: String) -> WireError {
        WireError("\(feature), which libelmo does not read; rewrite the file without it: h5repack -l CONTI -f NONE in.hdf5 out.hdf5")
    }
}
