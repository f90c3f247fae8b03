/// Output sizes when the sentence boundary positions are returned too (AllenNLP's
/// `keep_sentence_boundaries`): every per-token output then has tokens + 2 rows per sentence,
/// and a sentence of 0 tokens has its 2 boundary rows (the biLM over `<S> </S>` alone, which is
/// what AllenNLP computes for an all-padding row of a batch).
extension ElmoModel {
    /// Floats `output` takes for sentences with these token counts, with the `<S>` and `</S>`
    /// rows when `sentenceBoundaries` is set. Without them the counts are checked as
    /// `requiredFloats` checks them; with them a count may be 0. The pooled `sentenceMean` has
    /// no boundary rows and is refused with them.
    public func requiredFloats<C: Collection<Int>>(_ output: ElmoOutput, tokenCounts: C, sentenceBoundaries: Bool) throws -> Int {
        guard sentenceBoundaries else { return try requiredFloats(output, tokenCounts: tokenCounts) }
        try output.validate(options: options)
        guard output.floatsPerToken(options: options) != nil else {
            throw ElmoError(.invalidArgument, "sentence boundaries apply to per-token outputs, not to the pooled `default`")
        }
        guard !tokenCounts.isEmpty else { throw ElmoError(.invalidInput, "empty batch: at least one sentence is needed") }
        var rows: [Int] = []
        rows.reserveCapacity(tokenCounts.count)
        for (i, t) in tokenCounts.enumerated() {
            // A size_t above Int.max arrives negative; Int.max - 1 and Int.max cannot take 2 rows more.
            guard t >= 0, t < Int.max - 1 else {
                throw ElmoError(.limitExceeded, "sentence \(i) has \(UInt(bitPattern: t)) tokens, more than any batch can hold")
            }
            rows.append(t + 2)
        }
        guard let n = OutputWriter.floatCount(output, tokenCounts: rows, options: options) else {
            throw ElmoError(.limitExceeded, "the output of this batch would need more floats than fit in memory")
        }
        return n
    }
}
