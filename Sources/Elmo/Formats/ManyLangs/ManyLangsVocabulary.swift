/// The vocabularies of an ELMoForManyLangs model (`char.dic`, `word.dic`) and the package's
/// text-to-ids rules (`elmo.py` `read_list`, `frontend.py` `create_one_batch`):
/// - tokens are taken as given; one longer than `maxCharacters - 2` Unicode code points is
///   cut to its first `maxCharacters - 2` code points, for the word lookup too;
/// - the word id is the exact (byte-for-byte, case-sensitive) lookup, else `<oov>`;
/// - a token's character row is `[id(<eow>), c1 ... cn, id(<bow>), id(<pad>) ...]` (the
///   package swaps the two markers, in training too), each code point looked up in
///   `char.dic`, else `<oov>`; the tokens `<bos>` and `<eos>` are the sentence boundaries
///   (`[id(<eow>), id(<bos>|<eos>), id(<bow>), pad ...]`), whether added or given.
package final class ManyLangsVocabulary: Sendable {
    /// Character tokens by id (single code points, plus the six specials).
    package let characters: [String]
    /// Word tokens by id (empty when the model has no word embedding).
    package let words: [String]
    let maxCharacters: Int
    private let charIds: [UInt32: UInt16]
    private let wordIds: [[UInt8]: Int32]
    let charBOW: UInt16, charEOW: UInt16, charOOV: UInt16, charPad: UInt16, charBOS: UInt16, charEOS: UInt16
    let wordOOV: Int32, wordBOS: Int32, wordEOS: Int32

    static let specialCharacters = ["<bos>", "<eos>", "<oov>", "<pad>", "<bow>", "<eow>"]
    /// char ids are 16-bit in the kernels.
    static let maxCharacterCount = Int(UInt16.max)
    static let maxWordCount = 1 << 24

    /// `characters[i]` / `words[i]`: the token of id i. `words` empty: no word embedding.
    init(characters: [String], words: [String], maxCharacters: Int, source: String) throws {
        func bad(_ what: String) -> ElmoError { ElmoError(.invalidModel, "\(source): \(what)") }
        guard characters.count <= ManyLangsVocabulary.maxCharacterCount else {
            throw bad("char.dic has \(characters.count) entries, more than \(ManyLangsVocabulary.maxCharacterCount)")
        }
        guard words.count <= ManyLangsVocabulary.maxWordCount else {
            throw bad("word.dic has \(words.count) entries, more than \(ManyLangsVocabulary.maxWordCount)")
        }
        var specials: [String: UInt16] = [:]
        var single: [UInt32: UInt16] = [:]
        for (i, c) in characters.enumerated() {
            if ManyLangsVocabulary.specialCharacters.contains(c) { specials[c] = UInt16(i) }
            let scalars = c.unicodeScalars
            if scalars.count == 1 { single[scalars.first!.value] = UInt16(i) }
        }
        for s in ManyLangsVocabulary.specialCharacters where specials[s] == nil {
            throw bad("char.dic lacks the special token \(s)")
        }
        var w: [[UInt8]: Int32] = [:]
        w.reserveCapacity(words.count)
        for (i, word) in words.enumerated() { w[Array(word.utf8)] = Int32(i) }
        if !words.isEmpty {
            for s in ["<oov>", "<pad>"] where w[Array(s.utf8)] == nil { throw bad("word.dic lacks the special token \(s)") }
        }
        self.characters = characters
        self.words = words
        self.maxCharacters = maxCharacters
        charIds = single
        wordIds = w
        charBOW = specials["<bow>"]!; charEOW = specials["<eow>"]!; charOOV = specials["<oov>"]!
        charPad = specials["<pad>"]!; charBOS = specials["<bos>"]!; charEOS = specials["<eos>"]!
        wordOOV = w[Array("<oov>".utf8)] ?? 0
        wordBOS = w[Array("<bos>".utf8)] ?? wordOOV
        wordEOS = w[Array("<eos>".utf8)] ?? wordOOV
    }

    /// Ids per token row: `maxCharacters` character ids, then the word id as two 16-bit halves.
    var rowWidth: Int { maxCharacters + 2 }

    /// Token bytes that decide a row: the first `maxCharacters - 2` code points lie within
    /// 4 bytes each.
    var significantBytes: Int { 4 * (maxCharacters - 2) }

    func writeBoundary(end: Bool, into out: UnsafeMutablePointer<UInt16>) {
        writeMarked(chars: [end ? charEOS : charBOS], word: end ? wordEOS : wordBOS, into: out)
    }

    private func writeMarked(chars: [UInt16], word: Int32, into out: UnsafeMutablePointer<UInt16>) {
        out.update(repeating: charPad, count: maxCharacters)
        out[0] = charEOW  // the package's swap: <eow> opens the word, <bow> closes it
        for (k, c) in chars.enumerated() { out[k + 1] = c }
        out[chars.count + 1] = charBOW
        out[maxCharacters] = UInt16(truncatingIfNeeded: word)
        out[maxCharacters + 1] = UInt16(truncatingIfNeeded: word >> 16)
    }

    /// Writes the row of a token given as valid UTF-8 into `out[0..<rowWidth]`.
    func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt16>) {
        // Truncate to maxCharacters - 2 code points (the package counts Python str elements).
        var scalars: [UInt32] = []
        scalars.reserveCapacity(min(bytes.count, maxCharacters))
        var end = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var consumed = 0
        decode: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s):
                let width = UTF8.width(s)
                guard scalars.count < maxCharacters - 2 else { break decode }
                scalars.append(s.value)
                consumed += width
                end = consumed
            case .emptyInput, .error:
                break decode
            }
        }
        let kept = UnsafeBufferPointer(rebasing: bytes[0..<end])
        if scalars.count == 5, kept.elementsEqual("<bos>".utf8) { writeBoundary(end: false, into: out); return }
        if scalars.count == 5, kept.elementsEqual("<eos>".utf8) { writeBoundary(end: true, into: out); return }
        let word = words.isEmpty ? 0 : (wordIds[Array(kept)] ?? wordOOV)
        writeMarked(chars: scalars.map { charIds[$0] ?? charOOV }, word: word, into: out)
    }

    /// The character ids (maxCharacters) and word id the package gives a token.
    package func ids(for token: String) -> (characters: [Int], word: Int) {
        var row = [UInt16](repeating: 0, count: rowWidth)
        var bytes = Array(token.utf8)
        bytes.withUnsafeMutableBufferPointer { b in
            row.withUnsafeMutableBufferPointer { encode(UnsafeBufferPointer(b), into: $0.baseAddress!) }
        }
        return (row[0..<maxCharacters].map(Int.init), Int(row[maxCharacters]) | Int(row[maxCharacters + 1]) << 16)
    }

    /// The ids of the sentence boundary `<bos>` (end false) or `<eos>` (end true).
    package func boundaryIds(end: Bool) -> (characters: [Int], word: Int) {
        ids(for: end ? "<eos>" : "<bos>")
    }
}
