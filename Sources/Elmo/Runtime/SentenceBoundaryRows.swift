/// Output sizes when the sentence boundary positions are returned too (AllenNLP's
/// `keep_sentence_boundaries`): every per-token output then has tokens + 2 rows per sentence.
extension ElmoModel {
    /// Floats `output` takes for sentences with these token counts, with the `<S>` and `</S>`
    /// rows when `sentenceBoundaries` is set. The counts are checked as `requiredFloats`
    /// checks them; the pooled `sentenceMean` has no boundary rows and is refused with them.
    public func requiredFloats<C: Collection<Int>>(_ output: ElmoOutput, tokenCounts: C, sentenceBoundaries: Bool) throws -> Int {
        let tokensOnly = try requiredFloats(output, tokenCounts: tokenCounts)
        guard sentenceBoundaries else { return tokensOnly }
        guard let perToken = output.floatsPerToken(options: options) else {
            throw ElmoError(.invalidArgument, "sentence boundaries apply to per-token outputs, not to the pooled `default`")
        }
        // Two rows per sentence; requiredFloats has checked the counts, so only the sum can overflow.
        let (perSentence, o1) = perToken.multipliedReportingOverflow(by: 2)
        let (extra, o2) = perSentence.multipliedReportingOverflow(by: tokenCounts.count)
        let (total, o3) = tokensOnly.addingReportingOverflow(extra)
        guard !o1, !o2, !o3 else {
            throw ElmoError(.limitExceeded, "the output of this batch would need more floats than fit in memory")
        }
        return total
    }
}
