/// The carried LSTM states of a stateful session (bilm-tf's and AllenNLP's behaviour):
/// for every layer and direction, the cell state and output of each batch row as the last
/// call left it. Row i of the next call starts from row i's state; rows beyond the current
/// batch keep theirs, as bilm-tf's state variables do.
///
/// The two directions run on different threads, so each (direction, layer) keeps its
/// state in an object of its own: concurrent loads and stores never touch shared storage.
final class LSTMStateStore {
    private let dim: Int
    private let projectionDim: Int
    private let layerCount: Int
    /// slots[direction * layerCount + layer]
    private let slots: [Slot]
    private(set) var rows = 0

    private final class Slot {
        /// rows x dim
        var cell: [Float] = []
        /// rows x projectionDim
        var output: [Float] = []
    }

    init(options: ElmoOptions) {
        dim = options.lstm.dim
        projectionDim = options.lstm.projectionDim
        layerCount = options.lstm.layerCount
        slots = (0..<(2 * layerCount)).map { _ in Slot() }
    }

    /// Forgets every carried state.
    func reset() {
        for s in slots {
            s.cell = []
            s.output = []
        }
        rows = 0
    }

    /// Grows to at least `n` rows; new rows start from zero state. Call before the
    /// directions start.
    func reserve(rows n: Int) {
        guard n > rows else { return }
        for s in slots {
            s.cell.append(contentsOf: repeatElement(0, count: (n - rows) * dim))
            s.output.append(contentsOf: repeatElement(0, count: (n - rows) * projectionDim))
        }
        rows = n
    }

    /// Copies the initial states of the plan's sentences (sorted order) into `cell` (rows of
    /// `cellStride` floats, the padding beyond `dim` zeroed) and `output`.
    func load(direction: Int, layer: Int, plan: BatchPlan,
              cell: UnsafeMutablePointer<Float>, cellStride: Int, output: UnsafeMutablePointer<Float>) {
        let slot = slots[direction * layerCount + layer]
        slot.cell.withUnsafeBufferPointer { c in
            slot.output.withUnsafeBufferPointer { h in
                for a in 0..<plan.sentenceCount {
                    let r = plan.order[a]
                    (cell + a * cellStride).update(from: c.baseAddress! + r * dim, count: dim)
                    (cell + a * cellStride + dim).update(repeating: 0, count: cellStride - dim)
                    (output + a * projectionDim).update(from: h.baseAddress! + r * projectionDim, count: projectionDim)
                }
            }
        }
    }

    /// Stores each sentence's final state: its cell row in `cell` (sorted order) and its last
    /// output row in the layer's step-major `layerOutput` (before any residual is added).
    func store(direction: Int, layer: Int, plan: BatchPlan,
               cell: UnsafePointer<Float>, cellStride: Int, layerOutput: UnsafePointer<Float>) {
        let slot = slots[direction * layerCount + layer]
        slot.cell.withUnsafeMutableBufferPointer { c in
            slot.output.withUnsafeMutableBufferPointer { h in
                for a in 0..<plan.sentenceCount {
                    let r = plan.order[a]
                    let last = plan.row(step: plan.length(sorted: a) - 1, sorted: a)
                    (c.baseAddress! + r * dim).update(from: cell + a * cellStride, count: dim)
                    (h.baseAddress! + r * projectionDim).update(from: layerOutput + last * projectionDim, count: projectionDim)
                }
            }
        }
    }
}
