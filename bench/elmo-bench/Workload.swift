// What the model computes per token and reads per sentence: the denominators of the
// benchmark's GFLOP/s, roofline fraction and GB/s figures.
import Elmo

struct Workload {
    let options: ElmoOptions
    /// Bytes per weight of the packed matrices follow the model's precision.
    var precision: ElmoPrecision = .fp32

    var weightBytes: Double { precision == .bf16 ? 2 : 4 }

    /// FLOPs (2 per multiply-add) of the four LSTMs for one row (one token of one sentence,
    /// boundaries included): input and recurrent products (P x 4D each) and projection (D x P).
    var lstmFlopsPerRow: Double {
        let P = Double(options.lstm.projectionDim), D = Double(options.lstm.dim)
        let perLSTM = 2 * P * 4 * D * 2 + (options.lstm.hasProjection ? 2 * D * P : 0)
        return perLSTM * 2 * Double(options.lstm.layerCount)
    }

    /// FLOPs of the token layer for one token computed the textbook way: the convolutions
    /// over every window of max_characters_per_token, highways and projection.
    var tokenLayerFlops: Double {
        let cnn = options.charCNN
        let E = Double(cnn.embeddingDim), L = cnn.maxCharactersPerToken, F = Double(cnn.totalFilters)
        var conv = 0.0
        for f in cnn.filters { conv += 2 * Double(L - f.width + 1) * Double(f.width) * E * Double(f.count) }
        let highway = Double(cnn.highwayCount) * 2 * F * 2 * F
        let projection = options.hasCNNProjection ? 2 * F * Double(options.lstm.projectionDim) : 0
        return conv + highway + projection
    }

    /// The FLOP count: every row (tokens plus each sentence's <S> and </S>) through
    /// the token layer and the LSTMs, no credit taken for de-duplication or caching.
    func nominalFlops(tokens: Int, sentences: Int) -> Double {
        Double(tokens + 2 * sentences) * (lstmFlopsPerRow + tokenLayerFlops)
    }

    /// Bytes of weights one LSTM reads per timestep at batch 1: recurrent matrix and projection.
    var lstmStepBytes: Double {
        let P = Double(options.lstm.projectionDim), D = Double(options.lstm.dim)
        return weightBytes * (P * 4 * D + (options.lstm.hasProjection ? D * P : 0))
    }

    /// Bytes of one LSTM's input matrix (read once per sentence at batch 1).
    var lstmInputBytes: Double {
        weightBytes * Double(options.lstm.projectionDim) * 4 * Double(options.lstm.dim)
    }

    /// Bytes of the token layer's dense weights (highways, projection), read whenever at
    /// least one token of a call is not in the cache.
    var tokenLayerDenseBytes: Double {
        let F = Double(options.charCNN.totalFilters)
        return weightBytes * (Double(options.charCNN.highwayCount) * F * 2 * F + (options.hasCNNProjection ? F * Double(options.lstm.projectionDim) : 0))
    }

    /// Weight bytes streamed to embed one sentence of `tokens` tokens alone (batch 1): every
    /// LSTM's input matrix once and its step matrices once per timestep, plus the token
    /// layer's dense weights if any token had to be computed.
    func batchOneBytes(tokens: Int, computedTokens: Bool) -> Double {
        let steps = Double(tokens + 2)
        let lstms = Double(2 * options.lstm.layerCount)
        return lstms * (lstmInputBytes + steps * lstmStepBytes) + (computedTokens ? tokenLayerDenseBytes : 0)
    }
}
