// Target `native`: the native (safetensors) model file reader. A file that loads must embed,
// and writing the loaded model back out and loading that copy must give bit-identical
// embeddings (whatever the weights hold, NaN and Inf included).
import Elmo

public enum NativeFuzz {
    static let sentences = [["The", "bank", "<S>", "\u{00E9}l\u{00E8}ve"], ["x"]]

    public static func one(_ data: UnsafeRawBufferPointer) {
        let path = FuzzScratch.write("model.elmo", data)
        guard let model = expectingElmoErrors("native load", { try ElmoModel(nativeFile: path, loadOptions: fuzzLoadOptions) }) else {
            return
        }
        exerciseLoadedModel(model)
        let copyPath = FuzzScratch.path("copy.elmo")
        guard expectingElmoErrors("writeNative", { try model.writeNative(to: copyPath) }) != nil,
              let copy = expectingElmoErrors("reloading a written model", { try ElmoModel(nativeFile: copyPath, loadOptions: fuzzLoadOptions) }) else {
            fuzzFailure("a loaded model cannot be written and read back")
        }
        guard copy.options == model.options, copy.defaultMix == model.defaultMix || mixBitsEqual(copy.defaultMix, model.defaultMix) else {
            fuzzFailure("the copy's options or default mix differ")
        }
        let a = expectingElmoErrors("embed") { try ElmoSession(model: model, threads: 1).embed(sentences) }
        let b = expectingElmoErrors("embed the copy") { try ElmoSession(model: copy, threads: 1).embed(sentences) }
        guard let a, let b, a.allLayers.map(\.bitPattern) == b.allLayers.map(\.bitPattern) else {
            fuzzFailure("a written and reloaded model embeds differently")
        }
    }

    static func mixBitsEqual(_ x: ScalarMix, _ y: ScalarMix) -> Bool {
        x.weights.map(\.bitPattern) == y.weights.map(\.bitPattern) && x.gamma.bitPattern == y.gamma.bitPattern
            && x.layerNorm == y.layerNorm
    }

    /// Seeds: every fuzz model configuration as a native file.
    public static func writeSeeds(to directory: String) throws {
        for (name, _) in FuzzModels.configurations {
            let dir = FuzzScratch.makeDirectory("seed-\(name)")
            let model = try FuzzModels.writeOfficial(name, directory: dir)
            try model.writeNative(to: "\(directory)/\(name).elmo")
        }
    }
}
