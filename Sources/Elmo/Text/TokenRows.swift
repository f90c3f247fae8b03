/// How a model turns tokens into the rows of ids its token layer reads (and its token cache
/// is keyed by): bilm-tf's UTF-8 byte ids, or an ELMoForManyLangs model's learned character
/// and word vocabularies.
enum TokenRows: Sendable {
    /// bilm-tf / AllenNLP: `maxCharacters` shifted byte ids per token (`CharacterIds`).
    case bytes(maxCharacters: Int)
    /// ELMoForManyLangs: `maxCharacters` character ids, then the word id (`ManyLangsVocabulary`).
    case manyLangs(ManyLangsVocabulary)

    /// Ids per token row.
    var width: Int {
        switch self {
        case .bytes(let l): return l
        case .manyLangs(let v): return v.rowWidth
        }
    }

    /// Leading token bytes that decide its row (longer tokens are truncated to them).
    var significantBytes: Int {
        switch self {
        case .bytes(let l): return l - 2
        case .manyLangs(let v): return v.significantBytes
        }
    }

    /// The row of the sentence start (end false) or end (end true).
    func writeBoundary(end: Bool, into out: UnsafeMutablePointer<UInt16>) {
        switch self {
        case .bytes(let l):
            CharacterIds.writeBoundary(end ? CharacterIds.endSentence : CharacterIds.beginSentence, maxCharacters: l, into: out)
        case .manyLangs(let v):
            v.writeBoundary(end: end, into: out)
        }
    }

    /// The row of a token given as valid UTF-8.
    func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt16>) {
        switch self {
        case .bytes(let l): CharacterIds.encode(bytes, maxCharacters: l, into: out)
        case .manyLangs(let v): v.encode(bytes, into: out)
        }
    }
}
