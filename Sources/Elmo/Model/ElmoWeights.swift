import COpenBLAS

/// One filter bank of the character CNN in the form the kernel uses: a lookup table of the
/// filter's response to every character at every offset (see `elmo_char_filter`).
struct CharFilterWeights: @unchecked Sendable {
    var width: Int
    var count: Int
    /// (width, 262, count): table[k][c][f] = sum_d charEmbedding[c][d] * W_cnn[0][k][d][f].
    var table: Tensor
    /// (count)
    var bias: Tensor
}

/// A highway layer with its two weight matrices side by side, so one GEMM computes both.
struct HighwayWeights: @unchecked Sendable {
    /// (F, 2F): columns [W_carry | W_transform].
    var kernel: Tensor
    /// (2F): [b_carry | b_transform].
    var bias: Tensor
}

/// The char-CNN output projection (`CNN_proj`).
struct ProjectionWeights: @unchecked Sendable {
    /// (F, P)
    var kernel: Tensor
    /// (P)
    var bias: Tensor
}

/// One LSTM (one layer of one direction), TensorFlow LSTMCell layout with gates [i | j | f | o].
struct LSTMWeights: @unchecked Sendable {
    /// (P, 4D): rows of W_0 that multiply the layer input.
    var inputKernel: Tensor
    /// (P, 4D): rows of W_0 that multiply the previous output h.
    var recurrentKernel: Tensor
    /// (4D): B with TensorFlow's forget bias (1.0) already added to the f block.
    var bias: Tensor
    /// (D, P): W_P_0, absent when projection_dim == dim.
    var projection: Tensor?
}

/// All weights of a model, prepared for computation and immutable.
final class ElmoWeights: @unchecked Sendable {
    let options: ElmoOptions
    let filters: [CharFilterWeights]
    let highways: [HighwayWeights]
    let projection: ProjectionWeights?
    /// lstm[direction][layer]; direction 0 = forward, 1 = backward.
    let lstm: [[LSTMWeights]]

    /// TensorFlow's LSTMCell adds 1.0 to the forget gate's pre-activation.
    static let forgetBias: Float = 1.0

    init(options: ElmoOptions, filters: [CharFilterWeights], highways: [HighwayWeights],
         projection: ProjectionWeights?, lstm: [[LSTMWeights]]) {
        self.options = options
        self.filters = filters
        self.highways = highways
        self.projection = projection
        self.lstm = lstm
    }

    /// Reads every official tensor from `source`, checking each shape against the options,
    /// and prepares the computation layout.
    static func prepare(options: ElmoOptions, source: OfficialTensorSource) throws -> ElmoWeights {
        let cnn = options.charCNN
        let E = cnn.embeddingDim
        let F = cnn.totalFilters
        let P = options.lstm.projectionDim
        let D = options.lstm.dim

        let embedding = try source.characterEmbedding(embeddingDim: E)
        var filters: [CharFilterWeights] = []
        for (i, f) in cnn.filters.enumerated() {
            let w = try source.tensor(OfficialNames.convWeight(i), expected: [1, f.width, E, f.count])
            let b = try source.tensor(OfficialNames.convBias(i), expected: [f.count])
            filters.append(CharFilterWeights(width: f.width, count: f.count,
                                             table: try characterTable(embedding: embedding, filter: w),
                                             bias: b))
        }

        var highways: [HighwayWeights] = []
        for i in 0..<cnn.highwayCount {
            let wc = try source.tensor(OfficialNames.highway(i, "W_carry"), expected: [F, F])
            let bc = try source.tensor(OfficialNames.highway(i, "b_carry"), expected: [F])
            let wt = try source.tensor(OfficialNames.highway(i, "W_transform"), expected: [F, F])
            let bt = try source.tensor(OfficialNames.highway(i, "b_transform"), expected: [F])
            let (kernel, k) = try Tensor.allocate(shape: [F, 2 * F])
            for r in 0..<F {
                (k + r * 2 * F).update(from: wc.pointer + r * F, count: F)
                (k + r * 2 * F + F).update(from: wt.pointer + r * F, count: F)
            }
            let (bias, b) = try Tensor.allocate(shape: [2 * F])
            b.update(from: bc.pointer, count: F)
            (b + F).update(from: bt.pointer, count: F)
            highways.append(HighwayWeights(kernel: kernel, bias: bias))
        }

        var projection: ProjectionWeights?
        if options.hasCNNProjection {
            projection = ProjectionWeights(
                kernel: try source.tensor(OfficialNames.projectionWeight, expected: [F, P]),
                bias: try source.tensor(OfficialNames.projectionBias, expected: [P]))
        }

        var lstm: [[LSTMWeights]] = []
        for direction in 0..<2 {
            var layers: [LSTMWeights] = []
            for layer in 0..<options.lstm.layerCount {
                let w = try source.tensor(OfficialNames.lstm(direction, layer, "W_0"), expected: [2 * P, 4 * D])
                let b = try source.tensor(OfficialNames.lstm(direction, layer, "B"), expected: [4 * D])
                var wp: Tensor?
                if options.lstm.hasProjection {
                    wp = try source.tensor(OfficialNames.lstm(direction, layer, "W_P_0"), expected: [D, P])
                }
                layers.append(LSTMWeights(inputKernel: w.rows(0, P), recurrentKernel: w.rows(P, P),
                                          bias: try foldForgetBias(b, dim: D), projection: wp))
            }
            lstm.append(layers)
        }
        return ElmoWeights(options: options, filters: filters, highways: highways, projection: projection, lstm: lstm)
    }

    /// table[k] = embedding (262 x E) times W_cnn[0][k] (E x count), one GEMM per offset.
    static func characterTable(embedding: Tensor, filter: Tensor) throws -> Tensor {
        let rows = embedding.shape[0], E = embedding.shape[1]
        let width = filter.shape[1], count = filter.shape[3]
        let (table, t) = try Tensor.allocate(shape: [width, rows, count])
        for k in 0..<width {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        Int32(rows), Int32(count), Int32(E), 1.0,
                        embedding.pointer, Int32(E),
                        filter.pointer + k * E * count, Int32(count),
                        0.0, t + k * rows * count, Int32(count))
        }
        return table
    }

    static func foldForgetBias(_ bias: Tensor, dim: Int) throws -> Tensor {
        let (t, p) = try Tensor.allocate(shape: bias.shape)
        p.update(from: bias.pointer, count: bias.count)
        for k in (2 * dim)..<(3 * dim) { p[k] += forgetBias }
        return t
    }
}
