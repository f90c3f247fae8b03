import CElmoKernels

/// The compute layout of a model's weights: every tensor the kernels read, by name and
/// shape. `ElmoWeights.prepare` builds these tensors from the official ones; the native
/// model file stores exactly them, in this order, so loading it needs no work at all.
///
/// Every tensor holds a multiple of 64 bytes, so that when they are stored back to back
/// from a 64-byte aligned start, each one is 64-byte aligned.
///
/// Precision: at `.bf16` the packed matrices (highway and CNN-projection kernels, LSTM
/// input, recurrent and projection) are stored as bf16 (`PackedMatrix.shape(...element:)`);
/// the character tables and every bias stay float32 (small, and the table is a lookup
/// whose sums are not products). At `.int8` the LSTM matrices are int8
/// (`PackedMatrix.shape(...element: .i8)`), each followed by its `<name>.scales` (F32) and
/// `<name>.column_sums` (I32), both (panels x 64); the token layer's matrices are bf16.
///
/// - `char_cnn.{i}.table` (width, 262, Cp): filter i's response to every character at every
///   offset; Cp = count rounded up to 16 (padding channels zero).
/// - `char_cnn.{i}.bias` (Cp)
/// - `highway.{i}.kernel` packed (F x 2F) with columns [carry | transform];
///   `highway.{i}.bias` (round16(2F)): [b_carry | b_transform]
/// - `cnn_projection.kernel` packed (F x P), `cnn_projection.bias` (round16(P)), only when
///   the options have a char-CNN projection.
/// - `lstm.{d}.{l}.input` and `lstm.{d}.{l}.recurrent`: packed (P x 4Dp), gate-interleaved
///   (see `elmo_lstm_step`), Dp = dim rounded up to 16; `lstm.{d}.{l}.bias` (4Dp) gate-
///   interleaved with TensorFlow's forget bias (1.0) folded in; `lstm.{d}.{l}.projection`
///   packed (Dp x P), only when projection_dim < dim. d = 0 forward, 1 backward.
/// - ELMoForManyLangs models (`ElmoOptions.manyLangs`): the character tables have one row
///   per `char.dic` entry; with a word embedding, `word_embedding.table` (n_words,
///   round16(word_dim)) and `word_projection.kernel` packed (round16(word_dim) x P); their
///   LSTM biases hold no forget-bias offset and their highway carry weights are negated
///   (see `ManyLangsWeights`).
struct PreparedLayout {
    struct Entry: Equatable {
        let name: String
        let shape: [Int]
        var element: TensorElement = .f32
        var elementCount: Int { shape.reduce(1, *) }
        var byteCount: Int { elementCount * element.byteWidth }
    }

    let options: ElmoOptions
    let precision: ElmoPrecision
    let entries: [Entry]

    static let cellsPerPanel = Int(ELMO_PANEL_CELLS)

    static func round16(_ n: Int) -> Int { (n + 15) / 16 * 16 }

    /// The LSTM cell count rounded up to whole panels of cells.
    static func paddedCells(_ options: ElmoOptions) -> Int {
        (options.lstm.dim + cellsPerPanel - 1) / cellsPerPanel * cellsPerPanel
    }

    init(options: ElmoOptions, precision: ElmoPrecision = .fp32) {
        self.options = options
        self.precision = precision
        func packed(_ name: String, rows: Int, cols: Int, element m: TensorElement) -> [Entry] {
            let matrix = Entry(name: name, shape: PackedMatrix.shape(rows: rows, cols: cols, element: m), element: m)
            guard m == .i8 else { return [matrix] }
            let columns = PackedMatrix.int8ColumnShape(cols: cols)
            return [matrix, Entry(name: PreparedLayout.int8Scales(name), shape: columns),
                    Entry(name: PreparedLayout.int8ColumnSums(name), shape: columns, element: .i32)]
        }
        let tokenElement = precision.tokenMatrixElement, lstmElement = precision.lstmMatrixElement
        let cnn = options.charCNN, F = cnn.totalFilters, P = options.lstm.projectionDim
        let Dp = PreparedLayout.paddedCells(options)
        var e: [Entry] = []
        let convolve = options.manyLangs.map { !$0.characterTables } ?? false
        if convolve {
            // ELMoForManyLangs with a large vocabulary: the embedding (rows padded to Ep =
            // round16(E)) and each filter as a packed (width x Ep, count) matrix.
            e.append(Entry(name: PreparedLayout.charEmbedding,
                           shape: [options.characterTableRows, PreparedLayout.round16(cnn.embeddingDim)]))
        }
        for (i, f) in cnn.filters.enumerated() {
            let cp = PreparedLayout.round16(f.count)
            if convolve {
                e += packed(PreparedLayout.filterKernel(i), rows: f.width * PreparedLayout.round16(cnn.embeddingDim), cols: f.count,
                            element: tokenElement)
            } else {
                e.append(Entry(name: PreparedLayout.filterTable(i), shape: [f.width, options.characterTableRows, cp]))
            }
            e.append(Entry(name: PreparedLayout.filterBias(i), shape: [cp]))
        }
        for i in 0..<cnn.highwayCount {
            e += packed(PreparedLayout.highwayKernel(i), rows: F, cols: 2 * F, element: tokenElement)
            e.append(Entry(name: PreparedLayout.highwayBias(i), shape: [PreparedLayout.round16(2 * F)]))
        }
        if options.hasCNNProjection {
            e += packed(PreparedLayout.cnnProjectionKernel, rows: F, cols: P, element: tokenElement)
            e.append(Entry(name: PreparedLayout.cnnProjectionBias, shape: [PreparedLayout.round16(P)]))
        }
        if let m = options.manyLangs, m.wordDim > 0 {
            // ELMoForManyLangs: the word embedding (rows padded to 16 floats, a lookup table
            // that stays float32) and the projection's columns that act on it.
            let wp = PreparedLayout.round16(m.wordDim)
            e.append(Entry(name: PreparedLayout.wordEmbedding, shape: [m.wordCount, wp]))
            e += packed(PreparedLayout.wordProjectionKernel, rows: wp, cols: P, element: tokenElement)
        }
        for d in 0..<2 {
            for l in 0..<options.lstm.layerCount {
                e += packed(PreparedLayout.lstm(d, l, "input"), rows: P, cols: 4 * Dp, element: lstmElement)
                e += packed(PreparedLayout.lstm(d, l, "recurrent"), rows: P, cols: 4 * Dp, element: lstmElement)
                e.append(Entry(name: PreparedLayout.lstm(d, l, "bias"), shape: [4 * Dp]))
                if options.lstm.hasProjection {
                    e += packed(PreparedLayout.lstm(d, l, "projection"), rows: Dp, cols: P, element: lstmElement)
                }
            }
        }
        entries = e
    }

    /// The fp32 per-column scales of the int8 matrix `name` (`elmo_packed_int8.scales`).
    static func int8Scales(_ name: String) -> String { name + ".scales" }
    /// The int32 column sums of the int8 matrix `name` (`elmo_packed_int8.column_sums`).
    static func int8ColumnSums(_ name: String) -> String { name + ".column_sums" }

    static func filterTable(_ i: Int) -> String { "char_cnn.\(i).table" }
    static func filterBias(_ i: Int) -> String { "char_cnn.\(i).bias" }
    static func filterKernel(_ i: Int) -> String { "char_cnn.\(i).kernel" }
    static let charEmbedding = "char_embedding.table"
    static func highwayKernel(_ i: Int) -> String { "highway.\(i).kernel" }
    static func highwayBias(_ i: Int) -> String { "highway.\(i).bias" }
    static let cnnProjectionKernel = "cnn_projection.kernel"
    static let cnnProjectionBias = "cnn_projection.bias"
    static let wordEmbedding = "word_embedding.table"
    static let wordProjectionKernel = "word_projection.kernel"
    static func lstm(_ d: Int, _ l: Int, _ field: String) -> String { "lstm.\(d).\(l).\(field)" }

    /// Source column (in TensorFlow's [i | j | f | o] layout of 4 * dim columns) of column
    /// `c` of a gate-interleaved matrix, or nil for a padding cell.
    static func gateSourceColumn(_ c: Int, dim: Int) -> Int? {
        let W = PackedMatrix.panelWidth, cells = cellsPerPanel
        let panel = c / W, within = c % W
        let gate = within / cells, cell = panel * cells + within % cells
        return cell < dim ? gate * dim + cell : nil
    }
}
