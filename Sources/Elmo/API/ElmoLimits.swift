/// Resource limits of one embedding call. Inputs beyond them are refused with a
/// `.limitExceeded` error before any memory is committed, instead of running the host out
/// of memory. Working memory grows with the tokens of a call: for the original model about
/// 14 KB per token plus the requested output.
public struct ElmoLimits: Equatable, Sendable {
    /// Most sentences in one call.
    public var maxSentences: Int
    /// Most tokens in one sentence (boundaries not counted).
    public var maxTokensPerSentence: Int
    /// Most tokens in one call, all sentences together.
    public var maxTokensPerCall: Int

    /// Limits with the given bounds; the defaults are those of `ElmoLimits.default`, far above
    /// any usual batch (a batch of 65,536 tokens takes about 1 GB of working memory with the
    /// original model).
    public init(maxSentences: Int = 16_384, maxTokensPerSentence: Int = 65_536, maxTokensPerCall: Int = 65_536) {
        self.maxSentences = maxSentences
        self.maxTokensPerSentence = maxTokensPerSentence
        self.maxTokensPerCall = maxTokensPerCall
    }

    /// 16,384 sentences, 65,536 tokens per sentence and 65,536 tokens per call: the limits of a
    /// session made without any.
    public static let `default` = ElmoLimits()

    func check(_ batch: TokenBatch, allowEmpty: Bool = false) throws {
        _ = try check(sentenceLengths: batch.sentenceLengths, allowEmpty: allowEmpty)
    }

    /// Checks a batch's shape from its token counts alone, before any token is read (the
    /// counts of a C caller decide how far its arrays are read, so they are checked first),
    /// and returns the total number of tokens. Throws `.invalidInput` for an empty batch or
    /// sentence, `.limitExceeded` beyond the limits (a negative count, which is how a size_t
    /// above Int.max arrives from C, is beyond every limit). `allowEmpty`: a sentence of 0
    /// tokens is valid (the sentence-boundary rows of `<S> </S>` alone are asked for).
    package func check<C: Collection<Int>>(sentenceLengths: C, allowEmpty: Bool = false) throws -> Int {
        guard !sentenceLengths.isEmpty else {
            throw ElmoError(.invalidInput, "empty batch: at least one sentence is needed")
        }
        guard sentenceLengths.count <= maxSentences else {
            throw ElmoError(.limitExceeded, "batch of \(sentenceLengths.count) sentences exceeds the limit of \(maxSentences) per call")
        }
        var total = 0
        for (i, n) in sentenceLengths.enumerated() {
            guard n != 0 || allowEmpty else {
                throw ElmoError(.invalidInput, "sentence \(i) is empty: every sentence needs at least one token")
            }
            guard n >= 0, n <= maxTokensPerSentence else {
                throw ElmoError(.limitExceeded, "sentence \(i) has \(UInt(bitPattern: n)) tokens, more than the limit of \(maxTokensPerSentence)")
            }
            // n <= maxTokensPerSentence and total <= maxTokensPerCall, so this cannot overflow
            // for limits of sane size; checked anyway because limits are caller-set.
            let (sum, overflow) = total.addingReportingOverflow(n)
            guard !overflow, sum <= maxTokensPerCall else {
                throw ElmoError(.limitExceeded, "batch has more than \(maxTokensPerCall) tokens, the limit per call")
            }
            total = sum
        }
        return total
    }
}
