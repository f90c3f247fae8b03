/// Tokens to character ids, exactly as bilm-tf's `UnicodeCharsVocabulary` and `Batcher` do.
///
/// A token becomes `maxCharacters` ids: begin-of-word, its UTF-8 bytes (truncated to
/// `maxCharacters - 2` bytes, even in the middle of a multi-byte character, as bilm-tf
/// does), end-of-word, then padding. The sentence-boundary tokens are begin-of-word,
/// begin/end-of-sentence, end-of-word, padding. Every id is then shifted by +1 so that 0
/// can mark padded token positions (bilm-tf's Batcher; AllenNLP's ELMoCharacterMapper).
/// A token spelled exactly `<S>` or `</S>` is encoded as the sentence boundary, as
/// AllenNLP does.
package enum CharacterIds {
    /// Unshifted special ids (bilm-tf `UnicodeCharsVocabulary`).
    static let beginSentence: UInt16 = 256
    static let endSentence: UInt16 = 257
    static let beginWord: UInt16 = 258
    static let endWord: UInt16 = 259
    static let padding: UInt16 = 260
    /// Rows of `char_embed` in the release files: ids 0...260.
    package static let storedCharacterRows = 261
    /// Rows after prepending the all-zero row for the shifted padding id 0.
    static let embeddingRows = 262

    package static let beginSentenceToken = "<S>"
    package static let endSentenceToken = "</S>"

    /// The shifted character ids of one token, as bilm-tf's Batcher produces them.
    /// Throws for an empty token (bilm-tf cannot encode one either).
    package static func ids(for token: String, maxCharacters: Int = 50) throws -> [Int] {
        guard maxCharacters >= 3 else {
            throw ElmoError(.invalidArgument, "maxCharacters must be at least 3, not \(maxCharacters)")
        }
        guard !token.isEmpty else { throw ElmoError(.invalidInput, "empty token") }
        var out = [UInt16](repeating: 0, count: maxCharacters)
        var utf8 = Array(token.utf8)
        utf8.withUnsafeMutableBufferPointer { bytes in
            out.withUnsafeMutableBufferPointer { o in
                encode(UnsafeBufferPointer(bytes), maxCharacters: maxCharacters, into: o.baseAddress!)
            }
        }
        return out.map(Int.init)
    }

    /// Shifted ids of the begin-of-sentence (`<S>`) token.
    package static func beginSentenceIds(maxCharacters: Int = 50) -> [Int] {
        boundary(beginSentence, maxCharacters: maxCharacters).map(Int.init)
    }

    /// Shifted ids of the end-of-sentence (`</S>`) token.
    package static func endSentenceIds(maxCharacters: Int = 50) -> [Int] {
        boundary(endSentence, maxCharacters: maxCharacters).map(Int.init)
    }

    static func boundary(_ mark: UInt16, maxCharacters: Int) -> [UInt16] {
        var out = [UInt16](repeating: padding + 1, count: maxCharacters)
        out[0] = beginWord + 1
        out[1] = mark + 1
        out[2] = endWord + 1
        return out
    }

    /// Writes the shifted ids of a non-empty token given as UTF-8 bytes into
    /// `out[0..<maxCharacters]`. `maxCharacters` >= 3.
    static func encode(_ bytes: UnsafeBufferPointer<UInt8>, maxCharacters: Int, into out: UnsafeMutablePointer<UInt16>) {
        if isBoundary(bytes, beginSentenceToken) {
            writeBoundary(beginSentence, maxCharacters: maxCharacters, into: out)
            return
        }
        if isBoundary(bytes, endSentenceToken) {
            writeBoundary(endSentence, maxCharacters: maxCharacters, into: out)
            return
        }
        out.update(repeating: padding + 1, count: maxCharacters)
        out[0] = beginWord + 1
        let n = min(bytes.count, maxCharacters - 2)
        for k in 0..<n { out[k + 1] = UInt16(bytes[k]) + 1 }
        out[n + 1] = endWord + 1
    }

    static func writeBoundary(_ mark: UInt16, maxCharacters: Int, into out: UnsafeMutablePointer<UInt16>) {
        out.update(repeating: padding + 1, count: maxCharacters)
        out[0] = beginWord + 1
        out[1] = mark + 1
        out[2] = endWord + 1
    }

    private static func isBoundary(_ bytes: UnsafeBufferPointer<UInt8>, _ token: String) -> Bool {
        bytes.count == token.utf8.count && bytes.elementsEqual(token.utf8)
    }
}
