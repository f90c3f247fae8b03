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
    private var dedup = TokenDeduplicator()
    private var charIds: [UInt16] = []
    private let tokenScratch: [ScratchBuffer]
    private let tokenScratchBF16: [BF16ScratchBuffer]
    private let tokenVectors = ScratchBuffer()
    /// Token-cache bookkeeping: per distinct token whether the cache had it; the ones it
    /// did not, their character ids and computed vectors.
    private var found: [Bool] = []
    private var missing: [Int] = []
    private var missedIds: [UInt16] = []
    private let missedVectors = ScratchBuffer()
    private let forwardInput = ScratchBuffer()
    private let backwardInput = ScratchBuffer()
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
    private let lstmLayers: [[LSTMLayer]]

    /// How the four LSTMs share the threads (results are bit-identical either way).
    enum LSTMSchedule: Equatable {
        /// Forward and backward at once, each by a team of half the threads.
        case directionsInParallel
        /// One (layer, direction) after another, each by a team of all threads.
        case oneLSTMAtATime
    }

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
        tokenScratch = (0..<threads).map { _ in ScratchBuffer() }
        tokenScratchBF16 = (0..<threads).map { _ in BF16ScratchBuffer() }
        inputBF16 = (0..<2).map { _ in BF16ScratchBuffer() }
        initialOutputBF16 = (0..<2).map { _ in BF16ScratchBuffer() }
        outputBF16 = (0..<2).map { _ in BF16ScratchBuffer() }
        hiddenBF16 = (0..<2).map { _ in BF16ScratchBuffer() }
        inputInt8 = (0..<2).map { _ in TypedScratchBuffer<UInt8>() }
        inputScalesInt8 = (0..<2).map { _ in ScratchBuffer() }
        privateInt8 = (0..<2).map { _ in (0..<threads).map { _ in TypedScratchBuffer<UInt8>() } }
        privateScalesInt8 = (0..<2).map { _ in (0..<threads).map { _ in ScratchBuffer() } }
        layerOutputs = (0..<(2 * model.options.lstm.layerCount)).map { _ in ScratchBuffer() }
        gates = (0..<2).map { _ in ScratchBuffer() }
        cell = (0..<2).map { _ in ScratchBuffer() }
        hidden = (0..<2).map { _ in ScratchBuffer() }
        initialOutput = (0..<2).map { _ in ScratchBuffer() }
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
        for b in tokenScratch + [tokenVectors, missedVectors, forwardInput, backwardInput] + gates + cell + hidden + initialOutput + layerOutputs
            + inputScalesInt8 + privateScalesInt8.flatMap({ $0 }) {
            b.release()
        }
        for b in inputInt8 + privateInt8.flatMap({ $0 }) { b.release() }
        for b in tokenScratchBF16 + inputBF16 + initialOutputBF16 + outputBF16 + hiddenBF16 {
            b.release()
        }
        charIds = []
        found = []
        missing = []
        missedIds = []
    }

    /// Runs the model on `batch` and writes every layer of every sentence, in caller order,
    /// to `destination` as [sentence][layer][token][2P]. `state` carries LSTM states between
    /// calls in a stateful session. The batch must already satisfy the session's limits.
    /// `sentenceBoundaries`: also write the `<S>` and `</S>` positions (tokens + 2 rows per
    /// sentence and layer). A character-id batch must have the model's row width.
    /// `lstmLayers`: how many biLSTM layers to compute (nil: all). Only the token layer and
    /// those layers are written; the blocks of the layers above keep whatever `destination`
    /// held. Each layer reads only the one below it, so the layers computed are bit-identical
    /// to the same layers of a full run. A stateful session always runs every layer (its
    /// carried states must advance with every call).
    func encode(_ batch: TokenBatch, state: LSTMStateStore?, sentenceBoundaries: Bool = false,
                lstmLayers: Int? = nil, into destination: UnsafeMutablePointer<Float>) throws {
        let P = options.lstm.projectionDim
        let rowsOfIds = model.weights.tokenRows
        let L = rowsOfIds.width  // ids per token row
        let allLayerCount = options.lstm.layerCount
        let layerCount = state != nil ? allLayerCount : min(max(lstmLayers ?? allLayerCount, 0), allLayerCount)
        lstmRunCount += 2 * layerCount
        let plan = BatchPlan(tokenCounts: batch.sentenceLengths)
        let n = plan.sentenceCount
        let rows = plan.totalRows

        // Distinct tokens and their character ids: 0 = <S>, 1 = </S>, then first-seen order.
        // A character-id token is its whole row (2 bytes per id); text counts its significant bytes.
        let fromIds = batch.charactersPerToken != nil
        dedup.build(batch: batch, significantBytes: fromIds ? 2 * L : rowsOfIds.significantBytes)
        let unique = dedup.uniqueCount
        charIds.removeAll(keepingCapacity: true)
        charIds.append(contentsOf: repeatElement(0, count: unique * L))
        charIds.withUnsafeMutableBufferPointer { ids in
            let base = ids.baseAddress!
            rowsOfIds.writeBoundary(end: false, into: base)
            rowsOfIds.writeBoundary(end: true, into: base + L)
            batch.bytes.withUnsafeBufferPointer { bytes in
                for (k, tokenIndex) in dedup.firstOccurrence.enumerated() {
                    if fromIds {
                        batch.copyCharacterIds(ofToken: tokenIndex, into: base + (k + 2) * L)
                        continue
                    }
                    let r = batch.tokenRange(tokenIndex)
                    rowsOfIds.encode(UnsafeBufferPointer(rebasing: bytes[r]), into: base + (k + 2) * L)
                }
            }
        }

        // Token layer: vectors from the model's cache where it has them, the rest computed
        // (split into one contiguous range per thread) and then stored in the cache.
        let vectors = try tokenVectors.reserve(unique * P)
        let cache = model.tokenCache
        found.removeAll(keepingCapacity: true)
        found.append(contentsOf: repeatElement(false, count: unique))
        missing.removeAll(keepingCapacity: true)
        charIds.withUnsafeBufferPointer { ids in
            found.withUnsafeMutableBufferPointer { f in
                _ = cache.lookup(keys: ids.baseAddress!, count: unique, into: vectors, found: f.baseAddress!)
            }
        }
        for u in 0..<unique where !found[u] { missing.append(u) }
        let computeCount = missing.count
        if computeCount > 0 {
            // Misses are computed contiguously: their character ids gathered, and (unless
            // every token missed) their vectors into a separate buffer, scattered afterwards.
            let direct = computeCount == unique
            let missVectors = direct ? vectors : try missedVectors.reserve(computeCount * P)
            if !direct {
                missedIds.removeAll(keepingCapacity: true)
                charIds.withUnsafeBufferPointer { ids in
                    for u in missing { missedIds.append(contentsOf: ids[(u * L)..<((u + 1) * L)]) }
                }
            }
            let parts = min(threadCount, max(1, computeCount / 16))
            let scratches = try tokenScratch.prefix(parts).map { try $0.reserve(model.tokenLayer.scratchFloats) }
            let bf16Scratches = try tokenScratchBF16.prefix(parts).map { try $0.reserve(model.tokenLayer.scratchBF16) }
            (direct ? charIds : missedIds).withUnsafeBufferPointer { ids in
                let idBase = ids.baseAddress!
                workers.run(tasks: parts) { part in
                    let start = computeCount * part / parts, end = computeCount * (part + 1) / parts
                    model.tokenLayer.forward(ids: idBase + start * L, count: end - start, out: missVectors + start * P,
                                             scratch: scratches[part], scratchBF16: bf16Scratches[part])
                }
                cache.insert(keys: idBase, vectors: missVectors, count: computeCount)
            }
            if !direct {
                for (k, u) in missing.enumerated() { (vectors + u * P).update(from: missVectors + k * P, count: P) }
            }
        }

        // Scatter into the step-major inputs of both directions (the backward one only
        // when some LSTM runs).
        let xf = try forwardInput.reserve(rows * P)
        let xb = layerCount > 0 ? try backwardInput.reserve(rows * P) : xf
        var firstToken = 0
        for i in 0..<n {
            let a = plan.position[i]
            let len = plan.lengths[i]
            for t in 0..<len {
                let u: Int
                if t == 0 { u = Int(TokenDeduplicator.beginSentenceIndex) }
                else if t == len - 1 { u = Int(TokenDeduplicator.endSentenceIndex) }
                else { u = Int(dedup.uniqueIndexOfToken[firstToken + t - 1]) }
                let src = vectors + u * P
                (xf + plan.row(step: t, sorted: a) * P).update(from: src, count: P)
                if layerCount > 0 { (xb + plan.row(step: len - 1 - t, sorted: a) * P).update(from: src, count: P) }
            }
            firstToken += batch.sentenceLengths[i]
        }

        let outputs = layerCount > 0 ? try runLSTMs(plan: plan, state: state, layerCount: layerCount, xf: xf, xb: xb) : []

        // Gather the layers computed into caller order, without the boundary steps unless asked for.
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

    /// Runs the first `layerCount` layers of both directions over the step-major inputs
    /// `xf` / `xb` into `layerOutputs` (direction * allLayerCount + layer).
    private func runLSTMs(plan: BatchPlan, state: LSTMStateStore?, layerCount: Int,
                          xf: UnsafeMutablePointer<Float>, xb: UnsafeMutablePointer<Float>) throws -> [UnsafeMutablePointer<Float>] {
        let P = options.lstm.projectionDim
        let Dp = model.weights.paddedCells
        let allLayerCount = options.lstm.layerCount
        let n = plan.sentenceCount
        let rows = plan.totalRows
        // The biLSTM: each direction runs its layers in order, the two directions in parallel.
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
        let bf16 = model.precision == .bf16
        var activations: [LSTMLayer.BF16Activations] = []
        if bf16 {
            for d in 0..<2 {
                activations.append(LSTMLayer.BF16Activations(
                    input: try inputBF16[d].reserve(rows * P), initialOutput: try initialOutputBF16[d].reserve(n * P),
                    output: try outputBF16[d].reserve(n * P), hidden: try hiddenBF16[d].reserve(n * Dp)))
            }
        }
        let int8 = model.precision == .int8
        var quantised: [LSTMLayer.Int8Activations] = []
        if int8 {
            let Pq = LSTMLayer.int8Stride(P)
            for d in 0..<2 {
                quantised.append(LSTMLayer.Int8Activations(
                    input: try inputInt8[d].reserve(rows * Pq), inputScales: try inputScalesInt8[d].reserve(rows),
                    privateBytes: try privateInt8[d].map { try $0.reserve(n * (Pq + Dp)) },
                    privateScales: try privateScalesInt8[d].map { try $0.reserve(2 * n) }))
            }
        }
        state?.reserve(rows: n)
        let skip = options.lstm.useSkipConnections

        /// One LSTM by one member of its team: initial state, the run, then the state kept
        /// (stateful sessions) and the skip connection. Every member of the team calls it.
        func runLSTM(direction: Int, layer: Int, member: TeamMember) {
            let input: UnsafePointer<Float> = layer == 0
                ? UnsafePointer(direction == 0 ? xf : xb)
                : UnsafePointer(outputs[direction * allLayerCount + layer - 1])
            let out = outputs[direction * allLayerCount + layer]
            if member.rank == 0 {
                if let state {
                    state.load(direction: direction, layer: layer, plan: plan, cell: cellPtr[direction],
                               cellStride: Dp, output: h0[direction])
                } else {
                    cellPtr[direction].update(repeating: 0, count: n * Dp)
                    h0[direction].update(repeating: 0, count: n * P)
                }
            }
            let lstm = lstmLayers[direction][layer]
            if int8 {
                lstm.prepareInt8(plan: plan, input: input, into: quantised[direction], team: member)
                member.barrier.wait()
                lstm.runInt8(plan: plan, output: out, cell: cellPtr[direction], initialOutput: h0[direction],
                             gates: gatePtr[direction], hidden: hiddenPtr[direction], int8: quantised[direction],
                             team: member)
            } else if bf16 {
                lstm.prepareBF16(plan: plan, input: input, initialOutput: h0[direction], into: activations[direction],
                                 team: member)
                member.barrier.wait()
                lstm.runBF16(plan: plan, output: out, cell: cellPtr[direction], gates: gatePtr[direction],
                             hidden: hiddenPtr[direction], bf16: activations[direction], team: member)
            } else {
                member.barrier.wait()
                lstm.run(plan: plan, input: input, output: out, cell: cellPtr[direction],
                         initialOutput: h0[direction], gates: gatePtr[direction],
                         hidden: hiddenPtr[direction], team: member)
            }
            if member.rank == 0 {
                state?.store(direction: direction, layer: layer, plan: plan, cell: cellPtr[direction],
                             cellStride: Dp, layerOutput: out)
                if layer > 0 && skip {
                    elmo_add_inplace(out, input, rows * P)
                }
            }
            member.barrier.wait()
        }

        // Team members wait for each other, so only threads that are really running count.
        let running = workers.readyThreadCount()
        switch schedule {
        case .oneLSTMAtATime:
            let barrier = TeamBarrier(size: running)
            workers.run(tasks: running) { task in
                let member = TeamMember(rank: task, barrier: barrier)
                for layer in 0..<layerCount {
                    for direction in 0..<2 { runLSTM(direction: direction, layer: layer, member: member) }
                }
            }
        case .directionsInParallel:
            // One team per direction (the larger one forward), or one thread for both.
            let forwardTeam = running >= 2 ? (running + 1) / 2 : 1
            let backwardTeam = running >= 2 ? running / 2 : 1
            let barriers = [TeamBarrier(size: forwardTeam), TeamBarrier(size: backwardTeam)]
            let tasks = running >= 2 ? running : 1
            workers.run(tasks: tasks) { task in
                let directions = tasks == 1 ? [0, 1] : [task < forwardTeam ? 0 : 1]
                for direction in directions {
                    let member = TeamMember(rank: task < forwardTeam ? task : task - forwardTeam, barrier: barriers[direction])
                    for layer in 0..<layerCount { runLSTM(direction: direction, layer: layer, member: member) }
                }
            }
        }
        return outputs
    }
}
