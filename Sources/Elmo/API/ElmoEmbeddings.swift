/// A dense float array with its shape (row-major), as returned by the Swift API.
public struct ElmoArray: Equatable, Sendable {
    /// The dimensions, outermost first: for example `[tokens, outputDim]`.
    public let shape: [Int]
    /// The elements in row-major order (the last dimension varies fastest); as many as the
    /// product of `shape`.
    public let values: [Float]

    package init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }

    /// Element at a multi-dimensional index.
    public subscript(_ index: Int...) -> Float {
        var flat = 0
        for (d, i) in index.enumerated() { flat = flat * shape[d] + i }
        return values[flat]
    }

    /// The row at `index` along the leading dimensions (e.g. `row(2)` of a (tokens, dim)
    /// array is token 2's vector).
    public func row(_ index: Int...) -> ArraySlice<Float> {
        let inner = shape[index.count...].reduce(1, *)
        var flat = 0
        for (d, i) in index.enumerated() { flat = flat * shape[d] + i }
        return values[(flat * inner)..<((flat + 1) * inner)]
    }
}

/// Every layer of every sentence of one call, from which all outputs are derived.
public struct ElmoEmbeddings: Sendable {
    /// The configuration of the model that computed them (it decides every output's width).
    public let options: ElmoOptions
    /// The mix the `elmo` and `default` outputs use when none is given.
    public let defaultMix: ScalarMix
    /// Tokens per sentence (boundaries not counted), in batch order.
    public let tokenCounts: [Int]
    /// All layers, [sentence][layer][token][outputDim], contiguous.
    public let allLayers: [Float]
    private let offsets: [Int]

    init(options: ElmoOptions, defaultMix: ScalarMix, tokenCounts: [Int], allLayers: [Float]) {
        self.options = options
        self.defaultMix = defaultMix
        self.tokenCounts = tokenCounts
        self.allLayers = allLayers
        var offsets: [Int] = []
        var o = 0
        for t in tokenCounts {
            offsets.append(o)
            o += ElmoOutput.allLayers.floats(tokens: t, options: options)
        }
        self.offsets = offsets
    }

    /// Number of sentences.
    public var count: Int { tokenCounts.count }

    /// All layers of one sentence: shape (layers, tokens, outputDim).
    public func layers(sentence s: Int) -> ElmoArray {
        let n = ElmoOutput.allLayers.floats(tokens: tokenCounts[s], options: options)
        return ElmoArray(shape: ElmoOutput.allLayers.shape(tokens: tokenCounts[s], options: options),
                         values: Array(allLayers[offsets[s]..<(offsets[s] + n)]))
    }

    /// Any output for one sentence (see `ElmoOutput` for shapes).
    public func output(_ kind: ElmoOutput, sentence s: Int) throws -> ElmoArray {
        try kind.validate(options: options)
        guard (0..<count).contains(s) else {
            throw ElmoError(.invalidArgument, "sentence \(s) is out of range 0..<\(count)")
        }
        let tokens = tokenCounts[s]
        var out = [Float](repeating: 0, count: kind.floats(tokens: tokens, options: options))
        allLayers.withUnsafeBufferPointer { all in
            out.withUnsafeMutableBufferPointer { dst in
                OutputWriter.write(kind, mix: defaultMix, from: all.baseAddress! + offsets[s], tokenCounts: [tokens],
                                   options: options, into: dst.baseAddress!)
            }
        }
        return ElmoArray(shape: kind.shape(tokens: tokens, options: options), values: out)
    }

    /// The same output for every sentence.
    public func outputs(_ kind: ElmoOutput) throws -> [ElmoArray] {
        try (0..<count).map { try output(kind, sentence: $0) }
    }
}
