import CZlib

/// CRC-32 (ISO-HDLC, the zip checksum), streaming. zlib computes it: the library already
/// links zlib (TF Hub archives), so the command does not carry its own tables.
struct CRC32 {
    private(set) var value: UInt32 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // crc32_z takes a size_t length (crc32's is 32 bits) and continues from `value`.
        value = UInt32(truncatingIfNeeded: crc32_z(UInt(value), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }
}
