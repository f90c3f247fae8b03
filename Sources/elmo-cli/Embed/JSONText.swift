/// JSON text as Python's `json.dumps` writes it, appended to byte buffers (no intermediate
/// strings for the numbers of large arrays).
enum JSONText {
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string literal. With `asciiOnly` (json.dumps' default `ensure_ascii=True`)
    /// every character outside " "..."~" is written as \uXXXX (UTF-16, lower-case hex, as
    /// Python does); otherwise UTF-8 is kept and only '"', '\\' and control characters are
    /// escaped. `text` must be valid UTF-8.
    static func appendString(_ text: UnsafeBufferPointer<UInt8>, asciiOnly: Bool, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if asciiOnly {
            for scalar in String(decoding: text, as: UTF8.self).unicodeScalars {
                let v = scalar.value
                if v >= 0x20 && v <= 0x7E {
                    appendEscapedASCII(UInt8(v), to: &out)
                } else if let short = shortEscape(v) {
                    out.append(contentsOf: short)
                } else if v > 0xFFFF {
                    let u = v - 0x10000
                    appendUnicodeEscape(0xD800 + (u >> 10), to: &out)
                    appendUnicodeEscape(0xDC00 + (u & 0x3FF), to: &out)
                } else {
                    appendUnicodeEscape(v, to: &out)
                }
            }
        } else {
            for b in text {
                if b >= 0x20 {
                    appendEscapedASCII(b, to: &out)
                } else if let short = shortEscape(UInt32(b)) {
                    out.append(contentsOf: short)
                } else {
                    appendUnicodeEscape(UInt32(b), to: &out)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func appendString(_ text: String, asciiOnly: Bool, to out: inout [UInt8]) {
        var t = text
        t.withUTF8 { appendString($0, asciiOnly: asciiOnly, to: &out) }
    }

    @inline(__always)
    private static func appendEscapedASCII(_ b: UInt8, to out: inout [UInt8]) {
        if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
        out.append(b)
    }

    private static func shortEscape(_ v: UInt32) -> [UInt8]? {
        switch v {
        case 0x0A: return Array("\\n".utf8)
        case 0x0D: return Array("\\r".utf8)
        case 0x09: return Array("\\t".utf8)
        case 0x08: return Array("\\b".utf8)
        case 0x0C: return Array("\\f".utf8)
        default: return nil
        }
    }

    private static func appendUnicodeEscape(_ v: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((v >> UInt32(shift)) & 0xF)]) }
    }

    /// A float32 as the shortest decimal that reads back as the same float32 (Swift's
    /// description); NaN and infinities as Python writes them (NaN, Infinity, -Infinity).
    static func appendFloat(_ x: Float, to out: inout [UInt8]) {
        if x.isNaN {
            out.append(contentsOf: "NaN".utf8)
        } else if x.isInfinite {
            out.append(contentsOf: (x < 0 ? "-Infinity" : "Infinity").utf8)
        } else {
            var d = x.description
            d.withUTF8 { out.append(contentsOf: $0) }
        }
    }

    static func appendInt(_ n: Int, to out: inout [UInt8]) {
        var d = String(n)
        d.withUTF8 { out.append(contentsOf: $0) }
    }

    /// A nested array of `shape` from row-major `values` ("[[1.0, 2.0], [3.0, 4.0]]",
    /// separators as json.dumps writes them). Empty dimensions give "[]".
    static func appendArray(_ values: UnsafeBufferPointer<Float>, shape: [Int], to out: inout [UInt8]) {
        var offset = 0
        appendLevel(values, shape: shape[...], offset: &offset, to: &out)
    }

    private static func appendLevel(_ values: UnsafeBufferPointer<Float>, shape: ArraySlice<Int>, offset: inout Int, to out: inout [UInt8]) {
        guard let n = shape.first else {
            appendFloat(values[offset], to: &out)
            offset += 1
            return
        }
        out.append(UInt8(ascii: "["))
        for i in 0..<n {
            if i > 0 { out.append(UInt8(ascii: ",")); out.append(UInt8(ascii: " ")) }
            appendLevel(values, shape: shape.dropFirst(), offset: &offset, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}
