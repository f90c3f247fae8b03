// Embeds the bilm-tf fixture's 30 sentences through `import Elmo` alone, as bilm-tf made its
// outputs (batches sentences[0][i], sentences[1][i], sentences[2][i], i = 0..9, one stateful
// session), and prints every layer of every sentence for compare.py:
// one line per sentence: "k i shape values...", shape (layers, tokens, 2P) comma-separated,
// values in Swift's shortest round-trip form.
import Elmo
import Foundation

let fixtures = CommandLine.arguments[1]
let json = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/sentences.json"))
let sentences = try JSONDecoder().decode([[String]].self, from: json)

let model = try ElmoModel(path: fixtures)  // options.json + lm_weights.hdf5
let session = ElmoSession(model: model, stateful: true)
for i in 0..<10 {
    let batch = (0..<3).map { k in sentences[k][i].split(separator: " ").map(String.init) }
    let result = try session.embed(batch)
    for k in 0..<3 {
        let layers = try result.output(.allLayers, sentence: k)
        print(k, i, layers.shape.map(String.init).joined(separator: ","),
              layers.values.map { "\($0)" }.joined(separator: " "))
    }
}
