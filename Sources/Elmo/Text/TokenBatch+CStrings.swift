#if canImport(Glibc)
import Glibc
#endif

/// Building a batch straight from NUL-terminated UTF-8 strings (what the C API receives),
/// with no intermediate `String`s. Nothing about the input is trusted: every pointer, token
/// and byte sequence is checked, and a problem is reported as an `ElmoError` naming the
/// sentence and token.
extension TokenBatch {
    /// Pre-tokenized sentences: `tokens` holds every sentence's tokens back to back and
    /// `sentenceLengths[s]` says how many of them belong to sentence `s`; the lengths must add
    /// up to `tokens.count`. Throws `.invalidArgument` for a NULL token or lengths that do not
    /// add up, `.invalidInput` for an empty sentence, an empty token or invalid UTF-8.
    package init<C: Collection<Int>>(cStringTokens tokens: UnsafeBufferPointer<UnsafePointer<CChar>?>,
                                    sentenceLengths: C) throws {
        self.init()
        var next = 0
        for (s, length) in sentenceLengths.enumerated() {
            guard length > 0 else {
                throw ElmoError(.invalidInput, "sentence \(s) is empty: every sentence needs at least one token")
            }
            guard length <= tokens.count - next else {
                throw ElmoError(.invalidArgument, "the token counts add up to more than the \(tokens.count) tokens given")
            }
            try beginSentence()
            for t in 0..<length {
                guard let token = tokens[next] else {
                    throw ElmoError(.invalidArgument, "sentence \(s): token \(t) is NULL")
                }
                let bytes = utf8Bytes(token)
                guard !bytes.isEmpty else {
                    throw ElmoError(.invalidInput, "sentence \(s): token \(t) is empty")
                }
                if let bad = firstInvalidUTF8Offset(bytes) {
                    throw ElmoError(.invalidInput, "sentence \(s): token \(t) is not valid UTF-8 (byte \(bad))")
                }
                appendToken(bytes)
                next += 1
            }
            try endSentence(index: s)
        }
        guard next == tokens.count else {
            throw ElmoError(.invalidArgument, "the token counts add up to \(next) but \(tokens.count) tokens were given")
        }
    }

    /// Raw sentences, each split on whitespace exactly as `init(texts:)` splits them.
    /// Throws `.invalidArgument` for a NULL text, `.invalidInput` for invalid UTF-8 or a text
    /// with no token (empty or only whitespace).
    package init(cStringTexts texts: UnsafeBufferPointer<UnsafePointer<CChar>?>) throws {
        self.init()
        for (s, text) in texts.enumerated() {
            guard let text else { throw ElmoError(.invalidArgument, "text \(s) is NULL") }
            try beginSentence()
            // One walk over the text splits and validates it.
            if let bad = forEachWhitespaceSeparatedToken(utf8Bytes(text), { appendToken($0) }) {
                throw ElmoError(.invalidInput, "text \(s) is not valid UTF-8 (byte \(bad))")
            }
            try endSentence(index: s)
        }
    }
}

/// The bytes of a NUL-terminated string, terminator excluded.
private func utf8Bytes(_ string: UnsafePointer<CChar>) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: UnsafeRawPointer(string).assumingMemoryBound(to: UInt8.self), count: strlen(string))
}
