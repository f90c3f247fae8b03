/// Strict UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above
/// U+10FFFF). Returns the byte offset of the first invalid sequence, or nil when valid.
func firstInvalidUTF8Offset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    var i = 0
    while i < bytes.count {
        guard let length = validUTF8SequenceLength(bytes, at: i) else { return i }
        i += length
    }
    return nil
}

/// The length of the valid UTF-8 sequence starting at `i` (1 to 4 bytes), or nil when the
/// bytes from `i` are not one (strict RFC 3629, as `firstInvalidUTF8Offset`). Walking a text
/// sequence by sequence with it validates the text in the same pass that reads it.
@inline(__always)
func validUTF8SequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
    let b0 = bytes[i]
    if b0 < 0x80 { return 1 }
    let length: Int
    var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
    switch b0 {
    case 0xC2...0xDF: length = 2
    case 0xE0: length = 3; lower = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED: length = 3; upper = 0x9F
    case 0xF0: length = 4; lower = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4: length = 4; upper = 0x8F
    default: return nil
    }
    guard i + length <= bytes.count else { return nil }
    let b1 = bytes[i + 1]
    guard b1 >= lower, b1 <= upper else { return nil }
    for k in 2..<length where bytes[i + k] & 0xC0 != 0x80 { return nil }
    return length
}
