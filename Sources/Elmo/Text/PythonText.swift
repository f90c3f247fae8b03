/// Text rules of the Python tools libelmo replaces (`allennlp elmo` reads its input with
/// Python's `str.strip()` and `str.split()`), for callers that process text line by line.
package enum PythonText {
    /// The byte range of `text` that Python's `str.strip()` keeps: leading and trailing
    /// whitespace (as `str.isspace()` defines it, including the Unicode spaces) removed.
    /// `text` must be valid UTF-8.
    package static func strippedRange(_ text: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var start: Int? = nil
        var end = 0
        var i = 0
        while i < text.count {
            let width = whitespaceWidth(text, at: i)
            if width > 0 {
                i += width
            } else {
                // Continuation bytes never start a whitespace character, so stepping one
                // byte at a time through a non-space character is exact.
                if start == nil { start = i }
                i += 1
                end = i
            }
        }
        guard let s = start else { return 0..<0 }
        return s..<end
    }

    /// The byte offset of the first invalid UTF-8 sequence in `bytes` (strict RFC 3629), or
    /// nil when the bytes are valid UTF-8.
    package static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        firstInvalidUTF8Offset(bytes)
    }

    /// Calls `body` with each token of `text` as Python's `str.split()` splits it, validating
    /// the text in the same pass: returns nil for valid UTF-8, else the byte offset of the
    /// first invalid sequence (as `firstInvalidUTF8`; the tokens before it have been passed on).
    @discardableResult
    package static func forEachToken(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Int? {
        forEachWhitespaceSeparatedToken(text, body)
    }
}
