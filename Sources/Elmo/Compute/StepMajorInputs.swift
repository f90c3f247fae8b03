/// The LSTMs' inputs: each row's token vector copied into the step-major layout of
/// `BatchPlan`, once in forward order and (when some LSTM runs) once in backward order, the
/// backward direction reading its sentences reversed. The forward copy also serves as the
/// token layer of the outputs (`OutputAssembly`). One per encoder; buffers are reused.
final class StepMajorInputs {
    private let forwardInput = ScratchBuffer()
    private let backwardInput = ScratchBuffer()

    /// Scatters `vectors` (one per distinct token, P floats each) into the rows of `plan`.
    /// Without LSTM layers the backward input is not made (`backward` is then `forward`).
    func scatter(_ vectors: UnsafeMutablePointer<Float>, of tokens: DistinctTokens, batch: TokenBatch,
                 plan: BatchPlan, P: Int, layerCount: Int) throws
        -> (forward: UnsafeMutablePointer<Float>, backward: UnsafeMutablePointer<Float>) {
        let n = plan.sentenceCount
        let rows = plan.totalRows
        let xf = try forwardInput.reserve(rows * P)
        let xb = layerCount > 0 ? try backwardInput.reserve(rows * P) : xf
        let uniqueIndexOfToken = tokens.dedup.uniqueIndexOfToken
        var firstToken = 0
        for i in 0..<n {
            let a = plan.position[i]
            let len = plan.lengths[i]
            for t in 0..<len {
                let u: Int
                if t == 0 { u = Int(TokenDeduplicator.beginSentenceIndex) }
                else if t == len - 1 { u = Int(TokenDeduplicator.endSentenceIndex) }
                else { u = Int(uniqueIndexOfToken[firstToken + t - 1]) }
                let src = vectors + u * P
                (xf + plan.row(step: t, sorted: a) * P).update(from: src, count: P)
                if layerCount > 0 { (xb + plan.row(step: len - 1 - t, sorted: a) * P).update(from: src, count: P) }
            }
            firstToken += batch.sentenceLengths[i]
        }
        return (xf, xb)
    }

    func releaseMemory() {
        forwardInput.release()
        backwardInput.release()
    }
}
