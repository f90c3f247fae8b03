/// Derives every output kind from the all-layers layout [sentence][layer][token][2P]
/// that the encoder produces. One implementation serves the Swift API and the C API.
enum OutputWriter {
    /// Floats needed for `output` of sentences with these token counts (nil on overflow).
    /// Counts may come straight from a C caller, so every product and sum is checked.
    static func floatCount<S: Sequence<Int>>(_ output: ElmoOutput, tokenCounts: S, options: ElmoOptions) -> Int? {
        let perToken = output.floatsPerToken(options: options)
        var total = 0
        for t in tokenCounts {
            guard t >= 0 else { return nil }
            var n = options.outputDim
            if let perToken {
                let (product, overflow) = t.multipliedReportingOverflow(by: perToken)
                if overflow { return nil }
                n = product
            }
            let (s, o) = total.addingReportingOverflow(n)
            if o { return nil }
            total = s
        }
        return total
    }

    /// Writes `output` for all sentences, contiguously in caller order, to `destination`.
    /// `allLayers` must hold the all-layers output for `tokenCounts`.
    static func write(_ output: ElmoOutput, mix defaultMix: ScalarMix, from allLayers: UnsafePointer<Float>,
                      tokenCounts: [Int], options: ElmoOptions, into destination: UnsafeMutablePointer<Float>) {
        let layers = options.outputLayerCount
        let width = options.outputDim
        let P = options.tokenDim
        var src = allLayers
        var dst = destination
        for tokens in tokenCounts {
            switch output {
            case .allLayers:
                dst.update(from: src, count: layers * tokens * width)
            case .wordEmbedding:
                for p in 0..<tokens { (dst + p * P).update(from: src + p * width, count: P) }
            case .lstm(let k):
                dst.update(from: src + k * tokens * width, count: tokens * width)
            case .elmo(let mix):
                mixSentence(src, tokens: tokens, layers: layers, width: width, mix: mix ?? defaultMix, into: dst)
            case .sentenceMean(let mix):
                meanOfMix(src, tokens: tokens, layers: layers, width: width, mix: mix ?? defaultMix, into: dst)
            }
            src += layers * tokens * width
            dst += output.floats(tokens: tokens, options: options)
        }
    }

    /// gamma * sum_k s_k * layer_k for one sentence (tokens x width), with per-sentence layer
    /// normalisation when the mix asks for it.
    static func mixSentence(_ src: UnsafePointer<Float>, tokens: Int, layers: Int, width: Int,
                            mix: ScalarMix, into dst: UnsafeMutablePointer<Float>) {
        let s = mix.normalizedWeights
        let n = tokens * width
        dst.update(repeating: 0, count: n)
        for k in 0..<layers {
            let layer = src + k * n
            var scale = mix.gamma * s[k]
            var shift: Float = 0
            if mix.layerNorm {
                let (mean, variance) = statistics(layer, count: n)
                let inv = 1 / (variance + 1e-12).squareRoot()
                scale *= Float(inv)
                shift = Float(mean)
            }
            for i in 0..<n { dst[i] += scale * (layer[i] - shift) }
        }
    }

    /// The mean over tokens of the sentence's mix. The mix is linear, so this is the mix of
    /// each layer's mean over tokens; no per-token intermediate is materialised.
    static func meanOfMix(_ src: UnsafePointer<Float>, tokens: Int, layers: Int, width: Int,
                          mix: ScalarMix, into dst: UnsafeMutablePointer<Float>) {
        let s = mix.normalizedWeights
        let n = tokens * width
        dst.update(repeating: 0, count: width)
        for k in 0..<layers {
            let layer = src + k * n
            var scale = Double(mix.gamma * s[k])
            var shift = 0.0
            if mix.layerNorm {
                let (mean, variance) = statistics(layer, count: n)
                scale /= (variance + 1e-12).squareRoot()
                shift = mean
            }
            for d in 0..<width {
                var sum = 0.0
                for p in 0..<tokens { sum += Double(layer[p * width + d]) }
                dst[d] += Float(scale * (sum / Double(tokens) - shift))
            }
        }
    }

    /// Mean and (biased) variance of n values, accumulated in Double (AllenNLP's layer norm
    /// statistics, restricted to one sentence).
    static func statistics(_ x: UnsafePointer<Float>, count n: Int) -> (Double, Double) {
        var sum = 0.0
        for i in 0..<n { sum += Double(x[i]) }
        let mean = sum / Double(n)
        var sq = 0.0
        for i in 0..<n {
            let d = Double(x[i]) - mean
            sq += d * d
        }
        return (mean, sq / Double(n))
    }
}
