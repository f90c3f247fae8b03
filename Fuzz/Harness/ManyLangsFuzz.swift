// Target `manylangs`: the PyTorch checkpoint reader (legacy pickle and zip containers) and the
// ELMoForManyLangs weight mapping. The input's first byte chooses the file it replaces in a
// tiny valid model directory (even: token_embedder.pkl, odd: encoder.pkl); the rest is that
// file. A directory that loads must embed deterministically.
import Elmo

public enum ManyLangsFuzz {
    static let sentences = [["the", "bank", "<bos>", "\u{00E9}l\u{00E8}ve", "😀"], ["x"]]

    /// Tiny dimensions: character embedding 2, filters [[1, 2], [2, 2]] (F = 4), one highway
    /// layer, word embedding 2, projection 2, 4 cells, 2 layers, 8 characters per token.
    static let config = """
    {"encoder": {"name": "elmo", "projection_dim": 2, "cell_clip": 3, "proj_clip": 3, "dim": 4, "n_layers": 2},
     "token_embedder": {"name": "cnn", "activation": "relu", "filters": [[1, 2], [2, 2]], "n_highway": 1,
                        "word_dim": 2, "char_dim": 2, "max_characters_per_token": 8}, "dropout": 0.1}
    """
    static let characters = ["<", "b", "o", "s", ">", "t", "h", "e", "a", "n", "k", "x",
                             "<bos>", "<eos>", "<oov>", "<pad>", "<bow>", "<eow>"]
    static let words = ["<oov>", "<bos>", "<eos>", "<pad>", "the", "bank"]

    /// The state dicts of the tiny model (deterministic pseudo-random weights).
    static func stateDicts(seed: UInt64) -> (tokenEmbedder: TorchCheckpointWriter, encoder: TorchCheckpointWriter) {
        var state = seed
        func values(_ n: Int) -> [Float] {
            (0..<n).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
            }
        }
        func t(_ name: String, _ shape: [Int]) -> (String, [Int], [Float]) { (name, shape, values(shape.reduce(1, *))) }
        let te = TorchCheckpointWriter(tensors: [
            t("word_emb_layer.embedding.weight", [words.count, 2]),
            t("char_emb_layer.embedding.weight", [characters.count, 2]),
            t("convolutions.0.weight", [2, 2, 1]), t("convolutions.0.bias", [2]),
            t("convolutions.1.weight", [2, 2, 2]), t("convolutions.1.bias", [2]),
            t("highways._layers.0.weight", [8, 4]), t("highways._layers.0.bias", [8]),
            t("projection.weight", [2, 6]), t("projection.bias", [2]),
        ])
        var encoder: [(String, [Int], [Float])] = []
        for l in 0..<2 {
            for d in ["forward", "backward"] {
                let p = "\(d)_layer_\(l)."
                encoder += [t(p + "input_linearity.weight", [16, 2]), t(p + "state_linearity.weight", [16, 2]),
                            t(p + "state_linearity.bias", [16]), t(p + "state_projection.weight", [2, 4])]
            }
        }
        return (te, TorchCheckpointWriter(tensors: encoder))
    }

    /// Writes the tiny model directory (legacy-format state dicts) and returns its path.
    public static func writeModel(directory: String, seed: UInt64 = 11) -> String {
        let dir = FuzzScratch.makeDirectory(directory)
        _ = writeFile(dir + "/config.json", Array(#"{"seed": 1, "config_path": "/nonexistent/tiny.json", "gpu": 0}"#.utf8))
        _ = writeFile(dir + "/tiny.json", Array(config.utf8))
        _ = writeFile(dir + "/char.dic", Array(characters.enumerated().map { "\($1)\t\($0)\n" }.joined().utf8))
        _ = writeFile(dir + "/word.dic", Array(words.enumerated().map { "\($1)\t\($0)\n" }.joined().utf8))
        let (te, enc) = stateDicts(seed: seed)
        _ = writeFile(dir + "/token_embedder.pkl", te.legacy)
        _ = writeFile(dir + "/encoder.pkl", enc.legacy)
        return dir
    }

    nonisolated(unsafe) static var model: String?

    public static func one(_ data: UnsafeRawBufferPointer) {
        guard let selector = data.first else { return }
        let dir = model ?? writeModel(directory: "manylangs-model")
        model = dir
        let file = selector & 1 == 0 ? "token_embedder.pkl" : "encoder.pkl"
        let other = selector & 1 == 0 ? "encoder.pkl" : "token_embedder.pkl"
        // The replaced file in a directory of its own, the other files linked from the model.
        let work = FuzzScratch.makeDirectory("manylangs-input")
        for name in ["config.json", "tiny.json", "char.dic", "word.dic", other] {
            if let bytes = readWholeFile(dir + "/" + name) { _ = writeFile(work + "/" + name, bytes) }
        }
        FuzzScratch.write("manylangs-input/" + file, UnsafeRawBufferPointer(rebasing: data.dropFirst()))
        guard let loaded = expectingElmoErrors("ELMoForManyLangs load", {
            try ElmoModel(manyLangsDirectory: work, loadOptions: fuzzLoadOptions)
        }) else { return }
        exerciseLoadedModel(loaded)
        let a = expectingElmoErrors("embed") { try ElmoSession(model: loaded, threads: 1).embed(sentences) }
        let b = expectingElmoErrors("embed again") { try ElmoSession(model: loaded, threads: 1).embed([sentences[1], sentences[0]]) }
        guard let a, let b, a.layers(sentence: 0).values.map(\.bitPattern) == b.layers(sentence: 1).values.map(\.bitPattern) else {
            fuzzFailure("a sentence embeds differently in another batch")
        }
    }

    /// Seeds: each state dict of the tiny model in both containers, plus the legacy file cut short.
    public static var seeds: [[UInt8]] {
        let (te, enc) = stateDicts(seed: 11)
        return [[0] + te.legacy, [1] + enc.legacy, [2] + te.zip, [3] + enc.zip, [0] + te.legacy.prefix(300)]
    }
}
