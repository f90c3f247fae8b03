/// `bytes[offset..<offset + width]` (an array or a raw buffer) as an unsigned little-endian
/// integer, `width` 1 to 8. The one byte-order reader of the formats libelmo parses (native
/// header length, HDF5, LevelDB tables, protobuf fixed fields); callers check the bounds first.
package func littleEndianInteger<Bytes: RandomAccessCollection>(_ bytes: Bytes, at offset: Int, width: Int) -> UInt64
where Bytes.Element == UInt8, Bytes.Index == Int {
    var v: UInt64 = 0
    for i in (0..<width).reversed() { v = v << 8 | UInt64(bytes[offset + i]) }
    return v
}
