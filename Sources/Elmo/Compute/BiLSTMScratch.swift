/// The biLSTM's scratch memory, one set per direction so that the two directions can run at
/// the same time: gate chunk, cell state, hidden state, initial output, each layer's output,
/// and the rounded (bf16) or quantised (int8) activations the precision needs. One per
/// encoder; buffers grow to the largest batch seen and are then reused.
final class BiLSTMScratch {
    /// layerOutputs[direction * layerCount + layer]: rows x P, step-major.
    private let layerOutputs: [ScratchBuffer]
    /// Per direction: gate chunk, cell state, hidden state, initial output.
    private let gates: [ScratchBuffer]
    private let cell: [ScratchBuffer]
    private let hidden: [ScratchBuffer]
    private let initialOutput: [ScratchBuffer]
    /// Per direction, with bf16 weights: the rounded activations (`LSTMLayer.BF16Activations`).
    private let inputBF16: [BF16ScratchBuffer]
    private let initialOutputBF16: [BF16ScratchBuffer]
    private let outputBF16: [BF16ScratchBuffer]
    private let hiddenBF16: [BF16ScratchBuffer]
    /// Per direction, with int8 weights: the quantised input rows and their scales; per
    /// direction and team rank, each member's own quantised activations
    /// (`LSTMLayer.Int8Activations`).
    private let inputInt8: [TypedScratchBuffer<UInt8>]
    private let inputScalesInt8: [ScratchBuffer]
    private let privateInt8: [[TypedScratchBuffer<UInt8>]]
    private let privateScalesInt8: [[ScratchBuffer]]

    /// One call's share of the scratch, per direction (index 0 forward, 1 backward).
    struct Pointers {
        let gates: [UnsafeMutablePointer<Float>]
        let cell: [UnsafeMutablePointer<Float>]
        let hidden: [UnsafeMutablePointer<Float>]
        let initialOutput: [UnsafeMutablePointer<Float>]
        /// [direction * allLayerCount + layer]: rows x P; a layer not computed gets the
        /// forward input, which it never writes.
        let outputs: [UnsafeMutablePointer<Float>]
        /// Empty unless the weights are bf16 / int8.
        let bf16: [LSTMLayer.BF16Activations]
        let int8: [LSTMLayer.Int8Activations]
    }

    /// `threads`: the most team members an LSTM can have (each int8 member quantises for itself).
    init(layerCount: Int, threads: Int) {
        inputBF16 = (0..<2).map { _ in BF16ScratchBuffer() }
        initialOutputBF16 = (0..<2).map { _ in BF16ScratchBuffer() }
        outputBF16 = (0..<2).map { _ in BF16ScratchBuffer() }
        hiddenBF16 = (0..<2).map { _ in BF16ScratchBuffer() }
        inputInt8 = (0..<2).map { _ in TypedScratchBuffer<UInt8>() }
        inputScalesInt8 = (0..<2).map { _ in ScratchBuffer() }
        privateInt8 = (0..<2).map { _ in (0..<threads).map { _ in TypedScratchBuffer<UInt8>() } }
        privateScalesInt8 = (0..<2).map { _ in (0..<threads).map { _ in ScratchBuffer() } }
        layerOutputs = (0..<(2 * layerCount)).map { _ in ScratchBuffer() }
        gates = (0..<2).map { _ in ScratchBuffer() }
        cell = (0..<2).map { _ in ScratchBuffer() }
        hidden = (0..<2).map { _ in ScratchBuffer() }
        initialOutput = (0..<2).map { _ in ScratchBuffer() }
    }

    /// Reserves what the first `layerCount` layers of both directions need for `plan` with
    /// `precision` weights. `unusedOutput`: what the outputs of the layers above point to.
    func reserve(plan: BatchPlan, layerCount: Int, allLayerCount: Int, P: Int, Dp: Int,
                 precision: ElmoPrecision, unusedOutput xf: UnsafeMutablePointer<Float>) throws -> Pointers {
        let n = plan.sentenceCount
        let rows = plan.totalRows
        let gateFloats = LSTMLayer.gateScratchFloats(plan: plan, paddedCells: Dp)
        var gatePtr: [UnsafeMutablePointer<Float>] = [], cellPtr: [UnsafeMutablePointer<Float>] = []
        var hiddenPtr: [UnsafeMutablePointer<Float>] = [], h0: [UnsafeMutablePointer<Float>] = []
        for d in 0..<2 {
            gatePtr.append(try gates[d].reserve(gateFloats))
            cellPtr.append(try cell[d].reserve(n * Dp))
            hiddenPtr.append(try hidden[d].reserve(n * Dp))
            h0.append(try initialOutput[d].reserve(n * P))
        }
        var outputs: [UnsafeMutablePointer<Float>] = []
        for (i, b) in layerOutputs.enumerated() {
            outputs.append(i % allLayerCount < layerCount ? try b.reserve(rows * P) : xf)  // xf: never written
        }
        var activations: [LSTMLayer.BF16Activations] = []
        if precision == .bf16 {
            for d in 0..<2 {
                activations.append(LSTMLayer.BF16Activations(
                    input: try inputBF16[d].reserve(rows * P), initialOutput: try initialOutputBF16[d].reserve(n * P),
                    output: try outputBF16[d].reserve(n * P), hidden: try hiddenBF16[d].reserve(n * Dp)))
            }
        }
        var quantised: [LSTMLayer.Int8Activations] = []
        if precision == .int8 {
            let Pq = LSTMLayer.int8Stride(P)
            for d in 0..<2 {
                quantised.append(LSTMLayer.Int8Activations(
                    input: try inputInt8[d].reserve(rows * Pq), inputScales: try inputScalesInt8[d].reserve(rows),
                    privateBytes: try privateInt8[d].map { try $0.reserve(n * (Pq + Dp)) },
                    privateScales: try privateScalesInt8[d].map { try $0.reserve(2 * n) }))
            }
        }
        return Pointers(gates: gatePtr, cell: cellPtr, hidden: hiddenPtr, initialOutput: h0, outputs: outputs,
                        bf16: activations, int8: quantised)
    }

    /// Frees the scratch memory (it is reallocated by the next call).
    func releaseMemory() {
        for b in gates + cell + hidden + initialOutput + layerOutputs + inputScalesInt8 + privateScalesInt8.flatMap({ $0 }) {
            b.release()
        }
        for b in inputInt8 + privateInt8.flatMap({ $0 }) { b.release() }
        for b in inputBF16 + initialOutputBF16 + outputBF16 + hiddenBF16 { b.release() }
    }
}
