/// Output sizes, with or without the sentence boundary positions (AllenNLP's
/// `keep_sentence_boundaries`): with them every per-token output has tokens + 2 rows per
/// sentence, and a sentence of 0 tokens has its 2 boundary rows (the biLM over `<S> </S>`
/// alone, which is what AllenNLP computes for an all-padding row of a batch). The shapes
/// themselves are `ElmoOutput.shape`; this is where a caller's counts are checked against them.
extension ElmoModel {
    /// Floats `output` takes for sentences with these token counts, with the `<S>` and `</S>`
    /// rows when `sentenceBoundaries` is set. Throws `.invalidArgument` for an output the
    /// model does not have (or the pooled `sentenceMean` with boundaries), `.invalidInput` for
    /// an empty batch or, without boundaries, an empty sentence (with them a count may be 0),
    /// `.limitExceeded` for a negative count or a size that overflows.
    public func requiredFloats<C: Collection<Int>>(_ output: ElmoOutput, tokenCounts: C, sentenceBoundaries: Bool) throws -> Int {
        try check(output, sentenceBoundaries: sentenceBoundaries)
        guard !tokenCounts.isEmpty else { throw ElmoError(.invalidInput, "empty batch: at least one sentence is needed") }
        var rows: [Int] = []
        rows.reserveCapacity(tokenCounts.count)
        for (i, t) in tokenCounts.enumerated() {
            guard t != 0 || sentenceBoundaries else {
                throw ElmoError(.invalidInput, "sentence \(i) is empty: every sentence needs at least one token")
            }
            guard let r = ElmoModel.rows(tokens: t, sentenceBoundaries: sentenceBoundaries) else {
                throw ElmoError(.limitExceeded, "sentence \(i) has \(UInt(bitPattern: t)) tokens, more than any batch can hold")
            }
            rows.append(r)
        }
        guard let n = OutputWriter.floatCount(output, tokenCounts: rows, options: options) else {
            throw ElmoError(.limitExceeded, "the output of this batch would need more floats than fit in memory")
        }
        return n
    }

    /// The shape of one sentence's output (`ElmoOutput.shape`) for a sentence of `tokens`
    /// tokens, with its 2 boundary rows when `sentenceBoundaries` is set. `tokens` may be 0:
    /// the shape of an empty sentence (no rows, or `outputDim` floats for `sentenceMean`).
    /// Throws as `requiredFloats` does for the output, `.limitExceeded` for a negative count.
    package func outputShape(_ output: ElmoOutput, tokens: Int, sentenceBoundaries: Bool) throws -> [Int] {
        try check(output, sentenceBoundaries: sentenceBoundaries)
        guard let r = ElmoModel.rows(tokens: tokens, sentenceBoundaries: sentenceBoundaries) else {
            throw ElmoError(.limitExceeded, "a sentence of \(UInt(bitPattern: tokens)) tokens is more than any batch can hold")
        }
        return output.shape(tokens: r, options: options)
    }

    /// The rows of a sentence of `tokens` tokens: its tokens, and the `<S>` and `</S>` rows
    /// with `sentenceBoundaries`. nil for a negative count (a size_t above Int.max arrives
    /// negative) or one that cannot take 2 rows more.
    static func rows(tokens: Int, sentenceBoundaries: Bool) -> Int? {
        guard tokens >= 0 else { return nil }
        guard sentenceBoundaries else { return tokens }
        return tokens < Int.max - 1 ? tokens + 2 : nil
    }

    /// The rows of each sentence (see `rows(tokens:sentenceBoundaries:)`) of counts already checked.
    static func rows(tokenCounts: [Int], sentenceBoundaries: Bool) -> [Int] {
        sentenceBoundaries ? tokenCounts.map { $0 + 2 } : tokenCounts
    }

    /// The output exists in this model, and has rows if boundary rows are asked for.
    private func check(_ output: ElmoOutput, sentenceBoundaries: Bool) throws {
        try output.validate(options: options)
        guard !sentenceBoundaries || output.isPerToken else {
            throw ElmoError(.invalidArgument, "sentence boundaries apply to per-token outputs, not to the pooled `default`")
        }
    }
}
