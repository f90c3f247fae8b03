import Elmo
import Glibc

/// Writes models with random weights in the official file layout (options.json +
/// weights.hdf5), deterministically from a seed. For benchmarks of published
/// configurations without downloading them, and for tests of configurations no published
/// file has (tanh, no highway, no projections, one or three layers, ...).
public enum ElmoRandomModel {
    /// The configurations of the published models.
    public static func publishedOptions(_ name: String) -> ElmoOptions? {
        func make(dim: Int, proj: Int, highway: Int, filters: [(Int, Int)]) -> ElmoOptions {
            ElmoOptions(
                charCNN: .init(embeddingDim: 16, filters: filters.map { .init(width: $0.0, count: $0.1) },
                               highwayCount: highway, characterCount: 262, maxCharactersPerToken: 50, activation: .relu),
                lstm: .init(dim: dim, projectionDim: proj, layerCount: 2, cellClip: 3, projectionClip: 3,
                            useSkipConnections: true))
        }
        let big = [(1, 32), (2, 32), (3, 64), (4, 128), (5, 256), (6, 512), (7, 1024)]
        switch name {
        case "small": return make(dim: 1024, proj: 128, highway: 1, filters: big)
        case "medium": return make(dim: 2048, proj: 256, highway: 1, filters: big)
        case "original", "original5.5B": return make(dim: 4096, proj: 512, highway: 2, filters: big)
        default: return nil
        }
    }

    /// How the LSTM matrices are drawn (the rest of the model is drawn the same either way).
    public enum LSTMScale: Sendable {
        /// Uniform in +-1/sqrt(fan_in) (standard deviation 0.58/sqrt(fan_in)): strongly
        /// contractive LSTMs, small activations, rounding errors that die out along the recurrence.
        case tame
        /// Normal, standard deviation 1.5/sqrt(2P) for `W_0` and 2.0/sqrt(D) for `W_P_0` (issue 14):
        /// activations neither saturated nor vanishing, so errors are carried along the recurrence.
        /// The model for accuracy figures that do not flatter.
        case nonContractive
    }

    /// Writes `options.json` and `weights.hdf5` into `directory` (which must exist) and
    /// returns their paths. Matrices are uniform in +-1/sqrt(fan_in), biases in +-0.1, the
    /// character embedding in +-1; `lstmScale` chooses how the LSTM matrices are drawn.
    /// `observe` sees every tensor as it is written (for callers that also need the values:
    /// drawing them again costs as much as writing).
    @discardableResult
    public static func write(options: ElmoOptions, seed: UInt64, directory: String, lstmScale: LSTMScale = .tame,
                             observe: ((String, [Int], [Float]) throws -> Void)? = nil) throws -> (options: String, weights: String) {
        try options.validate()
        let optionsPath = joinPath(directory, "options.json")
        let weightsPath = joinPath(directory, "weights.hdf5")
        try writeText(options.json.serialized + "\n", to: optionsPath)
        let writer = try HDF5Writer(path: weightsPath)
        try forEachTensor(options: options, seed: seed, lstmScale: lstmScale) { name, shape, values in
            try writer.write(name, shape: shape, values: values)
            try observe?(name, shape, values)
        }
        try writer.close()
        return (optionsPath, weightsPath)
    }

    /// The tensors `write` writes, in its order, one at a time: (official name, shape, values).
    public static func forEachTensor(options: ElmoOptions, seed: UInt64, lstmScale: LSTMScale = .tame,
                                     _ body: (String, [Int], [Float]) throws -> Void) throws {
        var rng = SplitMix64(seed: seed)
        func put(_ name: String, _ shape: [Int], scale: Float) throws {
            let n = shape.reduce(1, *)
            var v = [Float](repeating: 0, count: n)
            for i in 0..<n { v[i] = rng.nextUniform() * scale }
            try body(name, shape, v)
        }
        func putNormal(_ name: String, _ shape: [Int], deviation: Double) throws {
            let n = shape.reduce(1, *)
            var v = [Float](repeating: 0, count: n)
            for i in 0..<n { v[i] = Float(rng.nextNormal() * deviation) }
            try body(name, shape, v)
        }
        let cnn = options.charCNN, E = cnn.embeddingDim, F = cnn.totalFilters
        let P = options.lstm.projectionDim, D = options.lstm.dim
        try put(OfficialNames.charEmbedding, [CharacterIds.storedCharacterRows, E], scale: 1)
        for (i, f) in cnn.filters.enumerated() {
            try put(OfficialNames.convWeight(i), [1, f.width, E, f.count], scale: 1 / Float(f.width * E).squareRoot())
            try put(OfficialNames.convBias(i), [f.count], scale: 0.1)
        }
        for i in 0..<cnn.highwayCount {
            for field in ["W_carry", "W_transform"] {
                try put(OfficialNames.highway(i, field), [F, F], scale: 1 / Float(F).squareRoot())
            }
            for field in ["b_carry", "b_transform"] {
                try put(OfficialNames.highway(i, field), [F], scale: 0.1)
            }
        }
        if options.hasCNNProjection {
            try put(OfficialNames.projectionWeight, [F, P], scale: 1 / Float(F).squareRoot())
            try put(OfficialNames.projectionBias, [P], scale: 0.1)
        }
        for direction in 0..<2 {
            for layer in 0..<options.lstm.layerCount {
                let w0 = OfficialNames.lstm(direction, layer, "W_0"), wp = OfficialNames.lstm(direction, layer, "W_P_0")
                switch lstmScale {
                case .tame: try put(w0, [2 * P, 4 * D], scale: 1 / Float(2 * P).squareRoot())
                case .nonContractive: try putNormal(w0, [2 * P, 4 * D], deviation: 1.5 / Double(2 * P).squareRoot())
                }
                try put(OfficialNames.lstm(direction, layer, "B"), [4 * D], scale: 0.1)
                if options.lstm.hasProjection {
                    switch lstmScale {
                    case .tame: try put(wp, [D, P], scale: 1 / Float(D).squareRoot())
                    case .nonContractive: try putNormal(wp, [D, P], deviation: 2.0 / Double(D).squareRoot())
                    }
                }
            }
        }
    }
}

/// SplitMix64: tiny, fast, and the same sequence on every platform.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    mutating func nextUniform() -> Float {
        Float(next() >> 40) / Float(1 << 23) - 1
    }

    /// Standard normal (Box-Muller over two 53-bit uniforms in (0, 1]).
    mutating func nextNormal() -> Double {
        let u1 = Double((next() >> 11) + 1) * 0x1p-53, u2 = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}
