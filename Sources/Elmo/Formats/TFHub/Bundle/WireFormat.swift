/// Reads LevelDB and protobuf primitives (little-endian fixed-width integers, base-128
/// varints) from a range of a byte array. Every read is checked against the end of the
/// range, so corrupt input ends in a `WireError`, never outside the array.
struct ByteCursor {
    let bytes: [UInt8]
    private(set) var position: Int
    /// One past the last readable byte.
    let end: Int

    /// A cursor over `range` of `bytes` (clamped to the array).
    init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        let r = range ?? 0..<bytes.count
        end = min(max(r.upperBound, 0), bytes.count)
        position = min(max(r.lowerBound, 0), end)
    }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position >= end }

    mutating func byte() throws -> UInt8 {
        guard position < end else { throw WireError("ends in the middle of a value") }
        defer { position += 1 }
        return bytes[position]
    }

    /// A base-128 varint of at most 10 bytes (protobuf `uint64`/`int64`, LevelDB `varint64`).
    mutating func varint64() throws -> UInt64 {
        var result: UInt64 = 0
        for i in 0..<10 {
            let b = try byte()
            if i == 9 && b > 1 { throw WireError("varint does not fit in 64 bits") }
            result |= UInt64(b & 0x7F) << UInt64(7 * i)
            if b & 0x80 == 0 { return result }
        }
        throw WireError("varint longer than 10 bytes")
    }

    /// LevelDB's `varint32`: at most 5 bytes, value below 2^32.
    mutating func varint32() throws -> UInt32 {
        var result: UInt32 = 0
        for i in 0..<5 {
            let b = try byte()
            if i == 4 && b > 0x0F { throw WireError("varint32 does not fit in 32 bits") }
            result |= UInt32(b & 0x7F) << UInt32(7 * i)
            if b & 0x80 == 0 { return result }
        }
        throw WireError("varint32 longer than 5 bytes")
    }

    mutating func fixed32() throws -> UInt32 {
        guard remaining >= 4 else { throw WireError("ends in the middle of a 4-byte value") }
        let v = UInt32(littleEndianInteger(bytes, at: position, width: 4))
        position += 4
        return v
    }

    mutating func fixed64() throws -> UInt64 {
        guard remaining >= 8 else { throw WireError("ends in the middle of an 8-byte value") }
        let v = littleEndianInteger(bytes, at: position, width: 8)
        position += 8
        return v
    }

    /// The next `count` bytes as a range of `bytes`, stepping over them.
    mutating func take(_ count: Int) throws -> Range<Int> {
        guard count >= 0, count <= remaining else {
            throw WireError("a \(count)-byte field runs past the end (\(remaining) bytes left)")
        }
        defer { position += count }
        return position..<(position + count)
    }
}

/// A protobuf field value as it appears on the wire.
enum ProtoValue {
    case varint(UInt64)
    case fixed64(UInt64)
    case bytes(Range<Int>)
    case fixed32(UInt32)
}

/// Iterates over the fields of one serialized protobuf message (the subset of the wire format
/// TensorFlow's checkpoint protos use: no groups).
struct ProtoReader {
    private(set) var cursor: ByteCursor

    init(_ bytes: [UInt8], range: Range<Int>) {
        cursor = ByteCursor(bytes, range: range)
    }

    /// The next (field number, value), or nil at the end of the message.
    mutating func next() throws -> (field: Int, value: ProtoValue)? {
        if cursor.isAtEnd { return nil }
        let tag = try cursor.varint64()
        let field = tag >> 3
        guard field > 0, field < (1 << 29) else { throw WireError("invalid protobuf field number \(field)") }
        switch tag & 7 {
        case 0: return (Int(field), .varint(try cursor.varint64()))
        case 1: return (Int(field), .fixed64(try cursor.fixed64()))
        case 2:
            let length = try cursor.varint64()
            guard length <= UInt64(cursor.remaining) else {
                throw WireError("protobuf field \(field) claims \(length) bytes but only \(cursor.remaining) remain")
            }
            return (Int(field), .bytes(try cursor.take(Int(length))))
        case 5: return (Int(field), .fixed32(try cursor.fixed32()))
        default: throw WireError("unsupported protobuf wire type \(tag & 7) for field \(field)")
        }
    }
}

extension ProtoValue {
    /// The value of a varint field; a `WireError` naming `field` for any other wire type.
    func varint(_ field: String) throws -> UInt64 {
        guard case .varint(let v) = self else { throw WireError("field \(field) is not a varint") }
        return v
    }

    /// A protobuf int32/int64/enum as a non-negative Int, or a `WireError` naming `field`.
    func nonNegative(_ field: String) throws -> Int {
        let v = Int64(bitPattern: try varint(field))
        guard v >= 0 else { throw WireError("\(field) is negative (\(v))") }
        return Int(v)
    }

    func bytes(_ field: String) throws -> Range<Int> {
        guard case .bytes(let r) = self else { throw WireError("field \(field) is not length-delimited") }
        return r
    }

    func fixed32(_ field: String) throws -> UInt32 {
        guard case .fixed32(let v) = self else { throw WireError("field \(field) is not a fixed32") }
        return v
    }
}
