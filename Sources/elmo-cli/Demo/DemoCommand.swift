import ArgumentParser
import Elmo

/// `elmo demo`: the README's main job. Embeds a few sentences, prints every output's shape and
/// shows context at work: "bank" by a river and "bank" at a lender get different contextual
/// vectors (`elmo`) but identical context-free ones (`word_emb`).
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Embed example sentences; print output shapes and a cosine table of \"bank\" in context.",
        discussion: """
        MODEL is a directory with options.json and the weights HDF5, the weights file itself, a TF Hub module, \
        or a model name (\(ModelResolver.publishedNames.joined(separator: ", "))) fetched once into the cache.
        """)

    @Option(help: "Model directory, weights file or model name.")
    var model = "original"

    @Option(help: PrecisionChoice.help)
    var precision: PrecisionChoice = .stored

    static let sentences: [[String]] = [
        ["We", "sat", "on", "the", "bank", "of", "the", "river", "."],
        ["The", "river", "bank", "was", "muddy", "after", "the", "flood", "."],
        ["The", "bank", "approved", "my", "loan", "."],
        ["She", "deposited", "the", "money", "at", "the", "bank", "."],
    ]
    static let labels = ["river 1", "river 2", "lender 1", "lender 2"]

    func run() throws {
        let resolved = try ModelResolver.resolve(model, quiet: false, download: true)
        let path = resolved.path
        let loaded: ElmoModel
        let result: ElmoEmbeddings
        do {
            loaded = try ElmoModel(path: path, optionsFile: resolved.optionsFile,
                                   loadOptions: ElmoLoadOptions(precision: try precision.resolve(path: path, optionsFile: resolved.optionsFile)))
            result = try ElmoSession(model: loaded).embed(DemoCommand.sentences)
        } catch {
            throw CLIFailure("\(error)")
        }
        print("model: \(loaded.sourceDescription)")
        print("       \(HumanFormat.count(loaded.parameterCount)) parameters, token dim \(loaded.tokenDim), "
            + "output dim \(loaded.outputDim), \(loaded.layerCount) layers, \(loaded.precision)")
        print("\nshapes for \"\(DemoCommand.sentences[0].joined(separator: " "))\":")
        var outputs: [(String, ElmoOutput)] = [("all", .allLayers), ("word_emb", .wordEmbedding)]
        outputs += (1...loaded.options.lstm.layerCount).map { ("lstm_outputs\($0)", ElmoOutput.lstm($0)) }
        outputs += [("elmo", .elmo(nil)), ("default", .sentenceMean(nil))]
        for (name, output) in outputs {
            print("  " + pad(name, 14) + "\(try result.output(output, sentence: 0).shape)")
        }
        let bank = DemoCommand.sentences.map { $0.firstIndex(of: "bank") ?? 0 }
        for (title, output) in [("elmo (contextual)", ElmoOutput.elmo(nil)), ("word_emb (context-free)", .wordEmbedding)] {
            let vectors = try (0..<bank.count).map { try result.output(output, sentence: $0).row(bank[$0]) }
            print("\ncosine similarity of \"bank\", \(title):")
            print(pad("", 10) + DemoCommand.labels.map { pad($0, 10) }.joined())
            for i in vectors.indices {
                print(pad(DemoCommand.labels[i], 10) + vectors.indices.map { pad(fixed3(cosine(vectors[i], vectors[$0])), 10) }.joined())
            }
        }
    }

    func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for (x, y) in zip(a, b) {
            dot += x * y
            na += x * x
            nb += y * y
        }
        return dot / (na.squareRoot() * nb.squareRoot() + 1e-12)
    }

    /// "0.936", "-0.120", "1.000".
    func fixed3(_ x: Float) -> String {
        let milli = Int((x * 1000).rounded())
        let digits = String(abs(milli) % 1000)
        return (milli < 0 ? "-" : "") + String(abs(milli) / 1000) + "." + String(repeating: "0", count: 3 - digits.count) + digits
    }

    func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
}
