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
/// - `int8`: the LSTM input, recurrent and projection matrices are int8, quantised per
///   output column (symmetric, fp32 scales), and the activations they multiply are quantised
///   per row at run time; the products are exact int32 sums (`vpdpbusd` where the CPU has
///   AVX-512 VNNI or AVX-VNNI, exact AVX2 or portable code elsewhere: the same bits), then
///   dequantised in fp32. The token layer's matrices (highway, char-CNN projection) stay
///   bf16: the token layer is computed once per distinct token and cached, so int8 would
///   save little time there. Everything non-linear, the cell states and the outputs stay
///   fp32. A quarter of the LSTM weight memory; results are deterministic (the same bits on
///   every CPU, thread count and batch composition); accuracy in BENCHMARKS.md.
public enum ElmoPrecision: String, Sendable, CaseIterable, CustomStringConvertible {
    /// float32 weights and arithmetic: the model file's exact results. The default.
    case fp32
    /// bfloat16 matrices and activations with float32 sums: half the weight memory.
    case bf16
    /// int8 LSTM matrices (per-column scales) with exact int32 products: a quarter of the
    /// LSTM weight memory.
    case int8

    /// The name, as every interface spells it: `"fp32"`, `"bf16"` or `"int8"` (also the raw value).
    public var description: String { rawValue }

    /// The element type of the LSTM matrices (input, recurrent, projection).
    var lstmMatrixElement: TensorElement {
        switch self {
        case .fp32: return .f32
        case .bf16: return .bf16
        case .int8: return .i8
        }
    }

    /// The element type of the token layer's matrices (highway, char-CNN projection).
    var tokenMatrixElement: TensorElement { self == .fp32 ? .f32 : .bf16 }
}
