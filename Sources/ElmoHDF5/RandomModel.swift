import Elmo

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

    /// Writes `options.json` and `weights.hdf5` into `directory` (which must exist) and
    /// returns their paths. Matrices are uniform in +-1/sqrt(fan_in), biases in +-0.1, the
    /// character embedding in +-1.
    @discardableResult
    public static func write(options: ElmoOptions, seed: UInt64, directory: String) throws -> (options: String, weights: String) {
        try options.validate()
        var rng = SplitMix64(seed: seed)
        let optionsPath = joinPath(directory, "options.json")
        let weightsPath = joinPath(directory, "weights.hdf5")
        try writeText(options.json.serialized + "\n", to: optionsPath)
        let writer = try HDF5Writer(path: weightsPath)
        func put(_ name: String, _ shape: [Int], scale: Float) throws {
            let n = shape.reduce(1, *)
            var v = [Float](repeating: 0, count: n)
            for i in 0..<n { v[i] = rng.nextUniform() * scale }
            try writer.write(name, shape: shape, values: v)
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
                try put(OfficialNames.lstm(direction, layer, "W_0"), [2 * P, 4 * D], scale: 1 / Float(2 * P).squareRoot())
                try put(OfficialNames.lstm(direction, layer, "B"), [4 * D], scale: 0.1)
                if options.lstm.hasProjection {
                    try put(OfficialNames.lstm(direction, layer, "W_P_0"), [D, P], scale: 1 / Float(D).squareRoot())
                }
            }
        }
        try writer.close()
        return (optionsPath, weightsPath)
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
}
