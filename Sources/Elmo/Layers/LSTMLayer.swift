import CElmoKernels

/// One LSTM (one layer, one direction) over a planned batch, TensorFlow LSTMCell semantics
/// with projection and clipping as bilm-tf configures it.
///
/// For each chunk of timesteps, the input contribution of all their rows is one GEMM;
/// each timestep then adds the recurrent product (one GEMM over the active sentences),
/// applies the gate math, and projects (one more GEMM). Outputs are written in the plan's
/// step-major layout, so the previous step's outputs are exactly the first rows of the
/// previous block and serve directly as the recurrent input.
struct LSTMLayer {
    let weights: LSTMWeights
    let dim: Int
    let projectionDim: Int
    let cellClip: Float
    let projectionClip: Float

    /// Gate rows computed per input GEMM: large enough for full GEMM speed, small enough to
    /// bound scratch memory for very long sentences (1024 x 4D floats: 64 MB for D = 4096).
    static let gateChunkRows = 1024

    init(weights: LSTMWeights, options: ElmoOptions) {
        self.weights = weights
        dim = options.lstm.dim
        projectionDim = options.lstm.projectionDim
        cellClip = options.lstm.cellClip ?? 0
        projectionClip = options.lstm.projectionClip ?? 0
    }

    /// Gate scratch floats needed for a plan.
    static func gateScratchFloats(plan: BatchPlan, dim: Int) -> Int {
        max(gateChunkRows, plan.active.first ?? 0) * 4 * dim
    }

    /// Runs the LSTM over `plan.totalRows` input rows (P wide) into as many output rows.
    /// - cell: sentenceCount x D, the initial cell states in sorted order; holds each
    ///   sentence's final cell state afterwards.
    /// - initialOutput: sentenceCount x P, the initial h (previous output) in sorted order.
    /// - gates: `gateScratchFloats` floats; hidden: sentenceCount x D floats.
    func run(plan: BatchPlan, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             cell: UnsafeMutablePointer<Float>, initialOutput: UnsafePointer<Float>,
             gates: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>) {
        let D = dim, P = projectionDim, G = 4 * dim
        let chunkCapacity = max(LSTMLayer.gateChunkRows, plan.active.first ?? 0)
        var t0 = 0
        while t0 < plan.steps {
            // Extend the chunk while its rows fit in the gate scratch (always at least one step).
            var t1 = t0 + 1
            while t1 < plan.steps && plan.offset[t1 + 1] - plan.offset[t0] <= chunkCapacity { t1 += 1 }
            let chunkRows = plan.offset[t1] - plan.offset[t0]
            gemm(m: chunkRows, n: G, k: P, a: input + plan.offset[t0] * P, lda: P,
                 b: weights.inputKernel.pointer, ldb: G, c: gates, ldc: G)
            for t in t0..<t1 {
                let m = plan.active[t]
                let g = gates + (plan.offset[t] - plan.offset[t0]) * G
                let previous: UnsafePointer<Float> = t == 0 ? initialOutput : UnsafePointer(output + plan.offset[t - 1] * P)
                gemm(m: m, n: G, k: P, a: previous, lda: P, b: weights.recurrentKernel.pointer, ldb: G, c: g, ldc: G, beta: 1)
                elmo_lstm_cell(g, weights.bias.pointer, cell, hidden, m, D, cellClip)
                let out = output + plan.offset[t] * P
                if let proj = weights.projection {
                    gemm(m: m, n: P, k: D, a: hidden, lda: D, b: proj.pointer, ldb: P, c: out, ldc: P)
                    // TensorFlow's LSTMCell clips only the projected output.
                    if projectionClip > 0 { elmo_clip(out, m * P, projectionClip) }
                } else {
                    out.update(from: hidden, count: m * P)  // D == P
                }
            }
            t0 = t1
        }
    }
}
