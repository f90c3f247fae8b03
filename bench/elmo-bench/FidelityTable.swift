// `elmo-bench fidelity` (`make accuracy`): libelmo fp32 and bf16, and a plain fp32 evaluation,
// against a float64 evaluation of the original configuration with non-contractive random LSTM
// weights (ElmoRandomModel.LSTMScale.nonContractive), per output layer and sentence length.
import Elmo
import ElmoHDF5
import ElmoAccuracy
import Foundation
import CElmoKernels

struct FidelityConfig {
    var lengths = [20, 120, 500, 2000]
    var seed: UInt64 = 2018
    var directory = ".build/accuracy-model"
    var bf16 = true
    /// Also print the error along each sentence (every `profile`-th token), 0 for none.
    var profile = 0
    /// Print the error of each suspect alone (activations, GEMM accumulation) and stop.
    var suspects = false
    /// How the LSTM matrices are drawn: "noncontractive" (the default) or "tame".
    var scale = ElmoRandomModel.LSTMScale.nonContractive
    /// Simulated precisions to measure product by product (ProductPrecisionTable.swift);
    /// empty: the float64 table instead.
    var products: [SimulatedPrecision] = []
    /// With `products`: also the first N sentences of `corpus`, and libelmo's own bf16 and int8.
    var corpusSentences = 0
    var corpus = "../shared/bench/corpus.txt"
    var libelmo = false
    /// With `products`: also plain fp32's max |x - float64| per layer.
    var float64 = false
    /// With `products`: the token layer's projection (weights and bias) multiplied by this
    /// factor in the references (how the LSTMs' error growth depends on their input's size).
    var tokenScale: Float = 1
}

func parseFidelityConfig(_ args: ArraySlice<String>) -> FidelityConfig {
    var c = FidelityConfig()
    var it = args.makeIterator()
    while let a = it.next() {
        func value() -> String {
            guard let v = it.next() else { fidelityUsage() }
            return v
        }
        switch a {
        case "--lengths": c.lengths = value().split(separator: ",").compactMap { Int($0) }
        case "--seed": c.seed = UInt64(value()) ?? { fidelityUsage() }()
        case "--dir": c.directory = value()
        case "--no-bf16": c.bf16 = false
        case "--suspects": c.suspects = true
        case "--scale":
            switch value() {
            case "noncontractive": c.scale = .nonContractive
            case "tame": c.scale = .tame
            default: fidelityUsage()
            }
        case "--products":
            c.products = value().split(separator: ";").map { SimulatedPrecision.parse(String($0)) ?? { fidelityUsage() }() }
        case "--sentences": c.corpusSentences = Int(value()) ?? { fidelityUsage() }()
        case "--corpus": c.corpus = value()
        case "--libelmo": c.libelmo = true
        case "--float64": c.float64 = true
        case "--token-scale": c.tokenScale = Float(value()) ?? { fidelityUsage() }()
        case "--profile": c.profile = Int(value()) ?? { fidelityUsage() }()
        default: fidelityUsage()
        }
    }
    return c
}

func fidelityUsage() -> Never {
    print("usage: elmo-bench fidelity [--lengths 20,120,500,2000] [--seed S] [--dir DIR] [--no-bf16] [--profile N] [--suspects]\n                          [--scale noncontractive|tame]\n                          [--products \"bf16;bf16,recurrent=fp32;int8,projection=bf16;...\" [--sentences N] [--corpus FILE] [--libelmo] [--float64]\n                           [--token-scale X]]")
    exit(2)
}

func runFidelity(_ config: FidelityConfig) throws {
    let machine = machineDescription()
    print("elmo-bench fidelity: \(machine["cpu"] ?? "?") (cpu family \(machine["cpuFamily"] ?? "?")), kernels \(kernelVariant())")
    if config.suspects {
        printActivationSuspects()
        printGemmSuspects()
        return
    }
    guard let options = ElmoRandomModel.publishedOptions("original") else { throw ElmoError(.invalidArgument, "no original options") }
    try FileManager.default.createDirectory(atPath: config.directory, withIntermediateDirectories: true)
    var t = now()
    let model = try GeneratedModel(options: options, seed: config.seed, lstmScale: config.scale, directory: config.directory)
    print(String(format: "  original configuration, %@ LSTM weights, seed %llu: written in %.1f s",
                 config.scale == .tame ? "tame (uniform +-1/sqrt(fan_in))" : "non-contractive", config.seed, now() - t))
    if !config.products.isEmpty || config.float64 { return try runProductPrecisions(config, model: model) }
    let fp32 = try ElmoModel(path: model.weightsPath)
    let bf16 = config.bf16 ? try ElmoModel(path: model.weightsPath, loadOptions: ElmoLoadOptions(precision: .bf16)) : nil
    var rows: [FidelityRow] = []
    for n in config.lengths {
        t = now()
        rows.append(try Fidelity.measure(model, fp32: fp32, bf16: bf16, tokens: AccuracySentences.make(count: n)))
        print(String(format: "  %d tokens measured in %.1f s", n, now() - t))
    }
    let names = ["token layer"] + (1...options.lstm.layerCount).map { "LSTM \($0)" }
    print("")
    print("max |x - float64| per output layer (one sentence, stateless, all-layers output)")
    print("layer        tokens   libelmo fp32   plain fp32   fp32 ratio   libelmo bf16   bf16 vs fp32: smallest token cosine")
    for (l, name) in names.enumerated() {
        for r in rows {
            let bf = r.libelmoBF16.map { String(format: "%12.2e", $0[l]) } ?? String(repeating: " ", count: 12)
            let cos = r.bf16Cosine.map { String(format: "%.6f", $0[l]) } ?? ""
            print(String(format: "%-12@ %6d   %12.2e %12.2e %12.2f   %@   %@", name, r.tokens, r.libelmoFP32[l], r.plainFP32[l],
                         r.libelmoFP32[l] / max(r.plainFP32[l], 1e-30), bf, cos))
        }
    }
    if config.profile > 0 {
        for r in rows {
            print("\nalong the sentence of \(r.tokens) tokens: max |x - float64| per token, libelmo fp32 / plain fp32")
            for t in stride(from: 0, to: r.tokens, by: config.profile) {
                let cells = names.indices.map { String(format: "%9.2e / %9.2e", r.libelmoFP32PerToken[$0][t], r.plainFP32PerToken[$0][t]) }
                print(String(format: "  token %5d  ", t) + cells.joined(separator: "   "))
            }
        }
    }
    let long = rows.filter { $0.tokens >= 120 }
    let worse = long.flatMap { r in names.indices.filter { r.libelmoFP32[$0] > r.plainFP32[$0] }.map { "\(names[$0]) at \(r.tokens)" } }
    print("")
    print(worse.isEmpty ? "libelmo fp32 <= plain fp32 on every layer for every sentence of 120 tokens or more"
                        : "libelmo fp32 above plain fp32: \(worse.joined(separator: ", "))")
}
