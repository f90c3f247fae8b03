import CElmoKernels

/// One LSTM (one layer, one direction) over a planned batch, TensorFlow LSTMCell semantics
/// with projection and clipping as bilm-tf configures it.
///
/// For each chunk of timesteps, the input contribution (plus bias) of all their rows is one
/// packed GEMM; each timestep then runs the fused step kernel over the active sentences
/// (recurrent product, gates, cell update) and projects with one more packed GEMM. Outputs
/// are written in the plan's step-major layout, so the previous step's outputs are exactly
/// the first rows of the previous block and serve directly as the recurrent input.
struct LSTMLayer {
    let weights: LSTMWeights
    let dim: Int
    /// dim rounded up to whole kernel panels: the row stride of cell and hidden states.
    let paddedCells: Int
    let projectionDim: Int
    let cellClip: Float
    let projectionClip: Float

    /// Gate rows computed per input GEMM: enough rows for full GEMM speed, few enough to
    /// bound scratch memory for long sentences (512 x 4Dp floats: 32 MB for D = 4096).
    static let gateChunkRows = 512

    init(weights: LSTMWeights, options: ElmoOptions, paddedCells: Int) {
        self.weights = weights
        dim = options.lstm.dim
        self.paddedCells = paddedCells
        projectionDim = options.lstm.projectionDim
        cellClip = options.lstm.cellClip ?? 0
        projectionClip = options.lstm.projectionClip ?? 0
    }

    /// Gate scratch floats needed for a plan.
    static func gateScratchFloats(plan: BatchPlan, paddedCells: Int) -> Int {
        max(gateChunkRows, plan.active.first ?? 0) * 4 * paddedCells
    }

    /// The end of the chunk of timesteps that starts at `t0`: extended while its rows fit
    /// in `capacity` gate rows (always at least one step).
    private static func chunkEnd(plan: BatchPlan, from t0: Int, capacity: Int) -> Int {
        var t1 = t0 + 1
        while t1 < plan.steps && plan.offset[t1 + 1] - plan.offset[t0] <= capacity { t1 += 1 }
        return t1
    }

    /// The output columns a team member writes at each step: those of its projection
    /// panels, or its share of the P columns when there is no projection (D == P).
    private func outputColumns(projectionPanels: Range<Int>, team: TeamMember) -> Range<Int> {
        guard weights.projection != nil else { return team.share(projectionDim) }
        let width = PackedMatrix.panelWidth
        return (projectionPanels.lowerBound * width)..<min(projectionPanels.upperBound * width, projectionDim)
    }

    /// Clips `columns` of `rows` projected output rows (TensorFlow's LSTMCell clips only
    /// the projected output); all of them in one call when the columns are whole rows.
    private func clipProjection(_ out: UnsafeMutablePointer<Float>, rows m: Int, columns: Range<Int>) {
        guard projectionClip > 0 && !columns.isEmpty else { return }
        let P = projectionDim
        if columns.count == P {
            elmo_clip(out, m * P, projectionClip)
        } else {
            for r in 0..<m { elmo_clip(out + r * P + columns.lowerBound, columns.count, projectionClip) }
        }
    }

    /// D == P: copies `columns` of `rows` hidden-state rows (stride Dp) to the output.
    private func copyHidden(_ hidden: UnsafePointer<Float>, to out: UnsafeMutablePointer<Float>, rows m: Int,
                            columns: Range<Int>) {
        guard !columns.isEmpty else { return }
        for r in 0..<m {
            (out + r * projectionDim + columns.lowerBound).update(from: hidden + r * paddedCells + columns.lowerBound,
                                                                 count: columns.count)
        }
    }

    /// Runs the LSTM over `plan.totalRows` input rows (P wide) into as many output rows.
    /// - cell: sentenceCount x Dp, the initial cell states in sorted order (padding cells
    ///   zero); holds each sentence's final cell state afterwards.
    /// - initialOutput: sentenceCount x P, the initial h (previous output) in sorted order.
    /// - gates: `gateScratchFloats` floats; hidden: sentenceCount x Dp floats.
    /// - team: every member of a team calls `run` with the same arguments; each computes its
    ///   share of the column panels, and they meet at the team's barrier after each step's
    ///   cell update (the projection reads every cell) and after its projection (the next
    ///   step reads every output). A member's gate columns are its own from the input GEMM
    ///   to the cell update, so no barrier is needed there. Returns after a final barrier.
    func run(plan: BatchPlan, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
             cell: UnsafeMutablePointer<Float>, initialOutput: UnsafePointer<Float>,
             gates: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>, team: TeamMember = .alone) {
        let P = projectionDim, Dp = paddedCells, G = 4 * paddedCells
        let chunkCapacity = max(LSTMLayer.gateChunkRows, plan.active.first ?? 0)
        var inputWeights = weights.input.descriptor
        var recurrentWeights = weights.recurrent.descriptor
        var projectionWeights = weights.projection?.descriptor
        let gatePanels = team.share(weights.recurrent.panelCount)
        let projectionPanels = team.share(weights.projection?.panelCount ?? 0)
        let ownColumns = outputColumns(projectionPanels: projectionPanels, team: team)
        var t0 = 0
        while t0 < plan.steps {
            let t1 = LSTMLayer.chunkEnd(plan: plan, from: t0, capacity: chunkCapacity)
            let chunkRows = plan.offset[t1] - plan.offset[t0]
            elmo_gemm(input + plan.offset[t0] * P, P, chunkRows, &inputWeights, ELMO_GEMM_BIAS,
                      weights.bias.pointer, gates, G, gatePanels.lowerBound, gatePanels.upperBound)
            for t in t0..<t1 {
                let m = plan.active[t]
                let g = gates + (plan.offset[t] - plan.offset[t0]) * G
                let previous: UnsafePointer<Float> = t == 0 ? initialOutput : UnsafePointer(output + plan.offset[t - 1] * P)
                elmo_lstm_step(g, G, previous, P, &recurrentWeights, cell, hidden, Dp, m, cellClip,
                               gatePanels.lowerBound, gatePanels.upperBound)
                team.barrier.wait()
                let out = output + plan.offset[t] * P
                if projectionWeights != nil {
                    elmo_gemm(hidden, Dp, m, &projectionWeights!, ELMO_GEMM_ZERO, nil, out, P,
                              projectionPanels.lowerBound, projectionPanels.upperBound)
                    clipProjection(out, rows: m, columns: ownColumns)
                } else {
                    copyHidden(hidden, to: out, rows: m, columns: ownColumns)
                }
                team.barrier.wait()
            }
            t0 = t1
        }
    }

    /// The bf16-rounded activations of a run with bf16 weights.
    struct BF16Activations {
        /// totalRows x P: the layer input, rounded.
        let input: UnsafeMutablePointer<UInt16>
        /// sentenceCount x P: the initial output h, rounded.
        let initialOutput: UnsafeMutablePointer<UInt16>
        /// sentenceCount x P: the previous step's output, rounded.
        let output: UnsafeMutablePointer<UInt16>
        /// sentenceCount x Dp: the hidden state, rounded (the projection's input).
        let hidden: UnsafeMutablePointer<UInt16>
    }

    /// Before `runBF16`: rounds this member's share of the input rows and (member 0) the
    /// initial output. The team must meet at its barrier between this and `runBF16`.
    func prepareBF16(plan: BatchPlan, input: UnsafePointer<Float>, initialOutput: UnsafePointer<Float>,
                     into bf16: BF16Activations, team: TeamMember = .alone) {
        let P = projectionDim
        let rows = team.share(plan.totalRows)
        elmo_bf16_convert_rows(input + rows.lowerBound * P, P, rows.count, P, bf16.input + rows.lowerBound * P, P)
        if team.rank == 0 {
            elmo_bf16_convert_rows(initialOutput, P, plan.sentenceCount, P, bf16.initialOutput, P)
        }
    }

    /// `run` for bf16 weights (`weights` are bf16): the same steps with the bf16 kernels,
    /// each product's activations rounded to bf16 (`prepareBF16` rounds the input and the
    /// initial output; each step rounds its own output for the next step).
    func runBF16(plan: BatchPlan, output: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>,
                 gates: UnsafeMutablePointer<Float>, hidden: UnsafeMutablePointer<Float>, bf16: BF16Activations,
                 team: TeamMember = .alone) {
        let P = projectionDim, Dp = paddedCells, G = 4 * paddedCells
        let chunkCapacity = max(LSTMLayer.gateChunkRows, plan.active.first ?? 0)
        var inputWeights = weights.input.descriptor
        var recurrentWeights = weights.recurrent.descriptor
        var projectionWeights = weights.projection?.descriptor
        let gatePanels = team.share(weights.recurrent.panelCount)
        let projectionPanels = team.share(weights.projection?.panelCount ?? 0)
        let ownColumns = outputColumns(projectionPanels: projectionPanels, team: team)
        var t0 = 0
        while t0 < plan.steps {
            let t1 = LSTMLayer.chunkEnd(plan: plan, from: t0, capacity: chunkCapacity)
            let chunkRows = plan.offset[t1] - plan.offset[t0]
            elmo_gemm_bf16(bf16.input + plan.offset[t0] * P, P, chunkRows, &inputWeights, ELMO_GEMM_BIAS,
                           weights.bias.pointer, gates, G, gatePanels.lowerBound, gatePanels.upperBound)
            for t in t0..<t1 {
                let m = plan.active[t]
                let g = gates + (plan.offset[t] - plan.offset[t0]) * G
                let previous = UnsafePointer(t == 0 ? bf16.initialOutput : bf16.output)
                elmo_lstm_step_bf16(g, G, previous, P, &recurrentWeights, cell,
                                    projectionWeights == nil ? hidden : nil, projectionWeights == nil ? nil : bf16.hidden,
                                    Dp, m, cellClip, gatePanels.lowerBound, gatePanels.upperBound)
                team.barrier.wait()
                let out = output + plan.offset[t] * P
                if projectionWeights != nil {
                    elmo_gemm_bf16(bf16.hidden, Dp, m, &projectionWeights!, ELMO_GEMM_ZERO, nil, out, P,
                                   projectionPanels.lowerBound, projectionPanels.upperBound)
                    clipProjection(out, rows: m, columns: ownColumns)
                } else {
                    copyHidden(hidden, to: out, rows: m, columns: ownColumns)
                }
                if !ownColumns.isEmpty {
                    elmo_bf16_convert_rows(out + ownColumns.lowerBound, P, m, ownColumns.count,
                                           bf16.output + ownColumns.lowerBound, P)
                }
                team.barrier.wait()
            }
            t0 = t1
        }
    }
}

extension LSTMLayer {
    /// The quantised activations of a run with int8 weights (`elmo_int8.h`).
    struct Int8Activations {
        /// totalRows x round4(P) bytes and totalRows scales: the layer input, quantised per row
        /// by the whole team (`prepareInt8`).
        let input: UnsafeMutablePointer<UInt8>
        let inputScales: UnsafeMutablePointer<Float>
        /// One per team member (indexed by rank), each sentenceCount x (round4(P) + Dp)
        /// bytes and 2 x sentenceCount scales: the previous output and the hidden state,
        /// quantised by every member for itself (every member reads every row, so no barrier
        /// is needed between quantising and multiplying).
        let privateBytes: [UnsafeMutablePointer<UInt8>]
        let privateScales: [UnsafeMutablePointer<Float>]
    }

    /// Row stride of quantised rows of `n` values (the kernels read whole quads of k).
    static func int8Stride(_ n: Int) -> Int { (n + 3) / 4 * 4 }

    /// Before `runInt8`: quantises this member's share of the input rows. The team must meet
    /// at its barrier between this and `runInt8`.
    func prepareInt8(plan: BatchPlan, input: UnsafePointer<Float>, into q: Int8Activations, team: TeamMember = .alone) {
        let P = projectionDim, Pq = LSTMLayer.int8Stride(P)
        let rows = team.share(plan.totalRows)
        elmo_int8_quantize_rows(input + rows.lowerBound * P, P, rows.count, P, q.input + rows.lowerBound * Pq, Pq,
                                q.inputScales + rows.lowerBound)
    }

    /// `run` for int8 weights: the same steps with the int8 kernels. The input product uses
    /// the rows `prepareInt8` quantised; each step quantises the previous output (the
    /// initial output at step 0) and the hidden state per row before multiplying them.
    func runInt8(plan: BatchPlan, output: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>,
                 initialOutput: UnsafePointer<Float>, gates: UnsafeMutablePointer<Float>,
                 hidden: UnsafeMutablePointer<Float>, int8 q: Int8Activations, team: TeamMember = .alone) {
        let P = projectionDim, Dp = paddedCells, G = 4 * paddedCells, Pq = LSTMLayer.int8Stride(P)
        let n = plan.sentenceCount
        let chunkCapacity = max(LSTMLayer.gateChunkRows, plan.active.first ?? 0)
        var inputWeights = weights.input.int8Descriptor
        var recurrentWeights = weights.recurrent.int8Descriptor
        var projectionWeights = weights.projection?.int8Descriptor
        let gatePanels = team.share(weights.recurrent.panelCount)
        let projectionPanels = team.share(weights.projection?.panelCount ?? 0)
        let ownColumns = outputColumns(projectionPanels: projectionPanels, team: team)
        let previousQ = q.privateBytes[team.rank], hiddenQ = previousQ + n * Pq
        let previousScales = q.privateScales[team.rank], hiddenScales = previousScales + n
        var t0 = 0
        while t0 < plan.steps {
            let t1 = LSTMLayer.chunkEnd(plan: plan, from: t0, capacity: chunkCapacity)
            let chunkRows = plan.offset[t1] - plan.offset[t0]
            elmo_gemm_int8(q.input + plan.offset[t0] * Pq, Pq, q.inputScales + plan.offset[t0], chunkRows, &inputWeights,
                           ELMO_GEMM_BIAS, weights.bias.pointer, gates, G, gatePanels.lowerBound, gatePanels.upperBound)
            for t in t0..<t1 {
                let m = plan.active[t]
                let g = gates + (plan.offset[t] - plan.offset[t0]) * G
                if !gatePanels.isEmpty {
                    let previous: UnsafePointer<Float> = t == 0 ? initialOutput : UnsafePointer(output + plan.offset[t - 1] * P)
                    elmo_int8_quantize_rows(previous, P, m, P, previousQ, Pq, previousScales)
                    elmo_lstm_step_int8(g, G, previousQ, Pq, previousScales, &recurrentWeights, cell, hidden, Dp, m,
                                        cellClip, gatePanels.lowerBound, gatePanels.upperBound)
                }
                team.barrier.wait()
                let out = output + plan.offset[t] * P
                if projectionWeights != nil {
                    if !projectionPanels.isEmpty {
                        elmo_int8_quantize_rows(hidden, Dp, m, Dp, hiddenQ, Dp, hiddenScales)
                        elmo_gemm_int8(hiddenQ, Dp, hiddenScales, m, &projectionWeights!, ELMO_GEMM_ZERO, nil, out, P,
                                       projectionPanels.lowerBound, projectionPanels.upperBound)
                        clipProjection(out, rows: m, columns: ownColumns)
                    }
                } else {
                    copyHidden(hidden, to: out, rows: m, columns: ownColumns)
                }
                team.barrier.wait()
            }
            t0 = t1
        }
    }
}
