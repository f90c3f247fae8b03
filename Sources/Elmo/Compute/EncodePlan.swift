/// What one `Encoder.encode` call computes, decided before any arithmetic: the rows (the
/// batch's sentences with their `<S>`/`</S>` steps, sorted by length and stored step-major:
/// `BatchPlan`) and how many biLSTM layers run. The other two planning steps need buffers
/// kept from call to call, so they live with those buffers: which distinct tokens the token
/// layer needs (`DistinctTokens`) and which of them the token cache already holds
/// (`TokenLayerStep`).
struct EncodePlan {
    /// The row layout shared by the LSTMs and the output assembly.
    let rows: BatchPlan
    /// biLSTM layers the model has: the output keeps a block for each.
    let allLayerCount: Int
    /// biLSTM layers computed: the ones requested (nil: all), clamped to the model's. A
    /// stateful session runs every layer, because its carried states must advance with every
    /// call. Each layer reads only the one below it, so the layers computed are bit-identical
    /// to the same layers of a full run.
    let layerCount: Int

    init(batch: TokenBatch, options: ElmoOptions, stateful: Bool, requestedLayers lstmLayers: Int?) {
        let allLayerCount = options.lstm.layerCount
        self.allLayerCount = allLayerCount
        layerCount = stateful ? allLayerCount : min(max(lstmLayers ?? allLayerCount, 0), allLayerCount)
        rows = BatchPlan(tokenCounts: batch.sentenceLengths)
    }
}
