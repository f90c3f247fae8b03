// Loading, freeing and describing models.
import CElmoABI
import Elmo

@_cdecl("elmo_model_params_init")
public func elmoModelParamsInit(_ params: UnsafeMutablePointer<elmo_model_params>?, _ size: Int) -> elmo_status {
    entryPoint("elmo_model_params_init") { try elmo_model_params.initialize(params, size: size) }
}

@_cdecl("elmo_model_load")
public func elmoModelLoad(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<elmo_model_params>?,
                          _ model: UnsafeMutablePointer<OpaquePointer?>?) -> elmo_status {
    model?.pointee = nil
    return entryPoint("elmo_model_load") {
        guard let model else { throw invalidArgument("model (the result pointer) is NULL") }
        let path = try utf8String(path, "path")
        let p = try elmo_model_params.read(params)
        let optionsFile = try p.options_path.map { try utf8String($0, "options_path") }
        let loaded = try ElmoModel(path: path, optionsFile: optionsFile, loadOptions: try p.loadOptions())
        model.pointee = Handles.register(loaded)
    }
}

@_cdecl("elmo_model_free")
public func elmoModelFree(_ model: OpaquePointer?) -> elmo_status {
    entryPoint("elmo_model_free") { _ = try Handles.remove(model, as: ElmoModel.self, "model") }
}

@_cdecl("elmo_model_save_native")
public func elmoModelSaveNative(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> elmo_status {
    entryPoint("elmo_model_save_native") {
        let model = try Handles.model(model)
        try model.writeNative(to: try utf8String(path, "path"))
    }
}

@_cdecl("elmo_model_precision")
public func elmoModelPrecision(_ model: OpaquePointer?, _ precision: UnsafeMutablePointer<elmo_precision>?) -> elmo_status {
    entryPoint("elmo_model_precision") {
        let model = try Handles.model(model)
        guard let precision else { throw invalidArgument("precision (the result pointer) is NULL") }
        precision.pointee = model.precision.c
    }
}

@_cdecl("elmo_model_stored_precision")
public func elmoModelStoredPrecision(_ path: UnsafePointer<CChar>?, _ optionsPath: UnsafePointer<CChar>?,
                                     _ precision: UnsafeMutablePointer<elmo_precision>?) -> elmo_status {
    entryPoint("elmo_model_stored_precision") {
        let path = try utf8String(path, "path")
        let optionsFile = try optionsPath.map { try utf8String($0, "options_path") }
        guard let precision else { throw invalidArgument("precision (the result pointer) is NULL") }
        precision.pointee = try ElmoModel.storedPrecision(path: path, optionsFile: optionsFile).c
    }
}

@_cdecl("elmo_model_cache_stats")
public func elmoModelCacheStats(_ model: OpaquePointer?, _ hits: UnsafeMutablePointer<Int>?,
                                _ misses: UnsafeMutablePointer<Int>?, _ entries: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_model_cache_stats") {
        let stats = try Handles.model(model).tokenCache.statistics
        hits?.pointee = stats.hits
        misses?.pointee = stats.misses
        entries?.pointee = stats.entries
    }
}

@_cdecl("elmo_model_token_dim")
public func elmoModelTokenDim(_ model: OpaquePointer?, _ dim: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_model_token_dim") { try store(Handles.model(model).tokenDim, in: dim, "dim") }
}

@_cdecl("elmo_model_output_dim")
public func elmoModelOutputDim(_ model: OpaquePointer?, _ dim: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_model_output_dim") { try store(Handles.model(model).outputDim, in: dim, "dim") }
}

@_cdecl("elmo_model_output_layer_count")
public func elmoModelOutputLayerCount(_ model: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_model_output_layer_count") { try store(Handles.model(model).layerCount, in: count, "count") }
}

@_cdecl("elmo_model_lstm_layer_count")
public func elmoModelLSTMLayerCount(_ model: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_model_lstm_layer_count") { try store(Handles.model(model).lstmLayerCount, in: count, "count") }
}

@_cdecl("elmo_model_default_mix")
public func elmoModelDefaultMix(_ model: OpaquePointer?, _ weights: UnsafeMutablePointer<Float>?, _ capacity: Int,
                                _ gamma: UnsafeMutablePointer<Float>?, _ layerNorm: UnsafeMutablePointer<Int32>?) -> elmo_status {
    entryPoint("elmo_model_default_mix") {
        let mix = try Handles.model(model).defaultMix
        guard let weights, let gamma, let layerNorm else { throw invalidArgument("weights, gamma and layer_norm must not be NULL") }
        guard capacity >= mix.weights.count else {
            throw ElmoError(.bufferTooSmall, "weights holds \(UInt(bitPattern: capacity)) floats but the model has \(mix.weights.count) layers")
        }
        weights.update(from: mix.weights, count: mix.weights.count)
        gamma.pointee = mix.gamma
        layerNorm.pointee = mix.layerNorm ? 1 : 0
    }
}

@_cdecl("elmo_model_characters_per_token")
public func elmoModelCharactersPerToken(_ model: OpaquePointer?, _ count: UnsafeMutablePointer<Int>?) -> elmo_status {
    entryPoint("elmo_model_characters_per_token") {
        try store(Handles.model(model).options.charCNN.maxCharactersPerToken, in: count, "count")
    }
}

/// A C string argument as a Swift string; invalid UTF-8 is refused, not repaired (a repaired
/// path would silently name a different file).
func utf8String(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
    guard let pointer else { throw invalidArgument("\(name) is NULL") }
    guard let string = String(validatingCString: pointer) else { throw invalidArgument("\(name) is not valid UTF-8") }
    return string
}

/// Stores a result through a caller's out pointer.
func store(_ value: Int, in pointer: UnsafeMutablePointer<Int>?, _ name: String) throws {
    guard let pointer else { throw invalidArgument("\(name) (the result pointer) is NULL") }
    pointer.pointee = value
}
