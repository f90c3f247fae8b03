import ArgumentParser
import Elmo

/// `--precision`: the number format a command computes with.
enum PrecisionChoice: String, ExpressibleByArgument, CaseIterable {
    case fp32, bf16, int8, stored

    static let help = ArgumentHelp(
        "Number format: fp32 (exact), bf16 (bfloat16 weights: half the memory, about 2x faster on CPUs with "
        + "AVX512_BF16, vectors within cosine 0.999 of fp32), int8 (int8 LSTM weights and "
        + "activations, exact int32 products with vpdpbusd where the CPU has VNNI: a quarter of the LSTM memory) or "
        + "stored (what the model file holds: fp32 for official files and TF Hub modules, bf16 or int8 for a native "
        + "file converted with --precision bf16 or int8).",
        valueName: "fp32|bf16|int8|stored")

    /// The precision to load `path` with.
    func resolve(path: String, optionsFile: String? = nil) throws -> ElmoPrecision {
        switch self {
        case .fp32: return .fp32
        case .bf16: return .bf16
        case .int8: return .int8
        case .stored: return try ElmoModel.storedPrecision(path: path, optionsFile: optionsFile)
        }
    }
}
