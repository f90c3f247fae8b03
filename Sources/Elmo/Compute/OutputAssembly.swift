/// The last step of an encode call: the layers computed, gathered from the step-major,
/// length-sorted rows into caller order, as [sentence][layer][token][2P]. Every layer has
/// 2P columns: the token layer's vector twice (as bilm-tf writes it), each LSTM layer its
/// forward and backward outputs side by side.
enum OutputAssembly {
    /// Writes the token layer (`tokenLayer`, the forward input) and the first `layerCount`
    /// LSTM layers (`lstmOutputs[direction * allLayerCount + layer]`) of every sentence of
    /// `plan` to `destination`; the blocks of the layers above keep what they held. Without
    /// `sentenceBoundaries` the `<S>` and `</S>` steps are left out.
    static func write(plan: BatchPlan, tokenLayer xf: UnsafeMutablePointer<Float>,
                      lstmOutputs outputs: [UnsafeMutablePointer<Float>], layerCount: Int, allLayerCount: Int,
                      P: Int, sentenceBoundaries: Bool, into destination: UnsafeMutablePointer<Float>) {
        let n = plan.sentenceCount
        let width = 2 * P
        let firstStep = sentenceBoundaries ? 0 : 1
        var dst = destination
        for i in 0..<n {
            let a = plan.position[i]
            let len = plan.lengths[i]
            let rowsOut = sentenceBoundaries ? len : len - 2  // >= 1: empty sentences are refused before encoding
            for p in 0..<rowsOut {
                let tok = xf + plan.row(step: p + firstStep, sorted: a) * P
                let row = dst + p * width
                row.update(from: tok, count: P)
                (row + P).update(from: tok, count: P)
            }
            for layer in 0..<layerCount {
                let fwd = outputs[layer], bwd = outputs[allLayerCount + layer]
                let block = dst + (layer + 1) * rowsOut * width
                for p in 0..<rowsOut {
                    let step = p + firstStep
                    let row = block + p * width
                    row.update(from: fwd + plan.row(step: step, sorted: a) * P, count: P)
                    (row + P).update(from: bwd + plan.row(step: len - 1 - step, sorted: a) * P, count: P)
                }
            }
            dst += (allLayerCount + 1) * rowsOut * width
        }
    }
}
