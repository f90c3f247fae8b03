/// ELMoForManyLangs state dicts (`token_embedder.pkl`, `encoder.pkl`) mapped onto libelmo's
/// prepared layout, so that the bilm-tf kernels compute the package's network:
/// - convolutions: torch `Conv1d` weights (count, char_dim, width) become the per-character
///   tables of `ElmoWeights.characterTable` (a cross-correlation, as in torch);
/// - highway: the package computes `g*x + (1-g)*relu(T x)` with `g = sigmoid(G x)`
///   (AllenNLP's orientation); libelmo's kernel computes `t*relu(T x) + (1-t)*x` with
///   `t = sigmoid(C x)`, so the carry weights and bias are stored negated (C = -G,
///   `sigmoid(-z) = 1 - sigmoid(z)`; negation is exact, so only the sigmoid's rounding differs);
/// - projection: `Linear(word_dim + F -> P)` on [word; char-CNN] is split into the char-CNN
///   part (the usual CNN projection, with the bias) and the word part (`word_projection`);
/// - LSTM: torch's gate order i, f, g, o becomes TensorFlow's i, j(g), f, o, the bias goes in
///   unchanged (the package adds no forget-gate offset at run time, unlike TensorFlow's 1.0).
enum ManyLangsWeights {
    struct Source {
        let tensors: [String: Tensor]
        let path: String
        var used: Set<String> = []

        mutating func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
            guard let t = tensors[name] else { throw ElmoError.missingTensor(path, name) }
            guard t.shape == shape else { throw ElmoError.shapeMismatch(path, name, expected: shape, actual: t.shape) }
            used.insert(name)
            return t
        }

        func checkAllUsed() throws {
            let extra = tensors.keys.filter { !used.contains($0) }.sorted()
            guard extra.isEmpty else {
                throw ElmoError(.invalidModel, "\(path): unexpected tensors \(extra.prefix(8).joined(separator: ", ")) (not an ELMoForManyLangs cnn/elmo model of this configuration)")
            }
        }
    }

    static func prepare(options: ElmoOptions, vocabulary: ManyLangsVocabulary, tokenEmbedder: TorchCheckpoint,
                        tokenEmbedderPath: String, encoder: TorchCheckpoint, encoderPath: String) throws -> ElmoWeights {
        guard let m = options.manyLangs else { throw ElmoError(.invalidModel, "not an ELMoForManyLangs configuration") }
        let cnn = options.charCNN, E = cnn.embeddingDim, F = cnn.totalFilters
        let P = options.lstm.projectionDim, C = options.lstm.dim, Dp = PreparedLayout.paddedCells(options)
        let wd = m.wordDim
        var out: [String: Tensor] = [:]

        var te = Source(tensors: tokenEmbedder.tensors, path: tokenEmbedderPath)
        let charEmbedding = try te.tensor("char_emb_layer.embedding.weight", [m.characterCount, E])
        let Ep = PreparedLayout.round16(E)
        if !m.characterTables {
            let (table, tp) = try Tensor.allocate(shape: [m.characterCount, Ep])
            for r in 0..<m.characterCount { (tp + r * Ep).update(from: charEmbedding.pointer + r * E, count: E) }
            out[PreparedLayout.charEmbedding] = table
        }
        for (i, f) in cnn.filters.enumerated() {
            let w = try te.tensor("convolutions.\(i).weight", [f.count, E, f.width])
            let b = try te.tensor("convolutions.\(i).bias", [f.count])
            let stride = PreparedLayout.round16(f.count)
            out[PreparedLayout.filterBias(i)] = try padded(b, to: stride)
            if !m.characterTables {
                // Column c of the (width x Ep, count) kernel: W[c][d][k] at row k * Ep + d.
                let K = f.width * Ep
                let (columns, cp) = try Tensor.allocate(shape: [f.count, K])
                for c in 0..<f.count {
                    for d in 0..<E {
                        for k in 0..<f.width { cp[c * K + k * Ep + d] = w.pointer[(c * E + d) * f.width + k] }
                    }
                }
                out[PreparedLayout.filterKernel(i)] = try PackedMatrix.pack(rows: K, cols: f.count, sourceRows: K) { c in
                    (columns.pointer + c * K, 1)
                }.tensor
                continue
            }
            // (count, E, width) -> (1, width, E, count), the layout characterTable reads.
            let (filter, fp) = try Tensor.allocate(shape: [1, f.width, E, f.count])
            for c in 0..<f.count {
                for d in 0..<E {
                    for k in 0..<f.width { fp[(k * E + d) * f.count + c] = w.pointer[(c * E + d) * f.width + k] }
                }
            }
            out[PreparedLayout.filterTable(i)] = try ElmoWeights.characterTable(embedding: charEmbedding, filter: filter, stride: stride)
        }
        for i in 0..<cnn.highwayCount {
            let w = try te.tensor("highways._layers.\(i).weight", [2 * F, F])
            let b = try te.tensor("highways._layers.\(i).bias", [2 * F])
            // Rows 0..<F transform, F..<2F gate; the gate becomes the negated carry.
            let (negatedGate, ng) = try Tensor.allocate(shape: [F, F])
            for k in 0..<(F * F) { ng[k] = -w.pointer[F * F + k] }
            out[PreparedLayout.highwayKernel(i)] = try PackedMatrix.pack(rows: F, cols: 2 * F, sourceRows: F) { j in
                j < F ? (negatedGate.pointer + j * F, 1) : (w.pointer + (j - F) * F, 1)
            }.tensor
            let (bias, bp) = try Tensor.allocate(shape: [PreparedLayout.round16(2 * F)])
            for j in 0..<F {
                bp[j] = -b.pointer[F + j]
                bp[F + j] = b.pointer[j]
            }
            out[PreparedLayout.highwayBias(i)] = bias
        }
        let projection = try te.tensor("projection.weight", [P, wd + F])
        let projectionBias = try te.tensor("projection.bias", [P])
        out[PreparedLayout.cnnProjectionKernel] = try PackedMatrix.pack(rows: F, cols: P, sourceRows: F) { p in
            (projection.pointer + p * (wd + F) + wd, 1)
        }.tensor
        out[PreparedLayout.cnnProjectionBias] = try padded(projectionBias, to: PreparedLayout.round16(P))
        if wd > 0 {
            let words = try te.tensor("word_emb_layer.embedding.weight", [m.wordCount, wd])
            let wp = PreparedLayout.round16(wd)
            let (table, tp) = try Tensor.allocate(shape: [m.wordCount, wp])
            for r in 0..<m.wordCount { (tp + r * wp).update(from: words.pointer + r * wd, count: wd) }
            out[PreparedLayout.wordEmbedding] = table
            out[PreparedLayout.wordProjectionKernel] = try PackedMatrix.pack(rows: wp, cols: P, sourceRows: wd) { p in
                (projection.pointer + p * (wd + F), 1)
            }.tensor
        }
        try te.checkAllUsed()

        var en = Source(tensors: encoder.tensors, path: encoderPath)
        // TensorFlow gate g (i, j, f, o) is torch chunk torchGate[g] (i, f, g, o).
        let torchGate = [0, 2, 1, 3]
        for (d, direction) in ["forward", "backward"].enumerated() {
            for l in 0..<options.lstm.layerCount {
                let prefix = "\(direction)_layer_\(l)."
                let input = try en.tensor(prefix + "input_linearity.weight", [4 * C, P])
                let state = try en.tensor(prefix + "state_linearity.weight", [4 * C, P])
                let bias = try en.tensor(prefix + "state_linearity.bias", [4 * C])
                let proj = try en.tensor(prefix + "state_projection.weight", [P, C])
                func torchRow(_ c: Int) -> Int? {
                    guard let s = PreparedLayout.gateSourceColumn(c, dim: C) else { return nil }
                    return torchGate[s / C] * C + s % C
                }
                for (field, w) in [("input", input), ("recurrent", state)] {
                    out[PreparedLayout.lstm(d, l, field)] = try PackedMatrix.pack(rows: P, cols: 4 * Dp, sourceRows: P) { c in
                        torchRow(c).map { (w.pointer + $0 * P, 1) }
                    }.tensor
                }
                let (b, bp) = try Tensor.allocate(shape: [4 * Dp])
                for c in 0..<(4 * Dp) { if let r = torchRow(c) { bp[c] = bias.pointer[r] } }
                out[PreparedLayout.lstm(d, l, "bias")] = b
                out[PreparedLayout.lstm(d, l, "projection")] = try PackedMatrix.pack(rows: Dp, cols: P, sourceRows: C) { p in
                    (proj.pointer + p * C, 1)
                }.tensor
            }
        }
        try en.checkAllUsed()
        return try ElmoWeights(options: options, tensors: out, source: tokenEmbedderPath, vocabulary: vocabulary)
    }

    private static func padded(_ t: Tensor, to n: Int) throws -> Tensor {
        let (p, pp) = try Tensor.allocate(shape: [n])
        pp.update(from: t.pointer, count: t.count)
        return p
    }
}
