/// The number format of a model's large weight matrices, chosen when the model is loaded.
///
/// - `fp32`: every weight is the float32 of the model file; results are exact (bit-identical
///   on every CPU, thread count and batch composition).
/// - `bf16`: the LSTM input, recurrent and projection matrices, the highway matrices and the
///   char-CNN projection are bfloat16 (half the memory and bandwidth), and so are the
///   activations they multiply; sums, biases, gates, cell states, the character-CNN tables
///   and every output stay float32. About twice as fast where the CPU has AVX512_BF16
///   (`vdpbf16ps`); exact but slower elsewhere. Results are deterministic too (the same bits
///   on every CPU, thread count and batch composition) and differ from fp32 by bf16
///   rounding: cosine similarity above 0.999 per vector (see BENCHMARKS.md).
public enum ElmoPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    case fp32
    case bf16

    public var description: String { rawValue }

    /// The element type of the large weight matrices at this precision.
    var matrixElement: TensorElement { self == .fp32 ? .f32 : .bf16 }
}
