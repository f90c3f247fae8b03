// Target `text`: the text front end, each part checked against an independent implementation.
// - UTF-8 validation (firstInvalidUTF8) against Swift's own UTF-8 decoder;
// - the whitespace split and strip (Python's str.split() / str.strip()) against a split over
//   decoded Unicode scalars;
// - character ids of every token against bilm-tf's rule written out plainly;
// - TokenBatch built from C strings (texts, and pre-tokenized sentences) against the same.
import Elmo

public enum TextFuzz {
    /// Python's str.isspace() characters (bidirectional class WS, B or S, or category Zs).
    static let pythonSpaces: Set<UInt32> = Set(Array(0x09...0x0D) + Array(0x1C...0x20) + [0x85, 0xA0, 0x1680]
        + Array(0x2000...0x200A) + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])

    /// Offset of the first invalid sequence per Swift's decoder, or nil.
    static func oracleFirstInvalid(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// Byte ranges of the whitespace-separated tokens of valid UTF-8, found scalar by scalar.
    static func oracleTokens(_ bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var tokens: [Range<Int>] = []
        var start: Int?
        var offset = 0
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            let width = UTF8.width(scalar)
            if pythonSpaces.contains(scalar.value) {
                if let s = start { tokens.append(s..<offset); start = nil }
            } else if start == nil {
                start = offset
            }
            offset += width
        }
        if let s = start { tokens.append(s..<offset) }
        return tokens
    }

    /// bilm-tf's character ids, shifted by one: BOW, the bytes (at most maxCharacters - 2), EOW,
    /// padding; "<S>" and "</S>" are the sentence marks.
    static func oracleIds(_ token: [UInt8], maxCharacters: Int) -> [Int] {
        let pad = 261, bow = 259, eow = 260
        var ids = [Int](repeating: pad, count: maxCharacters)
        ids[0] = bow
        if token == Array("<S>".utf8) || token == Array("</S>".utf8) {
            ids[1] = token.count == 3 ? 257 : 258
            ids[2] = eow
            return ids
        }
        let n = min(token.count, maxCharacters - 2)
        for k in 0..<n { ids[k + 1] = Int(token[k]) + 1 }
        ids[n + 1] = eow
        return ids
    }

    public static func one(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        bytes.withUnsafeBufferPointer { buffer in
            checkWholeText(buffer)
        }
        checkCStringTexts(bytes)
        checkCStringTokens(bytes)
    }

    static func checkWholeText(_ buffer: UnsafeBufferPointer<UInt8>) {
        let expected = oracleFirstInvalid(buffer)
        let got = PythonText.firstInvalidUTF8(buffer)
        guard got == expected else { fuzzFailure("firstInvalidUTF8 = \(String(describing: got)), Swift's decoder says \(String(describing: expected))") }
        guard expected == nil else { return }

        var split: [Range<Int>] = []
        PythonText.forEachToken(buffer) { token in
            let start = token.baseAddress! - buffer.baseAddress!
            split.append(start..<(start + token.count))
        }
        let tokens = oracleTokens(buffer)
        guard split == tokens else { fuzzFailure("split gives \(split), scalar-wise split \(tokens)") }
        let stripped = PythonText.strippedRange(buffer)
        let expectedStrip = tokens.isEmpty ? 0..<0 : tokens.first!.lowerBound..<tokens.last!.upperBound
        guard stripped == expectedStrip else { fuzzFailure("strip gives \(stripped), expected \(expectedStrip)") }

        let maxCharacters = 3 + (buffer.first.map { Int($0) } ?? 0) % 60
        for range in tokens.prefix(64) {
            let token = Array(buffer[range])
            let string = String(decoding: token, as: UTF8.self)
            guard let ids = expectingElmoErrors("character ids", { try CharacterIds.ids(for: string, maxCharacters: maxCharacters) }) else {
                fuzzFailure("no character ids for a non-empty token")
            }
            let want = oracleIds(token, maxCharacters: maxCharacters)
            guard ids == want else { fuzzFailure("ids of \(token) = \(ids), expected \(want)") }
        }

        // The Swift API's texts path splits the same way.
        let text = String(decoding: buffer, as: UTF8.self)
        let batch = expectingElmoErrors("TokenBatch(texts:)") { try TokenBatch(texts: [text]) }
        if tokens.isEmpty {
            guard batch == nil else { fuzzFailure("a text without tokens made a batch") }
        } else {
            guard let batch, batch.sentenceLengths == [tokens.count],
                  batch.bytes == tokens.flatMap({ Array(buffer[$0]) }) else {
                fuzzFailure("TokenBatch(texts:) disagrees with the split")
            }
        }
    }

    /// The input split at NUL bytes into texts (as C strings): the batch is refused exactly
    /// when some text is invalid UTF-8 or has no token, else holds exactly the oracle's tokens.
    static func checkCStringTexts(_ bytes: [UInt8]) {
        let texts = bytes.split(separator: 0, omittingEmptySubsequences: false).prefix(32).map(Array.init)
        var expectedError = false
        var expectedLengths: [Int] = []
        var expectedBytes: [UInt8] = []
        for t in texts {
            let tokens: [Range<Int>]? = t.withUnsafeBufferPointer { b in
                oracleFirstInvalid(b) == nil ? oracleTokens(b) : nil
            }
            guard let tokens, !tokens.isEmpty else { expectedError = true; break }
            expectedLengths.append(tokens.count)
            for r in tokens { expectedBytes += t[r] }
        }
        let batch = withCStrings(texts) { pointers in
            expectingElmoErrors("TokenBatch(cStringTexts:)") { try TokenBatch(cStringTexts: pointers) }
        }
        if expectedError {
            guard batch == nil else { fuzzFailure("texts with invalid UTF-8 or without tokens made a batch") }
        } else {
            guard let batch, batch.sentenceLengths == expectedLengths, batch.bytes == expectedBytes else {
                fuzzFailure("TokenBatch(cStringTexts:) disagrees with the oracle")
            }
        }
    }

    /// The input as pre-tokenized sentences: pieces between NUL bytes are tokens, a piece that
    /// is the single byte 0x01 ends a sentence. Refused exactly when a sentence or token is
    /// empty or a token is invalid UTF-8.
    static func checkCStringTokens(_ bytes: [UInt8]) {
        var tokens: [[UInt8]] = []
        var lengths: [Int] = []
        var open = 0
        for piece in bytes.split(separator: 0, omittingEmptySubsequences: false).prefix(64) {
            if piece.count == 1 && piece.first == 1 {
                lengths.append(open)
                open = 0
            } else {
                tokens.append(Array(piece))
                open += 1
            }
        }
        lengths.append(open)
        let valid = !lengths.contains(0) && tokens.allSatisfy { t in
            !t.isEmpty && t.withUnsafeBufferPointer { oracleFirstInvalid($0) == nil }
        }
        let batch = withCStrings(tokens) { pointers in
            expectingElmoErrors("TokenBatch(cStringTokens:)") { try TokenBatch(cStringTokens: pointers, sentenceLengths: lengths) }
        }
        if !valid {
            guard batch == nil else { fuzzFailure("an empty sentence or token, or invalid UTF-8, made a batch") }
        } else {
            guard let batch, batch.sentenceLengths == lengths, batch.bytes == tokens.flatMap({ $0 }) else {
                fuzzFailure("TokenBatch(cStringTokens:) disagrees with its input")
            }
        }
    }

    /// Calls `body` with NUL-terminated copies of `strings`.
    static func withCStrings<T>(_ strings: [[UInt8]], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> T) -> T {
        let copies: [UnsafeMutablePointer<CChar>] = strings.map { s in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: s.count + 1)
            for (i, b) in s.enumerated() { p[i] = CChar(bitPattern: b) }
            p[s.count] = 0
            return p
        }
        defer { copies.forEach { $0.deallocate() } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer(body)
    }

    /// Seeds: texts with every kind of whitespace, multi-byte characters, boundary tokens,
    /// long tokens, invalid sequences of each kind, and the NUL / 0x01 separators.
    public static let seeds: [[UInt8]] = {
        var s: [[UInt8]] = [
            Array("The bank of the river .".utf8),
            Array("  A\tloan\u{3000}from\u{00A0}the\u{2028}bank\u{85}.\u{1C}x\u{202F}y\u{205F}z\u{1680}w ".utf8),
            Array("<S> </S> <S>x </s> \u{00E9}l\u{00E8}ve na\u{0131}ve \u{1F600}\u{1F1EB}\u{1F1F7} \u{200B}zero-width".utf8),
            Array(String(repeating: "supercalifragilistic", count: 5).utf8),
            Array("one\0two three\0\0four".utf8),
            Array("tok\0en\0\u{01}\0second\0sentence".utf8),
        ]
        s.append([0x41, 0xC0, 0xAF, 0x20, 0xE0, 0x80, 0x80, 0x20, 0xED, 0xA0, 0x80, 0x20, 0xF4, 0x90, 0x80, 0x80])
        s.append([0x61, 0xE2, 0x80, 0x20, 0xC2, 0x20, 0xF0, 0x9F, 0x98, 0x20, 0xFF, 0xFE, 0x80])
        return s
    }()
}
