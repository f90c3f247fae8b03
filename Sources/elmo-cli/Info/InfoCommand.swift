import ArgumentParser
import Elmo

/// `elmo info MODEL`: what a model is, without embedding anything.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a model's configuration, parameter count, files and output shapes.",
        discussion: """
        MODEL is a directory with options.json and the weights HDF5, the weights file itself, a native model \
        file, a TF Hub module, an ELMoForManyLangs model directory, or the name of \
        a downloaded model (\(ModelResolver.publishedNames.joined(separator: ", "))); `info` never downloads.
        """)

    @Argument(help: "Model directory, weights file or model name.")
    var model: String

    @Flag(help: "Print the information as one JSON object.")
    var json = false

    func run() throws {
        let resolved = try ModelResolver.resolve(model, quiet: true, download: false)
        let path = resolved.path, optionsFile = resolved.optionsFile
        let described: (format: String, files: [ModelFile])
        let loaded: ElmoModel
        do {
            described = try ElmoModel.files(forPath: path, optionsFile: optionsFile)
            // In its stored precision: no conversion just to describe it.
            loaded = try ElmoModel(path: path, optionsFile: optionsFile,
                                   loadOptions: ElmoLoadOptions(tokenCacheBytes: 0,
                                                                precision: try ElmoModel.storedPrecision(path: path, optionsFile: optionsFile)))
        } catch {
            throw CLIFailure("\(error)")
        }
        let o = loaded.options
        let totalSize = described.files.reduce(0) { $0 + $1.size }
        let outputs: [(String, [Int])] = [
            ("all", ElmoOutput.allLayers.shape(tokens: -1, options: o)),
            ("word_emb", ElmoOutput.wordEmbedding.shape(tokens: -1, options: o)),
        ] + (1...o.lstm.layerCount).map { ("lstm_outputs\($0)", ElmoOutput.lstm($0).shape(tokens: -1, options: o)) } + [
            ("elmo", ElmoOutput.elmo(nil).shape(tokens: -1, options: o)),
            ("default", ElmoOutput.sentenceMean(nil).shape(tokens: -1, options: o)),
        ]
        if json {
            print(jsonText(path: path, format: described.format, files: described.files, totalSize: totalSize,
                           model: loaded, outputs: outputs))
            return
        }
        let c = o.charCNN, l = o.lstm
        var lines: [(String, String)] = [
            ("model", path),
            ("format", described.format),
        ]
        for f in described.files {
            lines.append(("\(f.role.rawValue) file", "\(f.path) (\(f.format), \(HumanFormat.bytes(f.size)))"))
        }
        lines += [
            ("size", "\(HumanFormat.bytes(totalSize)) (\(HumanFormat.count(totalSize)) bytes)"),
            ("parameters", HumanFormat.count(loaded.parameterCount)),
            ("precision", loaded.precision == .bf16
                ? "bf16 (LSTM, highway and projection matrices in bfloat16; tables and biases fp32)"
                : loaded.precision == .int8
                ? "int8 (LSTM matrices in int8 with per-column fp32 scales; highway and projection bfloat16; tables and biases fp32)"
                : "fp32"),
            ("char CNN", "\(c.embeddingDim)-d character embeddings, filters "
                + c.filters.map { "\($0.width)x\($0.count)" }.joined(separator: " ")
                + " (\(c.totalFilters) total), \(c.activation.rawValue), \(c.highwayCount) highway layer\(c.highwayCount == 1 ? "" : "s"), "
                + "\(c.maxCharactersPerToken) characters per token"),
            ("biLSTM", "\(l.layerCount) layer\(l.layerCount == 1 ? "" : "s") x 2 directions, \(l.dim) cells, projection \(l.projectionDim)"
                + (l.cellClip.map { ", cell clip \($0)" } ?? "") + (l.projectionClip.map { ", projection clip \($0)" } ?? "")
                + (l.useSkipConnections ? ", skip connections" : "")),
            ("dimensions", "token layer \(loaded.tokenDim), contextual outputs \(loaded.outputDim), \(loaded.layerCount) layers"),
        ]
        if let m = o.manyLangs {
            lines.append(("vocabularies", "\(HumanFormat.count(m.characterCount)) characters (char.dic), "
                + (m.wordDim > 0 ? "\(HumanFormat.count(m.wordCount)) words (word.dic) with \(m.wordDim)-d embeddings before the projection"
                                 : "no word embedding")
                + "; elmo = plain mean of the layers (ELMoForManyLangs output_layer -1)"))
        }
        for (name, shape) in outputs {
            lines.append(("output " + name, shapeText(shape)))
        }
        let width = lines.map { $0.0.count }.max() ?? 0
        for (k, v) in lines {
            print(k + ":" + String(repeating: " ", count: width - k.count + 2) + v)
        }
    }

    /// "(3, tokens, 1024)" with -1 standing for the sentence's token count.
    private func shapeText(_ shape: [Int]) -> String {
        let parts = shape.map { $0 < 0 ? "tokens" : String($0) }
        return parts.count == 1 ? "(\(parts[0]),)" : "(" + parts.joined(separator: ", ") + ")"
    }

    private func jsonText(path: String, format: String, files: [ModelFile], totalSize: Int, model: ElmoModel,
                          outputs: [(String, [Int])]) -> String {
        func str(_ s: String) -> String {
            var out: [UInt8] = []
            JSONText.appendString(s, asciiOnly: false, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        let o = model.options
        let fileList = files.map { "{\"role\": \(str($0.role.rawValue)), \"path\": \(str($0.path)), \"format\": \(str($0.format)), \"size\": \($0.size)}" }
        let shapes = outputs.map { name, shape in
            "\(str(name)): [" + shape.map { $0 < 0 ? "null" : String($0) }.joined(separator: ", ") + "]"
        }
        let filters = o.charCNN.filters.map { "[\($0.width), \($0.count)]" }.joined(separator: ", ")
        return "{\"model\": \(str(path)), \"format\": \(str(format)), \"files\": [\(fileList.joined(separator: ", "))], "
            + "\"size\": \(totalSize), \"parameters\": \(model.parameterCount), \"precision\": \(str(model.precision.rawValue)), "
            + "\"char_cnn\": {\"embedding_dim\": \(o.charCNN.embeddingDim), \"filters\": [\(filters)], "
            + "\"n_highway\": \(o.charCNN.highwayCount), \"max_characters_per_token\": \(o.charCNN.maxCharactersPerToken), "
            + "\"activation\": \(str(o.charCNN.activation.rawValue))}, "
            + "\"lstm\": {\"n_layers\": \(o.lstm.layerCount), \"dim\": \(o.lstm.dim), \"projection_dim\": \(o.lstm.projectionDim), "
            + "\"cell_clip\": \(o.lstm.cellClip.map { "\($0)" } ?? "null"), \"proj_clip\": \(o.lstm.projectionClip.map { "\($0)" } ?? "null"), "
            + "\"use_skip_connections\": \(o.lstm.useSkipConnections)}, "
            + (o.manyLangs.map { "\"manylangs\": {\"n_characters\": \($0.characterCount), \"n_words\": \($0.wordCount), \"word_dim\": \($0.wordDim)}, " } ?? "")
            + "\"token_dim\": \(model.tokenDim), \"output_dim\": \(model.outputDim), \"layers\": \(model.layerCount), "
            + "\"outputs\": {\(shapes.joined(separator: ", "))}}"
    }
}
