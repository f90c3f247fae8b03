/// Where the official (bilm-tf layout) weight tensors come from: an AllenNLP/bilm-tf HDF5
/// file, or a TF Hub module's variables mapped onto the same names.
///
/// Names are those of the HDF5 release files (`char_embed`, `CNN/W_cnn_0`,
/// `CNN_high_0/W_carry`, `CNN_proj/W_proj`, `RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0`, ...),
/// and shapes are as bilm-tf stores them.
package protocol OfficialTensorSource {
    /// Names the source in error messages (usually a path).
    var sourceName: String { get }
    /// The tensor `name`, whose shape must be exactly `expected`; throws a missing-tensor or
    /// shape-mismatch error naming the source, the tensor and both shapes.
    func tensor(_ name: String, expected: [Int]) throws -> Tensor
    /// The character embedding (`char_embed`) with bilm-tf's padding row 0 prepended:
    /// shape (262, embeddingDim), row 0 all zeros.
    func characterEmbedding(embeddingDim: Int) throws -> Tensor
}

extension OfficialTensorSource {
    /// The release files store 261 rows (ids 0...260 before bilm-tf's +1 shift); the padding
    /// row of id 0 is added here, as bilm-tf's `_pretrained_initializer` does.
    package func characterEmbedding(embeddingDim: Int) throws -> Tensor {
        let stored = try tensor("char_embed", expected: [CharacterIds.storedCharacterRows, embeddingDim])
        let (t, p) = try Tensor.allocate(shape: [CharacterIds.embeddingRows, embeddingDim])
        (p + embeddingDim).update(from: stored.pointer, count: stored.count)
        return t
    }
}

/// Names of the official tensors, in one place.
package enum OfficialNames {
    package static let charEmbedding = "char_embed"
    package static func convWeight(_ i: Int) -> String { "CNN/W_cnn_\(i)" }
    package static func convBias(_ i: Int) -> String { "CNN/b_cnn_\(i)" }
    package static func highway(_ i: Int, _ field: String) -> String { "CNN_high_\(i)/\(field)" }
    package static let projectionWeight = "CNN_proj/W_proj"
    package static let projectionBias = "CNN_proj/b_proj"
    /// direction 0 = forward, 1 = backward.
    package static func lstm(_ direction: Int, _ layer: Int, _ field: String) -> String {
        "RNN_\(direction)/RNN/MultiRNNCell/Cell\(layer)/LSTMCell/\(field)"
    }
}
