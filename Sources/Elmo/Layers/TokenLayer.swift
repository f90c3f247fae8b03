import CElmoKernels

/// The context-independent token layer (`word_emb`): character CNN with max-pool and
/// activation, highway layers, then the projection to `projection_dim` (bilm-tf
/// `_build_word_char_embeddings`).
///
/// Every stage works token by token (the CNN per token, the packed GEMMs per row), so a
/// token's vector is bit-for-bit the same whichever tokens are computed with it: the
/// property that lets the token cache return stored vectors without changing any result.
struct TokenLayer {
    let weights: ElmoWeights
    private let filters: [elmo_char_filter]

    /// Tokens processed per pass: bounds the scratch memory (count x 3F floats) whatever
    /// the batch size, while keeping the highway GEMMs large enough to run at full speed.
    static let chunkTokens = 256

    init(weights: ElmoWeights) {
        self.weights = weights
        filters = weights.filters.map {
            elmo_char_filter(table: $0.table.pointer, bias: $0.bias.pointer, width: Int32($0.width),
                             count: Int32($0.count), stride: Int32($0.stride))
        }
    }

    var outputDim: Int { weights.options.lstm.projectionDim }

    /// Scratch floats needed by `forward`.
    var scratchFloats: Int {
        let F = weights.options.charCNN.totalFilters
        return TokenLayer.chunkTokens * 3 * F
    }

    /// bf16 scratch values needed by `forward` (0 for fp32 weights).
    var scratchBF16: Int {
        weights.precision.tokenMatrixElement == .bf16 ? TokenLayer.chunkTokens * weights.options.charCNN.totalFilters : 0
    }

    /// Token vectors for `count` tokens whose shifted character ids are `ids`
    /// (count x maxCharacters), written as count x projection_dim floats to `out`.
    /// `scratchBF16` (`scratchBF16` values) holds the bf16-rounded layer inputs of bf16 weights.
    func forward(ids: UnsafePointer<UInt16>, count: Int, out: UnsafeMutablePointer<Float>,
                 scratch: UnsafeMutablePointer<Float>, scratchBF16: UnsafeMutablePointer<UInt16>? = nil) {
        let opts = weights.options
        let F = opts.charCNN.totalFilters
        let P = opts.lstm.projectionDim
        let L = opts.charCNN.maxCharactersPerToken
        let act: elmo_kernel_activation = opts.charCNN.activation == .relu ? ELMO_KERNEL_ACT_RELU : ELMO_KERNEL_ACT_TANH
        let cnn = scratch
        let pre = scratch + TokenLayer.chunkTokens * F
        var start = 0
        while start < count {
            let n = min(TokenLayer.chunkTokens, count - start)
            filters.withUnsafeBufferPointer { f in
                elmo_char_cnn(ids + start * L, n, L, CharacterIds.embeddingRows, f.baseAddress, f.count, act, cnn, F)
            }
            for hw in weights.highways {
                multiply(cnn, rows: n, width: F, by: hw.kernel, start: ELMO_GEMM_ZERO, bias: nil,
                         into: pre, ldc: 2 * F, scratchBF16: scratchBF16)
                elmo_highway_combine(pre, hw.bias.pointer, cnn, n, F)
            }
            let dst = out + start * P
            if let proj = weights.projection {
                multiply(cnn, rows: n, width: F, by: proj.kernel, start: ELMO_GEMM_BIAS, bias: proj.bias.pointer,
                         into: dst, ldc: P, scratchBF16: scratchBF16)
            } else {
                dst.update(from: cnn, count: n * P)  // F == P: no projection (bilm-tf)
            }
            start += n
        }
    }

    /// c = start + x * kernel over all of the kernel's panels (x: rows x width, row stride
    /// width). A bf16 kernel multiplies x rounded to bf16 in `scratchBF16` (rows x width).
    private func multiply(_ x: UnsafePointer<Float>, rows n: Int, width F: Int, by kernel: PackedMatrix,
                          start: elmo_gemm_init, bias: UnsafePointer<Float>?, into c: UnsafeMutablePointer<Float>,
                          ldc: Int, scratchBF16: UnsafeMutablePointer<UInt16>?) {
        var w = kernel.descriptor
        if kernel.element == .bf16, let xb = scratchBF16 {
            elmo_bf16_convert_rows(x, F, n, F, xb, F)
            elmo_gemm_bf16(xb, F, n, &w, start, bias, c, ldc, 0, kernel.panelCount)
        } else {
            elmo_gemm(x, F, n, &w, start, bias, c, ldc, 0, kernel.panelCount)
        }
    }
}
