// `fuzz-<target> --write-seeds DIR --repository ROOT [--fixtures DIR]`: the seed corpus of
// each target, generated at fuzz time (generated from the committed fixtures and from
// code; nothing from the shared bilm-tf fixtures is committed).
import Elmo
#if canImport(Glibc)
import Glibc
#endif

public enum FuzzSeeds {
    public static func write(target: String, to directory: String, repository: String, fixtures: String?) throws {
        switch target {
        case "native":
            try NativeFuzz.writeSeeds(to: directory)
        case "options":
            for (i, seed) in OptionsFuzz.seeds.enumerated() { _ = writeFile("\(directory)/options-\(i).json", seed) }
            try? copyFile(repository + "/Tests/Fixtures/tfhub/twin/options.json", to: directory + "/tfhub-twin.json")
            if let fixtures { try copyFile(fixtures + "/options.json", to: directory + "/bilm-tf-fixture.json") }
        case "hdf5":
            try HDF5Fuzz.writeSeeds(to: directory, repository: repository, fixtures: fixtures)
        case "text":
            for (i, seed) in TextFuzz.seeds.enumerated() { _ = writeFile("\(directory)/text-\(i).txt", seed) }
            if let fixtures, let sentences = readWholeFile(fixtures + "/sentences.json") {
                _ = writeFile(directory + "/bilm-tf-sentences.json", sentences)
            }
        case "tfhub":
            try TFHubFuzz.writeSeeds(to: directory, repository: repository)
        case "manylangs":
            for (i, seed) in ManyLangsFuzz.seeds.enumerated() { _ = writeFile("\(directory)/manylangs-\(i).bin", seed) }
        case "capi":
            for (i, seed) in CAPIFuzz.seeds.enumerated() { _ = writeFile("\(directory)/capi-\(i).bin", seed) }
        default:
            throw ElmoError(.invalidArgument, "no fuzz target '\(target)'")
        }
    }
}

extension FuzzSeeds {
    /// Handles `--write-seeds DIR --repository ROOT [--fixtures DIR]` (then exits); returns
    /// when the command line is libFuzzer's.
    public static func handleCommandLine(target: String) {
        let args = CommandLine.arguments
        guard args.count >= 2, args[1] == "--write-seeds" else { return }
        func value(_ flag: String) -> String? {
            guard let i = args.firstIndex(of: flag), i + 1 < args.count else { return nil }
            return args[i + 1]
        }
        guard let dir = value("--write-seeds"), let repository = value("--repository") else {
            print("usage: fuzz-\(target) --write-seeds DIR --repository ROOT [--fixtures DIR]")
            exit(2)
        }
        do {
            try write(target: target, to: dir, repository: repository, fixtures: value("--fixtures"))
            exit(0)
        } catch {
            print("fuzz-\(target): cannot write seeds: \(error)")
            exit(1)
        }
    }
}
