import Foundation
@testable import Elmo
@testable import ElmoHDF5

/// A deliberately plain ELMo, written from bilm-tf's description and sharing no computation
/// code with the library: direct convolution over the character embedding, matrix products
/// as loops in Double, one sentence at a time, TensorFlow's LSTMCell equations spelled out.
/// The library's batched, table-driven, BLAS-backed encoder is checked against it.
struct ReferenceELMo {
    let options: ElmoOptions
    let tensors: [String: [Float]]

    /// Reads every official tensor from an HDF5 weights file.
    init(optionsFile: String, weightsFile: String) throws {
        options = try ElmoOptions(contentsOfFile: optionsFile)
        let reader = try HDF5Reader(path: weightsFile)
        var t: [String: [Float]] = [:]
        for (name, shape) in ReferenceELMo.officialShapes(options) {
            t[name] = try reader.readFloats(name, expected: shape).values
        }
        tensors = t
    }

    /// Every tensor of the official layout with its shape.
    static func officialShapes(_ o: ElmoOptions) -> [(String, [Int])] {
        let E = o.charCNN.embeddingDim, F = o.charCNN.totalFilters, P = o.lstm.projectionDim, D = o.lstm.dim
        var list: [(String, [Int])] = [("char_embed", [261, E])]
        for (i, f) in o.charCNN.filters.enumerated() {
            list.append(("CNN/W_cnn_\(i)", [1, f.width, E, f.count]))
            list.append(("CNN/b_cnn_\(i)", [f.count]))
        }
        for i in 0..<o.charCNN.highwayCount {
            list += [("CNN_high_\(i)/W_carry", [F, F]), ("CNN_high_\(i)/b_carry", [F]),
                     ("CNN_high_\(i)/W_transform", [F, F]), ("CNN_high_\(i)/b_transform", [F])]
        }
        if F != P { list += [("CNN_proj/W_proj", [F, P]), ("CNN_proj/b_proj", [P])] }
        for d in 0..<2 {
            for l in 0..<o.lstm.layerCount {
                let root = "RNN_\(d)/RNN/MultiRNNCell/Cell\(l)/LSTMCell/"
                list += [(root + "W_0", [2 * P, 4 * D]), (root + "B", [4 * D])]
                if P < D { list.append((root + "W_P_0", [D, P])) }
            }
        }
        return list
    }

    func t(_ name: String) -> [Float] { tensors[name]! }

    /// x (n) times W (n x m, row-major) plus b.
    static func affine(_ x: [Double], _ w: [Float], _ b: [Float]?, _ m: Int) -> [Double] {
        var y = b.map { $0.map(Double.init) } ?? [Double](repeating: 0, count: m)
        for i in 0..<x.count where x[i] != 0 {
            for j in 0..<m { y[j] += x[i] * Double(w[i * m + j]) }
        }
        return y
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    func tokenVector(_ ids: [Int]) -> [Double] {
        let E = options.charCNN.embeddingDim
        let emb = t("char_embed")
        func embed(_ id: Int, _ d: Int) -> Double { id == 0 ? 0 : Double(emb[(id - 1) * E + d]) }
        var features: [Double] = []
        for (i, f) in options.charCNN.filters.enumerated() {
            let w = t("CNN/W_cnn_\(i)"), b = t("CNN/b_cnn_\(i)")
            var best = [Double](repeating: -.infinity, count: f.count)
            for pos in 0...(ids.count - f.width) {
                for c in 0..<f.count {
                    var s = Double(b[c])
                    for k in 0..<f.width {
                        for d in 0..<E { s += embed(ids[pos + k], d) * Double(w[(k * E + d) * f.count + c]) }
                    }
                    best[c] = max(best[c], s)
                }
            }
            features += best.map { options.charCNN.activation == .relu ? max($0, 0) : tanh($0) }
        }
        let F = features.count
        var x = features
        for i in 0..<options.charCNN.highwayCount {
            let carry = ReferenceELMo.affine(x, t("CNN_high_\(i)/W_carry"), t("CNN_high_\(i)/b_carry"), F).map(ReferenceELMo.sigmoid)
            let transform = ReferenceELMo.affine(x, t("CNN_high_\(i)/W_transform"), t("CNN_high_\(i)/b_transform"), F).map { max($0, 0) }
            x = (0..<F).map { carry[$0] * transform[$0] + (1 - carry[$0]) * x[$0] }
        }
        if options.hasCNNProjection {
            x = ReferenceELMo.affine(x, t("CNN_proj/W_proj"), t("CNN_proj/b_proj"), options.lstm.projectionDim)
        }
        return x
    }

    /// State of one LSTM: (c, h) per layer.
    typealias State = [(c: [Double], h: [Double])]

    func zeroState() -> State {
        (0..<options.lstm.layerCount).map { _ in
            ([Double](repeating: 0, count: options.lstm.dim), [Double](repeating: 0, count: options.lstm.projectionDim))
        }
    }

    /// Runs one direction over `inputs`; returns per-layer outputs (after residual) per step.
    func run(direction: Int, inputs: [[Double]], state: inout State) -> [[[Double]]] {
        let D = options.lstm.dim, P = options.lstm.projectionDim
        var layerInput = inputs
        var outputs: [[[Double]]] = []
        for l in 0..<options.lstm.layerCount {
            let root = "RNN_\(direction)/RNN/MultiRNNCell/Cell\(l)/LSTMCell/"
            let w = t(root + "W_0"), b = t(root + "B")
            var (c, h) = state[l]
            var out: [[Double]] = []
            for x in layerInput {
                let z = ReferenceELMo.affine(x + h, w, b, 4 * D)
                var hidden = [Double](repeating: 0, count: D)
                for k in 0..<D {
                    let i = ReferenceELMo.sigmoid(z[k]), j = tanh(z[D + k])
                    let f = ReferenceELMo.sigmoid(z[2 * D + k] + 1), o = ReferenceELMo.sigmoid(z[3 * D + k])
                    var cn = f * c[k] + i * j
                    if let clip = options.lstm.cellClip { cn = min(max(cn, -Double(clip)), Double(clip)) }
                    c[k] = cn
                    hidden[k] = o * tanh(cn)
                }
                if options.lstm.hasProjection {
                    h = ReferenceELMo.affine(hidden, t(root + "W_P_0"), nil, P)
                    if let clip = options.lstm.projectionClip { h = h.map { min(max($0, -Double(clip)), Double(clip)) } }
                } else {
                    h = hidden
                }
                out.append(l > 0 && options.lstm.useSkipConnections ? zip(h, x).map { $0 + $1 } : h)
            }
            state[l] = (c, h)
            outputs.append(out)
            layerInput = out
        }
        return outputs
    }

    /// All layers of one sentence, (layers, tokens, 2P), boundaries removed.
    func embed(_ tokens: [String], forward: inout State, backward: inout State) throws -> [[[Double]]] {
        let L = options.charCNN.maxCharactersPerToken
        let ids = [CharacterIds.beginSentenceIds(maxCharacters: L)] + (try tokens.map { try CharacterIds.ids(for: $0, maxCharacters: L) })
            + [CharacterIds.endSentenceIds(maxCharacters: L)]
        let x = ids.map(tokenVector)
        let fwd = run(direction: 0, inputs: x, state: &forward)
        let bwd = run(direction: 1, inputs: x.reversed(), state: &backward)
        let n = x.count
        var layers: [[[Double]]] = [(1..<(n - 1)).map { x[$0] + x[$0] }]
        for l in 0..<options.lstm.layerCount {
            layers.append((1..<(n - 1)).map { fwd[l][$0] + bwd[l][n - 1 - $0] })
        }
        return layers
    }

    func embed(_ tokens: [String]) throws -> [[[Double]]] {
        var f = zeroState(), b = zeroState()
        return try embed(tokens, forward: &f, backward: &b)
    }
}
