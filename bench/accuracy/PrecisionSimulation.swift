// libelmo's reduced precisions simulated product by product on the plain fp32 evaluation
// (DenseReference<Float>): each product's weights and activations rounded as bf16 or int8
// rounds them (round to nearest even to 8 significant bits; int8 symmetric per weight column
// and per activation row, RNE to [-127, 127]), the products themselves in fp32 BLAS. Rounding
// one product alone and leaving the others exact measures what that product's rounding
// contributes to a precision's error, which the real kernels (all products of a precision
// rounded at once) cannot isolate. `elmo-bench fidelity --products` prints it.

/// The products of ELMo whose operands a reduced precision rounds (the char CNN runs from
/// fp32 tables in every precision, so it is not among them).
public enum ReferenceProduct: String, CaseIterable, Sendable {
    /// The highway layers' two products (K = F).
    case highway
    /// The token layer's projection (F to P).
    case tokenProjection
    /// An LSTM's input product (layer input x W_0's first P rows).
    case lstmInput
    /// An LSTM's recurrent product (previous output h x W_0's last P rows).
    case lstmRecurrent
    /// An LSTM's projection (hidden state x W_P_0).
    case lstmProjection
}

public enum SimulatedRounding: String, Sendable {
    case fp32, bf16, int8
}

/// The rounding of each product's operands. `parse` reads "bf16" (libelmo's bf16: every product
/// bf16), "int8" (libelmo's int8: token layer bf16, LSTM products int8), "fp32", or a base
/// followed by per-product changes: "bf16,recurrent=fp32", "int8,input=bf16,projection=fp32"
/// (names: highway, tokenprojection, token (both token-layer products), input, recurrent,
/// projection).
public struct SimulatedPrecision: Sendable {
    public var rounding: [ReferenceProduct: SimulatedRounding]
    public let name: String

    public static func parse(_ text: String) -> SimulatedPrecision? {
        let parts = text.split(separator: ",").map(String.init)
        guard let base = parts.first.flatMap(SimulatedRounding.init(rawValue:)) else { return nil }
        var rounding: [ReferenceProduct: SimulatedRounding] = [:]
        for p in ReferenceProduct.allCases {
            let tokenLayer = p == .highway || p == .tokenProjection
            rounding[p] = base == .int8 && tokenLayer ? .bf16 : base
        }
        for change in parts.dropFirst() {
            let kv = change.split(separator: "=").map(String.init)
            guard kv.count == 2, let r = SimulatedRounding(rawValue: kv[1]) else { return nil }
            let products: [ReferenceProduct]
            switch kv[0] {
            case "highway": products = [.highway]
            case "tokenprojection": products = [.tokenProjection]
            case "token": products = [.highway, .tokenProjection]
            case "input": products = [.lstmInput]
            case "recurrent": products = [.lstmRecurrent]
            case "projection": products = [.lstmProjection]
            default: return nil
            }
            for p in products { rounding[p] = r }
        }
        return SimulatedPrecision(rounding: rounding, name: text)
    }
}

public enum PrecisionSimulation {
    /// x rounded to bf16 (nearest even) and back; NaN is not expected here.
    @inline(__always) public static func bf16(_ x: Float) -> Float {
        var u = x.bitPattern
        u = u &+ 0x7fff &+ ((u >> 16) & 1)
        return Float(bitPattern: u & 0xffff_0000)
    }

    /// x * inv rounded half to even, clamped to [-127, 127] (elmo_int8_quantize_one).
    @inline(__always) static func quantize(_ x: Float, _ inv: Float) -> Float {
        min(max((x * inv).rounded(.toNearestOrEven), -127), 127)
    }

    /// values (rows x k, row-major) rounded in place: int8 symmetric per row, or per column
    /// when `perColumn` (weights are k x n with one scale per output column).
    public static func round(_ values: inout [Float], rows: Int, k: Int, as rounding: SimulatedRounding, perColumn: Bool) {
        switch rounding {
        case .fp32: return
        case .bf16: for i in values.indices { values[i] = bf16(values[i]) }
        case .int8:
            let groups = perColumn ? k : rows, stride = perColumn ? 1 : k, step = perColumn ? k : 1, count = perColumn ? rows : k
            for g in 0..<groups {
                let base = g * stride
                var amax: Float = 0
                for e in 0..<count { amax = max(amax, abs(values[base + e * step])) }
                let inv = amax > 0 ? 127 / amax : 0, scale = amax / 127
                for e in 0..<count { values[base + e * step] = quantize(values[base + e * step], inv) * scale }
            }
        }
    }

    /// The plain fp32 evaluation with `precision`'s roundings of the model's weights and of
    /// the activations entering each product.
    public static func reference(_ model: GeneratedModel, _ precision: SimulatedPrecision) -> DenseReference<Float> {
        let options = model.options, F = options.charCNN.totalFilters, P = options.lstm.projectionDim
        let D = options.lstm.dim, G = 4 * D
        var tensors = model.tensors
        func roundTensor(_ name: String, rows: Int, columns: Int, _ product: ReferenceProduct, firstRow: Int = 0) {
            guard let r = precision.rounding[product], r != .fp32, var all = tensors[name] else { return }
            var part = Array(all[(firstRow * columns)..<((firstRow + rows) * columns)])
            round(&part, rows: rows, k: columns, as: r, perColumn: true)
            all.replaceSubrange((firstRow * columns)..<((firstRow + rows) * columns), with: part)
            tensors[name] = all
        }
        for i in 0..<options.charCNN.highwayCount {
            for field in ["W_carry", "W_transform"] { roundTensor("CNN_high_\(i)/\(field)", rows: F, columns: F, .highway) }
        }
        if options.hasCNNProjection { roundTensor("CNN_proj/W_proj", rows: F, columns: P, .tokenProjection) }
        for direction in 0..<2 {
            for l in 0..<options.lstm.layerCount {
                let root = "RNN_\(direction)/RNN/MultiRNNCell/Cell\(l)/LSTMCell/"
                // W_0's input and recurrent rows are two matrices in libelmo (own column scales).
                roundTensor(root + "W_0", rows: P, columns: G, .lstmInput)
                roundTensor(root + "W_0", rows: P, columns: G, .lstmRecurrent, firstRow: P)
                if options.lstm.hasProjection { roundTensor(root + "W_P_0", rows: D, columns: P, .lstmProjection) }
            }
        }
        let rounding = precision.rounding
        return DenseReference<Float>(options: options, tensors: tensors) { product, values, rows, k in
            round(&values, rows: rows, k: k, as: rounding[product] ?? .fp32, perColumn: false)
        }
    }
}
