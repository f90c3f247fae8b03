import CElmoABI
import Elmo

/// Versioned params structs. Each begins with `size_t struct_size`; a caller's struct_size
/// must be one this library knows: the size of the struct in some released elmo.h. Fields are
/// only ever appended and every struct's size stays a multiple of 8 (no tail padding an
/// appended field could land in), so the bytes of an older, smaller struct are exactly its
/// fields, and the fields it lacks keep their defaults.
protocol VersionedParams {
    /// The defaults of every field this library knows (struct_size = the current size).
    static var defaults: Self { get }
    /// The struct sizes of all released headers, oldest first; the last is the current size.
    static var knownSizes: [Int] { get }
    /// The struct's C name, for messages.
    static var cName: String { get }
}

extension VersionedParams {
    /// Writes the defaults into a caller's struct of `size` bytes. For a size this library
    /// does not know, writes only struct_size, so that any later use of the struct is refused
    /// with a clear message instead of reading uninitialised fields.
    static func initialize(_ pointer: UnsafeMutablePointer<Self>?, size: Int) throws {
        guard let pointer else { throw invalidArgument("params is NULL") }
        guard size >= MemoryLayout<Int>.size else {
            throw invalidArgument("struct_size \(size) is too small for \(cName)")
        }
        let raw = UnsafeMutableRawPointer(pointer)
        guard knownSizes.contains(size) else {
            raw.storeBytes(of: size, as: Int.self)
            throw unknownSize(size)
        }
        var values = defaults
        withUnsafeBytes(of: &values) { raw.copyMemory(from: $0.baseAddress!, byteCount: size) }
        raw.storeBytes(of: size, as: Int.self)
    }

    /// The caller's params, or the defaults for NULL. Fields beyond the caller's struct_size
    /// take their defaults.
    static func read(_ pointer: UnsafePointer<Self>?) throws -> Self {
        var values = defaults
        guard let pointer else { return values }
        let raw = UnsafeRawPointer(pointer)
        let size = raw.load(as: Int.self)
        guard knownSizes.contains(size) else { throw unknownSize(size) }
        withUnsafeMutableBytes(of: &values) { $0.baseAddress!.copyMemory(from: raw, byteCount: size) }
        return values
    }

    private static func unknownSize(_ size: Int) -> ElmoError {
        let current = MemoryLayout<Self>.size
        if size > current {
            return invalidArgument("\(cName).struct_size is \(size) but this libelmo \(libraryVersion) knows at most \(current): "
                                   + "the program was built against a newer elmo.h than the installed library")
        }
        return invalidArgument("\(cName).struct_size is \(size), not a size of any released \(cName): "
                               + "get the struct from elmo_*_default_params() or elmo_*_params_init()")
    }
}

let libraryVersion = String(cString: elmo_abi_version_string())

extension elmo_model_params: VersionedParams {
    static var defaults: elmo_model_params {
        elmo_model_params(struct_size: MemoryLayout<elmo_model_params>.size, options_path: nil,
                          token_cache_bytes: ElmoLoadOptions.defaultTokenCacheBytes, precision: ELMO_PRECISION_FP32,
                          reserved: 0)
    }
    static var knownSizes: [Int] { [MemoryLayout<elmo_model_params>.size] }
    static var cName: String { "elmo_model_params" }
}

extension elmo_session_params: VersionedParams {
    static var defaults: elmo_session_params {
        let limits = ElmoLimits.default
        return elmo_session_params(struct_size: MemoryLayout<elmo_session_params>.size, stateful: 0,
                                   max_sentences: limits.maxSentences,
                                   max_tokens_per_sentence: limits.maxTokensPerSentence,
                                   max_tokens_per_call: limits.maxTokensPerCall, n_threads: 0)
    }
    static var knownSizes: [Int] { [MemoryLayout<elmo_session_params>.size] }
    static var cName: String { "elmo_session_params" }
}

extension elmo_output_params: VersionedParams {
    static var defaults: elmo_output_params {
        elmo_output_params(struct_size: MemoryLayout<elmo_output_params>.size, kind: ELMO_OUTPUT_ELMO, lstm_layer: 1,
                           mix_weights: nil, mix_weight_count: 0, mix_gamma: 1, mix_layer_norm: 0,
                           sentence_boundaries: 0, reserved: 0)
    }
    /// 0.1 ended at mix_layer_norm; 0.2 appended sentence_boundaries and reserved.
    static var knownSizes: [Int] {
        [MemoryLayout<elmo_output_params>.offset(of: \.sentence_boundaries)!, MemoryLayout<elmo_output_params>.size]
    }
    static var cName: String { "elmo_output_params" }
}

extension elmo_session_params {
    /// The session limits these params ask for. Every limit must be at least 1; a size_t
    /// above Int.max arrives here negative and is refused the same way.
    func limits() throws -> ElmoLimits {
        for (name, value) in [("max_sentences", max_sentences), ("max_tokens_per_sentence", max_tokens_per_sentence),
                              ("max_tokens_per_call", max_tokens_per_call)] where value < 1 {
            throw invalidArgument("elmo_session_params.\(name) must be between 1 and \(Int.max), not \(UInt(bitPattern: value))")
        }
        return ElmoLimits(maxSentences: max_sentences, maxTokensPerSentence: max_tokens_per_sentence,
                          maxTokensPerCall: max_tokens_per_call)
    }
}

extension elmo_model_params {
    /// The load options these params ask for. A size_t above Int.max arrives negative.
    func loadOptions() throws -> ElmoLoadOptions {
        guard token_cache_bytes >= 0 else {
            throw invalidArgument("elmo_model_params.token_cache_bytes \(UInt(bitPattern: token_cache_bytes)) is too large")
        }
        guard reserved == 0 else { throw invalidArgument("elmo_model_params.reserved must be 0, not \(reserved)") }
        return ElmoLoadOptions(tokenCacheBytes: token_cache_bytes, precision: try ElmoPrecision(c: precision))
    }
}

extension ElmoPrecision {
    /// The precision an elmo_precision value names; other values are refused.
    init(c value: elmo_precision) throws {
        switch value {
        case ELMO_PRECISION_FP32: self = .fp32
        case ELMO_PRECISION_BF16: self = .bf16
        case ELMO_PRECISION_INT8: self = .int8
        default: throw invalidArgument("elmo_model_params.precision \(value.rawValue) is not ELMO_PRECISION_FP32 (0), ELMO_PRECISION_BF16 (1) or ELMO_PRECISION_INT8 (2)")
        }
    }

    /// The C enum value.
    var c: elmo_precision {
        switch self {
        case .fp32: return ELMO_PRECISION_FP32
        case .bf16: return ELMO_PRECISION_BF16
        case .int8: return ELMO_PRECISION_INT8
        }
    }
}

extension elmo_session_params {
    /// nil (every core) for 0; otherwise 1...256 (a larger value is refused, not clamped, so a
    /// wrapped negative number does not quietly become 256 threads).
    func threads() throws -> Int? {
        if n_threads == 0 { return nil }
        guard (1...256).contains(n_threads) else {
            throw invalidArgument("elmo_session_params.n_threads must be 0 (all cores) or 1...256, not \(UInt(bitPattern: n_threads))")
        }
        return n_threads
    }
}

extension elmo_output_params {
    /// The output these params ask for from `model`. The mix weights are read only after
    /// their count has been checked against the model.
    func output(for model: ElmoModel) throws -> ElmoOutput {
        switch kind {
        case ELMO_OUTPUT_ALL_LAYERS: return .allLayers
        case ELMO_OUTPUT_WORD_EMB: return .wordEmbedding
        case ELMO_OUTPUT_LSTM:
            guard (1...model.lstmLayerCount).contains(lstm_layer) else {
                throw invalidArgument("lstm_layer \(UInt(bitPattern: lstm_layer)) does not exist: the model's LSTM layers are 1...\(model.lstmLayerCount)")
            }
            return .lstm(lstm_layer)
        case ELMO_OUTPUT_ELMO: return .elmo(try mix(for: model))
        case ELMO_OUTPUT_DEFAULT: return .sentenceMean(try mix(for: model))
        default: throw invalidArgument("unknown output kind \(kind.rawValue)")
        }
    }

    /// Whether the per-token outputs include the sentence boundary rows (since 0.2).
    func sentenceBoundaries() throws -> Bool {
        guard reserved == 0 else { throw invalidArgument("elmo_output_params.reserved must be 0, not \(reserved)") }
        return sentence_boundaries != 0
    }

    private func mix(for model: ElmoModel) throws -> ScalarMix? {
        guard let weights = mix_weights else {
            guard mix_weight_count == 0 else {
                throw invalidArgument("mix_weight_count is \(UInt(bitPattern: mix_weight_count)) but mix_weights is NULL")
            }
            guard mix_gamma == 1, mix_layer_norm == 0 else {
                throw invalidArgument("mix_gamma and mix_layer_norm apply to a mix given in mix_weights; "
                                      + "with mix_weights NULL (the model's own mix) they must keep their defaults")
            }
            return nil
        }
        guard mix_weight_count == model.layerCount else {
            throw invalidArgument("mix_weight_count is \(UInt(bitPattern: mix_weight_count)) but the model has \(model.layerCount) output layers")
        }
        return ScalarMix(weights: Array(UnsafeBufferPointer(start: weights, count: mix_weight_count)),
                         gamma: mix_gamma, layerNorm: mix_layer_norm != 0)
    }
}
