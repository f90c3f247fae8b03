// `elmo-bench fidelity --products V1;V2;...`: what each product's reduced-precision rounding
// contributes, measured on the simulated precisions of PrecisionSimulation.swift against the
// plain fp32 evaluation: per output layer, mean and smallest token cosine over the first N
// corpus sentences and over one sentence of each --lengths. With --libelmo, the same figures
// for libelmo's own bf16 and int8 against libelmo fp32 (the simulation's calibration).
import Elmo
import ElmoAccuracy
import Foundation

/// Per layer: mean and smallest token cosine of `a` against `b` over every sentence.
private func cosineStats(_ a: [[[Float]]], _ b: [[[Float]]], width: Int) -> [(mean: Double, min: Double)] {
    (0..<a[0].count).map { layer in
        var sum = 0.0, smallest = 1.0, count = 0
        for s in a.indices {
            let x = a[s][layer], y = b[s][layer]
            for start in stride(from: 0, to: x.count, by: width) {
                let c = Fidelity.smallestCosine(Array(x[start..<(start + width)]), Array(y[start..<(start + width)]), width: width)
                sum += c
                smallest = min(smallest, c)
                count += 1
            }
        }
        return (sum / Double(max(count, 1)), smallest)
    }
}

/// libelmo's all-layers output of each sentence, split by layer, embedded 64 sentences a call.
private func libelmoLayers(_ model: ElmoModel, _ sentences: [[String]]) throws -> [[[Float]]] {
    let session = ElmoSession(model: model)
    var result: [[[Float]]] = []
    for start in stride(from: 0, to: sentences.count, by: 64) {
        let e = try session.embed(Array(sentences[start..<min(start + 64, sentences.count)]))
        for s in 0..<e.count {
            let all = e.layers(sentence: s)
            let per = all.values.count / all.shape[0]
            result.append((0..<all.shape[0]).map { Array(all.values[($0 * per)..<(($0 + 1) * per)]) })
        }
    }
    return result
}

func runProductPrecisions(_ config: FidelityConfig, model original: GeneratedModel) throws {
    var model = original
    if config.tokenScale != 1 {
        precondition(!config.libelmo, "--token-scale changes the references only")
        for name in ["CNN_proj/W_proj", "CNN_proj/b_proj"] { model.tensors[name] = model.tensors[name]!.map { $0 * config.tokenScale } }
        print("  token layer projection multiplied by \(config.tokenScale) (references only)")
    }
    let width = 2 * model.options.lstm.projectionDim
    var sets: [(String, [[String]])] = []
    if config.corpusSentences > 0 {
        let corpus = try Corpus(path: config.corpus, count: config.corpusSentences)
        let sentences = corpus.sentences.map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
        sets.append(("corpus \(sentences.count) (\(sentences.map(\.count).reduce(0, +)) tokens)", sentences))
    }
    for n in config.lengths { sets.append(("\(n) tokens", [AccuracySentences.make(count: n)])) }
    let names = ["token layer"] + (1...model.options.lstm.layerCount).map { "LSTM \($0)" }
    print("\nsmallest / mean token cosine against fp32, per output layer (simulated: plain fp32 evaluation with each")
    print("product's operands rounded as named; libelmo: its own kernels against libelmo fp32)")
    print("precision".padding(toLength: 60, withPad: " ", startingAt: 0) + "set".padding(toLength: 28, withPad: " ", startingAt: 0)
          + names.map { $0.padding(toLength: 22, withPad: " ", startingAt: 0) }.joined())
    func row(_ name: String, _ set: String, _ stats: [(mean: Double, min: Double)], seconds: Double) {
        print(name.padding(toLength: 60, withPad: " ", startingAt: 0) + set.padding(toLength: 28, withPad: " ", startingAt: 0)
              + stats.map { String(format: "%.6f / %.6f   ", $0.min, $0.mean) }.joined() + String(format: "(%.0f s)", seconds))
        fflush(nil)
    }
    for (setName, sentences) in sets {
        var t = now()
        let plain = try DenseReference<Float>(options: model.options, tensors: model.tensors).embed(sentences: sentences)
        print(String(format: "  %@: plain fp32 evaluated in %.0f s; per layer rms / max |x|: ", setName, now() - t)
              + names.indices.map { l in
                  let v = plain.flatMap { $0[l] }
                  let rms = (v.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(v.count, 1))).squareRoot()
                  return String(format: "%.3f / %.3f", rms, v.map { abs(Double($0)) }.max() ?? 0)
              }.joined(separator: ", "))
        if config.float64 {
            t = now()
            let exact = try DenseReference<Double>(options: model.options, tensors: model.tensors).embed(sentences: sentences)
            let worst = names.indices.map { l in sentences.indices.map { Fidelity.maxAbsDifference(plain[$0][l], exact[$0][l]) }.max() ?? 0 }
            print(String(format: "  %@: plain fp32, max |x - float64| per layer: %@ (%.0f s)", setName,
                         worst.map { String(format: "%.2e", $0) }.joined(separator: " / "), now() - t))
        }
        for variant in config.products {
            t = now()
            let simulated = try PrecisionSimulation.reference(model, variant).embed(sentences: sentences)
            row("simulated " + variant.name, setName, cosineStats(simulated, plain, width: width), seconds: now() - t)
        }
        if config.libelmo {
            t = now()
            let fp32 = try libelmoLayers(try ElmoModel(path: model.weightsPath), sentences)
            for precision in [ElmoPrecision.bf16, .int8] {
                let m = try ElmoModel(path: model.weightsPath, loadOptions: ElmoLoadOptions(precision: precision))
                row("libelmo \(precision)", setName, cosineStats(try libelmoLayers(m, sentences), fp32, width: width),
                    seconds: now() - t)
                t = now()
            }
        }
    }
}
