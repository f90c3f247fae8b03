import CElmoKernels

/// One filter bank of the character CNN in the form the kernel uses: a lookup table of the
/// filter's response to every character at every offset (see `elmo_char_filter`).
struct CharFilterWeights: @unchecked Sendable {
    var width: Int
    var count: Int
    /// Channels per table row: `count` rounded up to 16.
    var stride: Int
    /// (width, 262, stride): table[k][c][f] = sum_d charEmbedding[c][d] * W_cnn[0][k][d][f].
    var table: Tensor
    /// (stride)
    var bias: Tensor
}

/// A highway layer with its two weight matrices side by side, so one GEMM computes both.
struct HighwayWeights: @unchecked Sendable {
    /// Packed (F x 2F): columns [W_carry | W_transform].
    var kernel: PackedMatrix
    /// [b_carry | b_transform], 2F values (padded to a multiple of 16).
    var bias: Tensor
}

/// The char-CNN output projection (`CNN_proj`).
struct ProjectionWeights: @unchecked Sendable {
    /// Packed (F x P).
    var kernel: PackedMatrix
    /// P values (padded to a multiple of 16).
    var bias: Tensor
}

/// An ELMoForManyLangs character CNN computed by convolution (`ManyLangs.characterTables`
/// false): the embedding and one packed matrix per filter.
struct CharConvolutionWeights: @unchecked Sendable {
    /// (n_chars, Ep): rows padded with zeros to Ep = round16(E).
    var embedding: Tensor
    /// Per filter, packed (width x Ep, count): row k * Ep + d multiplies dimension d of the
    /// window's k-th character.
    var kernels: [PackedMatrix]
    var biases: [Tensor]
}

/// An ELMoForManyLangs word embedding: looked up by word id, then projected and added to
/// the char-CNN's projection (the package projects [word; char-CNN] with one matrix).
struct WordEmbeddingWeights: @unchecked Sendable {
    /// (n_words, Wp): rows padded with zeros to Wp = round16(word_dim).
    var table: Tensor
    /// Packed (Wp x P): the projection's columns that act on the word embedding.
    var kernel: PackedMatrix
}

/// One LSTM (one layer of one direction) in the fused step's gate-interleaved layout.
struct LSTMWeights: @unchecked Sendable {
    /// Packed (P x 4Dp): rows of W_0 that multiply the layer input.
    var input: PackedMatrix
    /// Packed (P x 4Dp): rows of W_0 that multiply the previous output h.
    var recurrent: PackedMatrix
    /// (4Dp): B with TensorFlow's forget bias (1.0) added to the f gate.
    var bias: Tensor
    /// Packed (Dp x P): W_P_0 with zero rows for the padding cells; absent when
    /// projection_dim == dim.
    var projection: PackedMatrix?
}

/// All weights of a model, prepared for computation (`PreparedLayout`) and immutable.
final class ElmoWeights: @unchecked Sendable {
    let options: ElmoOptions
    let layout: PreparedLayout
    /// The number format of the packed matrices.
    var precision: ElmoPrecision { layout.precision }
    /// Every prepared tensor by name: what the native file stores.
    let tensors: [String: Tensor]
    let filters: [CharFilterWeights]
    let highways: [HighwayWeights]
    let projection: ProjectionWeights?
    /// lstm[direction][layer]; direction 0 = forward, 1 = backward.
    let lstm: [[LSTMWeights]]
    /// ELMoForManyLangs models only.
    let wordEmbedding: WordEmbeddingWeights?
    /// ELMoForManyLangs models whose character CNN is convolved (`filters` is then empty).
    let charConvolution: CharConvolutionWeights?
    /// ELMoForManyLangs models only: their vocabularies (the native file stores them too).
    let vocabulary: ManyLangsVocabulary?
    /// How this model's tokens become rows of ids.
    var tokenRows: TokenRows {
        vocabulary.map { .manyLangs($0) } ?? .bytes(maxCharacters: options.charCNN.maxCharactersPerToken)
    }
    /// LSTM cells rounded up to whole kernel panels.
    let paddedCells: Int

    /// TensorFlow's LSTMCell adds 1.0 to the forget gate's pre-activation.
    static let forgetBias: Float = 1.0

    /// Builds the model from prepared tensors, checking that exactly the tensors of the
    /// layout are present with exactly its shapes and element types. `source` names the
    /// origin in errors.
    init(options: ElmoOptions, precision: ElmoPrecision = .fp32, tensors: [String: Tensor], source: String,
         vocabulary: ManyLangsVocabulary? = nil) throws {
        let layout = PreparedLayout(options: options, precision: precision)
        if let m = options.manyLangs {
            guard let v = vocabulary, v.characters.count == m.characterCount, v.words.count == m.wordCount,
                  v.maxCharacters == options.charCNN.maxCharactersPerToken else {
                throw ElmoError(.invalidModel, "\(source): the vocabularies do not match the options (\(m.characterCount) characters, \(m.wordCount) words)")
            }
        } else if vocabulary != nil {
            throw ElmoError(.invalidModel, "\(source): vocabularies given for a model without them")
        }
        self.vocabulary = vocabulary
        for entry in layout.entries {
            guard let t = tensors[entry.name] else { throw ElmoError.missingTensor(source, entry.name) }
            guard t.shape == entry.shape else {
                throw ElmoError.shapeMismatch(source, entry.name, expected: entry.shape, actual: t.shape)
            }
            guard t.element == entry.element else {
                throw ElmoError(.invalidModel, "\(source): tensor \(entry.name) is \(t.element.safetensorsName), expected \(entry.element.safetensorsName)")
            }
        }
        if tensors.count != layout.entries.count {
            let known = Set(layout.entries.map(\.name))
            let extra = tensors.keys.filter { !known.contains($0) }.sorted()
            throw ElmoError(.invalidModel, "\(source): unexpected tensors \(extra.joined(separator: ", "))")
        }
        func t(_ name: String) throws -> Tensor {
            guard let tensor = tensors[name] else { throw ElmoError.missingTensor(source, name) }
            return tensor
        }
        /// The packed matrix `name`, with its scales and column sums when it is int8.
        func packed(_ name: String, rows: Int, cols: Int) throws -> PackedMatrix {
            let m = try t(name)
            guard m.element == .i8 else { return try PackedMatrix(tensor: m, rows: rows, cols: cols) }
            return try PackedMatrix(tensor: m, rows: rows, cols: cols, scales: try t(PreparedLayout.int8Scales(name)),
                                    columnSums: try t(PreparedLayout.int8ColumnSums(name)))
        }

        let cnn = options.charCNN, F = cnn.totalFilters, P = options.lstm.projectionDim
        let Dp = PreparedLayout.paddedCells(options)
        self.options = options
        self.layout = layout
        self.tensors = tensors
        paddedCells = Dp
        if let m = options.manyLangs, !m.characterTables {
            let Ep = PreparedLayout.round16(cnn.embeddingDim)
            charConvolution = CharConvolutionWeights(
                embedding: try t(PreparedLayout.charEmbedding),
                kernels: try cnn.filters.enumerated().map { i, f in
                    try PackedMatrix(tensor: try t(PreparedLayout.filterKernel(i)), rows: f.width * Ep, cols: f.count)
                },
                biases: try cnn.filters.indices.map { try t(PreparedLayout.filterBias($0)) })
            filters = []
        } else {
            charConvolution = nil
            filters = try cnn.filters.enumerated().map { i, f in
                CharFilterWeights(width: f.width, count: f.count, stride: PreparedLayout.round16(f.count),
                                  table: try t(PreparedLayout.filterTable(i)), bias: try t(PreparedLayout.filterBias(i)))
            }
        }
        highways = try (0..<cnn.highwayCount).map { i in
            HighwayWeights(kernel: try packed(PreparedLayout.highwayKernel(i), rows: F, cols: 2 * F),
                           bias: try t(PreparedLayout.highwayBias(i)))
        }
        projection = options.hasCNNProjection
            ? ProjectionWeights(kernel: try packed(PreparedLayout.cnnProjectionKernel, rows: F, cols: P),
                                bias: try t(PreparedLayout.cnnProjectionBias))
            : nil
        if let m = options.manyLangs, m.wordDim > 0 {
            wordEmbedding = WordEmbeddingWeights(
                table: try t(PreparedLayout.wordEmbedding),
                kernel: try PackedMatrix(tensor: try t(PreparedLayout.wordProjectionKernel),
                                         rows: PreparedLayout.round16(m.wordDim), cols: P))
        } else {
            wordEmbedding = nil
        }
        lstm = try (0..<2).map { d in
            try (0..<options.lstm.layerCount).map { l in
                LSTMWeights(
                    input: try packed(PreparedLayout.lstm(d, l, "input"), rows: P, cols: 4 * Dp),
                    recurrent: try packed(PreparedLayout.lstm(d, l, "recurrent"), rows: P, cols: 4 * Dp),
                    bias: try t(PreparedLayout.lstm(d, l, "bias")),
                    projection: options.lstm.hasProjection
                        ? try packed(PreparedLayout.lstm(d, l, "projection"), rows: Dp, cols: P)
                        : nil)
            }
        }
    }

    /// These weights at `target` precision: the packed matrices converted (see
    /// `PackedMatrix.converted(to:)`), every other tensor shared. Returns self when already so.
    func converted(to target: ElmoPrecision) throws -> ElmoWeights {
        guard target != precision else { return self }
        let targetLayout = PreparedLayout(options: options, precision: target)
        let matrices = packedMatrices
        var out: [String: Tensor] = [:]
        for entry in targetLayout.entries where out[entry.name] == nil {
            if let matrix = matrices[entry.name] {
                let converted = try matrix.converted(to: entry.element)
                out[entry.name] = converted.tensor
                if let scales = converted.scales, let sums = converted.columnSums {
                    out[PreparedLayout.int8Scales(entry.name)] = scales
                    out[PreparedLayout.int8ColumnSums(entry.name)] = sums
                }
                continue
            }
            guard let t = tensors[entry.name], t.element == entry.element else {
                throw ElmoError.missingTensor("prepared weights", entry.name)
            }
            out[entry.name] = t
        }
        return try ElmoWeights(options: options, precision: target, tensors: out, source: "prepared weights",
                               vocabulary: vocabulary)
    }

    /// Every packed matrix by its tensor name.
    var packedMatrices: [String: PackedMatrix] {
        var m: [String: PackedMatrix] = [:]
        for (i, h) in highways.enumerated() { m[PreparedLayout.highwayKernel(i)] = h.kernel }
        if let projection { m[PreparedLayout.cnnProjectionKernel] = projection.kernel }
        if let w = wordEmbedding { m[PreparedLayout.wordProjectionKernel] = w.kernel }
        for (i, k) in (charConvolution?.kernels ?? []).enumerated() { m[PreparedLayout.filterKernel(i)] = k }
        for (d, layers) in lstm.enumerated() {
            for (l, w) in layers.enumerated() {
                m[PreparedLayout.lstm(d, l, "input")] = w.input
                m[PreparedLayout.lstm(d, l, "recurrent")] = w.recurrent
                if let p = w.projection { m[PreparedLayout.lstm(d, l, "projection")] = p }
            }
        }
        return m
    }

    /// table[k] = embedding (262 x E) times W_cnn[0][k] (E x count), one product per offset,
    /// rows padded to `stride` channels.
    static func characterTable(embedding: Tensor, filter: Tensor, stride: Int) throws -> Tensor {
        let rows = embedding.shape[0], E = embedding.shape[1]
        let width = filter.shape[1], count = filter.shape[3]
        let (table, t) = try Tensor.allocate(shape: [width, rows, stride])
        for k in 0..<width {
            let w = try PackedMatrix.pack(rows: E, cols: count, sourceRows: E, matrix: filter.pointer + k * E * count,
                                          stride: count)
            var desc = w.descriptor
            elmo_gemm(embedding.pointer, E, rows, &desc, ELMO_GEMM_ZERO, nil, t + k * rows * stride, stride, 0, w.panelCount)
        }
        return table
    }
}
