/// A batch of tokenized sentences in one flat buffer: the UTF-8 bytes of every token back to
/// back, where each token ends, and how many tokens each sentence has. This is what the
/// encoder consumes; it costs one allocation per batch whatever the number of tokens.
///
/// Made from tokens (`init(sentences:)`) or raw text (`init(texts:)`), it is the input of the
/// buffer API, `ElmoSession.embed(_:output:sentenceBoundaries:into:)`, which writes one output
/// into memory of the caller's and runs only the layers that output needs.
public struct TokenBatch: Sendable, Equatable {
    /// All tokens' UTF-8 bytes, concatenated.
    package private(set) var bytes: [UInt8] = []
    /// tokenEnds[i] = end offset in `bytes` of token i (its start is the previous end).
    package private(set) var tokenEnds: [Int] = []
    /// Tokens per sentence.
    public private(set) var sentenceLengths: [Int] = []
    /// nil for text. For a batch of character ids (`init(characterIds:...)`), the ids per
    /// token: each token's `bytes` are then its ids as little-endian UInt16s, not text.
    package internal(set) var charactersPerToken: Int? = nil

    package init() {}

    /// Pre-tokenized sentences. Every sentence needs at least one token and every token at
    /// least one byte.
    public init(sentences: [[String]]) throws {
        for (s, sentence) in sentences.enumerated() {
            try beginSentence()
            for (t, token) in sentence.enumerated() {
                guard !token.isEmpty else {
                    throw ElmoError(.invalidInput, "sentence \(s): token \(t) is empty")
                }
                appendToken(token.utf8)
            }
            try endSentence(index: s)
        }
    }

    /// Raw sentences, each split into tokens on whitespace exactly as Python's `str.split()`
    /// does (what `allennlp elmo` and TF Hub's ELMo `default` signature feed the model).
    public init(texts: [String]) throws {
        for (s, text) in texts.enumerated() {
            try beginSentence()
            var utf8 = Array(text.utf8)
            utf8.withUnsafeMutableBufferPointer { buf in
                forEachWhitespaceSeparatedToken(UnsafeBufferPointer(buf)) { appendToken($0) }
            }
            try endSentence(index: s)
        }
    }

    /// Number of sentences.
    public var count: Int { sentenceLengths.count }
    /// Number of tokens in all sentences.
    public var tokenCount: Int { tokenEnds.count }

    /// The bytes of token `i` (global index).
    func tokenRange(_ i: Int) -> Range<Int> {
        (i == 0 ? 0 : tokenEnds[i - 1])..<tokenEnds[i]
    }

    /// The tokens of sentence `s` as strings (invalid UTF-8 repaired; for display and tests).
    public func tokens(ofSentence s: Int) -> [String] {
        let first = sentenceLengths[0..<s].reduce(0, +)
        return (first..<(first + sentenceLengths[s])).map { String(decoding: bytes[tokenRange($0)], as: UTF8.self) }
    }

    // MARK: building

    private var openTokens = 0

    mutating func beginSentence() throws {
        openTokens = 0
    }

    mutating func appendToken<C: Collection>(_ utf8: C) where C.Element == UInt8 {
        bytes.append(contentsOf: utf8)
        tokenEnds.append(bytes.count)
        openTokens += 1
    }

    mutating func endSentence(index: Int, allowEmpty: Bool = false) throws {
        guard openTokens > 0 || allowEmpty else {
            throw ElmoError(.invalidInput, "sentence \(index) is empty: every sentence needs at least one token")
        }
        sentenceLengths.append(openTokens)
        openTokens = 0
    }
}

/// Calls `body` with each maximal run of non-whitespace in `text`, where whitespace is what
/// Python's `str.isspace()` accepts: ASCII \t \n \v \f \r, space, U+001C...U+001F, U+0085,
/// U+00A0, U+1680, U+2000...U+200A, U+2028, U+2029, U+202F, U+205F and U+3000.
/// The same walk validates the text (one pass over its bytes splits and checks it): at the
/// first invalid UTF-8 sequence it stops and returns that sequence's byte offset (what
/// `firstInvalidUTF8Offset` returns), having passed `body` the tokens before it; nil when
/// the whole text is valid. Callers whose text is known to be valid may ignore the result.
@discardableResult
func forEachWhitespaceSeparatedToken(_ text: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Int? {
    var start: Int? = nil
    var i = 0
    while i < text.count {
        guard let length = validUTF8SequenceLength(text, at: i) else { return i }
        // At the start of a valid sequence the whitespace width is 0 or the sequence's length.
        if whitespaceWidth(text, at: i) > 0 {
            if let s = start {
                body(UnsafeBufferPointer(rebasing: text[s..<i]))
                start = nil
            }
        } else if start == nil {
            start = i
        }
        i += length
    }
    if let s = start { body(UnsafeBufferPointer(rebasing: text[s..<text.count])) }
    return nil
}

/// Byte length of the whitespace character at `i`, or 0 if there is none.
func whitespaceWidth(_ t: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
    let b0 = t[i]
    switch b0 {
    case 0x09...0x0D, 0x1C...0x20: return 1
    case 0xC2:
        guard i + 1 < t.count else { return 0 }
        return t[i + 1] == 0x85 || t[i + 1] == 0xA0 ? 2 : 0
    case 0xE1:  // U+1680 = E1 9A 80
        guard i + 2 < t.count else { return 0 }
        return t[i + 1] == 0x9A && t[i + 2] == 0x80 ? 3 : 0
    case 0xE2:
        guard i + 2 < t.count else { return 0 }
        let b1 = t[i + 1], b2 = t[i + 2]
        if b1 == 0x80 {  // U+2000...U+200A = E2 80 80...8A; U+2028/2029 = E2 80 A8/A9; U+202F = E2 80 AF
            if (0x80...0x8A).contains(b2) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF { return 3 }
        } else if b1 == 0x81, b2 == 0x9F {  // U+205F
            return 3
        }
        return 0
    case 0xE3:  // U+3000 = E3 80 80
        guard i + 2 < t.count else { return 0 }
        return t[i + 1] == 0x80 && t[i + 2] == 0x80 ? 3 : 0
    default:
        return 0
    }
}
