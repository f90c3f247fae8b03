// ELMo evaluated the way a numpy or PyTorch implementation evaluates it: one matrix product per
// weight matrix (BLAS), the library's exp and tanh, TensorFlow's LSTMCell equations, one
// sentence at a time (or several side by side, one product per step over them). In Double it is the float64 reference of the accuracy figures; in Float
// it is the "plain fp32" computation libelmo's fp32 is measured against. It shares no
// computation code with libelmo.
import Elmo
import ElmoHDF5

public struct DenseReference<T: ReferenceScalar> {
    public let options: ElmoOptions
    private let tensors: [String: [T]]
    /// Rounds the activations (rows x k) that enter a product, in place: a reduced precision's
    /// operand rounding, simulated (PrecisionSimulation.swift). nil: exact in T.
    public typealias ActivationRounding = (_ product: ReferenceProduct, _ values: inout [T], _ rows: Int, _ k: Int) -> Void
    private let rounding: ActivationRounding?

    /// `tensors`: every official tensor by name (ElmoRandomModel's names and layouts).
    public init(options: ElmoOptions, tensors: [String: [Float]], rounding: ActivationRounding? = nil) {
        self.options = options
        self.tensors = tensors.mapValues { $0.map { T($0) } }
        self.rounding = rounding
    }

    /// x (rows x k) as it enters `product`.
    private func operand(_ product: ReferenceProduct, _ x: [T], rows: Int, k: Int) -> [T] {
        guard let rounding else { return x }
        var y = x
        rounding(product, &y, rows, k)
        return y
    }

    private func t(_ name: String) -> [T] {
        guard let v = tensors[name] else { fatalError("DenseReference: no tensor \(name)") }
        return v
    }

    /// rows x n = x (rows x k) * w (k x n) [+ bias].
    private static func affine(_ x: [T], rows: Int, k: Int, _ w: UnsafePointer<T>, n: Int, bias: [T]?) -> [T] {
        var y = [T](repeating: 0, count: rows * n)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                T.gemm(m: rows, n: n, k: k, a: xp.baseAddress!, lda: k, b: w, ldb: n, beta: 0, c: yp.baseAddress!, ldc: n)
            }
        }
        if let bias { for r in 0..<rows { for j in 0..<n { y[r * n + j] += bias[j] } } }
        return y
    }

    private static func affine(_ x: [T], rows: Int, k: Int, _ w: [T], n: Int, bias: [T]?) -> [T] {
        w.withUnsafeBufferPointer { affine(x, rows: rows, k: k, $0.baseAddress!, n: n, bias: bias) }
    }

    /// Token vectors (rows x P) of tokens given by their shifted character ids (bilm-tf's
    /// `_build_word_char_embeddings`: convolution + bias, max over positions, activation,
    /// highways, projection).
    public func tokenLayer(_ ids: [[Int]]) -> [T] {
        let cnn = options.charCNN, E = cnn.embeddingDim, L = cnn.maxCharactersPerToken, F = cnn.totalFilters
        let rows = ids.count
        let embedding = t("char_embed")
        var x = [T](repeating: 0, count: rows * F)
        var row = [T](repeating: 0, count: L * E)
        for r in 0..<rows {
            for p in 0..<L {
                let id = ids[r][p]
                for d in 0..<E { row[p * E + d] = id == 0 ? 0 : embedding[(id - 1) * E + d] }
            }
            var column = 0
            for (i, f) in cnn.filters.enumerated() {
                let w = t("CNN/W_cnn_\(i)"), b = t("CNN/b_cnn_\(i)")
                let windows = L - f.width + 1, span = f.width * E
                // Window p: the span values starting at row[p * E] (one im2col row).
                var patches = [T](repeating: 0, count: windows * span)
                for p in 0..<windows { for j in 0..<span { patches[p * span + j] = row[p * E + j] } }
                var conv = [T](repeating: 0, count: windows * f.count)
                patches.withUnsafeBufferPointer { pp in
                    w.withUnsafeBufferPointer { wp in
                        conv.withUnsafeMutableBufferPointer { cp in
                            T.gemm(m: windows, n: f.count, k: span, a: pp.baseAddress!, lda: span, b: wp.baseAddress!,
                                   ldb: f.count, beta: 0, c: cp.baseAddress!, ldc: f.count)
                        }
                    }
                }
                for c in 0..<f.count {
                    var best = -T.infinity
                    for p in 0..<windows { best = max(best, conv[p * f.count + c] + b[c]) }
                    x[r * F + column + c] = cnn.activation == .relu ? max(best, 0) : T.hyperbolicTangent(best)
                }
                column += f.count
            }
        }
        for i in 0..<cnn.highwayCount {
            let xr = operand(.highway, x, rows: rows, k: F)
            let carry = DenseReference.affine(xr, rows: rows, k: F, t("CNN_high_\(i)/W_carry"), n: F, bias: t("CNN_high_\(i)/b_carry"))
            let transform = DenseReference.affine(xr, rows: rows, k: F, t("CNN_high_\(i)/W_transform"), n: F,
                                                  bias: t("CNN_high_\(i)/b_transform"))
            for e in 0..<(rows * F) {
                let g = T.sigmoid(carry[e])
                x[e] = g * max(transform[e], 0) + (1 - g) * x[e]
            }
        }
        if options.hasCNNProjection {
            x = DenseReference.affine(operand(.tokenProjection, x, rows: rows, k: F), rows: rows, k: F, t("CNN_proj/W_proj"),
                                      n: options.lstm.projectionDim, bias: t("CNN_proj/b_proj"))
        }
        return x
    }

    /// One direction's LSTM layers over sequences (each steps x P, in the direction's order),
    /// zero initial state, run side by side (one product per step over the sequences still
    /// running; a single sequence gives exactly the one-sentence evaluation): per sequence,
    /// every layer's output (after the skip connection) per step.
    public func lstm(direction: Int, inputs: [[T]]) -> [[[T]]] {
        let D = options.lstm.dim, P = options.lstm.projectionDim, G = 4 * D
        let cellClip = options.lstm.cellClip.map { T($0) }, projectionClip = options.lstm.projectionClip.map { T($0) }
        // Longest first, so that the sequences running at any step are a prefix.
        let order = inputs.indices.sorted { (inputs[$0].count, $1) > (inputs[$1].count, $0) }
        let lengths = order.map { inputs[$0].count / P }
        let steps = lengths.first ?? 0
        var layerInputs = order.map { inputs[$0] }
        var outputs = [[[T]]](repeating: [], count: inputs.count)
        for l in 0..<options.lstm.layerCount {
            let root = "RNN_\(direction)/RNN/MultiRNNCell/Cell\(l)/LSTMCell/"
            let w = t(root + "W_0"), bias = t(root + "B")
            let projection = options.lstm.hasProjection ? t(root + "W_P_0") : []
            // Input contribution of every step at once (W_0's first P rows), then per step the
            // recurrent one (its last P rows): x W + h U + b.
            let zIn = zip(layerInputs, lengths).map { x, n in
                DenseReference.affine(operand(.lstmInput, x, rows: n, k: P), rows: n, k: P, w, n: G, bias: nil)
            }
            let count = lengths.count
            var c = [T](repeating: 0, count: count * D), h = [T](repeating: 0, count: count * P)
            var z = [T](repeating: 0, count: count * G), hidden = [T](repeating: 0, count: count * D)
            var out = lengths.map { [T](repeating: 0, count: $0 * P) }
            for step in 0..<steps {
                let m = lengths.prefix { $0 > step }.count
                for r in 0..<m { for j in 0..<G { z[r * G + j] = zIn[r][step * G + j] } }
                let hr = operand(.lstmRecurrent, Array(h[0..<(m * P)]), rows: m, k: P)
                w.withUnsafeBufferPointer { wp in
                    hr.withUnsafeBufferPointer { hp in
                        z.withUnsafeMutableBufferPointer { zp in
                            T.gemm(m: m, n: G, k: P, a: hp.baseAddress!, lda: P, b: wp.baseAddress! + P * G, ldb: G, beta: 1,
                                   c: zp.baseAddress!, ldc: G)
                        }
                    }
                }
                for r in 0..<m {
                    let zr = r * G, cr = r * D
                    for j in 0..<G { z[zr + j] += bias[j] }
                    for k in 0..<D {
                        let i = T.sigmoid(z[zr + k]), g = T.hyperbolicTangent(z[zr + D + k])
                        let f = T.sigmoid(z[zr + 2 * D + k] + 1), o = T.sigmoid(z[zr + 3 * D + k])
                        var cn = f * c[cr + k] + i * g
                        if let clip = cellClip { cn = min(max(cn, -clip), clip) }
                        c[cr + k] = cn
                        hidden[cr + k] = o * T.hyperbolicTangent(cn)
                    }
                }
                if options.lstm.hasProjection {
                    let projected = DenseReference.affine(operand(.lstmProjection, Array(hidden[0..<(m * D)]), rows: m, k: D),
                                                          rows: m, k: D, projection, n: P, bias: nil)
                    for j in 0..<(m * P) { h[j] = projected[j] }
                } else {
                    for j in 0..<(m * P) { h[j] = hidden[j] }
                }
                if let clip = projectionClip { for j in 0..<(m * P) { h[j] = min(max(h[j], -clip), clip) } }
                let skip = l > 0 && options.lstm.useSkipConnections
                for r in 0..<m {
                    for j in 0..<P { out[r][step * P + j] = skip ? h[r * P + j] + layerInputs[r][step * P + j] : h[r * P + j] }
                }
            }
            for (r, s) in order.enumerated() { outputs[s].append(out[r]) }
            layerInputs = out
        }
        return outputs
    }

    /// Every output layer of one sentence (stateless), as libelmo's all-layers output orders
    /// it: [layer] of tokens x 2P values (layer 0 the token layer twice, layer k the k-th
    /// biLSTM layer as [forward; backward]), sentence boundaries removed.
    public func embed(_ tokens: [String]) throws -> [[T]] {
        try embed(sentences: [tokens])[0]
    }

    /// `embed` of several sentences, evaluated side by side (the token layer in one pass, each
    /// LSTM step as one product over the sentences still running).
    public func embed(sentences: [[String]]) throws -> [[[T]]] {
        let L = options.charCNN.maxCharactersPerToken, P = options.lstm.projectionDim
        var ids: [[Int]] = []
        for tokens in sentences {
            ids.append(CharacterIds.beginSentenceIds(maxCharacters: L))
            ids += try tokens.map { try CharacterIds.ids(for: $0, maxCharacters: L) }
            ids.append(CharacterIds.endSentenceIds(maxCharacters: L))
        }
        let all = tokenLayer(ids)
        var starts: [Int] = [], first = 0
        for tokens in sentences {
            starts.append(first)
            first += tokens.count + 2
        }
        let xs = zip(starts, sentences).map { s, tokens in Array(all[(s * P)..<((s + tokens.count + 2) * P)]) }
        let reversedInputs = xs.map { x -> [T] in
            let n = x.count / P
            var reversed = [T](repeating: 0, count: n * P)
            for s in 0..<n { for j in 0..<P { reversed[s * P + j] = x[(n - 1 - s) * P + j] } }
            return reversed
        }
        let forward = lstm(direction: 0, inputs: xs), backward = lstm(direction: 1, inputs: reversedInputs)
        return xs.indices.map { i in
            let x = xs[i], n = x.count / P
            func pair(_ a: [T], _ b: [T], backwardIndex: (Int) -> Int) -> [T] {
                var v = [T](repeating: 0, count: (n - 2) * 2 * P)
                for s in 1..<(n - 1) {
                    for j in 0..<P {
                        v[(s - 1) * 2 * P + j] = a[s * P + j]
                        v[(s - 1) * 2 * P + P + j] = b[backwardIndex(s) * P + j]
                    }
                }
                return v
            }
            var layers = [pair(x, x, backwardIndex: { $0 })]
            for l in 0..<options.lstm.layerCount {
                layers.append(pair(forward[i][l], backward[i][l], backwardIndex: { n - 1 - $0 }))
            }
            return layers
        }
    }
}
