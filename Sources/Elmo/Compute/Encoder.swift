import CElmoKernels

/// The whole forward computation for one batch, with the scratch memory it needs.
/// One per session; buffers grow to the largest batch seen and are then reused, so
/// steady-state calls allocate only per-batch bookkeeping arrays.
///
/// Threads: the forward and backward LSTMs are independent (each direction's second layer
/// reads only its own first layer), so with two or more threads they can run at the same
/// time, each on its own scratch, by a team of half the threads that splits every kernel
/// call's column panels (`LSTMSchedule.directionsInParallel`, fp32). With bf16 weights the
/// four LSTMs instead run one after another, each by a team of all threads
/// (`LSTMSchedule.oneLSTMAtATime`): one LSTM's recurrent and projection matrices (20 MB in
/// bf16 for the original model) then stay in the 32 MB L3 cache from one timestep to the
/// next, where two LSTMs at once would not fit (see BENCHMARKS.md). The token layer splits its
/// distinct tokens between all threads. Every value is computed by the same kernel
/// arithmetic whatever the split or schedule, so the output is bit-identical for any
/// number of threads.
final class Encoder {
    let model: ElmoModel
    private let options: ElmoOptions
    private let workers: WorkerThreads
    /// Each step's reused memory: the batch's distinct tokens, the token layer's scratch, the
    /// step-major LSTM inputs, the biLSTM's scratch.
    private var tokens = DistinctTokens()
    private let tokenLayer: TokenLayerStep
    private let inputs = StepMajorInputs()
    private let lstmScratch: BiLSTMScratch
    private let lstmLayers: [[LSTMLayer]]

    /// Tests and benchmarks only (`ElmoBenchmarkHooks`): forces a schedule (nil: the model's
    /// precision decides). Set it before sessions run, never while they do.
    nonisolated(unsafe) static var scheduleOverride: LSTMSchedule?

    /// The schedule for this model: one LSTM at a time for bf16 weights (they stay in L3).
    var schedule: LSTMSchedule {
        Encoder.scheduleOverride ?? (model.precision == .bf16 ? .oneLSTMAtATime : .directionsInParallel)
    }

    /// Most threads one call uses, whatever is asked: far above any core count this code
    /// scales to, low enough that a wrong argument cannot make a session start thousands.
    static let maxThreads = 256

    /// `threads`: threads one call may use (the caller's included), clamped to 1...maxThreads.
    init(model: ElmoModel, threads: Int) {
        self.model = model
        options = model.options
        let threads = min(max(1, threads), Encoder.maxThreads)
        workers = WorkerThreads(helpers: threads - 1)
        tokenLayer = TokenLayerStep(model: model, threads: threads)
        lstmScratch = BiLSTMScratch(layerCount: model.options.lstm.layerCount, threads: threads)
        let Dp = model.weights.paddedCells
        lstmLayers = model.weights.lstm.map { layers in
            layers.map { LSTMLayer(weights: $0, options: model.options, paddedCells: Dp) }
        }
    }

    /// LSTMs run (layers x directions) by this encoder so far: lets tests check that a
    /// request computes only the layers it needs.
    private(set) var lstmRunCount = 0

    /// Threads one call may use.
    var threadCount: Int { workers.helperCount + 1 }

    /// Releases all scratch memory (it is reallocated by the next call).
    func releaseMemory() {
        tokenLayer.releaseMemory()
        inputs.releaseMemory()
        lstmScratch.releaseMemory()
        tokens.releaseMemory()
    }

    /// Runs the model on `batch` and writes every layer of every sentence, in caller order,
    /// to `destination` as [sentence][layer][token][2P]. `state` carries LSTM states between
    /// calls in a stateful session. The batch must already satisfy the session's limits.
    /// `sentenceBoundaries`: also write the `<S>` and `</S>` positions (tokens + 2 rows per
    /// sentence and layer). A character-id batch must have the model's row width.
    /// `lstmLayers`: how many biLSTM layers to compute (nil: all). Only the token layer and
    /// those layers are written; the blocks of the layers above keep whatever `destination`
    /// held. A stateful session always runs every layer (`EncodePlan`).
    ///
    /// The steps, each a type of its own in `Compute/`: plan the rows and layers
    /// (`EncodePlan`) and find the distinct tokens (`DistinctTokens`); their vectors from the
    /// token cache or the character CNN (`TokenLayerStep`); those vectors copied into each
    /// direction's step-major input (`StepMajorInputs`); the LSTMs (`BiLSTMRun` for what one
    /// LSTM does, `LSTMSchedule` for which threads run it); the layers back into caller order
    /// (`OutputAssembly`).
    func encode(_ batch: TokenBatch, state: LSTMStateStore?, sentenceBoundaries: Bool = false,
                lstmLayers: Int? = nil, into destination: UnsafeMutablePointer<Float>) throws {
        let P = options.lstm.projectionDim
        let plan = EncodePlan(batch: batch, options: options, stateful: state != nil, requestedLayers: lstmLayers)
        lstmRunCount += 2 * plan.layerCount
        tokens.build(batch, rows: model.weights.tokenRows)

        let vectors = try tokenLayer.vectors(of: tokens, workers: workers)
        let (xf, xb) = try inputs.scatter(vectors, of: tokens, batch: batch, plan: plan.rows, P: P,
                                          layerCount: plan.layerCount)
        let outputs = plan.layerCount > 0
            ? try runLSTMs(plan: plan.rows, state: state, layerCount: plan.layerCount, xf: xf, xb: xb) : []
        OutputAssembly.write(plan: plan.rows, tokenLayer: xf, lstmOutputs: outputs, layerCount: plan.layerCount,
                             allLayerCount: plan.allLayerCount, P: P, sentenceBoundaries: sentenceBoundaries,
                             into: destination)
    }

    /// Runs the first `layerCount` layers of both directions over the step-major inputs
    /// `xf` / `xb`; returns the layer outputs (direction * allLayerCount + layer).
    private func runLSTMs(plan: BatchPlan, state: LSTMStateStore?, layerCount: Int,
                          xf: UnsafeMutablePointer<Float>, xb: UnsafeMutablePointer<Float>) throws -> [UnsafeMutablePointer<Float>] {
        let P = options.lstm.projectionDim
        let Dp = model.weights.paddedCells
        let allLayerCount = options.lstm.layerCount
        let scratch = try lstmScratch.reserve(plan: plan, layerCount: layerCount, allLayerCount: allLayerCount,
                                              P: P, Dp: Dp, precision: model.precision, unusedOutput: xf)
        state?.reserve(rows: plan.sentenceCount)
        let run = BiLSTMRun(plan: plan, state: state, layers: lstmLayers, scratch: scratch, forwardInput: xf,
                            backwardInput: xb, precision: model.precision,
                            useSkipConnections: options.lstm.useSkipConnections, P: P, Dp: Dp,
                            allLayerCount: allLayerCount)
        schedule.run(layerCount: layerCount, workers: workers) { direction, layer, member in
            run.runLSTM(direction: direction, layer: layer, member: member)
        }
        return scratch.outputs
    }
}
