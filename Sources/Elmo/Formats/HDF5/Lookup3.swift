/// Bob Jenkins' lookup3 `hashlittle` (public domain), the checksum of HDF5's version 2
/// metadata (superblocks 2 and 3, object header chunks "OHDR"/"OCHK"): HDF5 stores
/// hashlittle(bytes, initval 0) after the bytes it covers.
package enum Lookup3 {
    package static func hashLittle(_ bytes: UnsafeRawBufferPointer, initialValue: UInt32 = 0) -> UInt32 {
        @inline(__always) func rot(_ x: UInt32, _ k: UInt32) -> UInt32 { (x << k) | (x >> (32 - k)) }
        var a: UInt32 = 0xDEAD_BEEF &+ UInt32(truncatingIfNeeded: bytes.count) &+ initialValue
        var b = a, c = a
        var i = 0
        var length = bytes.count
        @inline(__always) func word(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        while length > 12 {
            a &+= word(i); b &+= word(i + 4); c &+= word(i + 8)
            a &-= c; a ^= rot(c, 4); c &+= b
            b &-= a; b ^= rot(a, 6); a &+= c
            c &-= b; c ^= rot(b, 8); b &+= a
            a &-= c; a ^= rot(c, 16); c &+= b
            b &-= a; b ^= rot(a, 19); a &+= c
            c &-= b; c ^= rot(b, 4); b &+= a
            length -= 12
            i += 12
        }
        if length == 0 { return c }
        // The last 1...12 bytes, each added at its place in a, b or c.
        for k in 0..<length {
            let v = UInt32(bytes[i + k]) << UInt32(8 * (k % 4))
            switch k / 4 {
            case 0: a &+= v
            case 1: b &+= v
            default: c &+= v
            }
        }
        c ^= b; c &-= rot(b, 14)
        a ^= c; a &-= rot(c, 11)
        b ^= a; b &-= rot(a, 25)
        c ^= b; c &-= rot(b, 16)
        a ^= c; a &-= rot(c, 4)
        b ^= a; b &-= rot(a, 14)
        c ^= b; c &-= rot(b, 24)
        return c
    }
}
