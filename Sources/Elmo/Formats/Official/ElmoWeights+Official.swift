/// Official weights (bilm-tf names, from an HDF5 file or a TF Hub checkpoint) prepared for computation.
extension ElmoWeights {
    /// Reads every official tensor from `source`, checking each shape against the options,
    /// and builds the prepared layout.
    static func prepare(options: ElmoOptions, source: OfficialTensorSource) throws -> ElmoWeights {
        let cnn = options.charCNN
        let E = cnn.embeddingDim
        let F = cnn.totalFilters
        let P = options.lstm.projectionDim
        let D = options.lstm.dim
        let Dp = PreparedLayout.paddedCells(options)
        var tensors: [String: Tensor] = [:]

        let embedding = try source.characterEmbedding(embeddingDim: E)
        for (i, f) in cnn.filters.enumerated() {
            let w = try source.tensor(OfficialNames.convWeight(i), expected: [1, f.width, E, f.count])
            let b = try source.tensor(OfficialNames.convBias(i), expected: [f.count])
            let stride = PreparedLayout.round16(f.count)
            tensors[PreparedLayout.filterTable(i)] = try characterTable(embedding: embedding, filter: w, stride: stride)
            let (bias, bp) = try Tensor.allocate(shape: [stride])
            bp.update(from: b.pointer, count: f.count)
            tensors[PreparedLayout.filterBias(i)] = bias
        }

        for i in 0..<cnn.highwayCount {
            let wc = try source.tensor(OfficialNames.highway(i, "W_carry"), expected: [F, F])
            let bc = try source.tensor(OfficialNames.highway(i, "b_carry"), expected: [F])
            let wt = try source.tensor(OfficialNames.highway(i, "W_transform"), expected: [F, F])
            let bt = try source.tensor(OfficialNames.highway(i, "b_transform"), expected: [F])
            let packed = try PackedMatrix.pack(rows: F, cols: 2 * F, sourceRows: F) { j in
                j < F ? (wc.pointer + j, F) : (wt.pointer + (j - F), F)
            }
            tensors[PreparedLayout.highwayKernel(i)] = packed.tensor
            let (bias, b) = try Tensor.allocate(shape: [PreparedLayout.round16(2 * F)])
            b.update(from: bc.pointer, count: F)
            (b + F).update(from: bt.pointer, count: F)
            tensors[PreparedLayout.highwayBias(i)] = bias
        }

        if options.hasCNNProjection {
            let w = try source.tensor(OfficialNames.projectionWeight, expected: [F, P])
            let b = try source.tensor(OfficialNames.projectionBias, expected: [P])
            tensors[PreparedLayout.cnnProjectionKernel] =
                try PackedMatrix.pack(rows: F, cols: P, sourceRows: F, matrix: w.pointer, stride: P).tensor
            let (bias, bp) = try Tensor.allocate(shape: [PreparedLayout.round16(P)])
            bp.update(from: b.pointer, count: P)
            tensors[PreparedLayout.cnnProjectionBias] = bias
        }

        for direction in 0..<2 {
            for layer in 0..<options.lstm.layerCount {
                let w = try source.tensor(OfficialNames.lstm(direction, layer, "W_0"), expected: [2 * P, 4 * D])
                let b = try source.tensor(OfficialNames.lstm(direction, layer, "B"), expected: [4 * D])
                // W_0's first P rows multiply the input, the next P the previous output.
                for (field, rows) in [("input", w.pointer), ("recurrent", w.pointer + P * 4 * D)] {
                    tensors[PreparedLayout.lstm(direction, layer, field)] =
                        try PackedMatrix.pack(rows: P, cols: 4 * Dp, sourceRows: P) { c in
                            PreparedLayout.gateSourceColumn(c, dim: D).map { (rows + $0, 4 * D) }
                        }.tensor
                }
                tensors[PreparedLayout.lstm(direction, layer, "bias")] = try interleavedBias(b, dim: D, paddedCells: Dp)
                if options.lstm.hasProjection {
                    let wp = try source.tensor(OfficialNames.lstm(direction, layer, "W_P_0"), expected: [D, P])
                    tensors[PreparedLayout.lstm(direction, layer, "projection")] =
                        try PackedMatrix.pack(rows: Dp, cols: P, sourceRows: D, matrix: wp.pointer, stride: P).tensor
                }
            }
        }
        return try ElmoWeights(options: options, tensors: tensors, source: source.sourceName)
    }

    /// The bias in gate-interleaved order with the forget bias folded in; padding cells 0.
    static func interleavedBias(_ bias: Tensor, dim: Int, paddedCells: Int) throws -> Tensor {
        let (t, p) = try Tensor.allocate(shape: [4 * paddedCells])
        for c in 0..<(4 * paddedCells) {
            guard let s = PreparedLayout.gateSourceColumn(c, dim: dim) else { continue }
            p[c] = bias.pointer[s] + (s / dim == 2 ? forgetBias : 0)
        }
        return t
    }
}
