/// The 64-byte block buffering and length padding that SHA-256 and MD5 share (both are
/// Merkle-Damgard hashes over 512-bit blocks; they differ in the byte order of the length).
struct BlockBuffer {
    private var pending = [UInt8](repeating: 0, count: 64)
    private var pendingCount = 0
    /// Bytes fed so far.
    private(set) var length: UInt64 = 0

    /// Feeds bytes; `compress` is called with each complete 64-byte block.
    mutating func feed(_ data: UnsafeRawBufferPointer, _ compress: (UnsafePointer<UInt8>) -> Void) {
        guard let base = data.baseAddress, data.count > 0 else { return }
        let p = base.assumingMemoryBound(to: UInt8.self)
        var i = 0
        let n = data.count
        length &+= UInt64(n)
        if pendingCount > 0 {
            let take = min(64 - pendingCount, n)
            for j in 0..<take { pending[pendingCount + j] = p[j] }
            pendingCount += take
            i = take
            if pendingCount == 64 {
                pending.withUnsafeBufferPointer { compress($0.baseAddress!) }
                pendingCount = 0
            }
        }
        while n - i >= 64 {
            compress(p + i)
            i += 64
        }
        for j in i..<n { pending[pendingCount + j - i] = p[j] }
        pendingCount += n - i
    }

    /// Feeds the final padding: 0x80, zeros, and the bit length in 8 bytes.
    mutating func finish(bigEndianLength: Bool, _ compress: (UnsafePointer<UInt8>) -> Void) {
        let bits = length &* 8
        var tail: [UInt8] = [0x80]
        while (pendingCount + tail.count) % 64 != 56 { tail.append(0) }
        let order = bigEndianLength ? Array((0..<8).reversed()) : Array(0..<8)
        for i in order { tail.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        tail.withUnsafeBytes { feed($0, compress) }
    }
}

/// SHA-256 (FIPS 180-4), streaming. Hashes model files while they download and verifies
/// cached files before they are used.
struct SHA256 {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    private var buffer = BlockBuffer()

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    mutating func update(_ data: UnsafeRawBufferPointer) {
        buffer.feed(data) { SHA256.compress(&h, $0) }
    }

    /// The digest; the hasher must not be used afterwards.
    mutating func finalize() -> [UInt8] {
        buffer.finish(bigEndianLength: true) { SHA256.compress(&h, $0) }
        var out: [UInt8] = []
        for word in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] {
            out += [UInt8(word >> 24), UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
        }
        return out
    }

    private static func compress(_ h: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
                                 _ block: UnsafePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for t in 0..<16 {
                w[t] = UInt32(block[4 * t]) << 24 | UInt32(block[4 * t + 1]) << 16 | UInt32(block[4 * t + 2]) << 8 | UInt32(block[4 * t + 3])
            }
            for t in 16..<64 {
                let x = w[t - 15], y = w[t - 2]
                let s0 = (x >> 7 | x << 25) ^ (x >> 18 | x << 14) ^ (x >> 3)
                let s1 = (y >> 17 | y << 15) ^ (y >> 19 | y << 13) ^ (y >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = h
            SHA256.k.withUnsafeBufferPointer { k in
                for t in 0..<64 {
                    let S1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ S1 &+ ch &+ k[t] &+ w[t]
                    let S0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = S0 &+ maj
                    hh = g; g = f; f = e; e = d &+ t1
                    d = c; c = b; b = a; a = t1 &+ t2
                }
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
        }
    }
}

/// MD5 (RFC 1321), streaming: only to compare with an S3 ETag, which for a file uploaded in
/// one part is the MD5 of its bytes. Not used for anything security-relevant.
struct MD5 {
    private var s: (UInt32, UInt32, UInt32, UInt32) = (0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476)
    private var buffer = BlockBuffer()

    private static let shifts: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
    /// floor(abs(sin(i + 1)) * 2^32), as RFC 1321 tabulates.
    private static let k: [UInt32] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
    ]

    mutating func update(_ data: UnsafeRawBufferPointer) {
        buffer.feed(data) { MD5.compress(&s, $0) }
    }

    mutating func finalize() -> [UInt8] {
        buffer.finish(bigEndianLength: false) { MD5.compress(&s, $0) }
        var out: [UInt8] = []
        for word in [s.0, s.1, s.2, s.3] {
            for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: word >> (8 * UInt32(i)))) }
        }
        return out
    }

    private static func compress(_ s: inout (UInt32, UInt32, UInt32, UInt32), _ block: UnsafePointer<UInt8>) {
        var m = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                 UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        withUnsafeMutableBytes(of: &m) { raw in
            let w = raw.bindMemory(to: UInt32.self)
            for t in 0..<16 {
                w[t] = UInt32(block[4 * t]) | UInt32(block[4 * t + 1]) << 8 | UInt32(block[4 * t + 2]) << 16 | UInt32(block[4 * t + 3]) << 24
            }
            var (a, b, c, d) = s
            MD5.k.withUnsafeBufferPointer { k in
                MD5.shifts.withUnsafeBufferPointer { r in
                    for i in 0..<64 {
                        var f: UInt32
                        var g: Int
                        switch i {
                        case 0..<16: f = (b & c) | (~b & d); g = i
                        case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) & 15
                        case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) & 15
                        default: f = c ^ (b | ~d); g = (7 * i) & 15
                        }
                        f = f &+ a &+ k[i] &+ w[g]
                        a = d; d = c; c = b
                        b = b &+ (f << r[i] | f >> (32 - r[i]))
                    }
                }
            }
            s = (s.0 &+ a, s.1 &+ b, s.2 &+ c, s.3 &+ d)
        }
    }
}

/// Lower-case hex of bytes.
func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    for b in bytes {
        s.append(digits[Int(b >> 4)])
        s.append(digits[Int(b & 15)])
    }
    return s
}

/// SHA-256 of a whole file, read in chunks.
func sha256(ofFile path: String) throws -> String {
    var hasher = SHA256()
    try forEachChunk(ofFile: path) { hasher.update($0) }
    return hexString(hasher.finalize())
}
