// Embeds a few sentences with a model given by path, prints the output shapes, and shows
// context at work: the same word "bank" gets different vectors by a river and at a lender.
import Elmo
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    let name = arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "elmo-demo"
    print("usage: \(name) MODEL [OPTIONS_JSON]")
    print("  MODEL: a directory with options.json and the weights HDF5, or the weights HDF5 itself")
    exit(2)
}

let sentences: [[String]] = [
    ["We", "sat", "on", "the", "bank", "of", "the", "river", "."],
    ["The", "river", "bank", "was", "muddy", "after", "the", "flood", "."],
    ["The", "bank", "approved", "my", "loan", "."],
    ["She", "deposited", "the", "money", "at", "the", "bank", "."],
]

func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    var dot: Float = 0, na: Float = 0, nb: Float = 0
    for (x, y) in zip(a, b) {
        dot += x * y
        na += x * x
        nb += y * y
    }
    return dot / (na.squareRoot() * nb.squareRoot() + 1e-12)
}

/// "0.936", "-0.120", "1.000": three decimals without Foundation.
func fixed3(_ x: Float) -> String {
    let milli = Int((x * 1000).rounded())
    let sign = milli < 0 ? "-" : ""
    let digits = String(abs(milli) % 1000)
    return sign + String(abs(milli) / 1000) + "." + String(repeating: "0", count: 3 - digits.count) + digits
}

func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }

do {
    let model = try ElmoModel(path: arguments[1], optionsFile: arguments.count > 2 ? arguments[2] : nil)
    print("model: \(model.sourceDescription)")
    print("       \(model.parameterCount) parameters, token dim \(model.tokenDim), output dim \(model.outputDim), \(model.layerCount) layers")
    let result = try ElmoSession(model: model).embed(sentences)
    print("\nshapes for \"\(sentences[0].joined(separator: " "))\":")
    for (name, output) in [("all", ElmoOutput.allLayers), ("word_emb", .wordEmbedding), ("lstm_outputs1", .lstm(1)),
                           ("lstm_outputs2", .lstm(min(2, model.layerCount - 1))), ("elmo", .elmo(nil)),
                           ("default", .sentenceMean(nil))] {
        print("  \(pad(name, 14)) \(try result.output(output, sentence: 0).shape)")
    }
    let bankIndex = sentences.map { $0.firstIndex(of: "bank")! }
    let labels = ["river 1", "river 2", "lender 1", "lender 2"]
    for (title, output) in [("elmo (contextual)", ElmoOutput.elmo(nil)), ("word_emb (context-free)", .wordEmbedding)] {
        let vectors = try (0..<sentences.count).map { try result.output(output, sentence: $0).row(bankIndex[$0]) }
        print("\ncosine similarity of \"bank\", \(title):")
        print(pad("", 10) + labels.map { pad($0, 10) }.joined())
        for i in 0..<vectors.count {
            let row = (0..<vectors.count).map { j -> String in
                let c = cosine(vectors[i], vectors[j])
                return pad(fixed3(c), 10)
            }
            print(pad(labels[i], 10) + row.joined())
        }
    }
} catch {
    var message = "elmo-demo: \(error)\n"
    message.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}
