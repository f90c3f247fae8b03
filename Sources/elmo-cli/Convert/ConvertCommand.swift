import ArgumentParser
import Elmo

/// `elmo convert`: any model the library reads (the official options + weights files, a TF Hub
/// module, a downloaded model name) to the native file, verified by embedding probe sentences
/// with both and comparing.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a model to the native libelmo file (memory-mapped, loads in milliseconds).",
        usage: "elmo convert OPTIONS WEIGHTS OUT\n       elmo convert MODEL OUT",
        discussion: """
        With three arguments: the official options JSON and weights HDF5 files, and the output path. With two: \
        anything --model accepts (a model directory, the weights file with its options beside it, a TF Hub \
        module directory or .tar.gz, a native file, or a downloaded model name), and the output path.
        The native file is one safetensors file holding the prepared weights, the options and the default \
        scalar mix (a TF Hub module's own mix is kept). It is written beside OUT and renamed into place, then \
        verified: probe sentences embedded with the source and with the new file must give bit-identical \
        vectors, else the new file is removed and the command fails.
        --precision bf16 stores the large matrices as bfloat16 (rounded to nearest even): about half the size, \
        loaded in its own precision with no conversion; the verification then compares the new file with the \
        source converted at load, and also reports how close the bf16 vectors are to fp32. \
        --precision int8 stores the LSTM matrices as int8 with per-column scales (about a quarter of their \
        fp32 size; the token layer's matrices in bfloat16), verified the same way.
        """)

    @Argument(help: "OPTIONS WEIGHTS OUT, or MODEL OUT.")
    var paths: [String] = []

    @Flag(name: .shortAndLong, help: "Print nothing but errors.")
    var quiet = false

    @Option(help: PrecisionChoice.help)
    var precision: PrecisionChoice = .stored

    /// Probe sentences: boundary-like tokens, non-ASCII text, a token longer than the model's
    /// character window, and enough variety to touch every character-CNN table row in use.
    static let probes: [[String]] = [
        ["The", "bank", "of", "the", "river", "."],
        ["Café", "naïve", "über", "日本語", "🎉", "<S>", "</S>"],
        [String(repeating: "antidisestablishmentarianism", count: 3), "x"],
    ]

    func validate() throws {
        guard paths.count == 2 || paths.count == 3 else {
            throw ValidationError("convert takes OPTIONS WEIGHTS OUT or MODEL OUT (\(paths.count) arguments given)")
        }
    }

    /// The smallest cosine similarity between the probe sentences' token vectors (every layer)
    /// from the bf16 file and from the source at fp32.
    private func bf16Agreement(_ out: String) throws -> Double {
        let fp32: ElmoModel
        if paths.count == 3 {
            fp32 = try ElmoModel(optionsFile: paths[0], weightsFile: paths[1])
        } else {
            let resolved = try ModelResolver.resolve(paths[0], quiet: true, download: false)
            fp32 = try ElmoModel(path: resolved.path, optionsFile: resolved.optionsFile)
        }
        let bf16 = try ElmoModel(nativeFile: out, loadOptions: ElmoLoadOptions(precision: .bf16))
        let a = try ElmoSession(model: fp32, threads: 1).embed(ConvertCommand.probes).allLayers
        let b = try ElmoSession(model: bf16, threads: 1).embed(ConvertCommand.probes).allLayers
        let width = fp32.outputDim
        var worst = 1.0
        for start in stride(from: 0, to: a.count, by: width) {
            var dot = 0.0, na = 0.0, nb = 0.0
            for i in start..<(start + width) {
                dot += Double(a[i]) * Double(b[i])
                na += Double(a[i]) * Double(a[i])
                nb += Double(b[i]) * Double(b[i])
            }
            if na > 0 || nb > 0 { worst = min(worst, dot / (na.squareRoot() * nb.squareRoot())) }
        }
        return worst
    }

    func run() throws {
        let out = paths[paths.count - 1]
        let source: ElmoModel
        do {
            if paths.count == 3 {
                let options = ElmoLoadOptions(precision: try precision.resolve(path: paths[1], optionsFile: paths[0]))
                source = try ElmoModel(optionsFile: paths[0], weightsFile: paths[1], loadOptions: options)
            } else {
                let resolved = try ModelResolver.resolve(paths[0], quiet: quiet, download: true)
                source = try ElmoModel(path: resolved.path, optionsFile: resolved.optionsFile, loadOptions: ElmoLoadOptions(
                    precision: try precision.resolve(path: resolved.path, optionsFile: resolved.optionsFile)))
            }
        } catch let failure as CLIFailure {
            throw failure
        } catch let failure as ResolverFailed {
            throw failure
        } catch {
            throw CLIFailure("\(error)")
        }
        do {
            try source.writeNative(to: out)
        } catch {
            throw CLIFailure("\(error)")
        }
        let difference: Float
        do {
            let converted = try ElmoModel(nativeFile: out, loadOptions: ElmoLoadOptions(precision: source.precision))
            let a = try ElmoSession(model: source, threads: 1).embed(ConvertCommand.probes)
            let b = try ElmoSession(model: converted, threads: 1).embed(ConvertCommand.probes)
            guard a.tokenCounts == b.tokenCounts, a.allLayers.count == b.allLayers.count else {
                throw CLIFailure("\(out): the converted model gives outputs of other shapes than the source")
            }
            difference = zip(a.allLayers, b.allLayers).reduce(0) { max($0, abs($1.0 - $1.1)) }
            guard a.allLayers == b.allLayers, source.defaultMix == converted.defaultMix else {
                throw CLIFailure("\(out): verification failed: the converted model's vectors differ from the source's "
                                 + "(max |diff| \(difference)); the file was removed")
            }
        } catch {
            TemporaryFiles.remove(out)
            if let failure = error as? CLIFailure { throw failure }
            throw CLIFailure("\(out): verification failed: \(error); the file was removed")
        }
        if !quiet {
            let size = (try? ElmoModel.files(forPath: out).files.reduce(0) { $0 + $1.size }) ?? 0
            print("wrote \(out) (\(HumanFormat.bytes(size))): \(source.sourceDescription)")
            print("verified: \(ConvertCommand.probes.count) probe sentences give bit-identical vectors (max |diff| \(difference))")
            if source.precision == .bf16, let worst = try? bf16Agreement(out) {
                print("bf16 weights: the probe vectors' cosine similarity to fp32 is at least \(worst) (all layers)")
            }
        }
    }
}
