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
        return TokenLayer.chunkTokens * (3 * F + wordWidth) + convolutionScratch
    }

    /// bf16 scratch values needed by `forward` (0 for fp32 weights).
    var scratchBF16: Int {
        weights.precision.tokenMatrixElement == .bf16
            ? max(TokenLayer.chunkTokens * max(weights.options.charCNN.totalFilters, wordWidth), widestWindow * maxCharacters)
            : 0
    }

    private var maxCharacters: Int { weights.options.charCNN.maxCharactersPerToken }

    /// Floats of a convolution window row (width x Ep) of the widest filter (0 with tables).
    private var widestWindow: Int {
        guard let conv = weights.charConvolution else { return 0 }
        return (weights.options.charCNN.filters.map(\.width).max() ?? 0) * conv.embedding.shape[1]
    }

    /// Scratch of `convolveCharacters`: one token's windows and filter responses.
    private var convolutionScratch: Int {
        guard weights.charConvolution != nil else { return 0 }
        return maxCharacters * (widestWindow + (weights.options.charCNN.filters.map(\.count).max() ?? 0))
    }

    /// Padded width of an ELMoForManyLangs word embedding (0 without one).
    private var wordWidth: Int { weights.wordEmbedding?.table.shape[1] ?? 0 }

    /// Token vectors for `count` tokens whose rows of ids are `ids` (count x
    /// `TokenRows.width`: the shifted character ids, or for an ELMoForManyLangs model its
    /// character ids and word id), written as count x projection_dim floats to `out`.
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
            if weights.vocabulary == nil {
                filters.withUnsafeBufferPointer { f in
                    elmo_char_cnn(ids + start * L, n, L, CharacterIds.embeddingRows, f.baseAddress, f.count, act, cnn, F)
                }
            } else if let conv = weights.charConvolution {
                convolveCharacters(conv, ids: ids + start * (L + 2), count: n, into: cnn, activation: act,
                                   scratch: scratch + TokenLayer.chunkTokens * (3 * F + wordWidth), scratchBF16: scratchBF16)
            } else {
                manyLangsCharCNN(ids: ids + start * (L + 2), count: n, into: cnn, activation: act)
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
            if let word = weights.wordEmbedding {
                addWordEmbedding(word, ids: ids + start * (L + 2), count: n, into: dst,
                                 scratch: scratch + TokenLayer.chunkTokens * 3 * F, scratchBF16: scratchBF16)
            }
            start += n
        }
    }

    /// The char CNN over ELMoForManyLangs rows (maxCharacters character ids, then 2 for the
    /// word id): the character ids gathered into rows of their own for the kernel.
    private func manyLangsCharCNN(ids: UnsafePointer<UInt16>, count n: Int, into cnn: UnsafeMutablePointer<Float>,
                                  activation: elmo_kernel_activation) {
        let L = weights.options.charCNN.maxCharactersPerToken, F = weights.options.charCNN.totalFilters
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: n * L) { chars in
            for r in 0..<n { (chars.baseAddress! + r * L).update(from: ids + r * (L + 2), count: L) }
            filters.withUnsafeBufferPointer { f in
                elmo_char_cnn(chars.baseAddress!, n, L, weights.options.characterTableRows, f.baseAddress, f.count,
                              activation, cnn, F)
            }
        }
    }

    /// The char CNN of ELMoForManyLangs rows by convolution (`CharConvolutionWeights`): per
    /// token and filter, its windows of character embeddings times the filter's matrix, then
    /// the max over windows, the bias and the activation, as `elmo_char_cnn` computes it from
    /// tables (windows that start after the last non-padding character all see only padding:
    /// the first of them stands for the rest).
    private func convolveCharacters(_ conv: CharConvolutionWeights, ids: UnsafePointer<UInt16>, count n: Int,
                                    into cnn: UnsafeMutablePointer<Float>, activation: elmo_kernel_activation,
                                    scratch: UnsafeMutablePointer<Float>, scratchBF16: UnsafeMutablePointer<UInt16>?) {
        let cnnOptions = weights.options.charCNN, L = cnnOptions.maxCharactersPerToken, F = cnnOptions.totalFilters
        let Ep = conv.embedding.shape[1], rows = conv.embedding.shape[0]
        let windows = scratch, responses = scratch + L * widestWindow
        for t in 0..<n {
            let row = ids + t * (L + 2)
            let pad = row[L - 1]
            var last = 0
            for p in 0..<L where row[p] != pad { last = p }
            var column = 0
            for (i, f) in cnnOptions.filters.enumerated() {
                let K = f.width * Ep
                let limit = min(last + 2, L - f.width + 1)
                for p in 0..<limit {
                    for k in 0..<f.width {
                        // Ids come from the vocabulary; the clamp keeps a bad one harmless.
                        let c = min(Int(row[p + k]), rows - 1)
                        (windows + p * K + k * Ep).update(from: conv.embedding.pointer + c * Ep, count: Ep)
                    }
                }
                multiply(windows, rows: limit, width: K, by: conv.kernels[i], start: ELMO_GEMM_ZERO, bias: nil,
                         into: responses, ldc: f.count, scratchBF16: scratchBF16)
                let out = cnn + t * F + column, bias = conv.biases[i].pointer
                for c in 0..<f.count {
                    var m = responses[c]
                    for p in 1..<limit { m = max(m, responses[p * f.count + c]) }
                    let v = m + bias[c]
                    out[c] = activation == ELMO_KERNEL_ACT_RELU ? max(v, 0) : elmo_kernel_tanh(v)
                }
                column += f.count
            }
        }
    }

    /// out += word_emb[word id] * kernel for `n` ELMoForManyLangs rows (the word embedding's
    /// share of the package's projection of [word; char-CNN]).
    private func addWordEmbedding(_ word: WordEmbeddingWeights, ids: UnsafePointer<UInt16>, count n: Int,
                                  into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                  scratchBF16: UnsafeMutablePointer<UInt16>?) {
        let L = weights.options.charCNN.maxCharactersPerToken, W = word.table.shape[1], rows = word.table.shape[0]
        for r in 0..<n {
            let id = Int(ids[r * (L + 2) + L]) | Int(ids[r * (L + 2) + L + 1]) << 16
            // Ids come from the vocabulary, so they are in range; the clamp keeps a bad row harmless.
            (scratch + r * W).update(from: word.table.pointer + min(id, rows - 1) * W, count: W)
        }
        multiply(scratch, rows: n, width: W, by: word.kernel, start: ELMO_GEMM_ACCUMULATE, bias: nil,
                 into: out, ldc: weights.options.lstm.projectionDim, scratchBF16: scratchBF16)
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
