/// Building a batch from character ids (bilm-tf's Batcher, AllenNLP's `batch_to_ids`) instead
/// of text, so that ids a program already holds reach the model exactly as given. Text cannot
/// stand in for them: a token cut at `maxCharacters - 2` bytes may end inside a multi-byte
/// character (not valid UTF-8), and a word spelled `<S>` has other ids than the boundary.
/// Every row is checked against the two shapes bilm-tf produces before anything is computed.
extension TokenBatch {
    /// Sentences of shifted character ids: `ids` holds one row of `charactersPerToken` ids per
    /// token, every sentence's tokens back to back, `sentenceLengths[s]` tokens for sentence
    /// `s` (they must add up to the rows given). Throws `.invalidInput` naming the sentence,
    /// token and position for an empty sentence, a padding (all-zero) row, an id out of range
    /// or a row that is neither a word nor a sentence boundary; `.invalidArgument` when the
    /// lengths do not add up. `allowEmptySentences`: a sentence of 0 tokens is valid (for
    /// the boundary rows of `<S> </S>` alone, as AllenNLP's biLM computes an all-padding row).
    package init<C: Collection<Int>>(characterIds ids: UnsafeBufferPointer<Int32>, charactersPerToken width: Int,
                                    sentenceLengths: C, allowEmptySentences: Bool = false) throws {
        self.init()
        guard width >= 3 else { throw ElmoError(.invalidArgument, "rows of \(width) character ids are too short (at least 3)") }
        let (rows, remainder) = ids.count.quotientAndRemainder(dividingBy: width)
        guard remainder == 0 else {
            throw ElmoError(.invalidArgument, "\(ids.count) character ids are not a whole number of rows of \(width)")
        }
        charactersPerToken = width
        var next = 0
        var row = [UInt8](repeating: 0, count: 2 * width)
        for (s, length) in sentenceLengths.enumerated() {
            guard length > 0 || allowEmptySentences else {
                throw ElmoError(.invalidInput, "sentence \(s) is empty: every sentence needs at least one token")
            }
            guard length <= rows - next else {
                throw ElmoError(.invalidArgument, "the token counts add up to more than the \(rows) rows given")
            }
            try beginSentence()
            for t in 0..<length {
                let start = next * width
                try CharacterIds.validate(UnsafeBufferPointer(rebasing: ids[start..<(start + width)]), sentence: s, token: t)
                for c in 0..<width {
                    let id = UInt16(ids[start + c])  // validated: 1...261
                    row[2 * c] = UInt8(id & 0xFF)
                    row[2 * c + 1] = UInt8(id >> 8)
                }
                appendToken(row)
                next += 1
            }
            try endSentence(index: s, allowEmpty: allowEmptySentences)
        }
        guard next == rows else {
            throw ElmoError(.invalidArgument, "the token counts add up to \(next) but \(rows) rows of character ids were given")
        }
    }

    /// The shifted character ids of token `i` of a character-id batch, into `out[0..<width]`.
    func copyCharacterIds(ofToken i: Int, into out: UnsafeMutablePointer<UInt16>) {
        let r = tokenRange(i)
        for c in 0..<(r.count / 2) {
            out[c] = UInt16(bytes[r.lowerBound + 2 * c]) | UInt16(bytes[r.lowerBound + 2 * c + 1]) << 8
        }
    }
}

extension CharacterIds {
    /// Largest shifted id (padding, 260 + 1).
    static let maxShiftedId: Int32 = Int32(padding) + 1

    /// Checks that `row` is one of the rows bilm-tf's Batcher makes (shifted by +1): a word
    /// (begin-of-word, 0 or more byte ids 1...256, end-of-word, padding to the end) or a
    /// sentence boundary (begin-of-word, <S> or </S>, end-of-word, padding to the end).
    static func validate(_ row: UnsafeBufferPointer<Int32>, sentence s: Int, token t: Int) throws {
        let place = "sentence \(s), token \(t)"
        for (p, id) in row.enumerated() where !(0...maxShiftedId).contains(id) {
            throw ElmoError(.invalidInput, "\(place): character id \(id) at position \(p) is outside 0...\(maxShiftedId)")
        }
        if row.allSatisfy({ $0 == 0 }) {
            throw ElmoError(.invalidInput, "\(place) is padding (all ids 0): leave padding positions out of token_counts")
        }
        func expect(_ p: Int, _ id: UInt16, _ what: String) throws {
            guard row[p] == Int32(id) + 1 else {
                throw ElmoError(.invalidInput, "\(place): character id \(row[p]) at position \(p) where \(what) (\(id + 1)) belongs")
            }
        }
        try expect(0, beginWord, "begin-of-word")
        var end: Int  // position of end-of-word
        if row[1] == Int32(beginSentence) + 1 || row[1] == Int32(endSentence) + 1 {
            try expect(2, endWord, "end-of-word after a sentence boundary mark")
            end = 2
        } else {
            end = 1
            while end < row.count && (1...256).contains(row[end]) { end += 1 }
            guard end < row.count else {
                throw ElmoError(.invalidInput, "\(place): no end-of-word (\(endWord + 1)) id in the row")
            }
            try expect(end, endWord, "a byte id (1...256) or end-of-word")
        }
        for p in (end + 1)..<row.count { try expect(p, padding, "padding after end-of-word") }
    }
}
