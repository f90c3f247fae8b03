// Target `hdf5`: the official weights loader (options.json + weights HDF5) on mutated weight
// files. Each input is tried against the options of every seed's model; a file that loads
// must embed.
import Elmo
#if canImport(Glibc)
import Glibc
#endif

public enum HDF5Fuzz {
    /// The options files, written once per process.
    nonisolated(unsafe) static var optionsFiles: [String] = []

    static func prepareOptions() -> [String] {
        if optionsFiles.isEmpty {
            for (i, options) in FuzzModels.allOptions.enumerated() {
                optionsFiles.append(FuzzScratch.write("options-\(i).json", Array(options.json.serialized.utf8)))
            }
        }
        return optionsFiles
    }

    public static func one(_ data: UnsafeRawBufferPointer) {
        let weights = FuzzScratch.write("weights.hdf5", data)
        for options in prepareOptions() {
            let model = expectingElmoErrors("HDF5 load") {
                try ElmoModel(optionsFile: options, weightsFile: weights, loadOptions: fuzzLoadOptions)
            }
            if let model {
                exerciseLoadedModel(model)
                return
            }
        }
    }

    /// Seeds: every fuzz model configuration's weights.hdf5 (written by libhdf5), the TF Hub
    /// twin's (written by h5py) and, when the fixtures are there, the bilm-tf fixture's.
    public static func writeSeeds(to directory: String, repository: String, fixtures: String?) throws {
        for (name, _) in FuzzModels.configurations {
            let dir = FuzzScratch.makeDirectory("seed-\(name)")
            try FuzzModels.writeOfficial(name, directory: dir)
            try copyFile(dir + "/weights.hdf5", to: "\(directory)/\(name).hdf5")
        }
        try copyFile(repository + "/Tests/Fixtures/tfhub/twin/weights.hdf5", to: directory + "/tfhub-twin.hdf5")
        if let fixtures {
            try copyFile(fixtures + "/lm_weights.hdf5", to: directory + "/bilm-tf-fixture.hdf5")
        }
    }
}

/// Copies a file (seed writing).
func copyFile(_ source: String, to destination: String) throws {
    guard let bytes = readWholeFile(source) else { throw ElmoError(.io, "\(source): cannot read") }
    guard writeFile(destination, bytes) else { throw ElmoError(.io, "\(destination): cannot write") }
}

/// Writes a file outside the scratch directory.
func writeFile(_ path: String, _ bytes: [UInt8]) -> Bool {
    guard let f = fopen(path, "wb") else { return false }
    defer { fclose(f) }
    return bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) } == bytes.count
}
