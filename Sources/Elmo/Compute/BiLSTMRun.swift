import CElmoKernels

/// One call's biLSTM over the step-major inputs: what each (direction, layer) LSTM reads and
/// writes, and what one member of its team does to run it. Which threads run which LSTM, and
/// in what order, is `Encoder.LSTMSchedule`'s job. The two directions share nothing but the
/// read-only inputs: each direction's second layer reads only its own first layer.
struct BiLSTMRun {
    let plan: BatchPlan
    /// A stateful session's carried states (nil: every sentence starts from zeros).
    let state: LSTMStateStore?
    /// layers[direction][layer].
    let layers: [[LSTMLayer]]
    let scratch: BiLSTMScratch.Pointers
    let forwardInput: UnsafeMutablePointer<Float>
    let backwardInput: UnsafeMutablePointer<Float>
    let precision: ElmoPrecision
    let useSkipConnections: Bool
    let P: Int
    let Dp: Int
    let allLayerCount: Int

    /// Layer 0 reads the direction's input, every other layer the layer below it.
    func input(direction: Int, layer: Int) -> UnsafePointer<Float> {
        layer == 0
            ? UnsafePointer(direction == 0 ? forwardInput : backwardInput)
            : UnsafePointer(scratch.outputs[direction * allLayerCount + layer - 1])
    }

    func output(direction: Int, layer: Int) -> UnsafeMutablePointer<Float> {
        scratch.outputs[direction * allLayerCount + layer]
    }

    /// One LSTM by one member of its team: initial state, the run, then the state kept
    /// (stateful sessions) and the skip connection. Every member of the team calls it; member
    /// 0 alone does the serial parts, and the team meets at its barrier before the run reads
    /// the initial state and again before the next LSTM reads this one's output.
    func runLSTM(direction: Int, layer: Int, member: TeamMember) {
        let input = input(direction: direction, layer: layer)
        let out = output(direction: direction, layer: layer)
        if member.rank == 0 { loadInitialState(direction: direction, layer: layer) }
        compute(direction: direction, layer: layer, input: input, output: out, member: member)
        if member.rank == 0 { finish(direction: direction, layer: layer, input: input, output: out) }
        member.barrier.wait()
    }

    /// Cell state and initial output: a stateful session's carried ones, else zeros.
    private func loadInitialState(direction: Int, layer: Int) {
        let n = plan.sentenceCount
        if let state {
            state.load(direction: direction, layer: layer, plan: plan, cell: scratch.cell[direction],
                       cellStride: Dp, output: scratch.initialOutput[direction])
        } else {
            scratch.cell[direction].update(repeating: 0, count: n * Dp)
            scratch.initialOutput[direction].update(repeating: 0, count: n * P)
        }
    }

    /// The recurrence in the weights' precision. bf16 and int8 first convert the activations
    /// (each member its share); the barrier then lets every member read all of them, and
    /// (fp32 too) the initial state member 0 wrote.
    private func compute(direction: Int, layer: Int, input: UnsafePointer<Float>, output out: UnsafeMutablePointer<Float>,
                         member: TeamMember) {
        let lstm = layers[direction][layer]
        let cell = scratch.cell[direction], h0 = scratch.initialOutput[direction]
        let gates = scratch.gates[direction], hidden = scratch.hidden[direction]
        switch precision {
        case .int8:
            lstm.prepareInt8(plan: plan, input: input, into: scratch.int8[direction], team: member)
            member.barrier.wait()
            lstm.runInt8(plan: plan, output: out, cell: cell, initialOutput: h0, gates: gates, hidden: hidden,
                         int8: scratch.int8[direction], team: member)
        case .bf16:
            lstm.prepareBF16(plan: plan, input: input, initialOutput: h0, into: scratch.bf16[direction], team: member)
            member.barrier.wait()
            lstm.runBF16(plan: plan, output: out, cell: cell, gates: gates, hidden: hidden,
                         bf16: scratch.bf16[direction], team: member)
        case .fp32:
            member.barrier.wait()
            lstm.run(plan: plan, input: input, output: out, cell: cell, initialOutput: h0, gates: gates,
                     hidden: hidden, team: member)
        }
    }

    /// After the run (member 0): keeps the final states of a stateful session, then adds the
    /// skip connection (the carried state is the LSTM's own output, before the residual).
    private func finish(direction: Int, layer: Int, input: UnsafePointer<Float>, output out: UnsafeMutablePointer<Float>) {
        state?.store(direction: direction, layer: layer, plan: plan, cell: scratch.cell[direction],
                     cellStride: Dp, layerOutput: out)
        if layer > 0 && useSkipConnections {
            elmo_add_inplace(out, input, plan.totalRows * P)
        }
    }
}
